/* The hosted layer over the freestanding core: models from files (mmap) or buffers in memory
 * of their own, a resize scratch that grows with the images, containers with a malloc'd index. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "container.h"
#include "error.h"
#include "infile.h"
#include "model.h"

#define HUGE_PAGE ((size_t)2 << 20)

emoti_status emoti_container_parse(emoti_container *c, const void *base, size_t size) {
    emoti_status st = emoti_container_check(c, base, size);
    if (st) return st;
    const size_t bytes = emoti_container_index_bytes(c);
    void *mem = aligned_alloc(EMOTI_ARENA_ALIGN, bytes);
    if (!mem) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory (%zu bytes)", bytes);
    emoti_arena a = {mem, bytes, 0};
    st = emoti_container_index(c, &a);
    if (st) {
        free(mem);
        memset(c, 0, sizeof *c);
        return st;
    }
    c->owned = mem;
    return EMOTI_OK;
}

void emoti_container_free(emoti_container *c) {
    free(c->owned);
    memset(c, 0, sizeof *c);
}

static emoti_status grow_scratch(emoti_model *m, size_t bytes) {
    void *p = realloc(m->grown, bytes);
    if (!p) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory (%zu bytes)", bytes);
    m->grown = m->resize_scratch = p;
    m->resize_scratch_size = bytes;
    return EMOTI_OK;
}

/* A model in memory of its own: huge-page aligned (and advised), so that the activations sit in
 * as few TLB entries as the kernel grants. */
static emoti_status model_alloc(const void *buf, size_t size, emoti_model **out) {
    emoti_container c;
    size_t need;
    emoti_status st = emoti_container_check(&c, buf, size);
    if (!st) st = emoti_model_plan(&c, 0, 0, &need);
    if (st) return st;
    const size_t bytes = (need + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *mem = aligned_alloc(HUGE_PAGE, bytes);
    if (!mem) return emoti_fail(EMOTI_ERR_NOMEM, "cannot allocate %zu bytes", bytes);
#ifdef MADV_HUGEPAGE
    madvise(mem, bytes, MADV_HUGEPAGE); /* a hint */
#endif
    st = emoti_model_build(&c, 0, 0, need, mem, bytes, out);
    if (st) {
        free(mem);
        return st;
    }
    (*out)->mem = mem;
    (*out)->grow_scratch = grow_scratch;
    return EMOTI_OK;
}

emoti_status emoti_model_from_memory(const void *buf, size_t size, emoti_model **out) {
    *out = NULL;
    if (!buf) return emoti_fail(EMOTI_ERR_ARG, "model buffer is NULL");
    return model_alloc(buf, size, out);
}

emoti_status emoti_file_map(const char *path, void **map, size_t *size) {
    int fd;
    emoti_status st = emoti_file_fd(path, 0, &fd, size);
    if (st) return st;
    if (*size == 0) st = emoti_fail(EMOTI_ERR_FORMAT, "%s: empty file", path);
    if (!st) {
        *map = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*map == MAP_FAILED) st = emoti_fail(EMOTI_ERR_IO, "%s: mmap: %s", path, strerror(errno));
    }
    close(fd);
    return st;
}

emoti_status emoti_model_open(const char *path, emoti_model **out) {
    *out = NULL;
    if (!path) return emoti_fail(EMOTI_ERR_ARG, "model path is NULL");
    void *map;
    size_t size;
    emoti_status st = emoti_file_map(path, &map, &size);
    if (st) return st;
    st = model_alloc(map, size, out);
    if (st) {
        emoti_error_prefix(path);
        munmap(map, size);
        return st;
    }
    (*out)->map = map, (*out)->map_size = size;
    return EMOTI_OK;
}

void emoti_model_close(emoti_model *m) {
    if (!m || !m->mem) return; /* NULL, or in the caller's memory: nothing of ours */
    void *map = m->map;
    size_t map_size = m->map_size;
    free(m->grown);
    free(m->mem); /* m itself lives in it */
    if (map) munmap(map, map_size);
}
