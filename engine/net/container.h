/* The model container (weights/FORMAT.md): validation and zero-copy access. */
#ifndef EMOTI_CONTAINER_H
#define EMOTI_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "emoti.h"

#define EMOTI_MAGIC "EMOTIMDL"
#define EMOTI_FORMAT_VERSION 1
#define EMOTI_HEADER_SIZE 64
#define EMOTI_MAX_TENSORS 4096
#define EMOTI_MAX_DIMS 4

enum {
    META_I64 = 1, META_F64 = 2, META_STR = 3, META_I32S = 4, META_F32S = 5, META_STRS = 6,
    META_F64S = 7
};

/* The container is little-endian on every host (FORMAT.md); so are .npy data ('<f4'). These
 * read and write such fields; on a little-endian host they are plain loads and stores. */
static inline int emoti_host_le(void) {
    const uint16_t one = 1;
    uint8_t low;
    memcpy(&low, &one, 1);
    return low;
}
static inline uint32_t emoti_le32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return emoti_host_le() ? v : (v >> 24) | (v >> 8 & 0xff00u) | (v << 8 & 0xff0000u) | (v << 24);
}
static inline uint64_t emoti_le64(const void *p) {
    const uint8_t *b = p;
    uint64_t lo = emoti_le32(b), hi = emoti_le32(b + 4);
    return hi << 32 | lo;
}
static inline void emoti_put_le32(void *p, uint32_t v) {
    v = emoti_le32(&v); /* the swap is its own inverse */
    memcpy(p, &v, 4);
}
static inline void emoti_put_le64(void *p, uint64_t v) {
    emoti_put_le32(p, (uint32_t)v);
    emoti_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}
/* Copies n 4-byte words (floats) between little-endian and host order, either way; dst may
 * be src. */
void emoti_le_copy32(void *dst, const void *src, size_t n);

typedef struct {
    const char *key; /* points into the file: not NUL-terminated */
    uint32_t key_len;
    uint32_t type;
    uint32_t count;      /* array length (strings: byte length) */
    const uint8_t *data; /* value bytes (for str arrays: the first length prefix) */
} emoti_meta;

typedef struct {
    const char *name; /* not NUL-terminated */
    uint32_t name_len;
    uint32_t ndim;
    uint32_t dims[EMOTI_MAX_DIMS];
    const float *data; /* 64-byte aligned inside the container */
    size_t count;      /* number of floats */
} emoti_tensor;

typedef struct {
    const uint8_t *base;
    size_t size;
    uint32_t n_meta, n_tensors;
    const uint8_t *meta, *meta_end; /* the metadata entries, read in place */
    const uint8_t *table;           /* the tensor table */
    size_t table_size;
    emoti_tensor *tensors;          /* the index, in caller memory (emoti_container_index) */
    void *owned;                    /* emoti_container_parse's memory, or NULL */
} emoti_container;

/* Validates the header, the section bounds, the checksum and every metadata entry, using the
 * buffer in place (it must outlive the container, 64-byte aligned); takes no memory. The
 * metadata can be read after it; the tensors after emoti_container_index. */
emoti_status emoti_container_check(emoti_container *c, const void *base, size_t size);
/* The memory emoti_container_index takes: the tensor index, and on a big-endian host a copy of
 * the file with its tensors byte-swapped into host order (the metadata stays in place, read
 * with emoti_le*); little-endian hosts read the tensors where they are. */
size_t emoti_container_index_bytes(const emoti_container *c);
/* Validates the tensor table (names, shapes, bounds, no two alike, no overlaps) into an index
 * taken from a. */
emoti_status emoti_container_index(emoti_container *c, emoti_arena *a);

/* Hosted (model_hosted.c): check, then index in memory of its own; free releases it. */
emoti_status emoti_container_parse(emoti_container *c, const void *base, size_t size);
void emoti_container_free(emoti_container *c);

/* Fletcher-style checksum of FORMAT.md over a whole file image (size multiple of 4). */
uint64_t emoti_container_checksum(const uint8_t *base, size_t size);

/* 1 and the entry in *out when key is there, else 0. */
int emoti_meta_find(const emoti_container *c, const char *key, emoti_meta *out);
/* 1 and entry i (0 <= i < n_meta) in *out, else 0 (a walk from the first entry). */
int emoti_meta_entry(const emoti_container *c, uint32_t i, emoti_meta *out);
/* Typed getters: return EMOTI_ERR_FORMAT with a message naming the key when it is missing
 * or of another type. */
emoti_status emoti_meta_i64(const emoti_container *c, const char *key, int64_t *out);
emoti_status emoti_meta_str(const emoti_container *c, const char *key, const char **s,
                            uint32_t *len);
emoti_status emoti_meta_i32s(const emoti_container *c, const char *key, const int32_t **v,
                             uint32_t *count); /* v may be unaligned: read with emoti_le32 */
emoti_status emoti_meta_f64s(const emoti_container *c, const char *key, double *out,
                             uint32_t count);
/* A str array as a NULL-terminated array of NUL-terminated copies, in memory from a (bytes:
 * what that takes). */
emoti_status emoti_meta_strs_bytes(const emoti_container *c, const char *key, size_t *bytes);
emoti_status emoti_meta_strs_in(const emoti_container *c, const char *key, emoti_arena *a,
                                char ***out, uint32_t *count);

/* Finds a tensor by name and checks its shape (dims terminated by 0). Before
 * emoti_container_index it reads the table in place (to check shapes while sizing); its data
 * is then the file's, not yet in host order on a big-endian host. */
emoti_status emoti_tensor_get(const emoti_container *c, const char *name,
                              const uint32_t *dims, const float **out);

#endif
