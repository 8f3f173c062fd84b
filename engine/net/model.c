/* The public model API, its freestanding core: a model in caller memory (sizes first), run on
 * RGB images or tensors; the hosted layer (files, mmap, the allocator) is model_hosted.c. */
#include <math.h>
#include <string.h>

#include "efficientnet.h"
#include "emoti.h"
#include "error.h"
#include "model.h"
#include "resize.h"

#define MAX_SIDE 65535 /* the largest image side a model can be planned for (JPEG's) */

static emoti_status read_outputs(emoti_model *m, emoti_arena *a) {
    int64_t logits, val = -1, aro = -1;
    uint32_t n_labels = 0;
    emoti_status st = emoti_meta_i64(&m->c, "out.logits", &logits);
    if (!st) st = emoti_meta_i64(&m->c, "out.valence", &val);
    if (!st) st = emoti_meta_i64(&m->c, "out.arousal", &aro);
    if (!st) st = emoti_meta_strs_in(&m->c, "out.labels", a, &m->labels, &n_labels);
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

/* A metadata string (or "" when it is absent) as a NUL-terminated copy from a, or its bytes. */
static size_t meta_cstr_bytes(const emoti_container *c, const char *key) {
    const char *s;
    uint32_t len = 0;
    emoti_meta_str(c, key, &s, &len);
    return emoti_arena_round((size_t)len + 1);
}
static const char *meta_cstr(const emoti_container *c, const char *key, emoti_arena *a) {
    const char *s = "";
    uint32_t len = 0;
    emoti_meta_str(c, key, &s, &len);
    char *copy = emoti_arena_take(a, (size_t)len + 1);
    if (!copy) return "";
    memcpy(copy, s, len);
    copy[len] = 0;
    return copy;
}

static emoti_status read_info(emoti_model *m, emoti_arena *a) {
    emoti_info *in = &m->info;
    in->name = meta_cstr(&m->c, "general.name", a);
    in->source = meta_cstr(&m->c, "general.source", a);
    in->input_size = m->net.size;
    in->features = m->net.features;
    in->n_outputs = m->net.n_out;
    in->n_blocks = m->net.n_blocks;
    emoti_status st = emoti_meta_f64s(&m->c, "input.mean", in->mean, 3);
    if (!st) st = emoti_meta_f64s(&m->c, "input.std", in->std, 3);
    for (int ch = 0; !st && ch < 3; ch++)
        if (!(in->std[ch] > 0) || !isfinite(in->mean[ch]))
            st = emoti_fail(EMOTI_ERR_FORMAT, "bad input.mean / input.std");
    if (!st) st = read_outputs(m, a);
    return st;
}

/* The memory of a model of the checked container c for images up to max_w x max_h, in the
 * order emoti_model_init takes it. */
emoti_status emoti_model_plan(const emoti_container *c, int max_w, int max_h, size_t *bytes) {
    size_t net, labels, total = 0;
    int64_t s;
    emoti_status st = emoti_enet_memory(c, &net);
    if (!st) st = emoti_meta_strs_bytes(c, "out.labels", &labels);
    if (!st) st = emoti_meta_i64(c, "input.size", &s); /* in range: checked by the net */
    if (st) return st;
    if (max_w < 0 || max_h < 0 || max_w > MAX_SIDE || max_h > MAX_SIDE)
        return emoti_fail(EMOTI_ERR_ARG, "largest image %d x %d out of range", max_w, max_h);
    const int w = max_w ? max_w : (int)s, h = max_h ? max_h : (int)s;
    emoti_arena_add(&total, sizeof(emoti_model));
    emoti_arena_add(&total, emoti_container_index_bytes(c));
    emoti_arena_add(&total, net);
    emoti_arena_add(&total, labels);
    emoti_arena_add(&total, meta_cstr_bytes(c, "general.name"));
    emoti_arena_add(&total, meta_cstr_bytes(c, "general.source"));
    emoti_arena_add(&total, (size_t)(s * s * 3));
    emoti_arena_add(&total, emoti_resize_scratch_size(w, h, (int)s, (int)s, 3));
    *bytes = total;
    return EMOTI_OK;
}

emoti_status emoti_model_memory(const void *blob, size_t size, int max_width, int max_height,
                                size_t *bytes) {
    emoti_container c;
    emoti_status st = emoti_container_check(&c, blob, size);
    if (!st) st = emoti_model_plan(&c, max_width, max_height, bytes);
    return st;
}

emoti_status emoti_model_build(const emoti_container *c, int max_width, int max_height,
                               size_t need, void *mem, size_t mem_bytes, emoti_model **out) {
    *out = NULL;
    emoti_status st;
    if (!mem || (uintptr_t)mem % EMOTI_ARENA_ALIGN)
        return emoti_fail(EMOTI_ERR_ARG, "model memory is NULL or not 64-byte aligned");
    if (mem_bytes < need)
        return emoti_fail(EMOTI_ERR_NOMEM, "model memory of %zu bytes, %zu needed", mem_bytes,
                          need);
    emoti_arena a = {mem, mem_bytes, 0};
    emoti_model *m = emoti_arena_take(&a, sizeof *m);
    memset(m, 0, sizeof *m);
    m->c = *c;
    st = emoti_container_index(&m->c, &a);
    if (!st) st = emoti_enet_init(&m->net, &m->c, &a);
    if (!st) st = read_info(m, &a);
    if (st) return st;
    for (int ch = 0; ch < 3; ch++)
        for (int v = 0; v < 256; v++)
            m->norm_lut[ch][v] = (float)((v / 255.0 - m->info.mean[ch]) / m->info.std[ch]);
    const int s = m->net.size, w = max_width ? max_width : s, h = max_height ? max_height : s;
    m->resized = emoti_arena_take(&a, (size_t)s * s * 3);
    m->resize_scratch_size = emoti_resize_scratch_size(w, h, s, s, 3);
    m->resize_scratch = emoti_arena_take(&a, m->resize_scratch_size);
    m->max_width = w, m->max_height = h;
    m->kern = emoti_kernels_get();
    if (!m->kern) return emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s", emoti_kernels_error());
    *out = m;
    return EMOTI_OK;
}

emoti_status emoti_model_init(const void *blob, size_t size, int max_width, int max_height,
                              void *mem, size_t mem_bytes, emoti_model **out) {
    *out = NULL;
    emoti_container c;
    size_t need;
    emoti_status st = emoti_container_check(&c, blob, size);
    if (!st) st = emoti_model_plan(&c, max_width, max_height, &need);
    return st ? st : emoti_model_build(&c, max_width, max_height, need, mem, mem_bytes, out);
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
        if (!m->grow_scratch)
            return emoti_fail(EMOTI_ERR_ARG, "image %dx%d is larger than the model's memory "
                              "was planned for (%dx%d)", width, height, m->max_width,
                              m->max_height);
        emoti_status st = m->grow_scratch(m, need);
        if (st) return st;
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
