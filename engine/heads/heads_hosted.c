/* Heads in memory of their own (emoti_head_create for training, emoti_head_parse /
 * emoti_head_load from containers), freed by emoti_head_free; saving. Over the freestanding
 * part in heads.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "error.h"
#include "heads.h"

/* One block of its own (the struct at its start, so that free(h) releases it all). */
static emoti_head *alloc_block(size_t bytes, emoti_arena *a) {
    a->base = aligned_alloc(EMOTI_ARENA_ALIGN, emoti_arena_round(bytes));
    a->size = bytes, a->used = 0;
    return (emoti_head *)(void *)a->base;
}

emoti_status emoti_head_create(emoti_head **out, int task, int input, int n_layers,
                               const int *sizes, const int *acts) {
    *out = NULL;
    emoti_head_shape s = {task, input, n_layers, {0}, {0}};
    if (n_layers >= 1 && n_layers <= EMOTI_HEAD_MAX_LAYERS) {
        memcpy(s.sizes, sizes, (size_t)(n_layers + 1) * sizeof *sizes);
        memcpy(s.act, acts, (size_t)n_layers * sizeof *acts);
    }
    emoti_status st = emoti_head_check_shape(&s);
    if (st) return st;
    emoti_arena a;
    if (!alloc_block(emoti_head_block_bytes(&s, emoti_head_default_labels_bytes(&s)), &a))
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_head *h = emoti_head_carve(&a, &s);
    emoti_head_default_labels(h, &s, &a); /* fits: the block was sized for them */
    h->owned = 1;
    *out = h;
    return EMOTI_OK;
}

void emoti_head_free(emoti_head *h) {
    if (h && h->owned) free(h); /* a head in caller memory (emoti_head_parse_in) owns nothing */
}

emoti_status emoti_head_parse(const void *buf, size_t size, emoti_head **out) {
    *out = NULL;
    size_t bytes;
    emoti_status st = emoti_head_memory(buf, size, &bytes);
    emoti_arena a;
    if (st) return st;
    if (!alloc_block(bytes, &a)) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    if ((st = emoti_head_parse_in(buf, size, a.base, bytes, out))) {
        free(a.base);
        return st;
    }
    (*out)->owned = 1;
    return EMOTI_OK;
}

emoti_status emoti_head_forward(const emoti_head *h, const float *x, size_t n, float *out) {
    size_t floats = emoti_head_scratch_floats(h, n);
    float *scratch = floats ? malloc(floats * sizeof *scratch) : NULL;
    if (floats && !scratch) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_head_forward_scratch(h, x, n, out, scratch);
    free(scratch);
    return EMOTI_OK;
}

emoti_status emoti_head_load(const char *path, emoti_head **out) {
    *out = NULL;
    unsigned char *buf;
    size_t size;
    emoti_status st = emoti_file_read(path, (size_t)1 << 30, &buf, &size); /* heads are small */
    if (st) return st;
    st = size < 64 ? emoti_fail(EMOTI_ERR_FORMAT, "not a head container (%zu bytes)", size)
                   : emoti_head_parse(buf, size, out);
    free(buf);
    if (st) emoti_error_prefix(path);
    return st;
}

/* ---- saving ---- */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int oom;
} bytes;

static void put(bytes *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void put32(bytes *b, uint32_t v) {
    uint8_t le[4];
    emoti_put_le32(le, v);
    put(b, le, 4);
}
static void put64(bytes *b, uint64_t v) {
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}
static void put_key(bytes *b, const char *key, uint32_t type) {
    put32(b, (uint32_t)strlen(key));
    put(b, key, strlen(key));
    put32(b, type);
}
static void put_text(bytes *b, const char *s) {
    size_t n = strlen(s);
    if (n > 65535) n = 65535;
    put32(b, (uint32_t)n);
    put(b, s, n);
}
static void meta_str(bytes *b, uint32_t *count, const char *key, const char *v) {
    put_key(b, key, META_STR);
    put_text(b, v);
    ++*count;
}

emoti_status emoti_head_serialize(const emoti_head *h, unsigned char **buf, size_t *size) {
    *buf = NULL;
    bytes meta = {0}, table = {0};
    uint32_t count = 0;
    int n_out = emoti_head_outputs(h);
    meta_str(&meta, &count, "general.arch", "mlp");
    meta_str(&meta, &count, "general.name", h->name);
    meta_str(&meta, &count, "general.source", h->source);
    meta_str(&meta, &count, "general.exporter", "emoti " EMOTI_VERSION);
    meta_str(&meta, &count, "head.task", emoti_task_name(h->task));
    meta_str(&meta, &count, "head.input", h->input == EMOTI_INPUT_LOGITS ? "logits" : "embedding");
    put_key(&meta, "head.layers", META_I32S);
    put32(&meta, (uint32_t)h->n_layers + 1);
    for (int l = 0; l <= h->n_layers; l++) put32(&meta, (uint32_t)h->sizes[l]);
    count++;
    put_key(&meta, "head.activations", META_STRS);
    put32(&meta, (uint32_t)h->n_layers);
    for (int l = 0; l < h->n_layers; l++) put_text(&meta, emoti_act_name(h->act[l]));
    count++;
    put_key(&meta, "out.labels", META_STRS);
    put32(&meta, (uint32_t)n_out);
    for (int i = 0; i < n_out; i++) put_text(&meta, h->labels[i]);
    count++;
    put_key(&meta, "post.smooth_k", META_I64);
    put64(&meta, (uint64_t)(int64_t)h->smooth_k);
    count++;
    if (h->thresholds) {
        put_key(&meta, "post.thresholds", META_F64S);
        put32(&meta, (uint32_t)n_out);
        for (int i = 0; i < n_out; i++) {
            uint64_t u;
            memcpy(&u, &h->thresholds[i], 8);
            put64(&meta, u);
        }
        count++;
    }
    if (h->note[0]) meta_str(&meta, &count, "head.note", h->note);
    /* The table needs the data offsets, which need the table size: compute sizes first. */
    size_t table_size = 0;
    for (int l = 0; l < h->n_layers; l++) table_size += 2 * (4 + 8 + 4 + 4 + 16) + 4 + 8;
    size_t meta_size = 4 + meta.len;
    size_t table_off = (64 + meta_size + 63) / 64 * 64;
    size_t pos = (table_off + table_size + 63) / 64 * 64;
    size_t offsets[2 * EMOTI_HEAD_MAX_LAYERS];
    for (int l = 0; l < h->n_layers; l++) {
        for (int t = 0; t < 2; t++) {
            char name[32];
            snprintf(name, sizeof name, "dense%d.%c", l, t ? 'b' : 'w');
            size_t nf = t ? (size_t)h->sizes[l + 1] : (size_t)h->sizes[l] * (size_t)h->sizes[l + 1];
            put32(&table, (uint32_t)strlen(name));
            put(&table, name, strlen(name));
            put32(&table, 1);
            put32(&table, t ? 1 : 2);
            if (!t) put32(&table, (uint32_t)h->sizes[l]);
            put32(&table, (uint32_t)h->sizes[l + 1]);
            uint64_t off = pos, nb = nf * 4;
            put64(&table, off);
            put64(&table, nb);
            offsets[2 * l + t] = pos;
            pos = (pos + nf * 4 + 63) / 64 * 64;
        }
    }
    emoti_status st = EMOTI_OK;
    unsigned char *out = NULL;
    if (meta.oom || table.oom || table.len != table_size || !(out = calloc(1, pos))) {
        st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int l = 0; l < h->n_layers; l++) {
        for (int i = 0; i < h->sizes[l] * h->sizes[l + 1]; i++)
            if (!isfinite(h->w[l][i])) st = emoti_fail(EMOTI_ERR_ARG, "layer %d has a NaN or infinite weight", l);
        for (int i = 0; i < h->sizes[l + 1]; i++)
            if (!isfinite(h->b[l][i])) st = emoti_fail(EMOTI_ERR_ARG, "layer %d has a NaN or infinite bias", l);
        emoti_le_copy32(out + offsets[2 * l], h->w[l], (size_t)h->sizes[l] * (size_t)h->sizes[l + 1]);
        emoti_le_copy32(out + offsets[2 * l + 1], h->b[l], (size_t)h->sizes[l + 1]);
    }
    if (st) {
        free(out);
        out = NULL;
        goto done;
    }
    memcpy(out, EMOTI_MAGIC, 8);
    emoti_put_le32(out + 8, EMOTI_FORMAT_VERSION);
    emoti_put_le32(out + 12, 64);
    emoti_put_le64(out + 16, pos);
    emoti_put_le64(out + 24, 64);
    emoti_put_le64(out + 32, meta_size);
    emoti_put_le64(out + 40, table_off);
    emoti_put_le32(out + 48, (uint32_t)table_size);
    emoti_put_le32(out + 52, (uint32_t)(2 * h->n_layers));
    emoti_put_le32(out + 64, count);
    memcpy(out + 68, meta.p, meta.len);
    memcpy(out + table_off, table.p, table.len);
    emoti_put_le64(out + 56, emoti_container_checksum(out, pos));
    *buf = out, *size = pos;
done:
    free(meta.p), free(table.p);
    return st;
}

emoti_status emoti_head_save(const emoti_head *h, const char *path) {
    unsigned char *buf;
    size_t size;
    emoti_status st = emoti_head_serialize(h, &buf, &size);
    emoti_outfile o;
    if (!st) st = emoti_outfile_open(&o, path);
    if (!st) { /* the commit reports a failed write, with its reason */
        fwrite(buf, 1, size, o.f);
        st = emoti_outfile_commit(&o);
    }
    free(buf);
    return st;
}
