/* Container validation: every offset, size and count is checked before anything is read
 * through it, so a corrupt file is an error status (and message), never a crash. Freestanding:
 * the metadata is read in place, the tensor index lives in the caller's memory; the hosted
 * convenience (a malloc'd index) is in model_hosted.c. */
#include "container.h"

#include <string.h>

#include "error.h"

static uint32_t rd32(const uint8_t *p) { return emoti_le32(p); }
static uint64_t rd64(const uint8_t *p) { return emoti_le64(p); }

void emoti_le_copy32(void *dst, const void *src, size_t n) {
    if (emoti_host_le()) {
        memmove(dst, src, 4 * n);
        return;
    }
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = emoti_le32(s + 4 * i); /* host order: stored as it is */
        memcpy(d + 4 * i, &v, 4);
    }
}

/* Fletcher-style sum (weights/FORMAT.md): a = sum of w[i], b = sum of a after each word, i.e.
 * b = sum of (n - i) w[i], all mod 2^32. The bulk goes in blocks of LANES words with one
 * running (a, b) pair per lane, which the compiler turns into vector adds: after Q blocks,
 * lane l has A[l] = sum over q of w[LANES q + l] and B[l] = sum over q of (Q - 1 - q) times it,
 * so the bulk adds sum of (LANES (Q - 1 - q) + LANES - l) w = LANES sum(B) + sum((LANES - l) A)
 * to b, on top of the (LANES Q) a that the words before it contribute. */
#define LANES 8
static void checksum_bulk(const uint8_t *p, size_t blocks, uint32_t *a, uint32_t *b) {
    /* named lanes rather than arrays: compilers keep them in registers (arrays went through
     * the stack on every block, 1.5x slower) */
    uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    uint32_t b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0;
    for (size_t q = 0; q < blocks; q++, p += 4 * LANES) {
        b0 += a0, a0 += rd32(p), b1 += a1, a1 += rd32(p + 4);
        b2 += a2, a2 += rd32(p + 8), b3 += a3, a3 += rd32(p + 12);
        b4 += a4, a4 += rd32(p + 16), b5 += a5, a5 += rd32(p + 20);
        b6 += a6, a6 += rd32(p + 24), b7 += a7, a7 += rd32(p + 28);
    }
    const uint32_t A[LANES] = {a0, a1, a2, a3, a4, a5, a6, a7};
    const uint32_t B[LANES] = {b0, b1, b2, b3, b4, b5, b6, b7};
    uint32_t sum_a = 0, sum_b = 0;
    for (int l = 0; l < LANES; l++) sum_a += A[l], sum_b += LANES * B[l] + (uint32_t)(LANES - l) * A[l];
    *b += (uint32_t)(blocks * LANES) * *a + sum_b;
    *a += sum_a;
}

uint64_t emoti_container_checksum(const uint8_t *base, size_t size) {
    uint32_t a = 0, b = 0;
    size_t n = size / 4, i = 0;
    for (; i < n && i < 16; i++) { /* words 14 and 15 hold the checksum: read as 0 */
        a += (i == 14 || i == 15) ? 0 : rd32(base + 4 * i);
        b += a;
    }
    const size_t blocks = (n - i) / LANES;
    checksum_bulk(base + 4 * i, blocks, &a, &b);
    for (i += blocks * LANES; i < n; i++) {
        a += rd32(base + 4 * i);
        b += a;
    }
    return ((uint64_t)b << 32) | a;
}

/* A bounds-checked reader over one section. */
typedef struct {
    const uint8_t *p, *end;
} cursor;

static int take(cursor *c, size_t n, const uint8_t **out) {
    if ((size_t)(c->end - c->p) < n) return 0;
    *out = c->p;
    c->p += n;
    return 1;
}
static int take32(cursor *c, uint32_t *v) {
    const uint8_t *p;
    if (!take(c, 4, &p)) return 0;
    *v = rd32(p);
    return 1;
}

static int valid_key(const uint8_t *s, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'))
            return 0;
    }
    return 1;
}

/* Reads one metadata value of the given type, leaving count/data in m. */
static int take_meta_value(cursor *c, emoti_meta *m) {
    const uint8_t *p;
    uint32_t n = 0;
    switch (m->type) {
    case META_I64:
    case META_F64:
        m->count = 1;
        return take(c, 8, &m->data);
    case META_STR:
        if (!take32(c, &n) || n > 65535) return 0;
        m->count = n;
        return take(c, n, &m->data);
    case META_I32S:
    case META_F32S:
    case META_F64S:
        if (!take32(c, &n) || n > 65535) return 0;
        m->count = n;
        return take(c, (size_t)n * (m->type == META_F64S ? 8 : 4), &m->data);
    case META_STRS:
        if (!take32(c, &n) || n > 4096) return 0;
        m->count = n;
        m->data = c->p;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t len;
            if (!take32(c, &len) || len > 65535 || !take(c, len, &p)) return 0;
        }
        return 1;
    default:
        return 0;
    }
}

/* The metadata entry at c (key, type, value), bounds-checked. */
static int take_meta(cursor *c, emoti_meta *m) {
    const uint8_t *key;
    if (!take32(c, &m->key_len) || m->key_len < 1 || m->key_len > 255 ||
        !take(c, m->key_len, &key) || !valid_key(key, m->key_len))
        return 0;
    m->key = (const char *)key;
    return take32(c, &m->type) && take_meta_value(c, m);
}

/* Every entry well formed, no key twice (entries are few: each is compared with the ones
 * before it, in place). */
static emoti_status check_meta(emoti_container *ct, const uint8_t *sec, size_t size) {
    cursor c = {sec, sec + size};
    uint32_t n;
    if (!take32(&c, &n) || n > 4096)
        return emoti_fail(EMOTI_ERR_FORMAT, "metadata section: bad entry count");
    ct->meta = c.p, ct->meta_end = c.end, ct->n_meta = n;
    for (uint32_t i = 0; i < n; i++) {
        emoti_meta m;
        const uint8_t *at = c.p;
        if (!take_meta(&c, &m))
            return emoti_fail(EMOTI_ERR_FORMAT, "metadata entry %u: bad key or truncated value", i);
        cursor before = {ct->meta, at};
        emoti_meta o;
        while (before.p < at && take_meta(&before, &o))
            if (o.key_len == m.key_len && !memcmp(o.key, m.key, m.key_len))
                return emoti_fail(EMOTI_ERR_FORMAT, "metadata key '%.*s' repeated",
                                  (int)m.key_len, m.key);
    }
    return EMOTI_OK;
}

static void swap_tensors_at(emoti_tensor *t, size_t i, size_t j) {
    emoti_tensor x = t[i];
    t[i] = t[j], t[j] = x;
}

/* Heapsort by data offset (no qsort in a freestanding build, no recursion). */
static void sort_by_offset(emoti_tensor *t, size_t n) {
    for (size_t end = n, start = n / 2; end > 1;) {
        if (start > 0) start--;
        else swap_tensors_at(t, 0, --end);
        for (size_t root = start, child; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && t[child + 1].data > t[child].data) child++;
            if (t[root].data >= t[child].data) break;
            swap_tensors_at(t, root, child);
        }
    }
}

/* Tensors must not overlap one another: sort by offset and compare neighbours (lookups are by
 * name, so the order does not matter). */
static emoti_status check_overlaps(emoti_container *ct) {
    emoti_tensor *t = ct->tensors;
    sort_by_offset(t, ct->n_tensors);
    for (uint32_t i = 1; i < ct->n_tensors; i++)
        if (t[i - 1].data + t[i - 1].count > t[i].data)
            return emoti_fail(EMOTI_ERR_FORMAT, "tensors '%.*s' and '%.*s' overlap",
                              (int)t[i - 1].name_len, t[i - 1].name, (int)t[i].name_len,
                              t[i].name);
    return EMOTI_OK;
}

/* Tensor table entry i at c, checked, into *t. */
static emoti_status read_entry(const emoti_container *ct, cursor *c, uint32_t i,
                               size_t data_start, emoti_tensor *t) {
    const uint8_t *p;
    uint32_t dtype;
    if (!take32(c, &t->name_len) || t->name_len < 1 || t->name_len > 255 ||
        !take(c, t->name_len, &p))
        return emoti_fail(EMOTI_ERR_FORMAT, "tensor table entry %u: bad name", i);
    t->name = (const char *)p;
    if (!take32(c, &dtype) || !take32(c, &t->ndim) || t->ndim < 1 || t->ndim > EMOTI_MAX_DIMS)
        return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%.*s': bad dtype or rank",
                          (int)t->name_len, t->name);
    if (dtype != 1)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "tensor '%.*s': dtype %u (only f32 = 1)",
                          (int)t->name_len, t->name, dtype);
    uint64_t count = 1;
    for (uint32_t d = 0; d < t->ndim; d++) {
        if (!take32(c, &t->dims[d]) || t->dims[d] == 0 || t->dims[d] > (1u << 26))
            return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%.*s': bad dimension",
                              (int)t->name_len, t->name);
        count *= t->dims[d];
        if (count > ((uint64_t)1 << 32))
            return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%.*s': too large", (int)t->name_len,
                              t->name);
    }
    if (!take(c, 16, &p))
        return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%.*s': truncated entry", (int)t->name_len,
                          t->name);
    uint64_t off = rd64(p), nbytes = rd64(p + 8);
    if (nbytes != count * 4)
        return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%.*s': %llu bytes for %llu floats",
                          (int)t->name_len, t->name, (unsigned long long)nbytes,
                          (unsigned long long)count);
    if (off % 64 || off < data_start || off > ct->size || nbytes > ct->size - off)
        return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%.*s': data at %llu+%llu outside the file",
                          (int)t->name_len, t->name, (unsigned long long)off,
                          (unsigned long long)nbytes);
    t->data = (const float *)(const void *)(ct->base + off);
    t->count = (size_t)count;
    return EMOTI_OK;
}

static emoti_status parse_tensor(emoti_container *ct, cursor *c, uint32_t i, size_t data_start) {
    emoti_tensor *t = &ct->tensors[i];
    emoti_status st = read_entry(ct, c, i, data_start, t);
    if (st) return st;
    for (uint32_t j = 0; j < i; j++)
        if (ct->tensors[j].name_len == t->name_len &&
            !memcmp(ct->tensors[j].name, t->name, t->name_len))
            return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%.*s' repeated", (int)t->name_len,
                              t->name);
    return EMOTI_OK;
}

static emoti_status parse_table(emoti_container *ct, const uint8_t *sec, size_t size,
                                size_t data_start) {
    cursor c = {sec, sec + size};
    for (uint32_t i = 0; i < ct->n_tensors; i++) {
        emoti_status st = parse_tensor(ct, &c, i, data_start);
        if (st) return st;
    }
    return check_overlaps(ct);
}

static emoti_status check_header(const uint8_t *h, size_t size) {
    if (size < EMOTI_HEADER_SIZE)
        return emoti_fail(EMOTI_ERR_FORMAT, "too short for a model (%zu bytes)", size);
    if (memcmp(h, EMOTI_MAGIC, 8))
        return emoti_fail(EMOTI_ERR_FORMAT, "not an emoti model (bad magic)%s",
                          (h[0] == 'P' && h[1] == 'K') || h[0] == 0x08
                              ? ": convert .pt/.onnx files with tools/export.py first"
                              : "");
    if (rd32(h + 8) != EMOTI_FORMAT_VERSION)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "container version %u (this build reads %d)",
                          rd32(h + 8), EMOTI_FORMAT_VERSION);
    if (rd32(h + 12) != EMOTI_HEADER_SIZE)
        return emoti_fail(EMOTI_ERR_FORMAT, "header size %u (expected %d)", rd32(h + 12),
                          EMOTI_HEADER_SIZE);
    if (rd64(h + 16) != size)
        return emoti_fail(EMOTI_ERR_FORMAT, "file is %zu bytes, header says %llu (truncated?)",
                          size, (unsigned long long)rd64(h + 16));
    if (size % 64) return emoti_fail(EMOTI_ERR_FORMAT, "file size %zu not a multiple of 64", size);
    return EMOTI_OK;
}

/* Big-endian hosts: a copy of the file (its size is a multiple of 64, so every tensor keeps
 * its 64-byte alignment) holds the tensors in host order. */
static void swap_tensors(emoti_container *ct, uint8_t *copy) {
    for (uint32_t i = 0; i < ct->n_tensors; i++) {
        emoti_tensor *t = &ct->tensors[i];
        size_t off = (size_t)((const uint8_t *)t->data - ct->base);
        emoti_le_copy32(copy + off, t->data, t->count);
        t->data = (const float *)(const void *)(copy + off);
    }
}

emoti_status emoti_container_check(emoti_container *ct, const void *base, size_t size) {
    memset(ct, 0, sizeof *ct);
    const uint8_t *h = base;
    if (!base) return emoti_fail(EMOTI_ERR_ARG, "model buffer is NULL");
    if ((uintptr_t)base % 64)
        return emoti_fail(EMOTI_ERR_ARG, "model buffer is not 64-byte aligned");
    emoti_status st = check_header(h, size);
    if (st) return st;
    uint64_t mo = rd64(h + 24), ms = rd64(h + 32), to = rd64(h + 40);
    uint32_t ts = rd32(h + 48), nt = rd32(h + 52);
    if (mo % 64 || to % 64 || mo < EMOTI_HEADER_SIZE || mo > size || ms > size - mo ||
        to < mo + ms || to > size || ts > size - to)
        return emoti_fail(EMOTI_ERR_FORMAT, "section offsets out of bounds");
    if (nt < 1 || nt > EMOTI_MAX_TENSORS)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad tensor count %u", nt);
    uint64_t sum = emoti_container_checksum(h, size);
    if (sum != rd64(h + 56))
        return emoti_fail(EMOTI_ERR_FORMAT, "checksum mismatch (file corrupt): %016llx, "
                          "header says %016llx", (unsigned long long)sum,
                          (unsigned long long)rd64(h + 56));
    st = check_meta(ct, h + mo, ms);
    if (st) {
        memset(ct, 0, sizeof *ct);
        return st;
    }
    ct->base = h, ct->size = size, ct->n_tensors = nt;
    ct->table = h + to, ct->table_size = ts;
    return EMOTI_OK;
}

size_t emoti_container_index_bytes(const emoti_container *ct) {
    size_t total = 0;
    emoti_arena_add(&total, (size_t)ct->n_tensors * sizeof(emoti_tensor));
    if (!emoti_host_le()) emoti_arena_add(&total, ct->size);
    return total;
}

emoti_status emoti_container_index(emoti_container *ct, emoti_arena *a) {
    ct->tensors = emoti_arena_take(a, (size_t)ct->n_tensors * sizeof *ct->tensors);
    uint8_t *copy = emoti_host_le() ? NULL : emoti_arena_take(a, ct->size);
    if (!ct->tensors || (!emoti_host_le() && !copy))
        return emoti_fail(EMOTI_ERR_NOMEM, "model memory too small for the tensor index "
                          "(%zu bytes)", emoti_container_index_bytes(ct));
    const size_t table_end = (size_t)(ct->table - ct->base) + ct->table_size;
    emoti_status st = parse_table(ct, ct->table, ct->table_size, table_end);
    if (!st && copy) swap_tensors(ct, copy);
    if (st) ct->tensors = NULL;
    return st;
}

int emoti_meta_find(const emoti_container *ct, const char *key, emoti_meta *out) {
    const size_t n = strlen(key);
    cursor c = {ct->meta, ct->meta_end};
    for (uint32_t i = 0; i < ct->n_meta && take_meta(&c, out); i++)
        if (out->key_len == n && !memcmp(out->key, key, n)) return 1;
    return 0;
}

int emoti_meta_entry(const emoti_container *ct, uint32_t i, emoti_meta *out) {
    cursor c = {ct->meta, ct->meta_end};
    for (uint32_t k = 0; k < ct->n_meta && take_meta(&c, out); k++)
        if (k == i) return 1;
    return 0;
}

static emoti_status find_typed(const emoti_container *ct, const char *key, uint32_t type,
                               emoti_meta *m) {
    if (!emoti_meta_find(ct, key, m))
        return emoti_fail(EMOTI_ERR_FORMAT, "metadata '%s' missing", key);
    if (m->type != type)
        return emoti_fail(EMOTI_ERR_FORMAT, "metadata '%s' has type %u, expected %u", key,
                          m->type, type);
    return EMOTI_OK;
}

emoti_status emoti_meta_i64(const emoti_container *ct, const char *key, int64_t *out) {
    emoti_meta m;
    emoti_status st = find_typed(ct, key, META_I64, &m);
    if (!st) *out = (int64_t)rd64(m.data);
    return st;
}

emoti_status emoti_meta_str(const emoti_container *ct, const char *key, const char **s,
                            uint32_t *len) {
    emoti_meta m;
    emoti_status st = find_typed(ct, key, META_STR, &m);
    if (!st) *s = (const char *)m.data, *len = m.count;
    return st;
}

emoti_status emoti_meta_i32s(const emoti_container *ct, const char *key, const int32_t **v,
                             uint32_t *count) {
    emoti_meta m;
    emoti_status st = find_typed(ct, key, META_I32S, &m);
    if (!st) *v = (const int32_t *)(const void *)m.data, *count = m.count;
    return st;
}

emoti_status emoti_meta_f64s(const emoti_container *ct, const char *key, double *out,
                             uint32_t count) {
    emoti_meta m;
    emoti_status st = find_typed(ct, key, META_F64S, &m);
    if (st) return st;
    if (m.count != count)
        return emoti_fail(EMOTI_ERR_FORMAT, "metadata '%s' has %u values, expected %u", key,
                          m.count, count);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t u = rd64(m.data + 8 * i);
        memcpy(&out[i], &u, 8);
    }
    return EMOTI_OK;
}

/* The bytes of a str array's strings with a NUL each (lengths checked by
 * emoti_container_check), and of the NULL-terminated array of pointers to them. */
static size_t strs_chars(const emoti_meta *m) {
    size_t chars = 0;
    const uint8_t *p = m->data;
    for (uint32_t i = 0; i < m->count; i++) chars += rd32(p) + 1, p += 4 + rd32(p);
    return chars;
}
static size_t strs_bytes(const emoti_meta *m) {
    size_t total = 0;
    emoti_arena_add(&total, (m->count + 1) * sizeof(char *));
    emoti_arena_add(&total, strs_chars(m));
    return total;
}

emoti_status emoti_meta_strs_bytes(const emoti_container *ct, const char *key, size_t *bytes) {
    emoti_meta m;
    emoti_status st = find_typed(ct, key, META_STRS, &m);
    if (!st) *bytes = strs_bytes(&m);
    return st;
}

emoti_status emoti_meta_strs_in(const emoti_container *ct, const char *key, emoti_arena *a,
                                char ***out, uint32_t *count) {
    emoti_meta m;
    emoti_status st = find_typed(ct, key, META_STRS, &m);
    if (st) return st;
    char **v = emoti_arena_take(a, (m.count + 1) * sizeof *v);
    char *text = v ? emoti_arena_take(a, strs_chars(&m)) : NULL;
    if (!text)
        return emoti_fail(EMOTI_ERR_NOMEM, "memory too small for '%s' (%zu bytes)", key,
                          strs_bytes(&m));
    const uint8_t *p = m.data;
    for (uint32_t i = 0; i < m.count; i++) {
        const uint32_t len = rd32(p);
        v[i] = memcpy(text, p + 4, len);
        text[len] = 0;
        text += len + 1, p += 4 + len;
    }
    v[m.count] = NULL;
    *out = v;
    *count = m.count;
    return EMOTI_OK;
}

emoti_status emoti_tensor_get(const emoti_container *ct, const char *name, const uint32_t *dims,
                              const float **out) {
    size_t n = strlen(name);
    cursor c = {ct->table, ct->table + ct->table_size};
    const size_t table_end = (size_t)(ct->table - ct->base) + ct->table_size;
    for (uint32_t i = 0; i < ct->n_tensors; i++) {
        emoti_tensor entry;
        const emoti_tensor *t = ct->tensors ? &ct->tensors[i] : &entry;
        if (!ct->tensors) { /* not indexed yet (sizing): the table read in place */
            emoti_status st = read_entry(ct, &c, i, table_end, &entry);
            if (st) return st;
        }
        if (t->name_len != n || memcmp(t->name, name, n)) continue;
        uint32_t nd = 0;
        while (nd < EMOTI_MAX_DIMS && dims[nd]) nd++;
        int same = nd == t->ndim;
        for (uint32_t d = 0; same && d < nd; d++) same = dims[d] == t->dims[d];
        if (!same)
            return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%s' has the wrong shape for the "
                              "architecture", name);
        *out = t->data;
        return EMOTI_OK;
    }
    return emoti_fail(EMOTI_ERR_FORMAT, "tensor '%s' missing", name);
}
