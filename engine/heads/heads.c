/* Head containers (general.arch = mlp): the freestanding part: names, inference, and a head
 * read from a container into memory the caller provides (sizes first). Creating heads in
 * memory of their own, loading files and saving are in heads_hosted.c. */
#include "heads.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "container.h"
#include "error.h"
#include "text.h"

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

/* ---- one block per head ---- */

/* The head's pieces in order: the struct, each layer's w and b, the thresholds (AU heads); the
 * labels come after (from the container, or the defaults). */
size_t emoti_head_block_bytes(const emoti_head_shape *s, size_t labels_bytes) {
    size_t total = 0;
    emoti_arena_add(&total, sizeof(emoti_head));
    for (int l = 0; l < s->n_layers; l++) {
        emoti_arena_add(&total, (size_t)s->sizes[l] * (size_t)s->sizes[l + 1] * sizeof(float));
        emoti_arena_add(&total, (size_t)s->sizes[l + 1] * sizeof(float));
    }
    if (s->task == EMOTI_TASK_AU)
        emoti_arena_add(&total, (size_t)s->sizes[s->n_layers] * sizeof(double));
    emoti_arena_add(&total, labels_bytes);
    return total;
}

emoti_status emoti_head_check_shape(const emoti_head_shape *s) {
    if (s->task < 0 || s->task >= EMOTI_TASK_COUNT)
        return emoti_fail(EMOTI_ERR_ARG, "unknown head task %d", s->task);
    if (s->input != EMOTI_INPUT_EMBEDDING && s->input != EMOTI_INPUT_LOGITS)
        return emoti_fail(EMOTI_ERR_ARG, "unknown head input kind %d", s->input);
    if (s->n_layers < 1 || s->n_layers > EMOTI_HEAD_MAX_LAYERS)
        return emoti_fail(EMOTI_ERR_ARG, "a head has 1 to %d layers, not %d", EMOTI_HEAD_MAX_LAYERS,
                          s->n_layers);
    for (int l = 0; l <= s->n_layers; l++)
        if (s->sizes[l] < 1 || s->sizes[l] > EMOTI_HEAD_MAX_WIDTH)
            return emoti_fail(EMOTI_ERR_ARG, "layer width %d out of range", s->sizes[l]);
    for (int l = 0; l < s->n_layers; l++)
        if (s->act[l] < EMOTI_ACT_NONE || s->act[l] > EMOTI_ACT_SOFTMAX)
            return emoti_fail(EMOTI_ERR_ARG, "unknown activation %d", s->act[l]);
    if (s->task == EMOTI_TASK_VA && s->sizes[s->n_layers] != 2)
        return emoti_fail(EMOTI_ERR_ARG, "a va head has 2 outputs (valence, arousal), not %d",
                          s->sizes[s->n_layers]);
    return EMOTI_OK;
}

/* Bounded copy of a string into a fixed field. */
static void set_text(char *dst, size_t cap, const char *s, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = 0;
}

emoti_head *emoti_head_carve(emoti_arena *a, const emoti_head_shape *s) {
    emoti_head *h = emoti_arena_take(a, sizeof *h);
    if (!h) return NULL;
    memset(h, 0, sizeof *h);
    h->task = s->task, h->input = s->input, h->n_layers = s->n_layers;
    h->smooth_k = emoti_task_default_k(s->task);
    const size_t n = strlen(TASKS[s->task]); /* "au_head": well inside name[64] */
    memcpy(h->name, TASKS[s->task], n), memcpy(h->name + n, "_head", 6);
    memcpy(h->sizes, s->sizes, (size_t)(s->n_layers + 1) * sizeof *s->sizes);
    memcpy(h->act, s->act, (size_t)s->n_layers * sizeof *s->act);
    for (int l = 0; l < s->n_layers; l++) {
        const size_t nb = (size_t)s->sizes[l + 1], nw = (size_t)s->sizes[l] * nb;
        if (!(h->w[l] = emoti_arena_take(a, nw * sizeof(float))) ||
            !(h->b[l] = emoti_arena_take(a, nb * sizeof(float))))
            return NULL;
        memset(h->w[l], 0, nw * sizeof(float)), memset(h->b[l], 0, nb * sizeof(float));
    }
    const int n_out = s->sizes[s->n_layers];
    if (s->task == EMOTI_TASK_AU) {
        if (!(h->thresholds = emoti_arena_take(a, (size_t)n_out * sizeof(double)))) return NULL;
        for (int i = 0; i < n_out; i++) h->thresholds[i] = 0.5;
    }
    return h;
}

/* The default labels: the task's Aff-Wild2 names when the output count matches, else out0... */
static const char *default_label(const emoti_head_shape *s, int i, char *buf, size_t cap) {
    const char *const *names;
    if (emoti_task_labels(s->task, &names) == s->sizes[s->n_layers]) return names[i];
    emoti_name_num(buf, cap, "out", i, "");
    return buf;
}

/* The default labels' text, a NUL each. */
static size_t default_label_chars(const emoti_head_shape *s) {
    size_t chars = 0;
    char buf[16];
    for (int i = 0; i < s->sizes[s->n_layers]; i++)
        chars += strlen(default_label(s, i, buf, sizeof buf)) + 1;
    return chars;
}

size_t emoti_head_default_labels_bytes(const emoti_head_shape *s) {
    size_t total = 0;
    emoti_arena_add(&total, (size_t)(s->sizes[s->n_layers] + 1) * sizeof(char *));
    emoti_arena_add(&total, default_label_chars(s));
    return total;
}

int emoti_head_default_labels(emoti_head *h, const emoti_head_shape *s, emoti_arena *a) {
    const int n = s->sizes[s->n_layers];
    char buf[16], **v = emoti_arena_take(a, (size_t)(n + 1) * sizeof *v);
    char *text = v ? emoti_arena_take(a, default_label_chars(s)) : NULL;
    if (!text) return 0;
    for (int i = 0; i < n; i++) {
        const char *l = default_label(s, i, buf, sizeof buf);
        const size_t len = strlen(l) + 1;
        v[i] = memcpy(text, l, len), text += len;
    }
    v[n] = NULL;
    h->labels = v;
    return 1;
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

/* ---- reading a container ---- */

static int str_is(const char *s, uint32_t len, const char *lit) {
    return strlen(lit) == len && !memcmp(s, lit, len);
}

/* An optional (required = 0) or required string into a fixed field. */
static emoti_status get_str(const emoti_container *c, const char *key, char *dst, size_t cap,
                            int required) {
    const char *s;
    uint32_t len;
    emoti_meta m;
    if (!required && !emoti_meta_find(c, key, &m)) return EMOTI_OK;
    emoti_status st = emoti_meta_str(c, key, &s, &len);
    if (!st) set_text(dst, cap, s, len);
    return st;
}

/* The activations' names, read through a small buffer (a head has at most 8). */
static emoti_status read_acts(const emoti_container *c, int n_layers, int *acts) {
    _Alignas(64) unsigned char buf[2048];
    emoti_arena a = {buf, sizeof buf, 0};
    char **names;
    uint32_t count;
    size_t bytes;
    emoti_status st = emoti_meta_strs_bytes(c, "head.activations", &bytes);
    if (st) return st;
    if (bytes > sizeof buf || emoti_meta_strs_in(c, "head.activations", &a, &names, &count))
        return emoti_fail(EMOTI_ERR_FORMAT, "head.activations is too long");
    if (count != (uint32_t)n_layers)
        return emoti_fail(EMOTI_ERR_FORMAT, "head.activations has %u entries for %d layers", count,
                          n_layers);
    for (uint32_t i = 0; i < count; i++)
        if ((acts[i] = emoti_act_parse(names[i])) < 0)
            return emoti_fail(EMOTI_ERR_FORMAT, "head.activations[%u] is unknown", i);
    return EMOTI_OK;
}

/* The shape a head container's metadata gives, checked before anything is taken: the sizes
 * alone could ask for 8 x 16 GiB. */
static emoti_status read_shape(const emoti_container *c, emoti_head_shape *s) {
    const char *a;
    uint32_t len, count;
    emoti_status st = emoti_meta_str(c, "general.arch", &a, &len);
    if (st) return st;
    if (!str_is(a, len, "mlp"))
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "not a head: general.arch is '%.*s', expected "
                          "'mlp'", (int)len, a);
    char task_s[16] = "", input_s[16] = "";
    if ((st = get_str(c, "head.task", task_s, sizeof task_s, 1)) ||
        (st = get_str(c, "head.input", input_s, sizeof input_s, 1)))
        return st;
    s->task = emoti_task_parse(task_s);
    if (s->task < 0) return emoti_fail(EMOTI_ERR_FORMAT, "head.task '%s' is not va, expr or au", task_s);
    s->input = !strcmp(input_s, "embedding") ? EMOTI_INPUT_EMBEDDING
               : !strcmp(input_s, "logits")  ? EMOTI_INPUT_LOGITS : -1;
    if (s->input < 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "head.input '%s' is not embedding or logits", input_s);
    const int32_t *raw;
    if ((st = emoti_meta_i32s(c, "head.layers", &raw, &count))) return st;
    if (count < 2 || count > EMOTI_HEAD_MAX_LAYERS + 1)
        return emoti_fail(EMOTI_ERR_FORMAT, "head.layers has %u sizes, expected 2..%d", count,
                          EMOTI_HEAD_MAX_LAYERS + 1);
    s->n_layers = (int)count - 1;
    for (uint32_t i = 0; i < count; i++) s->sizes[i] = (int32_t)emoti_le32(raw + i);
    if ((st = read_acts(c, s->n_layers, s->act))) return st;
    for (int l = 0; l <= s->n_layers; l++)
        if (s->sizes[l] < 1 || s->sizes[l] > EMOTI_HEAD_MAX_WIDTH)
            return emoti_fail(EMOTI_ERR_FORMAT, "head.layers[%d] = %d out of range", l, s->sizes[l]);
    if ((st = emoti_head_check_shape(s))) return EMOTI_ERR_FORMAT; /* its message stands */
    return EMOTI_OK;
}

/* Every tensor found and shaped as head.layers says; with check_values also finite (the
 * container indexed: on a big-endian host the values are in host order only then). */
static emoti_status read_tensors(const emoti_container *c, const emoti_head_shape *s,
                                 int check_values, const float **w, const float **b) {
    emoti_status st;
    for (int l = 0; l < 2 * s->n_layers; l++) {
        char name[32];
        int bias = l & 1, i = l / 2;
        uint32_t dims[3] = {(uint32_t)s->sizes[i], (uint32_t)s->sizes[i + 1], 0};
        emoti_name_num(name, sizeof name, "dense", i, bias ? ".b" : ".w");
        if ((st = emoti_tensor_get(c, name, dims + bias, bias ? &b[i] : &w[i]))) return st;
        size_t n = bias ? (size_t)s->sizes[i + 1] : (size_t)s->sizes[i] * (size_t)s->sizes[i + 1];
        for (size_t k = 0; check_values && k < n; k++)
            if (!isfinite((bias ? b : w)[i][k]))
                return emoti_fail(EMOTI_ERR_FORMAT, "%s has a NaN or infinite value", name);
    }
    return EMOTI_OK;
}

/* The labels' bytes: the container's out.labels, or the defaults. */
static emoti_status labels_bytes(const emoti_container *c, const emoti_head_shape *s,
                                 size_t *bytes) {
    emoti_meta m;
    if (!emoti_meta_find(c, "out.labels", &m)) {
        *bytes = emoti_head_default_labels_bytes(s);
        return EMOTI_OK;
    }
    return emoti_meta_strs_bytes(c, "out.labels", bytes);
}

/* The post-processing settings and the texts, into h. */
static emoti_status read_post(const emoti_container *c, emoti_head *h) {
    const int n_out = emoti_head_outputs(h);
    int64_t k = h->smooth_k;
    emoti_meta m;
    emoti_status st = EMOTI_OK;
    if (emoti_meta_find(c, "post.smooth_k", &m) && !(st = emoti_meta_i64(c, "post.smooth_k", &k)) &&
        (k < 0 || k > 100000))
        st = emoti_fail(EMOTI_ERR_FORMAT, "post.smooth_k = %lld out of range", (long long)k);
    h->smooth_k = (int)k;
    if (!st && h->task == EMOTI_TASK_AU) {
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
    if (!st) st = get_str(c, "general.name", h->name, sizeof h->name, 0);
    if (!st) st = get_str(c, "general.source", h->source, sizeof h->source, 0);
    if (!st) st = get_str(c, "head.note", h->note, sizeof h->note, 0);
    return st;
}

/* The bytes of the head of the checked container c and its shape: the head's block, then the
 * container's tensor index (needed while the head is read). */
static emoti_status plan(const emoti_container *c, emoti_head_shape *s, size_t *bytes) {
    size_t lb;
    const float *w[EMOTI_HEAD_MAX_LAYERS], *b[EMOTI_HEAD_MAX_LAYERS];
    emoti_status st = read_shape(c, s);
    if (!st) st = read_tensors(c, s, 0, w, b); /* the sizes are the tensors' before they count */
    if (!st) st = labels_bytes(c, s, &lb);
    if (st) return st;
    *bytes = emoti_head_block_bytes(s, lb);
    emoti_arena_add(bytes, emoti_container_index_bytes(c));
    return EMOTI_OK;
}

emoti_status emoti_head_memory(const void *blob, size_t size, size_t *bytes) {
    emoti_container c;
    emoti_head_shape s;
    emoti_status st = emoti_container_check(&c, blob, size);
    return st ? st : plan(&c, &s, bytes);
}

emoti_status emoti_head_parse_in(const void *blob, size_t size, void *mem, size_t mem_bytes,
                             emoti_head **out) {
    *out = NULL;
    emoti_container c;
    emoti_head_shape s;
    size_t need;
    emoti_status st = emoti_container_check(&c, blob, size);
    if (!st) st = plan(&c, &s, &need);
    if (st) return st;
    if (!mem || (uintptr_t)mem % EMOTI_ARENA_ALIGN)
        return emoti_fail(EMOTI_ERR_ARG, "head memory is NULL or not 64-byte aligned");
    if (mem_bytes < need)
        return emoti_fail(EMOTI_ERR_NOMEM, "head memory of %zu bytes, %zu needed", mem_bytes, need);
    emoti_arena a = {mem, mem_bytes, 0};
    emoti_head *h = emoti_head_carve(&a, &s); /* first: a hosted head is freed by its address */
    const float *w[EMOTI_HEAD_MAX_LAYERS], *b[EMOTI_HEAD_MAX_LAYERS];
    emoti_meta m;
    uint32_t count;
    if (!h) return emoti_fail(EMOTI_ERR_NOMEM, "head memory too small");
    if ((st = emoti_container_index(&c, &a)) || (st = read_tensors(&c, &s, 1, w, b))) return st;
    for (int l = 0; l < s.n_layers; l++) {
        memcpy(h->w[l], w[l], (size_t)s.sizes[l] * (size_t)s.sizes[l + 1] * sizeof *w[l]);
        memcpy(h->b[l], b[l], (size_t)s.sizes[l + 1] * sizeof *b[l]); /* host order already */
    }
    if (emoti_meta_find(&c, "out.labels", &m)) {
        if ((st = emoti_meta_strs_in(&c, "out.labels", &a, &h->labels, &count))) return st;
        if (count != (uint32_t)emoti_head_outputs(h))
            return emoti_fail(EMOTI_ERR_FORMAT, "out.labels has %u names for %d outputs", count,
                              emoti_head_outputs(h));
    } else if (!emoti_head_default_labels(h, &s, &a)) {
        return emoti_fail(EMOTI_ERR_NOMEM, "head memory too small");
    }
    if ((st = read_post(&c, h))) return st;
    *out = h;
    return EMOTI_OK;
}
