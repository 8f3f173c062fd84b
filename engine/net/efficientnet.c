/* EfficientNet forward pass: stem -> MBConv blocks -> 1x1 head -> pool -> classifier.
 * NHWC activations in three arena buffers (a: block in/out, b: expanded, c: depthwise out). */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "efficientnet.h"

#include <math.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "share.h"

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
        snprintf(name, sizeof name, "b%d.%s", i, suffix);                 \
        st = load_tensor(c, name, (uint32_t)(d0), (uint32_t)(d1), (uint32_t)(d2), 0, &(dst)); \
    }
#define STRIPS(suffix, dst, k, n)                                         \
    if (!st) {                                                            \
        snprintf(name, sizeof name, "b%d.%s", i, suffix);                 \
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
        if (st) break; /* the row's stride may be 0: no window for it */
        st = block_tensors(c, i, b);
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
    if (!st) st = load_strips(c, "head.w", last, net->features, &net->head_w);
    if (!st) st = load_tensor(c, "head.b", (uint32_t)net->features, 0, 0, 0, &net->head_b);
    if (!st) st = load_tensor(c, "fc.w", (uint32_t)net->features, (uint32_t)net->n_out, 0, 0,
                              &net->fc_w);
    if (!st) st = load_tensor(c, "fc.b", (uint32_t)net->n_out, 0, 0, 0, &net->fc_b);
    return st;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

#define HUGE_PAGE ((size_t)2 << 20)

/* Sizes the three activation buffers and the scratch from the block list, then carves them
 * out of one 64-byte aligned allocation. */
static emoti_status plan_arena(enet *net) {
    size_t s = (size_t)net->size;
    size_t a = (size_t)net->stem.oh * net->stem.ow * net->stem_c, b = 0, cbuf = 0;
    size_t mid = 0, se = 0, row_sums = 0;
    for (int i = 0; i < net->n_blocks; i++) {
        const enet_block *k = &net->blocks[i];
        size_t in_px = (size_t)k->h * k->w, out_px = (size_t)k->dw.oh * k->dw.ow;
        a = max_sz(a, out_px * k->out);
        if (k->kind == BLOCK_IR) b = max_sz(b, in_px * k->mid);
        cbuf = max_sz(cbuf, out_px * k->mid);
        mid = max_sz(mid, k->mid), se = max_sz(se, k->se);
        row_sums = max_sz(row_sums, (size_t)k->dw.oh * k->mid);
    }
    b = max_sz(b, (size_t)net->head_rows * net->head_cols * net->features);
    size_t f = (size_t)net->features, total = 0;
    /* in floats, each slot rounded up to 64 bytes; a double takes two */
    size_t sizes[] = {s * s * 3, a, b, cbuf, row_sums, mid, f, 2 * max_sz(mid, f), 2 * se};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) total += (sizes[i] + 15) & ~(size_t)15;
    size_t bytes = (total * sizeof(float) + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    net->arena = aligned_alloc(HUGE_PAGE, bytes);
    if (!net->arena) return emoti_fail(EMOTI_ERR_NOMEM, "cannot allocate %zu bytes", bytes);
#ifdef MADV_HUGEPAGE
    madvise(net->arena, bytes, MADV_HUGEPAGE); /* a hint: fewer TLB misses where granted */
#endif
    float *slot[sizeof sizes / sizeof *sizes], *p = net->arena;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        slot[i] = p;
        p += (sizes[i] + 15) & ~(size_t)15;
    }
    net->input = slot[0], net->act_a = slot[1], net->act_b = slot[2], net->act_c = slot[3];
    net->se_row_sums = slot[4], net->gate = slot[5], net->embedding = slot[6];
    net->se_mean = (double *)(void *)slot[7], net->se_mid = (double *)(void *)slot[8];
    return EMOTI_OK;
}

emoti_status enet_init(enet *net, const emoti_container *c) {
    memset(net, 0, sizeof *net);
    net->threads = 1;
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

/* ---- Work split: the rows of each layer go to the threads in bands (the late GEMMs: their
 * columns), a thread done early taking chunks of a slower one's band (share_run). Every
 * output value is computed by the same kernel code in the same order whatever the band or
 * chunk, so results are bitwise identical for any thread count; the only cross-row sum (the
 * SE pool) is reduced per row and then added up in row order. */

#ifdef _OPENMP
#include <omp.h>
#define PRAGMA(x) _Pragma(#x)
#define OMP(x) PRAGMA(omp x)
#define PARALLEL_FOR(threads, cond) PRAGMA(omp parallel for num_threads(threads) schedule(static) if (cond))
#else
#define OMP(x)
#define PARALLEL_FOR(threads, cond)
#endif

/* y[m][n] = GEMM with the work split among the threads: by columns where the weights
 * outweigh the activations (the late layers: n > m), so that each thread reads only its share
 * of them; by bands of rows elsewhere. Column bands go in multiples of 16 (the weight strips),
 * which balances n = 208 as 112 + 96 where whole 32-column panels gave 128 + 80. An output's
 * arithmetic does not depend on the split (kernels.h), so neither do the results. Threads
 * claim their bands a chunk at a time (share_run); the chunks cost no extra copies of gated
 * weights: 64 columns are two whole 32-wide panels, 120 rows the kernels' row block (MC), for
 * each of which the weights are copied anyway. */
#define SPLIT_COLS 16
#define COL_CHUNK 64
#define ROW_CHUNK 120
typedef struct {
    const emoti_kernels *kern;
    size_t m, n, k;
    const float *a, *w, *wscale, *bias, *res;
    float *y;
    int act;
} gemm_job;

static void gemm_cols(void *ctx, size_t j0, size_t nj) {
    const gemm_job *g = ctx;
    g->kern->f32_gemm(g->m, nj, g->k, g->a, g->w + j0 * g->k, g->wscale, g->bias + j0,
                      g->res ? g->res + j0 : NULL, g->y + j0, g->n, g->act);
}

static void gemm_rows(void *ctx, size_t r0, size_t rows) {
    const gemm_job *g = ctx;
    g->kern->f32_gemm(rows, g->n, g->k, g->a + r0 * g->k, g->w, g->wscale, g->bias,
                      g->res ? g->res + r0 * g->n : NULL, g->y + r0 * g->n, g->n, g->act);
}

static void gemm_split(const enet *net, const emoti_kernels *kern, size_t m, size_t n, size_t k,
                       const float *a, const float *w, const float *wscale, const float *bias,
                       const float *res, float *y, int act) {
    gemm_job g = {kern, m, n, k, a, w, wscale, bias, res, y, act};
    if (net->threads > 1 && n > m && n >= 2 * SPLIT_COLS)
        share_run(net->threads, n, SPLIT_COLS, COL_CHUNK, gemm_cols, &g);
    else
        share_run(net->threads, m, 1, ROW_CHUNK, gemm_rows, &g);
}

/* y[cols] += x[rows] w[rows][cols] in double, the columns split among the threads (bitwise the
 * same for any split, kernels.h). The SE weights of a late block (2 x 2112 x 88 floats in B2)
 * come from memory: each thread reads its columns' share. */
static void gemv_split(const enet *net, const emoti_kernels *kern, size_t rows, size_t cols,
                       const double *x, const float *w, double *y) {
    const size_t t = (size_t)net->threads, per = ((cols + t - 1) / t + 7) & ~(size_t)7;
    long parts = (long)((cols + per - 1) / per);
    PARALLEL_FOR(net->threads, parts > 1 && rows * cols >= 16384)
    for (long i = 0; i < parts; i++) {
        size_t c0 = (size_t)i * per;
        kern->f64_gemv(rows, cols - c0 < per ? cols - c0 : per, x, w + c0, cols, y + c0);
    }
}

/* The window restricted to output row oy: the input stays whole, only the padding shifts. */
static emoti_window one_row(const emoti_window *g, int oy) {
    emoti_window r = *g;
    r.oh = 1;
    r.pad_top = g->pad_top - oy * g->stride;
    return r;
}

/* Depthwise output row oy of x, whose first row is input row x_row (x holds the rows from
 * x_row on) -> net->act_c; se_row_sums[oy][ch] gets its SE pool sums. */
static void dw_row_from(const enet *net, const emoti_kernels *kern, const enet_block *b,
                        const float *x, int x_row, int oy) {
    emoti_window r = one_row(&b->dw, oy);
    r.pad_top += x_row, r.h -= x_row;
    kern->f32_dwconv_swish(&r, b->mid, x, b->dw_w, b->dw_b,
                           net->act_c + (size_t)oy * b->dw.ow * b->mid,
                           net->se_row_sums + (size_t)oy * b->mid);
}

/* The same for x holding the whole input. */
static void dw_row(const enet *net, const emoti_kernels *kern, const enet_block *b,
                   const float *x, int oy) {
    dw_row_from(net, kern, b, x, 0, oy);
}

typedef struct {
    const enet *net;
    const emoti_kernels *kern;
    const enet_block *b;
    const float *x;
} dw_job;

static void dw_rows(void *ctx, size_t r0, size_t rows) {
    const dw_job *d = ctx;
    for (size_t oy = r0; oy < r0 + rows; oy++) dw_row(d->net, d->kern, d->b, d->x, (int)oy);
}

/* Depthwise conv of x row by row (unfused). */
static void dwconv_rows(const enet *net, const emoti_kernels *kern, const enet_block *b,
                        const float *x) {
    dw_job d = {net, kern, b, x};
    share_run(net->threads, (size_t)b->dw.oh, 1, 1, dw_rows, &d);
}

/* ---- Expansion fused with the depthwise conv. The expanded tensor (6.5 MB in B2's first
 * expanding block) used to be written whole, then read back from L3 / DRAM. Now each thread
 * expands a contiguous slice of input rows a chunk at a time and runs, in between, the
 * depthwise rows whose input rows lie in its slice and are done, while they are still in L2.
 * The rows straddling two slices wait for a barrier. Every expanded row and every depthwise
 * row is computed by the same kernels on the same data as unfused (the GEMM's arithmetic is
 * per row, whatever the rows per call), so the results do not change, whatever the thread
 * count. */

#define FUSE_L2_BYTES (256u << 10) /* expanded rows kept hot: the chunk + the k - 1 before */
#define FUSE_MIN_BYTES (1u << 20)  /* smaller expanded tensors are not fused: no faster with 1
                                    * thread (they stay in cache), slower with 2 (measured) */
/* Expansion GEMM calls are whole multiples of the kernels' 120-row block (MC) where they can
 * be: a call repacks the weights for each block, a short one included. */
#define EXPAND_STEP 120

/* Input rows [lo, hi) that depthwise output row oy reads. */
static void dw_input_rows(const emoti_window *g, int oy, int *lo, int *hi) {
    int top = oy * g->stride - g->pad_top;
    *lo = top > 0 ? top : 0;
    *hi = top + g->k < g->h ? top + g->k : g->h;
}

/* The thread whose slice of input rows holds all of oy's inputs, or -1 (straddling). */
static int dw_row_owner(const emoti_window *g, int oy, int slice) {
    int lo, hi, t;
    dw_input_rows(g, oy, &lo, &hi);
    t = lo / slice;
    return hi <= (t + 1) * slice ? t : -1;
}

/* Expanded pixels [p0, p0 + n): act_a [h][w][in] -> y [n][mid], 1x1 conv + Swish. */
static void expand_px(const enet *net, const emoti_kernels *kern, const enet_block *b,
                      size_t p0, size_t n, float *y) {
    kern->f32_gemm(n, (size_t)b->mid, (size_t)b->in, net->act_a + p0 * b->in, b->exp_w, NULL,
                   b->exp_b, NULL, y, (size_t)b->mid, EMOTI_ACT_SWISH);
}

/* Slice t of the input rows, expanded a chunk at a time just before the first depthwise row
 * that needs it; the depthwise rows whose inputs all lie in the slice in between. With one
 * slice (one thread) the expanded rows go to a window at the start of act_b instead of their
 * place in the whole tensor: when a chunk would run past it, the rows still needed move to its
 * start. The window's lines stay in cache, where writing the whole tensor (6.5 MB in B2's first
 * expanding block) fetched every line from memory first (per-layer timing, 1 thread: B2 block 2,
 * expansion + depthwise, 2.06 -> 1.87 ms). */
static void expand_dwconv_slice(const enet *net, const emoti_kernels *kern,
                                const enet_block *b, int t, int slice) {
    const emoti_window *g = &b->dw;
    const size_t w = (size_t)b->w, h = (size_t)b->h, mid = (size_t)b->mid;
    const size_t r0 = (size_t)t * slice, r1 = r0 + slice;
    size_t done = (r0 < h ? r0 : h) * w, end = (r1 < h ? r1 : h) * w; /* in pixels */
    size_t hot = FUSE_L2_BYTES / (mid * sizeof(float)), ctx = (size_t)(g->k - 1) * w;
    size_t chunk = hot > ctx ? hot - ctx : 1; /* pixels expanded per GEMM call, rounded up */
    const size_t window = (size_t)g->k * w + 2 * (chunk + EXPAND_STEP); /* see below */
    const int slide = r0 == 0 && end == h * w && window < end;
    size_t base = 0; /* the first pixel held, at act_b: a row's first */
    for (int oy = 0; oy < g->oh; oy++) {
        int lo, hi;
        if (dw_row_owner(g, oy, slice) != t) continue;
        dw_input_rows(g, oy, &lo, &hi);
        if ((size_t)hi * w > done) {
            size_t n = (size_t)hi * w - done;
            n = (n > chunk ? n : chunk) + EXPAND_STEP - 1;
            n -= n % EXPAND_STEP;
            n = n < end - done ? n : end - done;
            /* held: [base, done), at most k rows + a chunk past row lo; with n: within window */
            if (slide && done + n - base > window) {
                const size_t keep = (size_t)lo * w;
                memmove(net->act_b, net->act_b + (keep - base) * mid, (done - keep) * mid * sizeof(float));
                base = keep;
            }
            expand_px(net, kern, b, done, n, net->act_b + (done - base) * mid);
            done += n;
        }
        dw_row_from(net, kern, b, net->act_b, (int)(base / w), oy);
    }
    if (done < end && !slide) /* rows the next slice's straddling rows read */
        expand_px(net, kern, b, done, end - done, net->act_b + done * mid);
}

/* act_a -> expansion -> act_b -> depthwise -> act_c, per-row SE sums. */
static void expand_dwconv(const enet *net, const emoti_kernels *kern, const enet_block *b) {
    OMP(parallel num_threads(net->threads) if (net->threads > 1))
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num(), nt = omp_get_num_threads();
#endif
        int slice = (b->h + nt - 1) / nt; /* input rows per thread */
        expand_dwconv_slice(net, kern, b, t, slice);
        OMP(barrier)
        /* the straddling rows are consecutive: hand them out one by one */
        OMP(for schedule(static, 1))
        for (int oy = 0; oy < b->dw.oh; oy++)
            if (dw_row_owner(&b->dw, oy, slice) < 0) dw_row(net, kern, b, net->act_b, oy);
    }
}

static void stem_rows(const enet *net, const emoti_kernels *kern) {
    const emoti_window *g = &net->stem;
    size_t row = (size_t)g->ow * net->stem_c;
    PARALLEL_FOR(net->threads, net->threads > 1)
    for (int oy = 0; oy < g->oh; oy++) {
        emoti_window r = one_row(g, oy);
        kern->f32_conv_swish(&r, 3, net->stem_c, net->input, net->stem_w, net->stem_b,
                             net->act_a + oy * row);
    }
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }


/* Squeeze-excite: gate = sigmoid(W2 swish(W1 mean + b1) + b2) -> net->gate. The gate scales
 * the projection's input channels, so the GEMM folds it into the projection weights as it
 * packs them (mid * out multiplies instead of h * w * mid). The channel means and this MLP are
 * computed in double: an error in a gate scales a whole channel coherently, and float
 * pooling over 12544 pixels was the largest error in the network (6e-5 on B2's outputs). */
static void se_gate(const enet *net, const emoti_kernels *kern, const enet_block *b) {
    const size_t oh = (size_t)b->dw.oh, mid = (size_t)b->mid, se = (size_t)b->se;
    const double inv = 1.0 / ((double)oh * b->dw.ow);
    double *mean = net->se_mean, *hidden = net->se_mid, *gate = net->se_mean;
    memset(mean, 0, mid * sizeof *mean);
    gemv_split(net, kern, oh, mid, NULL, net->se_row_sums, mean); /* rows' sums, in order */
    for (size_t ch = 0; ch < mid; ch++) mean[ch] *= inv;
    for (size_t j = 0; j < se; j++) hidden[j] = b->se1_b[j];
    gemv_split(net, kern, mid, se, mean, b->se1_w, hidden); /* W1: [mid][se] */
    for (size_t j = 0; j < se; j++) hidden[j] *= sigmoid(hidden[j]);
    for (size_t ch = 0; ch < mid; ch++) gate[ch] = b->se2_b[ch]; /* the means are used up */
    gemv_split(net, kern, se, mid, hidden, b->se2_w, gate); /* W2: [se][mid] */
    for (size_t ch = 0; ch < mid; ch++) net->gate[ch] = (float)sigmoid(gate[ch]);
}

/* The SE gate scales the projection's input channels: folded into the weights as the GEMM
 * copies them (mid x out multiplies per ROW_CHUNK rows), or applied to the depthwise output
 * first (pixels x mid), whichever multiplies fewer values; the choice depends on the shapes
 * only. The late blocks (few pixels, wide weights) take the second, and their GEMMs then read
 * the weights in place: B2 at 1 thread, per-layer timing, projections 9.7 -> 8.9 ms for
 * 0.24 ms of scaling. */
static int gate_activations(const enet_block *b, size_t out_px) {
    return out_px < (out_px + ROW_CHUNK - 1) / ROW_CHUNK * (size_t)b->out;
}

typedef struct {
    const emoti_kernels *kern;
    float *x;
    const float *gate;
    size_t cols;
} scale_job;

static void scale_rows(void *ctx, size_t r0, size_t rows) {
    const scale_job *j = ctx;
    j->kern->f32_scale_cols(rows, j->cols, j->x + r0 * j->cols, j->gate);
}

/* act_c[px][mid] *= gate[mid], rows split among the threads */
static void scale_split(const enet *net, const emoti_kernels *kern, size_t px, size_t mid) {
    scale_job j = {kern, net->act_c, net->gate, mid};
    share_run(net->threads, px, 1, 16, scale_rows, &j);
}

static void run_block(enet *net, const emoti_kernels *kern, const enet_block *b) {
    size_t in_px = (size_t)b->h * b->w, out_px = (size_t)b->dw.oh * b->dw.ow;
    /* [h][w][in] (-> [h][w][mid]) -> [oh][ow][mid], plus the SE channel sums of each row */
    if (b->kind != BLOCK_IR) {
        dwconv_rows(net, kern, b, net->act_a);
    } else if (in_px * b->mid * sizeof(float) > FUSE_MIN_BYTES) {
        expand_dwconv(net, kern, b);
    } else {
        gemm_split(net, kern, in_px, (size_t)b->mid, (size_t)b->in, net->act_a, b->exp_w, NULL,
                  b->exp_b, NULL, net->act_b, EMOTI_ACT_SWISH);
        dwconv_rows(net, kern, b, net->act_b);
    }
    se_gate(net, kern, b);
    const float *wscale = net->gate;
    if (gate_activations(b, out_px)) {
        scale_split(net, kern, out_px, (size_t)b->mid);
        wscale = NULL;
    }
    /* -> [oh][ow][out], adding the block input in place when the block has a skip */
    gemm_split(net, kern, out_px, (size_t)b->out, (size_t)b->mid, net->act_c, b->proj_w,
              wscale, b->proj_b, b->skip ? net->act_a : NULL, net->act_a, EMOTI_ACT_NONE);
}

void enet_forward(enet *net, const emoti_kernels *kern, float *outputs, emoti_stage_fn observe,
                  void *user) {
    if (observe) observe(user, "input", net->input, net->size, net->size, 3);
    /* [S][S][3] -> [S/2][S/2][stem] */
    stem_rows(net, kern);
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
    gemm_split(net, kern, px, (size_t)f, (size_t)last, net->act_a, net->head_w, NULL, net->head_b,
              NULL, net->act_b, EMOTI_ACT_SWISH);
    if (observe) observe(user, "head", net->act_b, net->head_rows, net->head_cols, f);
    double *sums = net->se_mean;
    memset(sums, 0, (size_t)f * sizeof *sums);
    gemv_split(net, kern, px, (size_t)f, NULL, net->act_b, sums); /* pixel by pixel, in double */
    for (int ch = 0; ch < f; ch++) net->embedding[ch] = (float)(sums[ch] / (double)px);
    /* The classifier is tiny (features x n_out) and its sums feed the outputs directly:
     * double accumulation takes ~1e-5 of rounding noise off the logits of large embeddings. */
    for (int o = 0; o < net->n_out; o++) {
        double sum = net->fc_b[o];
        for (int ch = 0; ch < f; ch++) sum += (double)net->embedding[ch] * net->fc_w[(size_t)ch * net->n_out + o];
        outputs[o] = (float)sum;
    }
}
