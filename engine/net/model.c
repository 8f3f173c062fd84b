/* The public model API: open (mmap or caller buffer), describe, run. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "container.h"
#include "efficientnet.h"
#include "emoti.h"
#include "error.h"
#include "infile.h"
#include "resize.h"

struct emoti_model {
    void *map;           /* mmap'd file, or NULL for a caller's buffer */
    size_t map_size;
    emoti_container c;
    enet net;
    emoti_info info;
    char **labels;
    char *name, *source;    /* NUL-terminated copies of general.name / general.source */
    const emoti_kernels *kern;
    float norm_lut[3][256]; /* (v/255 - mean) / std, computed in double like the reference */
    uint8_t *resized;       /* [S][S][3] */
    void *resize_scratch;   /* grows with the largest image seen */
    size_t resize_scratch_size;
    emoti_stage_fn observe;
    void *observe_user;
};

static emoti_status read_outputs(emoti_model *m) {
    int64_t logits, val = -1, aro = -1;
    uint32_t n_labels = 0;
    emoti_status st = emoti_meta_i64(&m->c, "out.logits", &logits);
    if (!st) st = emoti_meta_i64(&m->c, "out.valence", &val);
    if (!st) st = emoti_meta_i64(&m->c, "out.arousal", &aro);
    if (!st) st = emoti_meta_strs(&m->c, "out.labels", &m->labels, &n_labels);
    if (st) return st;
    int n = m->net.n_out;
    if (logits < 1 || logits > n || n_labels != (uint32_t)logits || val < -1 || val >= n ||
        aro < -1 || aro >= n || (val >= 0 && val < logits) || (aro >= 0 && aro < logits))
        return emoti_fail(EMOTI_ERR_FORMAT, "inconsistent output description (out.*)");
    m->info.n_logits = (int)logits;
    m->info.valence_index = (int)val;
    m->info.arousal_index = (int)aro;
    m->info.labels = (const char *const *)m->labels;
    return EMOTI_OK;
}

/* Copies a metadata string into a NUL-terminated one kept with the labels' allocations. */
static const char *meta_cstr(emoti_model *m, const char *key, char **slot) {
    const char *s;
    uint32_t len;
    if (emoti_meta_str(&m->c, key, &s, &len)) return "";
    *slot = malloc(len + 1);
    if (!*slot) return "";
    memcpy(*slot, s, len);
    (*slot)[len] = 0;
    return *slot;
}

static emoti_status read_info(emoti_model *m) {
    emoti_info *in = &m->info;
    in->name = meta_cstr(m, "general.name", &m->name);
    in->source = meta_cstr(m, "general.source", &m->source);
    in->input_size = m->net.size;
    in->features = m->net.features;
    in->n_outputs = m->net.n_out;
    in->n_blocks = m->net.n_blocks;
    emoti_status st = emoti_meta_f64s(&m->c, "input.mean", in->mean, 3);
    if (!st) st = emoti_meta_f64s(&m->c, "input.std", in->std, 3);
    for (int ch = 0; !st && ch < 3; ch++)
        if (!(in->std[ch] > 0) || !isfinite(in->mean[ch]))
            st = emoti_fail(EMOTI_ERR_FORMAT, "bad input.mean / input.std");
    if (!st) st = read_outputs(m);
    return st;
}

static emoti_status build(emoti_model *m, const void *buf, size_t size) {
    emoti_status st = emoti_container_parse(&m->c, buf, size);
    if (!st) st = emoti_enet_init(&m->net, &m->c);
    if (!st) st = read_info(m);
    if (st) return st;
    for (int ch = 0; ch < 3; ch++)
        for (int v = 0; v < 256; v++)
            m->norm_lut[ch][v] =
                (float)((v / 255.0 - m->info.mean[ch]) / m->info.std[ch]);
    size_t s = (size_t)m->net.size;
    m->resized = malloc(s * s * 3);
    if (!m->resized) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    m->kern = emoti_kernels_get();
    if (!m->kern) return emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s", emoti_kernels_error());
    return EMOTI_OK;
}

static emoti_model *model_new(void) {
    emoti_model *m = calloc(1, sizeof *m);
    if (!m) emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    return m;
}

emoti_status emoti_model_from_memory(const void *buf, size_t size, emoti_model **out) {
    *out = NULL;
    if (!buf) return emoti_fail(EMOTI_ERR_ARG, "model buffer is NULL");
    emoti_model *m = model_new();
    if (!m) return EMOTI_ERR_NOMEM;
    emoti_status st = build(m, buf, size);
    if (st) {
        emoti_model_close(m);
        return st;
    }
    *out = m;
    return EMOTI_OK;
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
    emoti_model *m = model_new();
    if (!m) return EMOTI_ERR_NOMEM;
    emoti_status st = emoti_file_map(path, &m->map, &m->map_size);
    if (!st) {
        st = build(m, m->map, m->map_size);
        if (st) emoti_error_prefix(path);
    }
    if (st) {
        emoti_model_close(m);
        return st;
    }
    *out = m;
    return EMOTI_OK;
}

void emoti_model_close(emoti_model *m) {
    if (!m) return;
    if (m->labels)
        for (int i = 0; m->labels[i]; i++) free(m->labels[i]);
    free(m->labels);
    free(m->name);
    free(m->source);
    free(m->resized);
    free(m->resize_scratch);
    emoti_enet_free(&m->net);
    emoti_container_free(&m->c);
    if (m->map) munmap(m->map, m->map_size);
    free(m);
}

void emoti_model_info(const emoti_model *m, emoti_info *info) { *info = m->info; }

emoti_status emoti_model_set_threads(emoti_model *m, int threads) {
    if (!m || threads < 1 || threads > 256)
        return emoti_fail(EMOTI_ERR_ARG, "thread count %d out of range 1..256", threads);
#ifndef _OPENMP
    if (threads > 1)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "%d threads asked for, but this build has no OpenMP (make OPENMP=1)",
                          threads);
#endif
    m->net.threads = threads;
    return EMOTI_OK;
}

void emoti_set_stage_observer(emoti_model *m, emoti_stage_fn fn, void *user) {
    m->observe = fn;
    m->observe_user = user;
}

static void finish(emoti_model *m, emoti_result *r, float *embedding) {
    memset(r, 0, sizeof *r);
    emoti_enet_forward(&m->net, m->kern, r->outputs, m->observe, m->observe_user);
    int n = m->info.n_logits;
    float mx = r->outputs[0];
    for (int i = 1; i < n; i++)
        if (r->outputs[i] > mx) mx = r->outputs[i], r->top = i;
    double z = 0;
    for (int i = 0; i < n; i++) z += exp((double)r->outputs[i] - mx);
    for (int i = 0; i < n; i++) r->probs[i] = (float)(exp((double)r->outputs[i] - mx) / z);
    if (m->info.valence_index >= 0 && m->info.arousal_index >= 0) {
        r->has_va = 1;
        r->valence = r->outputs[m->info.valence_index];
        r->arousal = r->outputs[m->info.arousal_index];
    }
    if (embedding)
        memcpy(embedding, m->net.embedding, (size_t)m->net.features * sizeof *embedding);
}

emoti_status emoti_run_tensor(emoti_model *m, const float *chw, emoti_result *r,
                              float *embedding) {
    if (!m || !chw || !r) return emoti_fail(EMOTI_ERR_ARG, "NULL argument");
    size_t px = (size_t)m->net.size * m->net.size;
    for (size_t p = 0; p < px; p++)
        for (int ch = 0; ch < 3; ch++) m->net.input[p * 3 + ch] = chw[ch * px + p];
    finish(m, r, embedding);
    return EMOTI_OK;
}

emoti_status emoti_run_rgb(emoti_model *m, const uint8_t *rgb, int width, int height,
                           size_t stride, emoti_result *r, float *embedding) {
    if (!m || !rgb || !r) return emoti_fail(EMOTI_ERR_ARG, "NULL argument");
    if (width < 1 || height < 1 || stride < (size_t)width * 3)
        return emoti_fail(EMOTI_ERR_ARG, "bad image geometry %dx%d stride %zu", width, height,
                          stride);
    int s = m->net.size;
    size_t need = emoti_resize_scratch_size(width, height, s, s, 3);
    if (need > m->resize_scratch_size) {
        void *p = realloc(m->resize_scratch, need);
        if (!p) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
        m->resize_scratch = p;
        m->resize_scratch_size = need;
    }
    emoti_status st = emoti_resize_bilinear_u8(rgb, width, height, stride, 3, m->resized, s, s,
                                               (size_t)s * 3, m->resize_scratch);
    if (st) return st;
    size_t px = (size_t)s * s;
    for (size_t p = 0; p < px; p++)
        for (int ch = 0; ch < 3; ch++)
            m->net.input[p * 3 + ch] = m->norm_lut[ch][m->resized[p * 3 + ch]];
    finish(m, r, embedding);
    return EMOTI_OK;
}
