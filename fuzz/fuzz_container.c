/* libFuzzer target: the model container (weights/FORMAT.md) and the network description in
 * it, through emoti_model_from_memory (include/emoti.h) and emoti_container_parse
 * (engine/net/container.h).
 *
 * Each input is tried twice:
 *   1. as it is: the whole loader, whose header, bounds and checksum checks reject almost
 *      every mutation before the metadata is looked at;
 *   2. "resealed": zero-padded to a multiple of 64 bytes, with the header's file_size and
 *      checksum fields rewritten to match, so that mutations get past the checksum into the
 *      metadata, tensor table and shape validation. A parsed container is then walked with
 *      every getter (each metadata value, each tensor by name and shape) and handed to the
 *      model loader (EfficientNet description, tensor shapes, arena plan); a model that loads
 *      and is small runs one forward pass on a tiny image.
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

/* Reads every metadata value and every tensor through the public getters. */
static void fuzz_container_walk(const emoti_container *c) {
    char name[256];
    for (uint32_t i = 0; i < c->n_meta; i++) {
        emoti_meta entry, found;
        const emoti_meta *m = &entry;
        FUZZ_CHECK(emoti_meta_entry(c, i, &entry));
        FUZZ_CHECK(m->key_len >= 1 && m->key_len <= 255);
        memcpy(name, m->key, m->key_len);
        name[m->key_len] = 0;
        FUZZ_CHECK(emoti_meta_find(c, name, &found) && found.data == m->data); /* keys unique */
        uint32_t sum = 0, n = 0, len = 0;
        int64_t i64;
        const char *s;
        const int32_t *v;
        char **strs;
        double *f64;
        switch (m->type) {
        case META_I64:
            FUZZ_CHECK(emoti_meta_i64(c, name, &i64) == EMOTI_OK);
            sum += (uint32_t)i64;
            break;
        case META_STR:
            FUZZ_CHECK(emoti_meta_str(c, name, &s, &len) == EMOTI_OK && len == m->count);
            for (uint32_t k = 0; k < len; k++) sum += (uint8_t)s[k];
            break;
        case META_I32S:
            FUZZ_CHECK(emoti_meta_i32s(c, name, &v, &n) == EMOTI_OK && n == m->count);
            for (uint32_t k = 0; k < n; k++) {
                int32_t x;
                memcpy(&x, v + k, sizeof x); /* unaligned */
                sum += (uint32_t)x;
            }
            break;
        case META_F64S:
            f64 = malloc((m->count ? m->count : 1) * sizeof *f64);
            if (!f64) break;
            FUZZ_CHECK(emoti_meta_f64s(c, name, f64, m->count) == EMOTI_OK);
            if (m->count) FUZZ_CHECK(emoti_meta_f64s(c, name, f64, m->count - 1) != EMOTI_OK);
            free(f64);
            break;
        case META_STRS: {
            size_t bytes;
            FUZZ_CHECK(emoti_meta_strs_bytes(c, name, &bytes) == EMOTI_OK && bytes % 64 == 0);
            emoti_arena a = {aligned_alloc(64, bytes), bytes, 0};
            if (!a.base) break;
            FUZZ_CHECK(emoti_meta_strs_in(c, name, &a, &strs, &n) == EMOTI_OK && a.used == bytes);
            FUZZ_CHECK(n == m->count && strs[n] == NULL);
            for (uint32_t k = 0; k < n; k++) sum += (uint32_t)strlen(strs[k]);
            free(a.base);
            break;
        }
        default: /* f64 and f32 arrays: no typed getter; the bytes were bounds-checked */
            FUZZ_CHECK(m->type == META_F64 || m->type == META_F32S);
            break;
        }
        /* A getter of another type must refuse. */
        if (m->type != META_I64) FUZZ_CHECK(emoti_meta_i64(c, name, &i64) != EMOTI_OK);
        fuzz_sink += sum;
    }
    for (uint32_t i = 0; i < c->n_tensors; i++) {
        const emoti_tensor *t = &c->tensors[i];
        uint32_t dims[EMOTI_MAX_DIMS + 1] = {0};
        const float *data = NULL;
        FUZZ_CHECK(t->name_len >= 1 && t->name_len <= 255);
        FUZZ_CHECK(t->ndim >= 1 && t->ndim <= EMOTI_MAX_DIMS);
        memcpy(name, t->name, t->name_len);
        name[t->name_len] = 0;
        memcpy(dims, t->dims, t->ndim * sizeof *dims);
        /* A name with a NUL byte in it cannot be looked up by a C string. */
        if (memchr(t->name, 0, t->name_len)) continue;
        FUZZ_CHECK(emoti_tensor_get(c, name, dims, &data) == EMOTI_OK && data == t->data);
        FUZZ_CHECK((uintptr_t)data % 64 == 0);
        FUZZ_CHECK((const uint8_t *)data >= c->base &&
                   t->count * 4 <= c->size - (size_t)((const uint8_t *)data - c->base));
        uint32_t sum = 0;
        for (size_t k = 0; k < t->count; k++) {
            uint32_t bits;
            memcpy(&bits, data + k, 4);
            sum += bits;
        }
        fuzz_sink += sum;
    }
}

/* The same model in caller memory (sizes first): one byte less is refused, that many bytes
 * take it. */
static void fuzz_model_in_memory(const uint8_t *buf, size_t size, int input_size) {
    size_t bytes;
    FUZZ_CHECK(emoti_model_memory(buf, size, 0, 0, &bytes) == EMOTI_OK && bytes % 64 == 0);
    void *mem = aligned_alloc(64, bytes);
    if (!mem) return;
    emoti_model *m;
    FUZZ_CHECK(emoti_model_init(buf, size, 0, 0, mem, bytes - 1, &m) == EMOTI_ERR_NOMEM && !m);
    FUZZ_CHECK(emoti_model_init(buf, size, 0, 0, mem, bytes, &m) == EMOTI_OK && m);
    emoti_info in;
    emoti_model_info(m, &in);
    FUZZ_CHECK(in.input_size == input_size);
    emoti_model_close(m); /* owns nothing: must not free mem */
    free(mem);
}

/* The whole model loader; a small model that loads also runs once. */
static void fuzz_container_model(const uint8_t *buf, size_t size) {
    static char not_null;
    emoti_model *m = (emoti_model *)(void *)&not_null; /* must be reset to NULL on failure */
    fuzz_clear_error();
    emoti_status st = emoti_model_from_memory(buf, size, &m);
    if (st != EMOTI_OK) {
        FUZZ_CHECK(m == NULL);
        FUZZ_CHECK(st == EMOTI_ERR_FORMAT || st == EMOTI_ERR_UNSUPPORTED ||
                   st == EMOTI_ERR_NOMEM);
        FUZZ_CHECK(emoti_last_error()[0] != '\0');
        return;
    }
    emoti_info in;
    emoti_model_info(m, &in);
    FUZZ_CHECK(in.name && in.source && in.labels);
    FUZZ_CHECK(in.input_size >= 16 && in.input_size <= 1024 && in.features >= 1);
    FUZZ_CHECK(in.n_outputs >= 1 && in.n_outputs <= EMOTI_MAX_OUTPUTS);
    FUZZ_CHECK(in.n_logits >= 1 && in.n_logits <= in.n_outputs && in.n_blocks >= 1);
    FUZZ_CHECK(in.valence_index >= -1 && in.valence_index < in.n_outputs);
    FUZZ_CHECK(in.arousal_index >= -1 && in.arousal_index < in.n_outputs);
    uint32_t sum = (uint32_t)strlen(in.name) + (uint32_t)strlen(in.source);
    for (int i = 0; i < in.n_logits; i++) sum += (uint32_t)strlen(in.labels[i]);
    fuzz_sink += sum;
    if (in.input_size <= 64 && size <= 65536) {
        enum { W = 7, H = 5 };
        uint8_t rgb[W * H * 3];
        for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 37);
        float *embedding = malloc((size_t)in.features * sizeof *embedding);
        emoti_result r;
        if (embedding) {
            FUZZ_CHECK(emoti_run_rgb(m, rgb, W, H, W * 3, &r, embedding) == EMOTI_OK);
            FUZZ_CHECK(r.top >= 0 && r.top < in.n_logits);
            free(embedding);
        }
    }
    emoti_model_close(m);
    fuzz_model_in_memory(buf, size, in.input_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *raw, *sealed;
    size_t cap;
    if (!fuzz_seal(data, size, &raw, &sealed, &cap)) return 0;

    /* 1. As given (skipped when resealing changed nothing: pass 2 does the same). */
    if (cap != size || memcmp(raw, sealed, 64)) fuzz_container_model(raw, size);

    /* 2. Resealed. */
    emoti_container c;
    fuzz_clear_error();
    emoti_status st = emoti_container_parse(&c, sealed, cap);
    if (st == EMOTI_OK) {
        FUZZ_CHECK(c.n_tensors >= 1 && c.n_tensors <= EMOTI_MAX_TENSORS);
        fuzz_container_walk(&c);
        emoti_container_free(&c);
        fuzz_container_model(sealed, cap);
    } else {
        FUZZ_CHECK(st == EMOTI_ERR_FORMAT || st == EMOTI_ERR_UNSUPPORTED ||
                   st == EMOTI_ERR_NOMEM);
        FUZZ_CHECK(emoti_last_error()[0] != '\0');
        FUZZ_CHECK(c.meta == NULL && c.tensors == NULL);
    }
    free(raw);
    free(sealed);
    return 0;
}
