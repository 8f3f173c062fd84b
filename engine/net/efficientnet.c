/* EfficientNet: load (the architecture from the container's metadata, every tensor checked
 * against it) -> plan (the activations, in the caller's memory) -> forward (stem -> MBConv
 * blocks -> 1x1 head -> pool -> classifier). How each layer is spread over the threads, and the fusion of the
 * expansion with the depthwise conv, live in engine/net/schedule.c. */
#include "efficientnet.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "schedule.h"
#include "text.h"

/* ---- Load ---------------------------------------------------------------------------------- */

#define ROW_FIELDS 9
#define MAX_BLOCKS 64
#define MAX_CHANNELS 8192

static emoti_status load_tensor(const emoti_container *c, const char *name, uint32_t d0,
                                uint32_t d1, uint32_t d2, uint32_t d3, const float **out) {
    uint32_t dims[5] = {d0, d1, d2, d3, 0};
    return emoti_tensor_get(c, name, dims, out);
}

/* A k x n 1x1 conv weight, stored in 16-column strips (kernels.h): [ceil(n / 16)][k][16]. */
static emoti_status load_strips(const emoti_container *c, const char *name, int k, int n,
                                const float **out) {
    const float *old;
    emoti_status st = load_tensor(c, name, (uint32_t)(n + 15) / 16, (uint32_t)k, 16, 0, out);
    if (st && !load_tensor(c, name, (uint32_t)k, (uint32_t)n, 0, 0, &old))
        st = emoti_fail(EMOTI_ERR_FORMAT, "tensor '%s' is [%d, %d], the layout of an older "
                        "exporter: export the model again (1x1 weights are now in 16-column "
                        "strips)", name, k, n);
    return st;
}

static emoti_status block_tensors(const emoti_container *c, int i, enet_block *b) {
    char name[64];
    emoti_status st = EMOTI_OK;
#define T(suffix, dst, d0, d1, d2)                                        \
    if (!st) {                                                            \
        emoti_name_num(name, sizeof name, "b", i, "." suffix);            \
        st = load_tensor(c, name, (uint32_t)(d0), (uint32_t)(d1), (uint32_t)(d2), 0, &(dst)); \
    }
#define STRIPS(suffix, dst, k, n)                                         \
    if (!st) {                                                            \
        emoti_name_num(name, sizeof name, "b", i, "." suffix);            \
        st = load_strips(c, name, k, n, &(dst));                          \
    }
    if (b->kind == BLOCK_IR) {
        STRIPS("exp.w", b->exp_w, b->in, b->mid);
        T("exp.b", b->exp_b, b->mid, 0, 0);
    }
    T("dw.w", b->dw_w, b->k, b->k, b->mid);
    T("dw.b", b->dw_b, b->mid, 0, 0);
    T("se1.w", b->se1_w, b->mid, b->se, 0);
    T("se1.b", b->se1_b, b->se, 0, 0);
    T("se2.w", b->se2_w, b->se, b->mid, 0);
    T("se2.b", b->se2_b, b->mid, 0, 0);
    STRIPS("proj.w", b->proj_w, b->mid, b->out);
    T("proj.b", b->proj_b, b->out, 0, 0);
#undef T
#undef STRIPS
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

/* The activation buffers, in floats, over the blocks seen so far (see plan_slots). */
typedef struct {
    size_t a, b, c, mid, se, row_sums;
} act_sizes;

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static void size_block(act_sizes *z, const enet_block *k) {
    const size_t in_px = (size_t)k->h * k->w, out_px = (size_t)k->dw.oh * k->dw.ow;
    z->a = max_sz(z->a, out_px * k->out);
    if (k->kind == BLOCK_IR) z->b = max_sz(z->b, in_px * k->mid);
    z->c = max_sz(z->c, out_px * k->mid);
    z->mid = max_sz(z->mid, k->mid), z->se = max_sz(z->se, k->se);
    z->row_sums = max_sz(z->row_sums, (size_t)k->dw.oh * k->mid);
}

/* The net.blocks rows, each checked, chained to the one before, given its geometry and its
 * tensors (their shapes checked), sized into z; kept in net->blocks when that is set. */
static emoti_status read_blocks(enet *net, const emoti_container *c, act_sizes *z) {
    const int32_t *rows;
    uint32_t n;
    emoti_status st = emoti_meta_i32s(c, "net.blocks", &rows, &n);
    if (st) return st;
    if (n == 0 || n % ROW_FIELDS || n / ROW_FIELDS > MAX_BLOCKS)
        return emoti_fail(EMOTI_ERR_FORMAT, "net.blocks has %u values", n);
    net->n_blocks = (int)(n / ROW_FIELDS);
    int h = net->stem.oh, w = net->stem.ow, prev = net->stem_c, stage = 0;
    *z = (act_sizes){.a = (size_t)h * w * prev};
    for (int i = 0; i < net->n_blocks && !st; i++) {
        int32_t row[ROW_FIELDS];
        for (int k = 0; k < ROW_FIELDS; k++) /* metadata is not aligned */
            row[k] = (int32_t)emoti_le32(rows + i * ROW_FIELDS + k);
        enet_block local, *b = net->blocks ? &net->blocks[i] : &local;
        memset(b, 0, sizeof *b);
        st = read_block(row, i, prev, stage, b);
        if (st) break; /* the row's stride may be 0: no window for it */
        st = block_tensors(c, i, b); /* the shapes are checked while sizing too */
        b->h = h, b->w = w;
        b->dw = emoti_window_same(h, w, b->k, b->stride);
        size_block(z, b);
        h = b->dw.oh, w = b->dw.ow, prev = b->out, stage = b->stage;
    }
    net->head_rows = h, net->head_cols = w, net->last_channels = prev;
    return st;
}

static emoti_status read_tensors(enet *net, const emoti_container *c) {
    int last = net->last_channels;
    emoti_status st = load_tensor(c, "stem.w", 3, 3, 3, (uint32_t)net->stem_c, &net->stem_w);
    if (!st) st = load_tensor(c, "stem.b", (uint32_t)net->stem_c, 0, 0, 0, &net->stem_b);
    if (!st) st = load_strips(c, "head.w", last, net->features, &net->head_w);
    if (!st) st = load_tensor(c, "head.b", (uint32_t)net->features, 0, 0, 0, &net->head_b);
    if (!st) st = load_tensor(c, "fc.w", (uint32_t)net->features, (uint32_t)net->n_out, 0, 0,
                              &net->fc_w);
    if (!st) st = load_tensor(c, "fc.b", (uint32_t)net->n_out, 0, 0, 0, &net->fc_b);
    return st;
}

/* ---- Plan ---------------------------------------------------------------------------------- */

enum { N_SLOTS = 9 };

/* The buffers of efficientnet.h in floats: input, act_a, act_b, act_c, se_row_sums, gate,
 * embedding, then se_mean and se_mid (doubles: two floats each). */
static void plan_slots(const enet *net, const act_sizes *z, size_t floats[N_SLOTS]) {
    const size_t s = (size_t)net->size, f = (size_t)net->features;
    const size_t head = (size_t)net->head_rows * net->head_cols * f;
    const size_t v[N_SLOTS] = {s * s * 3, z->a, max_sz(z->b, head), z->c, z->row_sums, z->mid,
                               f, 2 * max_sz(z->mid, f), 2 * z->se};
    memcpy(floats, v, sizeof v);
}

/* The architecture from the metadata, the blocks sized (and read, with net->blocks set). */
static emoti_status read_net(enet *net, const emoti_container *c, act_sizes *z) {
    const char *arch;
    uint32_t len;
    net->threads = 1;
    emoti_status st = emoti_meta_str(c, "general.arch", &arch, &len);
    if (!st && (len != 12 || memcmp(arch, "efficientnet", 12)))
        st = emoti_fail(EMOTI_ERR_UNSUPPORTED, "architecture '%.*s' is not efficientnet",
                        (int)len, arch);
    if (!st) st = read_shape(net, c);
    if (!st) {
        net->stem = emoti_window_same(net->size, net->size, 3, 2);
        st = read_blocks(net, c, z);
    }
    return st;
}

emoti_status emoti_enet_memory(const emoti_container *c, size_t *bytes) {
    enet net = {0};
    act_sizes z;
    emoti_status st = read_net(&net, c, &z);
    if (!st) st = read_tensors(&net, c); /* every shape checked before a size is said */
    if (st) return st;
    size_t floats[N_SLOTS], total = 0;
    plan_slots(&net, &z, floats);
    emoti_arena_add(&total, (size_t)net.n_blocks * sizeof(enet_block));
    for (int i = 0; i < N_SLOTS; i++) emoti_arena_add(&total, floats[i] * sizeof(float));
    *bytes = total;
    return EMOTI_OK;
}

emoti_status emoti_enet_init(enet *net, const emoti_container *c, emoti_arena *a) {
    memset(net, 0, sizeof *net);
    act_sizes z;
    emoti_status st = read_net(net, c, &z); /* the block count and the sizes */
    if (st) return st;
    net->blocks = emoti_arena_take(a, (size_t)net->n_blocks * sizeof *net->blocks);
    if (!net->blocks) return emoti_fail(EMOTI_ERR_NOMEM, "memory too small for the network");
    st = read_blocks(net, c, &z); /* again, into the blocks, with their tensors */
    if (!st) st = read_tensors(net, c);
    if (st) return st;
    size_t floats[N_SLOTS];
    float *slot[N_SLOTS];
    plan_slots(net, &z, floats);
    for (int i = 0; i < N_SLOTS; i++)
        if (!(slot[i] = emoti_arena_take(a, floats[i] * sizeof(float))))
            return emoti_fail(EMOTI_ERR_NOMEM, "memory too small for the network");
    net->input = slot[0], net->act_a = slot[1], net->act_b = slot[2], net->act_c = slot[3];
    net->se_row_sums = slot[4], net->gate = slot[5], net->embedding = slot[6];
    net->se_mean = (double *)(void *)slot[7], net->se_mid = (double *)(void *)slot[8];
    return EMOTI_OK;
}

/* ---- Forward ------------------------------------------------------------------------------- *
 * input -> stem -> MBConv blocks -> head conv -> pool -> classifier. Each layer is one verb of
 * schedule.h, which spreads it over the threads; the buffers (efficientnet.h) hold NHWC
 * activations:
 *   input        [S][S][3]
 *   act_a        [h][w][in] -> [oh][ow][out]   a block's input, then its output (in place)
 *   act_b        [h][w][mid]                   the expansion (and the head's [h][w][features])
 *   act_c        [oh][ow][mid]                 the depthwise output
 *   se_row_sums  [oh][mid]                     its channel sums per output row */

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Squeeze-excite: gate = sigmoid(W2 swish(W1 mean + b1) + b2) -> net->gate [mid]. The channel
 * means and this MLP are computed in double: an error in a gate scales a whole channel
 * coherently, and float pooling over 12544 pixels was the largest error in the network (6e-5 on
 * B2's outputs). */
static void squeeze_excite(const enet *net, const emoti_team *team, const enet_block *b) {
    const size_t oh = (size_t)b->dw.oh, mid = (size_t)b->mid, se = (size_t)b->se;
    const double inv = 1.0 / ((double)oh * b->dw.ow);
    double *mean = net->se_mean, *hidden = net->se_mid, *gate = net->se_mean;
    memset(mean, 0, mid * sizeof *mean);
    emoti_team_gemv(team, oh, mid, NULL, net->se_row_sums, mean); /* rows' sums, in order */
    for (size_t ch = 0; ch < mid; ch++) mean[ch] *= inv;
    for (size_t j = 0; j < se; j++) hidden[j] = b->se1_b[j];
    emoti_team_gemv(team, mid, se, mean, b->se1_w, hidden); /* W1: [mid][se] */
    for (size_t j = 0; j < se; j++) hidden[j] *= sigmoid(hidden[j]);
    for (size_t ch = 0; ch < mid; ch++) gate[ch] = b->se2_b[ch]; /* the means are used up */
    emoti_team_gemv(team, se, mid, hidden, b->se2_w, gate); /* W2: [se][mid] */
    for (size_t ch = 0; ch < mid; ch++) net->gate[ch] = (float)sigmoid(gate[ch]);
}

/* The SE gate scales the projection's input channels: folded into the weights as the GEMM
 * copies them (mid x out multiplies per EMOTI_TEAM_ROW_CHUNK rows), or applied to the depthwise
 * output first (pixels x mid), whichever multiplies fewer values; the choice depends on the
 * shapes only. The late blocks (few pixels, wide weights) take the second, and their GEMMs then
 * read the weights in place. */
static int gate_activations(const enet_block *b, size_t out_px) {
    const size_t chunk = EMOTI_TEAM_ROW_CHUNK;
    return out_px < (out_px + chunk - 1) / chunk * (size_t)b->out;
}

/* One MBConv block: act_a [h][w][in] -> act_a [oh][ow][out]. */
static void run_block(const enet *net, const emoti_team *team, const enet_block *b) {
    const size_t out_px = (size_t)b->dw.oh * b->dw.ow, mid = (size_t)b->mid;
    /* (IR: 1x1 expansion + Swish, act_a -> act_b [h][w][mid]) depthwise k x k + Swish
     * -> act_c [oh][ow][mid], se_row_sums [oh][mid] */
    const emoti_dw_layer dw = {&b->dw, b->mid, b->dw_w, b->dw_b, net->act_c, net->se_row_sums};
    if (b->kind == BLOCK_IR) {
        const emoti_expand_layer exp = {b->in, b->exp_w, b->exp_b, net->act_b};
        emoti_team_expand_dwconv(team, &exp, &dw, net->act_a);
    } else {
        emoti_team_dwconv_swish(team, &dw, net->act_a);
    }
    /* squeeze-excite: se_row_sums [oh][mid] -> gate [mid], applied to act_c or to the weights */
    squeeze_excite(net, team, b);
    const float *wscale = net->gate;
    if (gate_activations(b, out_px)) {
        emoti_team_scale_cols(team, out_px, mid, net->act_c, net->gate);
        wscale = NULL;
    }
    /* 1x1 projection: act_c [oh][ow][mid] -> act_a [oh][ow][out], + the block input in place
     * when the block has a skip */
    emoti_team_gemm(team, out_px, (size_t)b->out, mid, net->act_c, b->proj_w, wscale, b->proj_b,
                    b->skip ? net->act_a : NULL, net->act_a, EMOTI_ACT_NONE);
}

/* act_a [h][w][last] -> 1x1 conv + Swish -> act_b [h][w][features] -> mean -> embedding
 * [features] -> classifier -> outputs [n_out]. */
static void run_head(const enet *net, const emoti_team *team, float *outputs,
                     emoti_stage_fn observe, void *user) {
    const size_t px = (size_t)net->head_rows * net->head_cols;
    const int last = net->blocks[net->n_blocks - 1].out, f = net->features;
    emoti_team_gemm(team, px, (size_t)f, (size_t)last, net->act_a, net->head_w, NULL, net->head_b,
                    NULL, net->act_b, EMOTI_ACT_SWISH);
    if (observe) observe(user, "head", net->act_b, net->head_rows, net->head_cols, f);
    double *sums = net->se_mean;
    memset(sums, 0, (size_t)f * sizeof *sums);
    emoti_team_gemv(team, px, (size_t)f, NULL, net->act_b, sums); /* pixel by pixel, in double */
    for (int ch = 0; ch < f; ch++) net->embedding[ch] = (float)(sums[ch] / (double)px);
    /* The classifier is tiny (features x n_out) and its sums feed the outputs directly:
     * double accumulation takes ~1e-5 of rounding noise off the logits of large embeddings. */
    for (int o = 0; o < net->n_out; o++) {
        double sum = net->fc_b[o];
        for (int ch = 0; ch < f; ch++) sum += (double)net->embedding[ch] * net->fc_w[(size_t)ch * net->n_out + o];
        outputs[o] = (float)sum;
    }
}

void emoti_enet_forward(enet *net, const emoti_kernels *kern, float *outputs,
                        emoti_stage_fn observe, void *user) {
    const emoti_team team = {kern, net->threads};
    if (observe) observe(user, "input", net->input, net->size, net->size, 3);
    /* stem: input [S][S][3] -> 3x3 conv, stride 2, + Swish -> act_a [S/2][S/2][stem] */
    emoti_team_conv_swish(&team, &net->stem, 3, net->stem_c, net->input, net->stem_w,
                          net->stem_b, net->act_a);
    if (observe) observe(user, "stem", net->act_a, net->stem.oh, net->stem.ow, net->stem_c);
    for (int i = 0; i < net->n_blocks; i++) {
        const enet_block *b = &net->blocks[i];
        run_block(net, &team, b);
        if (observe && (i + 1 == net->n_blocks || net->blocks[i + 1].stage != b->stage)) {
            char name[16];
            emoti_name_num(name, sizeof name, "stage", b->stage, "");
            observe(user, name, net->act_a, b->dw.oh, b->dw.ow, b->out);
        }
    }
    run_head(net, &team, outputs, observe, user);
}
