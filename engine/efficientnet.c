/* EfficientNet forward pass: stem -> MBConv blocks -> 1x1 head -> pool -> classifier.
 * NHWC activations in three arena buffers (a: block in/out, b: expanded, c: depthwise out). */
#include "efficientnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define ROW_FIELDS 9
#define MAX_BLOCKS 64
#define MAX_CHANNELS 8192

/* TF "SAME" for stride 2 (as timm's Conv2dSame), symmetric k/2 for stride 1. */
static emoti_window make_window(int h, int w, int k, int stride) {
    emoti_window g = {.h = h, .w = w, .k = k, .stride = stride};
    if (stride == 1) {
        g.oh = h, g.ow = w, g.pad_top = g.pad_left = k / 2;
    } else {
        g.oh = (h + stride - 1) / stride;
        g.ow = (w + stride - 1) / stride;
        int th = (g.oh - 1) * stride + k - h, tw = (g.ow - 1) * stride + k - w;
        g.pad_top = th > 0 ? th / 2 : 0;
        g.pad_left = tw > 0 ? tw / 2 : 0;
    }
    return g;
}

static emoti_status load_tensor(const emoti_container *c, const char *name, uint32_t d0,
                                uint32_t d1, uint32_t d2, uint32_t d3, const float **out) {
    uint32_t dims[5] = {d0, d1, d2, d3, 0};
    return emoti_tensor_get(c, name, dims, out);
}

static emoti_status block_tensors(const emoti_container *c, int i, enet_block *b) {
    char name[64];
    emoti_status st = EMOTI_OK;
#define T(suffix, dst, d0, d1, d2)                                        \
    if (!st) {                                                            \
        snprintf(name, sizeof name, "b%d.%s", i, suffix);                 \
        st = load_tensor(c, name, (uint32_t)(d0), (uint32_t)(d1), (uint32_t)(d2), 0, &(dst)); \
    }
    if (b->kind == BLOCK_IR) {
        T("exp.w", b->exp_w, b->in, b->mid, 0);
        T("exp.b", b->exp_b, b->mid, 0, 0);
    }
    T("dw.w", b->dw_w, b->k, b->k, b->mid);
    T("dw.b", b->dw_b, b->mid, 0, 0);
    T("se1.w", b->se1_w, b->mid, b->se, 0);
    T("se1.b", b->se1_b, b->se, 0, 0);
    T("se2.w", b->se2_w, b->se, b->mid, 0);
    T("se2.b", b->se2_b, b->mid, 0, 0);
    T("proj.w", b->proj_w, b->mid, b->out, 0);
    T("proj.b", b->proj_b, b->out, 0, 0);
#undef T
    return st;
}

/* One net.blocks row: checked for internal consistency and chained to the previous block. */
static emoti_status read_block(const int32_t *row, int i, int prev_out, int prev_stage,
                               enet_block *b) {
    b->stage = row[0], b->kind = row[1], b->k = row[2], b->stride = row[3];
    b->in = row[4], b->mid = row[5], b->out = row[6], b->se = row[7], b->skip = row[8];
    int ok = b->stage >= prev_stage && b->stage <= prev_stage + 1 && b->stage < 16 &&
             (b->kind == BLOCK_DS || b->kind == BLOCK_IR) && b->k >= 1 && b->k <= 7 &&
             b->k % 2 == 1 && (b->stride == 1 || b->stride == 2) && b->in == prev_out &&
             b->mid >= 1 && b->mid <= MAX_CHANNELS && b->out >= 1 && b->out <= MAX_CHANNELS &&
             b->se >= 1 && b->se <= b->mid && (b->kind == BLOCK_IR || b->mid == b->in) &&
             b->skip == (b->stride == 1 && b->in == b->out);
    if (!ok) return emoti_fail(EMOTI_ERR_FORMAT, "net.blocks row %d is inconsistent", i);
    return EMOTI_OK;
}

static emoti_status read_shape(enet *net, const emoti_container *c) {
    int64_t size, stem, feat, nout;
    emoti_status st = emoti_meta_i64(c, "input.size", &size);
    if (!st) st = emoti_meta_i64(c, "net.stem_channels", &stem);
    if (!st) st = emoti_meta_i64(c, "net.features", &feat);
    if (!st) st = emoti_meta_i64(c, "out.count", &nout);
    if (st) return st;
    if (size < 16 || size > 1024 || stem < 1 || stem > MAX_CHANNELS || feat < 1 ||
        feat > MAX_CHANNELS || nout < 1 || nout > EMOTI_MAX_OUTPUTS)
        return emoti_fail(EMOTI_ERR_FORMAT, "network sizes out of range");
    net->size = (int)size, net->stem_c = (int)stem, net->features = (int)feat;
    net->n_out = (int)nout;
    return EMOTI_OK;
}

static emoti_status read_blocks(enet *net, const emoti_container *c) {
    const int32_t *rows;
    uint32_t n;
    emoti_status st = emoti_meta_i32s(c, "net.blocks", &rows, &n);
    if (st) return st;
    if (n == 0 || n % ROW_FIELDS || n / ROW_FIELDS > MAX_BLOCKS)
        return emoti_fail(EMOTI_ERR_FORMAT, "net.blocks has %u values", n);
    net->n_blocks = (int)(n / ROW_FIELDS);
    net->blocks = calloc((size_t)net->n_blocks, sizeof *net->blocks);
    if (!net->blocks) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    int h = net->stem.oh, w = net->stem.ow, prev = net->stem_c, stage = 0;
    for (int i = 0; i < net->n_blocks && !st; i++) {
        int32_t row[ROW_FIELDS];
        memcpy(row, rows + i * ROW_FIELDS, sizeof row); /* metadata is not aligned */
        enet_block *b = &net->blocks[i];
        st = read_block(row, i, prev, stage, b);
        if (!st) st = block_tensors(c, i, b);
        b->h = h, b->w = w;
        b->dw = make_window(h, w, b->k, b->stride);
        h = b->dw.oh, w = b->dw.ow, prev = b->out, stage = b->stage;
    }
    net->head_rows = h, net->head_cols = w;
    return st;
}

static emoti_status read_tensors(enet *net, const emoti_container *c) {
    int last = net->blocks[net->n_blocks - 1].out;
    emoti_status st = load_tensor(c, "stem.w", 3, 3, 3, (uint32_t)net->stem_c, &net->stem_w);
    if (!st) st = load_tensor(c, "stem.b", (uint32_t)net->stem_c, 0, 0, 0, &net->stem_b);
    if (!st) st = load_tensor(c, "head.w", (uint32_t)last, (uint32_t)net->features, 0, 0,
                              &net->head_w);
    if (!st) st = load_tensor(c, "head.b", (uint32_t)net->features, 0, 0, 0, &net->head_b);
    if (!st) st = load_tensor(c, "fc.w", (uint32_t)net->features, (uint32_t)net->n_out, 0, 0,
                              &net->fc_w);
    if (!st) st = load_tensor(c, "fc.b", (uint32_t)net->n_out, 0, 0, 0, &net->fc_b);
    return st;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Sizes the three activation buffers and the scratch from the block list, then carves them
 * out of one 64-byte aligned allocation. */
static emoti_status plan_arena(enet *net) {
    size_t s = (size_t)net->size;
    size_t a = (size_t)net->stem.oh * net->stem.ow * net->stem_c, b = 0, cbuf = 0;
    size_t mid = 0, se = 0, proj = 0;
    for (int i = 0; i < net->n_blocks; i++) {
        const enet_block *k = &net->blocks[i];
        size_t in_px = (size_t)k->h * k->w, out_px = (size_t)k->dw.oh * k->dw.ow;
        a = max_sz(a, out_px * k->out);
        if (k->kind == BLOCK_IR) b = max_sz(b, in_px * k->mid);
        cbuf = max_sz(cbuf, out_px * k->mid);
        mid = max_sz(mid, k->mid), se = max_sz(se, k->se);
        proj = max_sz(proj, (size_t)k->mid * k->out);
    }
    b = max_sz(b, (size_t)net->head_rows * net->head_cols * net->features);
    size_t sizes[] = {s * s * 3, a, b, cbuf, mid, se, proj, (size_t)net->features};
    float **slots[] = {&net->input, &net->act_a, &net->act_b, &net->act_c,
                       &net->se_sums, &net->se_mid, &net->proj_scaled, &net->embedding};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) total += (sizes[i] + 15) & ~(size_t)15;
    net->arena = aligned_alloc(64, total * sizeof(float));
    if (!net->arena) return emoti_fail(EMOTI_ERR_NOMEM, "cannot allocate %zu bytes", total * 4);
    float *p = net->arena;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        *slots[i] = p;
        p += (sizes[i] + 15) & ~(size_t)15;
    }
    return EMOTI_OK;
}

emoti_status enet_init(enet *net, const emoti_container *c) {
    memset(net, 0, sizeof *net);
    const char *arch;
    uint32_t len;
    emoti_status st = emoti_meta_str(c, "general.arch", &arch, &len);
    if (!st && (len != 12 || memcmp(arch, "efficientnet", 12)))
        st = emoti_fail(EMOTI_ERR_UNSUPPORTED, "architecture '%.*s' is not efficientnet",
                        (int)len, arch);
    if (!st) st = read_shape(net, c);
    if (!st) {
        net->stem = make_window(net->size, net->size, 3, 2);
        st = read_blocks(net, c);
    }
    if (!st) st = read_tensors(net, c);
    if (!st) st = plan_arena(net);
    if (st) enet_free(net);
    return st;
}

void enet_free(enet *net) {
    free(net->blocks);
    free(net->arena);
    memset(net, 0, sizeof *net);
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Squeeze-excite: gate = sigmoid(W2 swish(W1 mean + b1) + b2); the gate scales the
 * projection's input channels, so it is folded into a copy of the projection weights
 * (mid * out multiplies instead of h * w * mid). */
static const float *se_fold_projection(enet *net, const enet_block *b) {
    float inv = 1.0f / (float)(b->dw.oh * b->dw.ow);
    for (int j = 0; j < b->se; j++) {
        float s = b->se1_b[j];
        for (int ch = 0; ch < b->mid; ch++) s += net->se_sums[ch] * inv * b->se1_w[ch * b->se + j];
        net->se_mid[j] = emoti_swish_ref(s);
    }
    for (int ch = 0; ch < b->mid; ch++) {
        float s = b->se2_b[ch];
        for (int j = 0; j < b->se; j++) s += net->se_mid[j] * b->se2_w[j * b->mid + ch];
        float gate = sigmoid(s);
        const float *src = b->proj_w + (size_t)ch * b->out;
        float *dst = net->proj_scaled + (size_t)ch * b->out;
        for (int o = 0; o < b->out; o++) dst[o] = src[o] * gate;
    }
    return net->proj_scaled;
}

static void run_block(enet *net, const emoti_kernels *kern, const enet_block *b) {
    size_t in_px = (size_t)b->h * b->w, out_px = (size_t)b->dw.oh * b->dw.ow;
    const float *dw_in = net->act_a;                   /* [h][w][in] */
    if (b->kind == BLOCK_IR) {                         /* -> [h][w][mid] */
        kern->f32_gemm(in_px, (size_t)b->mid, (size_t)b->in, net->act_a, b->exp_w, b->exp_b,
                       NULL, net->act_b, EMOTI_ACT_SWISH);
        dw_in = net->act_b;
    }
    /* -> [oh][ow][mid], plus the SE channel sums */
    kern->f32_dwconv_swish(&b->dw, b->mid, dw_in, b->dw_w, b->dw_b, net->act_c, net->se_sums);
    const float *wp = se_fold_projection(net, b);
    /* -> [oh][ow][out], adding the block input in place when the block has a skip */
    kern->f32_gemm(out_px, (size_t)b->out, (size_t)b->mid, net->act_c, wp, b->proj_b,
                   b->skip ? net->act_a : NULL, net->act_a, EMOTI_ACT_NONE);
}

void enet_forward(enet *net, const emoti_kernels *kern, float *outputs, emoti_stage_fn observe,
                  void *user) {
    if (observe) observe(user, "input", net->input, net->size, net->size, 3);
    /* [S][S][3] -> [S/2][S/2][stem] */
    kern->f32_conv_swish(&net->stem, 3, net->stem_c, net->input, net->stem_w, net->stem_b,
                         net->act_a);
    if (observe) observe(user, "stem", net->act_a, net->stem.oh, net->stem.ow, net->stem_c);
    for (int i = 0; i < net->n_blocks; i++) {
        const enet_block *b = &net->blocks[i];
        run_block(net, kern, b);
        if (observe && (i + 1 == net->n_blocks || net->blocks[i + 1].stage != b->stage)) {
            char name[16];
            snprintf(name, sizeof name, "stage%d", b->stage);
            observe(user, name, net->act_a, b->dw.oh, b->dw.ow, b->out);
        }
    }
    /* [h][w][last] -> [h][w][features] -> mean -> [features] -> [n_out] */
    size_t px = (size_t)net->head_rows * net->head_cols;
    int last = net->blocks[net->n_blocks - 1].out, f = net->features;
    kern->f32_gemm(px, (size_t)f, (size_t)last, net->act_a, net->head_w, net->head_b, NULL,
                   net->act_b, EMOTI_ACT_SWISH);
    if (observe) observe(user, "head", net->act_b, net->head_rows, net->head_cols, f);
    for (int ch = 0; ch < f; ch++) net->embedding[ch] = 0;
    for (size_t p = 0; p < px; p++)
        for (int ch = 0; ch < f; ch++) net->embedding[ch] += net->act_b[p * f + ch];
    for (int ch = 0; ch < f; ch++) net->embedding[ch] /= (float)px;
    kern->f32_gemm(1, (size_t)net->n_out, (size_t)f, net->embedding, net->fc_w, net->fc_b, NULL,
                   outputs, EMOTI_ACT_NONE);
}
