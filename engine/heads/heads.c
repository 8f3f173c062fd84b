/* Head containers (general.arch = mlp): loading, saving, inference. */
#include "heads.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "error.h"

static const char *const TASKS[] = {"va", "expr", "au"};
static const char *const ACTS[] = {"none", "relu", "tanh", "sigmoid", "softmax"};
static const char *const VA_LABELS[] = {"valence", "arousal"};
static const char *const EXPR_LABELS[] = {"Neutral", "Anger", "Disgust", "Fear",
                                          "Happiness", "Sadness", "Surprise", "Other"};
static const char *const AU_LABELS[] = {"AU1", "AU2", "AU4", "AU6", "AU7", "AU10",
                                        "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"};

const char *emoti_task_name(int task) {
    return task >= 0 && task < EMOTI_TASK_COUNT ? TASKS[task] : "?";
}
int emoti_task_parse(const char *s) {
    for (int i = 0; i < EMOTI_TASK_COUNT; i++)
        if (!strcmp(s, TASKS[i])) return i;
    return -1;
}
const char *emoti_act_name(int act) {
    return act >= 0 && act <= EMOTI_ACT_SOFTMAX ? ACTS[act] : "?";
}
int emoti_act_parse(const char *s) {
    for (int i = 0; i <= EMOTI_ACT_SOFTMAX; i++)
        if (!strcmp(s, ACTS[i])) return i;
    return -1;
}
int emoti_task_default_k(int task) { return task == EMOTI_TASK_AU ? 5 : 50; }
int emoti_task_labels(int task, const char *const **labels) {
    switch (task) {
    case EMOTI_TASK_VA: *labels = VA_LABELS; return 2;
    case EMOTI_TASK_EXPR: *labels = EXPR_LABELS; return 8;
    case EMOTI_TASK_AU: *labels = AU_LABELS; return 12;
    default: *labels = NULL; return 0;
    }
}

void emoti_head_free(emoti_head *h) {
    if (!h) return;
    for (int l = 0; l < h->n_layers; l++) free(h->w[l]), free(h->b[l]);
    if (h->labels)
        for (int i = 0; i < emoti_head_outputs(h); i++) free(h->labels[i]);
    free(h->labels);
    free(h->thresholds);
    free(h);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

emoti_status emoti_head_create(emoti_head **out, int task, int input, int n_layers,
                               const int *sizes, const int *acts) {
    *out = NULL;
    if (task < 0 || task >= EMOTI_TASK_COUNT)
        return emoti_fail(EMOTI_ERR_ARG, "unknown head task %d", task);
    if (input != EMOTI_INPUT_EMBEDDING && input != EMOTI_INPUT_LOGITS)
        return emoti_fail(EMOTI_ERR_ARG, "unknown head input kind %d", input);
    if (n_layers < 1 || n_layers > EMOTI_HEAD_MAX_LAYERS)
        return emoti_fail(EMOTI_ERR_ARG, "a head has 1 to %d layers, not %d", EMOTI_HEAD_MAX_LAYERS,
                          n_layers);
    for (int l = 0; l <= n_layers; l++)
        if (sizes[l] < 1 || sizes[l] > EMOTI_HEAD_MAX_WIDTH)
            return emoti_fail(EMOTI_ERR_ARG, "layer width %d out of range", sizes[l]);
    for (int l = 0; l < n_layers; l++)
        if (acts[l] < EMOTI_ACT_NONE || acts[l] > EMOTI_ACT_SOFTMAX)
            return emoti_fail(EMOTI_ERR_ARG, "unknown activation %d", acts[l]);
    int n_out = sizes[n_layers];
    if (task == EMOTI_TASK_VA && n_out != 2)
        return emoti_fail(EMOTI_ERR_ARG, "a va head has 2 outputs (valence, arousal), not %d", n_out);
    emoti_head *h = calloc(1, sizeof *h);
    if (!h) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    h->task = task, h->input = input, h->n_layers = n_layers;
    h->smooth_k = emoti_task_default_k(task);
    snprintf(h->name, sizeof h->name, "%s_head", TASKS[task]);
    memcpy(h->sizes, sizes, (size_t)(n_layers + 1) * sizeof *sizes);
    memcpy(h->act, acts, (size_t)n_layers * sizeof *acts);
    int ok = 1;
    for (int l = 0; l < n_layers && ok; l++) {
        h->w[l] = calloc((size_t)sizes[l] * (size_t)sizes[l + 1], sizeof(float));
        h->b[l] = calloc((size_t)sizes[l + 1], sizeof(float));
        ok = h->w[l] && h->b[l];
    }
    h->labels = calloc((size_t)n_out, sizeof *h->labels);
    ok = ok && h->labels;
    const char *const *names;
    int n_names = emoti_task_labels(task, &names);
    for (int i = 0; ok && i < n_out; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "out%d", i);
        ok = (h->labels[i] = dup_str(n_names == n_out ? names[i] : buf)) != NULL;
    }
    if (ok && task == EMOTI_TASK_AU) {
        ok = (h->thresholds = malloc((size_t)n_out * sizeof *h->thresholds)) != NULL;
        for (int i = 0; ok && i < n_out; i++) h->thresholds[i] = 0.5;
    }
    if (!ok) {
        emoti_head_free(h);
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    *out = h;
    return EMOTI_OK;
}

/* ---- inference ---- */

void emoti_axpy(float *restrict y, const float *restrict x, float a, size_t n) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        y[j] += a * x[j], y[j + 1] += a * x[j + 1], y[j + 2] += a * x[j + 2], y[j + 3] += a * x[j + 3];
        y[j + 4] += a * x[j + 4], y[j + 5] += a * x[j + 5], y[j + 6] += a * x[j + 6];
        y[j + 7] += a * x[j + 7];
    }
    for (; j < n; j++) y[j] += a * x[j];
}

float emoti_dot(const float *restrict x, const float *restrict y, size_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) s[q] += x[j + (size_t)q] * y[j + (size_t)q];
    float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; j < n; j++) t += x[j] * y[j];
    return t;
}

void emoti_dense(const float *x, size_t n, int in, const float *w, const float *b, int out,
                 int act, float *y) {
    size_t o = (size_t)out;
    for (size_t r = 0; r < n; r++) {
        float *yr = y + r * o;
        const float *xr = x + r * (size_t)in;
        memcpy(yr, b, o * sizeof *yr);
        for (int k = 0; k < in; k++) {
            float xv = xr[k];
            if (xv != 0) emoti_axpy(yr, w + (size_t)k * o, xv, o);
        }
        switch (act) {
        case EMOTI_ACT_RELU:
            for (size_t j = 0; j < o; j++) yr[j] = yr[j] > 0 ? yr[j] : 0;
            break;
        case EMOTI_ACT_TANH:
            for (size_t j = 0; j < o; j++) yr[j] = tanhf(yr[j]);
            break;
        case EMOTI_ACT_SIGMOID:
            for (size_t j = 0; j < o; j++)
                yr[j] = yr[j] >= 0 ? 1 / (1 + expf(-yr[j])) : expf(yr[j]) / (1 + expf(yr[j]));
            break;
        case EMOTI_ACT_SOFTMAX: {
            float m = yr[0];
            for (size_t j = 1; j < o; j++) m = yr[j] > m ? yr[j] : m;
            double s = 0;
            for (size_t j = 0; j < o; j++) s += (yr[j] = expf(yr[j] - m));
            for (size_t j = 0; j < o; j++) yr[j] = (float)(yr[j] / s);
            break;
        }
        default:
            break;
        }
    }
}

#define HEAD_CHUNK 256 /* rows per pass: the hidden activations of a chunk stay in cache */

static int widest_hidden(const emoti_head *h) {
    int widest = 0;
    for (int l = 1; l < h->n_layers; l++) widest = h->sizes[l] > widest ? h->sizes[l] : widest;
    return widest;
}

size_t emoti_head_scratch_floats(const emoti_head *h, size_t n) {
    return 2 * (n < HEAD_CHUNK ? n : HEAD_CHUNK) * (size_t)widest_hidden(h);
}

void emoti_head_forward_scratch(const emoti_head *h, const float *x, size_t n, float *out,
                                float *scratch) {
    size_t chunk = n < HEAD_CHUNK ? n : HEAD_CHUNK, widest = (size_t)widest_hidden(h);
    float *tmp[2] = {scratch, widest ? scratch + chunk * widest : NULL}; /* 1 layer: no scratch */
    int n_out = emoti_head_outputs(h);
    for (size_t r = 0; r < n; r += chunk) {
        size_t m = n - r < chunk ? n - r : chunk;
        const float *src = x + r * (size_t)h->sizes[0];
        for (int l = 0; l < h->n_layers; l++) {
            float *dst = l == h->n_layers - 1 ? out + r * (size_t)n_out : tmp[l & 1];
            emoti_dense(src, m, h->sizes[l], h->w[l], h->b[l], h->sizes[l + 1], h->act[l], dst);
            src = dst;
        }
    }
}

emoti_status emoti_head_forward(const emoti_head *h, const float *x, size_t n, float *out) {
    size_t floats = emoti_head_scratch_floats(h, n);
    float *scratch = floats ? malloc(floats * sizeof *scratch) : NULL;
    if (floats && !scratch) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_head_forward_scratch(h, x, n, out, scratch);
    free(scratch);
    return EMOTI_OK;
}

/* ---- loading ---- */

static int str_is(const char *s, uint32_t len, const char *lit) {
    return strlen(lit) == len && !memcmp(s, lit, len);
}

static emoti_status get_str(const emoti_container *c, const char *key, char *dst, size_t cap,
                            int required) {
    const char *s;
    uint32_t len;
    emoti_meta m;
    if (!required && !emoti_meta_find(c, key, &m)) return EMOTI_OK;
    emoti_status st = emoti_meta_str(c, key, &s, &len);
    if (st) return st;
    snprintf(dst, cap, "%.*s", (int)len, s);
    return EMOTI_OK;
}

static emoti_status parse_head(const emoti_container *c, emoti_head **out) {
    const char *s;
    uint32_t len, count;
    emoti_status st = emoti_meta_str(c, "general.arch", &s, &len);
    if (st) return st;
    if (!str_is(s, len, "mlp"))
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "not a head: general.arch is '%.*s', expected "
                          "'mlp'", (int)len, s);
    char task_s[16] = "", input_s[16] = "";
    if ((st = get_str(c, "head.task", task_s, sizeof task_s, 1)) ||
        (st = get_str(c, "head.input", input_s, sizeof input_s, 1)))
        return st;
    int task = emoti_task_parse(task_s);
    if (task < 0) return emoti_fail(EMOTI_ERR_FORMAT, "head.task '%s' is not va, expr or au", task_s);
    int input = !strcmp(input_s, "embedding") ? EMOTI_INPUT_EMBEDDING
                : !strcmp(input_s, "logits")  ? EMOTI_INPUT_LOGITS : -1;
    if (input < 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "head.input '%s' is not embedding or logits", input_s);
    const int32_t *raw;
    if ((st = emoti_meta_i32s(c, "head.layers", &raw, &count))) return st;
    if (count < 2 || count > EMOTI_HEAD_MAX_LAYERS + 1)
        return emoti_fail(EMOTI_ERR_FORMAT, "head.layers has %u sizes, expected 2..%d", count,
                          EMOTI_HEAD_MAX_LAYERS + 1);
    int sizes[EMOTI_HEAD_MAX_LAYERS + 1], acts[EMOTI_HEAD_MAX_LAYERS];
    int n_layers = (int)count - 1;
    for (uint32_t i = 0; i < count; i++) sizes[i] = (int32_t)emoti_le32(raw + i);
    char **names;
    if ((st = emoti_meta_strs(c, "head.activations", &names, &count))) return st;
    int bad = count != (uint32_t)n_layers ? -2 : -1;
    for (uint32_t i = 0; i < count; i++) {
        if (bad == -1 && (acts[i] = emoti_act_parse(names[i])) < 0) bad = (int)i;
        free(names[i]);
    }
    free(names);
    if (bad == -2)
        return emoti_fail(EMOTI_ERR_FORMAT, "head.activations has %u entries for %d layers", count,
                          n_layers);
    if (bad >= 0) return emoti_fail(EMOTI_ERR_FORMAT, "head.activations[%d] is unknown", bad);
    for (int l = 0; l <= n_layers; l++)
        if (sizes[l] < 1 || sizes[l] > EMOTI_HEAD_MAX_WIDTH)
            return emoti_fail(EMOTI_ERR_FORMAT, "head.layers[%d] = %d out of range", l, sizes[l]);
    /* Every tensor is found, shaped as head.layers says and finite before anything is
     * allocated: the sizes alone could ask for 8 x 16 GiB. */
    const float *w[EMOTI_HEAD_MAX_LAYERS], *b[EMOTI_HEAD_MAX_LAYERS];
    for (int l = 0; l < 2 * n_layers; l++) {
        char name[32];
        int bias = l & 1, i = l / 2;
        uint32_t dims[3] = {(uint32_t)sizes[i], (uint32_t)sizes[i + 1], 0};
        snprintf(name, sizeof name, "dense%d.%c", i, bias ? 'b' : 'w');
        if ((st = emoti_tensor_get(c, name, dims + bias, bias ? &b[i] : &w[i]))) return st;
        size_t n = bias ? (size_t)sizes[i + 1] : (size_t)sizes[i] * (size_t)sizes[i + 1];
        for (size_t k = 0; k < n; k++)
            if (!isfinite((bias ? b : w)[i][k]))
                return emoti_fail(EMOTI_ERR_FORMAT, "%s has a NaN or infinite value", name);
    }
    emoti_head *h;
    if ((st = emoti_head_create(&h, task, input, n_layers, sizes, acts))) {
        return st == EMOTI_ERR_ARG ? EMOTI_ERR_FORMAT : st; /* its message stands */
    }
    int n_out = sizes[n_layers];
    for (int l = 0; l < n_layers; l++) {
        memcpy(h->w[l], w[l], (size_t)sizes[l] * (size_t)sizes[l + 1] * sizeof *w[l]);
        memcpy(h->b[l], b[l], (size_t)sizes[l + 1] * sizeof *b[l]); /* host order already */
    }
    int64_t k = h->smooth_k;
    emoti_meta m;
    if (!st && emoti_meta_find(c, "post.smooth_k", &m) && !(st = emoti_meta_i64(c, "post.smooth_k", &k)) &&
        (k < 0 || k > 100000))
        st = emoti_fail(EMOTI_ERR_FORMAT, "post.smooth_k = %lld out of range", (long long)k);
    h->smooth_k = (int)k;
    if (!st && task == EMOTI_TASK_AU) {
        const int have = emoti_meta_find(c, "post.thresholds", &m);
        if (have && m.type == META_F64S && m.count == (uint32_t)n_out) {
            st = emoti_meta_f64s(c, "post.thresholds", h->thresholds, (uint32_t)n_out);
            for (int i = 0; i < n_out && !st; i++)
                if (!(h->thresholds[i] >= 0 && h->thresholds[i] <= 1))
                    st = emoti_fail(EMOTI_ERR_FORMAT, "post.thresholds[%d] is not in [0, 1]", i);
        } else if (have) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "post.thresholds must be %d f64 values", n_out);
        }
    }
    if (!st && emoti_meta_find(c, "out.labels", &m)) {
        if ((st = emoti_meta_strs(c, "out.labels", &names, &count))) goto done;
        if (count != (uint32_t)n_out)
            st = emoti_fail(EMOTI_ERR_FORMAT, "out.labels has %u names for %d outputs", count, n_out);
        for (uint32_t i = 0; i < count; i++) {
            if (!st) free(h->labels[i]), h->labels[i] = names[i];
            else free(names[i]);
        }
        free(names);
    }
    if (!st) st = get_str(c, "general.name", h->name, sizeof h->name, 0);
    if (!st) st = get_str(c, "general.source", h->source, sizeof h->source, 0);
    if (!st) st = get_str(c, "head.note", h->note, sizeof h->note, 0);
done:
    if (st) {
        emoti_head_free(h);
        return st;
    }
    *out = h;
    return EMOTI_OK;
}

emoti_status emoti_head_parse(const void *buf, size_t size, emoti_head **out) {
    *out = NULL;
    emoti_container c;
    emoti_status st = emoti_container_parse(&c, buf, size);
    if (st) return st;
    st = parse_head(&c, out);
    emoti_container_free(&c);
    return st;
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
