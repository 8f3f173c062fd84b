/* The forward pass's layers on the threads (schedule.h). Rows of a layer go to the threads in
 * bands (the late GEMMs: their columns), a thread done early taking chunks of a slower one's band
 * (emoti_share_run). Every output value is computed by the same kernel code in the same order
 * whatever the band or chunk, so results are bitwise identical for any thread count. */
#include "schedule.h"

#include <string.h>

#include "share.h"

#ifdef _OPENMP
#include <omp.h>
#define PRAGMA(x) _Pragma(#x)
#define OMP(x) PRAGMA(omp x)
#define PARALLEL_FOR(threads, cond) PRAGMA(omp parallel for num_threads(threads) schedule(static) if (cond))
#else
#define OMP(x)
#define PARALLEL_FOR(threads, cond)
#endif

/* ---- GEMM: by columns where the weights outweigh the activations (the late layers: n > m), so
 * that each thread reads only its share of them; by bands of rows elsewhere. Column bands go in
 * multiples of 16 (the weight strips), which balances n = 208 as 112 + 96 where whole 32-column
 * panels gave 128 + 80. An output's arithmetic does not depend on the split (kernels.h), so
 * neither do the results. Threads claim their bands a chunk at a time (emoti_share_run); the
 * chunks cost no extra copies of gated weights: 64 columns are two whole 32-wide panels, 120 rows the
 * kernels' row block (MC), for each of which the weights are copied anyway. */
#define SPLIT_COLS 16
#define COL_CHUNK 64
#define ROW_CHUNK EMOTI_TEAM_ROW_CHUNK

typedef struct {
    const emoti_kernels *kern;
    size_t m, n, k;
    const float *a, *w, *wscale, *bias, *res;
    float *y;
    emoti_act act;
} gemm_job;

static void gemm_cols(void *ctx, size_t j0, size_t nj) {
    const gemm_job *g = ctx;
    g->kern->f32_gemm(g->m, nj, g->k, g->a, g->k, g->w + j0 * g->k, g->wscale, g->bias + j0,
                      g->res ? g->res + j0 : NULL, g->y + j0, g->n, g->act);
}

static void gemm_rows(void *ctx, size_t r0, size_t rows) {
    const gemm_job *g = ctx;
    g->kern->f32_gemm(rows, g->n, g->k, g->a + r0 * g->k, g->k, g->w, g->wscale, g->bias,
                      g->res ? g->res + r0 * g->n : NULL, g->y + r0 * g->n, g->n, g->act);
}

void emoti_team_gemm(const emoti_team *t, size_t m, size_t n, size_t k, const float *a,
                     const float *w, const float *wscale, const float *bias, const float *res,
                     float *y, emoti_act act) {
    gemm_job g = {t->kern, m, n, k, a, w, wscale, bias, res, y, act};
    if (t->threads > 1 && n > m && n >= 2 * SPLIT_COLS)
        emoti_share_run(t->threads, n, SPLIT_COLS, COL_CHUNK, gemm_cols, &g);
    else
        emoti_share_run(t->threads, m, 1, ROW_CHUNK, gemm_rows, &g);
}

/* ---- GEMV: the columns split among the threads (bitwise the same for any split, kernels.h).
 * The SE weights of a late block (2 x 2112 x 88 floats in B2) come from memory: each thread
 * reads its columns' share. */
void emoti_team_gemv(const emoti_team *t, size_t rows, size_t cols, const double *x,
                     const float *w, double *y) {
    const size_t nt = (size_t)t->threads, per = ((cols + nt - 1) / nt + 7) & ~(size_t)7;
    long parts = (long)((cols + per - 1) / per);
    PARALLEL_FOR(t->threads, parts > 1 && rows * cols >= 16384)
    for (long i = 0; i < parts; i++) {
        size_t c0 = (size_t)i * per;
        t->kern->f64_gemv(rows, cols - c0 < per ? cols - c0 : per, x, w + c0, cols, y + c0);
    }
}

/* ---- Scaling columns: rows split among the threads. */
typedef struct {
    const emoti_kernels *kern;
    float *x;
    const float *s;
    size_t cols;
} scale_job;

static void scale_rows(void *ctx, size_t r0, size_t rows) {
    const scale_job *j = ctx;
    j->kern->f32_scale_cols(rows, j->cols, j->x + r0 * j->cols, j->s);
}

void emoti_team_scale_cols(const emoti_team *t, size_t rows, size_t cols, float *x,
                           const float *s) {
    scale_job j = {t->kern, x, s, cols};
    emoti_share_run(t->threads, rows, 1, 16, scale_rows, &j);
}

/* ---- Convolutions, by output rows. */

/* The window restricted to output row oy: the input stays whole, only the padding shifts. */
static emoti_window one_row(const emoti_window *g, int oy) {
    emoti_window r = *g;
    r.oh = 1;
    r.pad_top = g->pad_top - oy * g->stride;
    return r;
}

void emoti_team_conv_swish(const emoti_team *t, const emoti_window *g, int cin, int cout,
                           const float *x, const float *w, const float *bias, float *y) {
    size_t row = (size_t)g->ow * cout;
    PARALLEL_FOR(t->threads, t->threads > 1)
    for (int oy = 0; oy < g->oh; oy++) {
        emoti_window r = one_row(g, oy);
        t->kern->f32_conv_swish(&r, cin, cout, x, w, bias, y + oy * row);
    }
}

/* Depthwise output row oy of x, whose first row is input row x_row (x holds the rows from x_row
 * on) -> dw->y; dw->row_sums[oy][ch] gets its SE pool sums. */
static void dw_row_from(const emoti_kernels *kern, const emoti_dw_layer *dw, const float *x,
                        int x_row, int oy) {
    emoti_window r = one_row(dw->g, oy);
    r.pad_top += x_row, r.h -= x_row;
    kern->f32_dwconv_swish(&r, dw->c, x, dw->w, dw->bias,
                           dw->y + (size_t)oy * dw->g->ow * dw->c,
                           dw->row_sums + (size_t)oy * dw->c);
}

/* The same for x holding the whole input. */
static void dw_row(const emoti_kernels *kern, const emoti_dw_layer *dw, const float *x, int oy) {
    dw_row_from(kern, dw, x, 0, oy);
}

typedef struct {
    const emoti_kernels *kern;
    const emoti_dw_layer *dw;
    const float *x;
} dw_job;

static void dw_rows(void *ctx, size_t r0, size_t rows) {
    const dw_job *d = ctx;
    for (size_t oy = r0; oy < r0 + rows; oy++) dw_row(d->kern, d->dw, d->x, (int)oy);
}

void emoti_team_dwconv_swish(const emoti_team *t, const emoti_dw_layer *dw, const float *x) {
    dw_job d = {t->kern, dw, x};
    emoti_share_run(t->threads, (size_t)dw->g->oh, 1, 1, dw_rows, &d);
}

/* ---- Expansion fused with the depthwise conv. The expanded tensor (6.5 MB in B2's first
 * expanding block), written whole, would be read back from L3 / DRAM. Instead each thread
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

/* Expanded pixels [p0, p0 + n): x [h][w][in] -> y [n][mid], 1x1 conv + Swish. */
static void expand_px(const emoti_kernels *kern, const emoti_expand_layer *e, size_t mid,
                      const float *x, size_t p0, size_t n, float *y) {
    kern->f32_gemm(n, mid, (size_t)e->in, x + p0 * e->in, (size_t)e->in, e->w, NULL, e->bias, NULL, y, mid,
                   EMOTI_ACT_SWISH);
}

/* Slice t of the input rows, expanded a chunk at a time just before the first depthwise row
 * that needs it; the depthwise rows whose inputs all lie in the slice in between. With one
 * slice (one thread) the expanded rows go to a window at the start of e->expanded instead of
 * their place in the whole tensor: when a chunk would run past it, the rows still needed move
 * to its start. The window's lines stay in cache, where writing the whole tensor (6.5 MB in
 * B2's first expanding block) fetched every line from memory first. */
static void expand_dwconv_slice(const emoti_kernels *kern, const emoti_expand_layer *e,
                                const emoti_dw_layer *dw, const float *x, int t, int slice) {
    const emoti_window *g = dw->g;
    float *const held = e->expanded;
    const size_t w = (size_t)g->w, h = (size_t)g->h, mid = (size_t)dw->c;
    const size_t r0 = (size_t)t * slice, r1 = r0 + slice;
    size_t done = (r0 < h ? r0 : h) * w, end = (r1 < h ? r1 : h) * w; /* in pixels */
    size_t hot = FUSE_L2_BYTES / (mid * sizeof(float)), ctx = (size_t)(g->k - 1) * w;
    size_t chunk = hot > ctx ? hot - ctx : 1; /* pixels expanded per GEMM call, rounded up */
    const size_t window = (size_t)g->k * w + 2 * (chunk + EXPAND_STEP); /* see below */
    const int slide = r0 == 0 && end == h * w && window < end;
    size_t base = 0; /* the first pixel held, at held[0]: a row's first */
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
                memmove(held, held + (keep - base) * mid, (done - keep) * mid * sizeof(float));
                base = keep;
            }
            expand_px(kern, e, mid, x, done, n, held + (done - base) * mid);
            done += n;
        }
        dw_row_from(kern, dw, held, (int)(base / w), oy);
    }
    if (done < end && !slide) /* rows the next slice's straddling rows read */
        expand_px(kern, e, mid, x, done, end - done, held + done * mid);
}

static void expand_dwconv_fused(const emoti_team *team, const emoti_expand_layer *e,
                                const emoti_dw_layer *dw, const float *x) {
    OMP(parallel num_threads(team->threads) if (team->threads > 1))
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num(), nt = omp_get_num_threads();
#endif
        int slice = (dw->g->h + nt - 1) / nt; /* input rows per thread */
        expand_dwconv_slice(team->kern, e, dw, x, t, slice);
        OMP(barrier)
        /* the straddling rows are consecutive: hand them out one by one */
        OMP(for schedule(static, 1))
        for (int oy = 0; oy < dw->g->oh; oy++)
            if (dw_row_owner(dw->g, oy, slice) < 0) dw_row(team->kern, dw, e->expanded, oy);
    }
}

void emoti_team_expand_dwconv(const emoti_team *t, const emoti_expand_layer *e,
                              const emoti_dw_layer *dw, const float *x) {
    const size_t px = (size_t)dw->g->h * dw->g->w, mid = (size_t)dw->c;
    if (px * mid * sizeof(float) > FUSE_MIN_BYTES) {
        expand_dwconv_fused(t, e, dw, x);
        return;
    }
    emoti_team_gemm(t, px, mid, (size_t)e->in, x, e->w, NULL, e->bias, NULL, e->expanded,
                    EMOTI_ACT_SWISH);
    emoti_team_dwconv_swish(t, dw, e->expanded);
}
