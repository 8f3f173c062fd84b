/* Every kernel of every available table against the scalar reference, on fixed-seed random
 * data: tile/vector edge cases for channel counts and rows, strides 1 and 2, kernel 3 / 5 / 7,
 * odd spatial sizes, TF SAME and other pads, residual (separate and in place), pool sums,
 * activation none / Swish, and every B0 / B2 layer shape. The exp / sigmoid / Swish
 * approximations are checked against libm and a double-precision reference.
 *
 * Errors are relative to the magnitude of what was summed: |got - ref| / (|bias| + sum |a w|
 * (+ |res|)), which is what FMA reassociation and a few-ulp Swish can move; bound 1e-5.
 * Prints the number of cases and the worst error per kernel; exits 1 on any failure. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "layer_shapes.h"

#define TOL 1e-5

static int failures;

#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
            failures++;                                 \
        }                                               \
    } while (0)

/* ---- data ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_u32(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}
static float rng_uniform(float lo, float hi) { return lo + (hi - lo) * (float)(rng_u32() >> 8) / 16777216.0f; }
static int rng_pick(const int *v, int n) { return v[rng_u32() % (unsigned)n]; }

static float *rand_buf(size_t n, float lo, float hi) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        printf("out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = rng_uniform(lo, hi);
    return p;
}

/* Canary-guarded output buffer: n floats plus 16 guard floats on each side. */
#define GUARD 16
#define CANARY 12345.678f
static float *guarded(size_t n) {
    float *p = malloc((n + 2 * GUARD) * sizeof *p);
    if (!p) {
        printf("out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n + 2 * GUARD; i++) p[i] = CANARY;
    return p + GUARD;
}
static int guards_ok(const float *p, size_t n) {
    for (size_t i = 0; i < GUARD; i++)
        if (p[-1 - (ptrdiff_t)i] != CANARY || p[n + i] != CANARY) return 0;
    return 1;
}
static void unguard(float *p) { free(p - GUARD); }

typedef struct {
    const char *kernel;
    int cases;
    double worst;
    char worst_case[96];
    double bound; /* 0: TOL */
} stats;

static void record(stats *s, double err, const char *desc) {
    s->cases++;
    if (err > s->worst || s->cases == 1) {
        s->worst = err;
        snprintf(s->worst_case, sizeof s->worst_case, "%s", desc);
    }
    const double bound = s->bound > 0 ? s->bound : TOL;
    if (!(err <= bound)) {
        failures++;
        printf("FAIL %s %s: error %.3g > %.2g\n", s->kernel, desc, err, bound);
    }
}

static void report(const char *isa, const stats *s) {
    printf("%-7s %-18s %5d cases  worst %.2e  (%s)\n", isa, s->kernel, s->cases, s->worst,
           s->worst_case);
}

/* ---- gemm ------------------------------------------------------------------------------ */

/* The activations f32_gemm applies, drawn by index. */
static const emoti_act ACTS[2] = {EMOTI_ACT_NONE, EMOTI_ACT_SWISH};
static const char *act_name(emoti_act act) { return act == EMOTI_ACT_SWISH ? "swish" : "none"; }

/* A row-major k x n matrix in the strips f32_gemm reads (kernels.h). */
static float *strips_of(const float *w, size_t k, size_t n) {
    float *s = malloc((emoti_strips_floats(k, n) ? emoti_strips_floats(k, n) : 1) * sizeof *s);
    if (!s) {
        printf("out of memory\n");
        exit(1);
    }
    emoti_strips_pack(k, n, w, n, s);
    return s;
}

static void gemm_case(const emoti_kernels *kt, stats *st, size_t m, size_t n, size_t k,
                      emoti_act act, int res_mode /* 0 none, 1 separate, 2 in place */) {
    float *a = rand_buf(m * k, -1, 1), *w = rand_buf(k * n, -0.5f, 0.5f);
    float *bias = rand_buf(n, -1, 1), *res = rand_buf(m * n, -2, 2);
    float *ref = guarded(m * n), *got = guarded(m * n);
    /* half the cases fold a per-row scale (the SE gate, in (0, 1)) into w */
    float *wscale = (m + n + k) % 2 ? rand_buf(k + 1, 0, 1) : NULL;
    if (res_mode == 2) {
        memcpy(ref, res, m * n * sizeof *ref);
        memcpy(got, res, m * n * sizeof *got);
    }
    const float *rr = res_mode == 2 ? ref : res_mode == 1 ? res : NULL;
    const float *rg = res_mode == 2 ? got : res_mode == 1 ? res : NULL;
    float *ws = strips_of(w, k, n);
    kt->f32_gemm(m, n, k, a, k, ws, wscale, bias, rg, got, n, act);
    /* rows are independent: on big shapes check the first and last 24 rows and every 13th */
#define CHECK_ROW(i) (m <= 64 || (i) < 24 || (i) + 24 >= m || (i) % 13 == 0)
    for (size_t i = 0; i < m; i++)
        if (CHECK_ROW(i))
            emoti_kernels_scalar.f32_gemm(1, n, k, a + i * k, k, ws, wscale, bias,
                                          rr ? rr + i * n : NULL, ref + i * n, n, act);
    /* the reference itself against a plain double sum over the row-major w (the strips'
     * indexing; its float rounding is far below the bound) */
    for (size_t i = 0; i < m; i += m > 8 ? 7 : 1)
        for (size_t j = 0; CHECK_ROW(i) && j < n; j++) {
            double want = bias[j], mag = fabs(bias[j]);
            for (size_t p = 0; p < k; p++) {
                double t = (double)a[i * k + p] * (float)(w[p * n + j] * (wscale ? wscale[p] : 1.0f));
                want += t, mag += fabs(t);
            }
            if (act == EMOTI_ACT_SWISH) want = want / (1 + exp(-want));
            if (rr) want += res[i * n + j], mag += fabs(res[i * n + j]);
            if (!(fabs(ref[i * n + j] - want) <= 1e-5 * (mag + 1))) {
                failures++;
                printf("FAIL scalar f32_gemm m=%zu n=%zu k=%zu: (%zu, %zu) = %g, want %g\n", m,
                       n, k, i, j, ref[i * n + j], want);
                i = m, j = n; /* one line per case */
            }
        }
    double worst = 0, *scale = malloc(n * sizeof *scale);
    for (size_t i = 0; i < m; i++) {
        if (!CHECK_ROW(i)) continue;
        for (size_t j = 0; j < n; j++) scale[j] = fabs(bias[j]) + (res_mode ? fabs(res[i * n + j]) : 0);
        for (size_t p = 0; p < k; p++) {
            double av = fabs(a[i * k + p]) * (wscale ? wscale[p] : 1.0);
            for (size_t j = 0; j < n; j++) scale[j] += av * fabs(w[p * n + j]);
        }
        for (size_t j = 0; j < n; j++) {
            double e = fabs((double)got[i * n + j] - ref[i * n + j]) / (scale[j] > 0 ? scale[j] : 1);
            if (!(e <= worst)) worst = e; /* catches NaN */
        }
    }
    free(scale);
    char desc[96];
    snprintf(desc, sizeof desc, "m=%zu n=%zu k=%zu act=%s res=%s%s", m, n, k, act_name(act),
             res_mode == 2 ? "inplace" : res_mode ? "yes" : "no", wscale ? " wscale" : "");
    if (!guards_ok(got, m * n)) {
        failures++;
        printf("FAIL %s %s: wrote outside y\n", st->kernel, desc);
    }
    record(st, worst, desc);
    free(a), free(w), free(ws), free(bias), free(res), free(wscale);
    unguard(ref), unguard(got);
}

static void test_gemm(const emoti_kernels *kt) {
    stats st = {.kernel = "f32_gemm"};
    static const int ns[] = {1, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 47, 48, 96, 100, 129};
    static const int ks[] = {0, 1, 2, 3, 7, 8, 9, 16, 17, 31, 64, 127, 128, 129, 255, 256, 257, 300, 513, 600};
    static const int ms[] = {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 37, 95, 96, 97, 100, 193};
    int nn = sizeof ns / sizeof *ns, nk = sizeof ks / sizeof *ks, nm = sizeof ms / sizeof *ms;
    /* every n and every m at a few k, every k at a few n, with all epilogues */
    for (int i = 0; i < nn; i++)
        for (int j = 0; j < nm; j += 3)
            gemm_case(kt, &st, (size_t)ms[j], (size_t)ns[i], (size_t)ks[(i + j) % nk],
                      ACTS[(i + j) & 1], (i + j) % 3);
    for (int i = 0; i < nk; i++)
        for (int r = 0; r < 3; r++)
            for (int act = 0; act < 2; act++)
            {
                size_t m = (size_t)rng_pick(ms, nm), n = (size_t)rng_pick(ns, nn);
                gemm_case(kt, &st, m, n, (size_t)ks[i], ACTS[act], r);
            }
    for (int t = 0; t < 150; t++) { /* (one draw per statement: a fixed order) */
        size_t m = (size_t)rng_pick(ms, nm), n = (size_t)rng_pick(ns, nn), k = (size_t)rng_pick(ks, nk);
        emoti_act act = ACTS[rng_u32() & 1];
        int res = (int)(rng_u32() % 3);
        gemm_case(kt, &st, m, n, k, act, res);
    }
    /* the k-blocked in-place residual under Swish (the scratch path) */
    gemm_case(kt, &st, 13, 33, 600, EMOTI_ACT_SWISH, 2);
    gemm_case(kt, &st, 70, 17, 257, EMOTI_ACT_SWISH, 1);
    /* every distinct gemm shape of B0 and B2 */
    for (int v = 0; v <= 2; v += 2) {
        layer_call calls[128];
        int nc = enet_layer_calls(v, calls, 128);
        for (int i = 0; i < nc; i++) {
            const layer_call *c = &calls[i];
            if (c->kind != CALL_GEMM) continue;
            int seen = 0;
            for (int j = 0; j < i; j++)
                seen |= calls[j].kind == CALL_GEMM && calls[j].m == c->m && calls[j].n == c->n &&
                        calls[j].k == c->k && calls[j].act == c->act && calls[j].res == c->res;
            if (!seen) gemm_case(kt, &st, c->m, c->n, c->k, c->act, c->res ? 2 : 0);
        }
    }
    report(kt->isa, &st);
}

/* The threads split a layer's GEMM into blocks of rows or of columns (ld > n; columns from
 * multiples of 16, the strips): every split must give bitwise the results of one call. Row
 * blocks at odd offsets too, and the residual in place. */
static void split_case(const emoti_kernels *kt, int *cases, size_t m, size_t n, size_t k,
                       emoti_act act, int res_mode, const size_t *cuts, int by_cols) {
    float *a = rand_buf(m * k, -1, 1), *w0 = rand_buf(k * n, -0.5f, 0.5f), *w = strips_of(w0, k, n);
    float *bias = rand_buf(n, -1, 1), *res = rand_buf(m * n, -2, 2), *gate = rand_buf(k + 1, 0, 1);
    float *whole = guarded(m * n), *parts = guarded(m * n);
    if (res_mode == 2) memcpy(whole, res, m * n * sizeof *whole), memcpy(parts, res, m * n * sizeof *parts);
    const float *rw = res_mode == 2 ? whole : res_mode ? res : NULL;
    const float *rp = res_mode == 2 ? parts : res_mode ? res : NULL;
    kt->f32_gemm(m, n, k, a, k, w, gate, bias, rw, whole, n, act);
    const size_t end = by_cols ? n : m;
    for (size_t lo = 0, i = 0; lo < end; i++) {
        size_t hi = cuts[i] && cuts[i] < end ? cuts[i] : end;
        if (by_cols)
            kt->f32_gemm(m, hi - lo, k, a, k, w + lo * k, gate, bias + lo, rp ? rp + lo : NULL, parts + lo,
                         n, act);
        else
            kt->f32_gemm(hi - lo, n, k, a + lo * k, k, w, gate, bias, rp ? rp + lo * n : NULL,
                         parts + lo * n, n, act);
        lo = hi;
    }
    (*cases)++;
    if (memcmp(whole, parts, m * n * sizeof *whole) || !guards_ok(parts, m * n)) {
        failures++;
        printf("FAIL %s f32_gemm split by %s: m=%zu n=%zu k=%zu act=%s res=%d differs from one call\n",
               kt->isa, by_cols ? "columns" : "rows", m, n, k, act_name(act), res_mode);
    }
    free(a), free(w0), free(w), free(bias), free(res), free(gate);
    unguard(whole), unguard(parts);
}

static void test_gemm_split(const emoti_kernels *kt) {
    static const size_t col_cuts[][4] = {{32, 64, 0}, {16, 48, 0}, {16, 0}, {16, 32, 48}, {96, 0}};
    static const size_t row_cuts[][4] = {{1, 0}, {13, 25, 0}, {6, 60, 0}, {45, 0}};
    static const size_t shapes[][3] = {{49, 192, 672}, {9, 100, 300}, {81, 120, 88}, {13, 33, 17},
                                       {50, 130, 257}};
    int cases = 0;
    for (int s = 0; s < 5; s++)
        for (int v = 0; v < 6; v++) {
            const size_t *sh = shapes[s];
            split_case(kt, &cases, sh[0], sh[1], sh[2], ACTS[v & 1], v / 2, col_cuts[(s + v) % 5], 1);
            split_case(kt, &cases, sh[0], sh[1], sh[2], ACTS[v & 1], v / 2, row_cuts[(s + v) % 4], 0);
        }
    printf("%-7s %-18s %5d cases  bitwise equal to one call\n", kt->isa, "f32_gemm splits", cases);
}

/* ---- f32_scale_cols: bitwise the scalar products, nothing written outside x ------------ */

static void test_scale_cols(const emoti_kernels *kt) {
    int cases = 0;
    for (size_t rows = 1; rows <= 5; rows += 2)
        for (size_t cols = 1; cols <= 70; cols += (cols < 20 ? 1 : 7)) {
            float *x = guarded(rows * cols), *want = malloc(rows * cols * sizeof *want);
            float *s = rand_buf(cols, 0, 1), *init = rand_buf(rows * cols, -3, 3);
            memcpy(x, init, rows * cols * sizeof *x), memcpy(want, init, rows * cols * sizeof *want);
            emoti_kernels_scalar.f32_scale_cols(rows, cols, want, s);
            kt->f32_scale_cols(rows, cols, x, s);
            cases++;
            if (memcmp(x, want, rows * cols * sizeof *x) || !guards_ok(x, rows * cols)) {
                failures++;
                printf("FAIL %s f32_scale_cols %zux%zu\n", kt->isa, rows, cols);
            }
            unguard(x), free(want), free(s), free(init);
        }
    printf("%-7s %-18s %5d cases  bitwise equal to scalar\n", kt->isa, "f32_scale_cols", cases);
}

/* ---- f64_gemv ------------------------------------------------------------------------- */

/* Against the scalar table: each y[c] is the same sum in the same order, fused or not, so
 * the difference is a few double roundings per term: relative to |y| + sum |x w|, at most
 * (2 rows + 2) DBL_EPSILON (rows <= 130 here). Two column blocks must give bitwise one call
 * (the threads split the SE MLP so), and the columns past cols must stay untouched. */
static void test_gemv(const emoti_kernels *kt) {
    stats st = {.kernel = "f64_gemv", .bound = 300 * DBL_EPSILON};
    static const int rows_v[] = {0, 1, 2, 5, 16, 49, 88, 130};
    static const int cols_v[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 33, 65, 88, 128, 129, 1152, 2113};
    enum { PAD = 8 };
    for (int t = 0; t < 320; t++) {
        size_t rows = (size_t)rows_v[t % 8], cols = (size_t)cols_v[(t / 8) % 20];
        int ones = t >= 160;
        float *w = rand_buf(rows * cols + 1, -1, 1);
        double *x = malloc((rows + 1) * sizeof *x), *y = malloc((cols + PAD) * sizeof *y);
        double *want = malloc((cols + PAD) * sizeof *want), *mag = malloc((cols + PAD) * sizeof *mag);
        double *y0 = malloc((cols + PAD) * sizeof *y0), *y2 = malloc((cols + PAD) * sizeof *y2);
        if (!w || !x || !y || !want || !mag || !y0 || !y2) {
            printf("FAIL: out of memory\n");
            exit(1);
        }
        /* full doubles (a float x float product would be exact, fused or not) */
        for (size_t r = 0; r < rows; r++) x[r] = rng_uniform(-2, 2) / 3.0;
        for (size_t c = 0; c < cols + PAD; c++) y[c] = want[c] = c < cols ? rng_uniform(-1, 1) : 7.0;
        double err = 0;
        for (size_t c = 0; c < cols; c++) { /* |y| + sum |x w|, before y is overwritten */
            mag[c] = fabs(y[c]) + 1e-300, y0[c] = y[c];
            for (size_t r = 0; r < rows; r++) mag[c] += fabs((ones ? 1 : x[r]) * w[r * cols + c]);
        }
        emoti_kernels_scalar.f64_gemv(rows, cols, ones ? NULL : x, w, cols, want);
        /* in two column blocks (bitwise the same as one call: checked below) */
        size_t cut = t % 3 ? cols / 3 : cols;
        kt->f64_gemv(rows, cut, ones ? NULL : x, w, cols, y);
        kt->f64_gemv(rows, cols - cut, ones ? NULL : x, w + cut, cols, y + cut);
        for (size_t c = 0; c < cols; c++) y2[c] = y0[c];
        kt->f64_gemv(rows, cols, ones ? NULL : x, w, cols, y2);
        if (memcmp(y, y2, cols * sizeof *y)) err = INFINITY;
        for (size_t c = 0; c < cols; c++) {
            double e = fabs(y[c] - want[c]) / mag[c];
            if (!(e <= err)) err = e;
        }
        for (size_t c = cols; c < cols + PAD; c++)
            if (y[c] != 7.0 || want[c] != 7.0) err = INFINITY; /* wrote past the end */
        char desc[64];
        snprintf(desc, sizeof desc, "%zux%zu%s", rows, cols, ones ? " sums" : "");
        record(&st, err, desc);
        free(w), free(x), free(y), free(want), free(mag), free(y0), free(y2);
    }
    report(kt->isa, &st);
}

/* ---- depthwise ------------------------------------------------------------------------- */

static void tap_range(int o, int stride, int pad, int k, int size, int *t0, int *t1) {
    int start = o * stride - pad;
    *t0 = start < 0 ? -start : 0;
    *t1 = start + k > size ? size - start : k;
}

/* The window of output row oy alone, as the engine calls the kernels (one row per call, for
 * its threads): the input stays whole, the top padding shifts (and goes negative). */
static emoti_window one_row(const emoti_window *g, int oy) {
    emoti_window r = *g;
    r.oh = 1;
    r.pad_top = g->pad_top - oy * g->stride;
    return r;
}

/* The kernel under test over the whole output, in one call or (rows) one call per row with
 * the rows' pool sums added up. */
static void dw_call(const emoti_kernels *kt, const emoti_window *g, int c, const float *x,
                    const float *w, const float *bias, float *y, float *pool, int rows) {
    if (!rows) {
        kt->f32_dwconv_swish(g, c, x, w, bias, y, pool);
        return;
    }
    float *part = pool ? guarded((size_t)c) : NULL;
    for (int ch = 0; pool && ch < c; ch++) pool[ch] = 0;
    for (int oy = 0; oy < g->oh; oy++) {
        emoti_window r = one_row(g, oy);
        kt->f32_dwconv_swish(&r, c, x, w, bias, y + (size_t)oy * g->ow * c, part);
        for (int ch = 0; pool && ch < c; ch++) pool[ch] += part[ch];
    }
    if (part) {
        if (!guards_ok(part, (size_t)c)) {
            failures++;
            printf("FAIL f32_dwconv_swish: row call wrote outside pool_sums\n");
        }
        unguard(part);
    }
}

static void dw_case(const emoti_kernels *kt, stats *st, stats *sp, const emoti_window *g, int c,
                    int pool, int rows) {
    size_t in_n = (size_t)g->h * g->w * c, out_n = (size_t)g->oh * g->ow * c;
    float *x = rand_buf(in_n, -2, 2), *w = rand_buf((size_t)g->k * g->k * c, -0.5f, 0.5f);
    float *bias = rand_buf((size_t)c, -1, 1);
    float *ref = guarded(out_n), *got = guarded(out_n);
    float *pref = guarded((size_t)c), *pgot = guarded((size_t)c);
    emoti_kernels_scalar.f32_dwconv_swish(g, c, x, w, bias, ref, pool ? pref : NULL);
    dw_call(kt, g, c, x, w, bias, got, pool ? pgot : NULL, rows);
    double worst = 0, pworst = 0;
    double *scale_sum = calloc((size_t)c, sizeof *scale_sum), *ref_sum = calloc((size_t)c, sizeof *ref_sum);
    for (int oy = 0; oy < g->oh; oy++) {
        int ky0, ky1;
        tap_range(oy, g->stride, g->pad_top, g->k, g->h, &ky0, &ky1);
        for (int ox = 0; ox < g->ow; ox++) {
            int kx0, kx1;
            tap_range(ox, g->stride, g->pad_left, g->k, g->w, &kx0, &kx1);
            for (int ch = 0; ch < c; ch++) {
                double scale = fabs(bias[ch]);
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++) {
                        int iy = oy * g->stride - g->pad_top + ky, ix = ox * g->stride - g->pad_left + kx;
                        scale += fabs((double)x[((size_t)iy * g->w + ix) * c + ch] *
                                      w[(ky * g->k + kx) * c + ch]);
                    }
                size_t o = ((size_t)oy * g->ow + ox) * c + ch;
                double e = fabs((double)got[o] - ref[o]) / (scale > 0 ? scale : 1);
                if (!(e <= worst)) worst = e;
                scale_sum[ch] += scale;
                ref_sum[ch] += ref[o];
            }
        }
    }
    /* pool sums: each output may be off by TOL * scale, and float summation of oh*ow terms
     * in another order by ~(oh + ow) ulp of the sum of magnitudes (<= the sum of scales). */
    if (pool)
        for (int ch = 0; ch < c; ch++) {
            double s = scale_sum[ch] > 0 ? scale_sum[ch] : 1;
            double e = fabs((double)pgot[ch] - ref_sum[ch]) / s /
                       (1 + (g->oh + g->ow) * (double)FLT_EPSILON / TOL);
            if (!(e <= pworst)) pworst = e;
        }
    char desc[96];
    snprintf(desc, sizeof desc, "%dx%d c=%d k=%d s=%d pad=%d,%d -> %dx%d pool=%d%s", g->h, g->w,
             c, g->k, g->stride, g->pad_top, g->pad_left, g->oh, g->ow, pool, rows ? " by rows" : "");
    if (!guards_ok(got, out_n) || !guards_ok(pgot, (size_t)c) || !guards_ok(pref, (size_t)c)) {
        failures++;
        printf("FAIL %s %s: wrote outside y / pool_sums\n", st->kernel, desc);
    }
    record(st, worst, desc);
    if (pool) record(sp, pworst, desc);
    free(x), free(w), free(bias), free(scale_sum), free(ref_sum);
    unguard(ref), unguard(got), unguard(pref), unguard(pgot);
}

static void test_dwconv(const emoti_kernels *kt) {
    stats st = {.kernel = "f32_dwconv_swish"}, sp = {.kernel = "  .pool_sums"};
    static const int cs[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 96, 100};
    static const int hw[][2] = {{1, 1}, {2, 3}, {3, 2}, {4, 4}, {5, 5}, {7, 7}, {8, 9}, {13, 11},
                                {15, 15}, {16, 16}, {9, 16}, {1, 7}, {6, 1}};
    int ncs = sizeof cs / sizeof *cs, nhw = sizeof hw / sizeof *hw;
    int t = 0;
    for (int i = 0; i < nhw; i++)
        for (int k = 3; k <= 5; k += 2)
            for (int s = 1; s <= 2; s++) {
                emoti_window g = emoti_window_same(hw[i][0], hw[i][1], k, s);
                for (int j = 0; j < ncs; j += 2, t++) dw_case(kt, &st, &sp, &g, cs[(j + t) % ncs], t & 1, t % 5 == 0);
            }
    for (int j = 0; j < ncs; j++)
        for (int k = 3; k <= 5; k += 2)
            for (int s = 1; s <= 2; s++) {
                emoti_window g = emoti_window_same(13, 11, k, s);
                dw_case(kt, &st, &sp, &g, cs[j], 1, 0);
            }
    /* other kernel sizes and explicit pads (top/left 0..k-1, bottom/right likewise) */
    static const int ks[] = {1, 3, 5, 7};
    for (int r = 0; r < 80; r++) {
        int k = ks[rng_u32() % 4];
        int s = 1 + (int)(rng_u32() & 1);
        emoti_window g = {.k = k, .stride = s};
        g.h = 1 + (int)(rng_u32() % 17);
        g.w = 1 + (int)(rng_u32() % 17);
        g.pad_top = (int)(rng_u32() % (unsigned)k);
        g.pad_left = (int)(rng_u32() % (unsigned)k);
        int pb = (int)(rng_u32() % (unsigned)k);
        int pr = (int)(rng_u32() % (unsigned)k);
        int c = rng_pick(cs, ncs);
        int pool = (int)(rng_u32() & 1);
        g.oh = (g.h + g.pad_top + pb - k) / s + 1, g.ow = (g.w + g.pad_left + pr - k) / s + 1;
        if (g.oh < 1 || g.ow < 1 || g.h + g.pad_top + pb < k || g.w + g.pad_left + pr < k) continue;
        dw_case(kt, &st, &sp, &g, c, pool, r % 3 == 0);
    }
    /* every distinct depthwise shape of B0 and B2 */
    for (int v = 0; v <= 2; v += 2) {
        layer_call calls[128];
        int nc = enet_layer_calls(v, calls, 128);
        for (int i = 0; i < nc; i++) {
            const layer_call *c = &calls[i];
            if (c->kind != CALL_DW) continue;
            int seen = 0;
            for (int j = 0; j < i; j++)
                seen |= calls[j].kind == CALL_DW && !memcmp(&calls[j].g, &c->g, sizeof c->g) &&
                        calls[j].c == c->c;
            if (!seen) dw_case(kt, &st, &sp, &c->g, c->c, 1, 0);
            if (!seen) dw_case(kt, &st, &sp, &c->g, c->c, 1, 1); /* as the engine calls it */
        }
    }
    report(kt->isa, &st);
    report(kt->isa, &sp);
}

/* ---- stem ------------------------------------------------------------------------------ */

static void conv_case(const emoti_kernels *kt, stats *st, const emoti_window *g, int cin, int cout,
                      int rows) {
    size_t in_n = (size_t)g->h * g->w * cin, out_n = (size_t)g->oh * g->ow * cout;
    float *x = rand_buf(in_n, -2, 2), *w = rand_buf((size_t)g->k * g->k * cin * cout, -0.5f, 0.5f);
    float *bias = rand_buf((size_t)cout, -1, 1);
    float *ref = guarded(out_n), *got = guarded(out_n);
    emoti_kernels_scalar.f32_conv_swish(g, cin, cout, x, w, bias, ref);
    if (!rows) kt->f32_conv_swish(g, cin, cout, x, w, bias, got);
    for (int oy = 0; rows && oy < g->oh; oy++) {
        emoti_window r = one_row(g, oy);
        kt->f32_conv_swish(&r, cin, cout, x, w, bias, got + (size_t)oy * g->ow * cout);
    }
    double worst = 0;
    for (int oy = 0; oy < g->oh; oy++) {
        int ky0, ky1;
        tap_range(oy, g->stride, g->pad_top, g->k, g->h, &ky0, &ky1);
        for (int ox = 0; ox < g->ow; ox++) {
            int kx0, kx1;
            tap_range(ox, g->stride, g->pad_left, g->k, g->w, &kx0, &kx1);
            for (int co = 0; co < cout; co++) {
                double scale = fabs(bias[co]);
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        for (int ci = 0; ci < cin; ci++) {
                            int iy = oy * g->stride - g->pad_top + ky, ix = ox * g->stride - g->pad_left + kx;
                            scale += fabs((double)x[((size_t)iy * g->w + ix) * cin + ci] *
                                          w[((ky * g->k + kx) * cin + ci) * cout + co]);
                        }
                size_t o = ((size_t)oy * g->ow + ox) * cout + co;
                double e = fabs((double)got[o] - ref[o]) / (scale > 0 ? scale : 1);
                if (!(e <= worst)) worst = e;
            }
        }
    }
    char desc[96];
    snprintf(desc, sizeof desc, "%dx%d cin=%d cout=%d k=%d s=%d -> %dx%d%s", g->h, g->w, cin, cout,
             g->k, g->stride, g->oh, g->ow, rows ? " by rows" : "");
    if (!guards_ok(got, out_n)) {
        failures++;
        printf("FAIL %s %s: wrote outside y\n", st->kernel, desc);
    }
    record(st, worst, desc);
    free(x), free(w), free(bias);
    unguard(ref), unguard(got);
}

static void test_conv(const emoti_kernels *kt) {
    stats st = {.kernel = "f32_conv_swish"};
    static const int couts[] = {1, 3, 7, 8, 9, 16, 17, 24, 31, 32, 33, 40, 48, 64};
    static const int hw[][2] = {{1, 1}, {2, 3}, {7, 7}, {13, 11}, {15, 15}, {16, 17}, {24, 24}};
    for (size_t i = 0; i < sizeof hw / sizeof *hw; i++)
        for (size_t j = 0; j < sizeof couts / sizeof *couts; j++)
            for (int s = 1; s <= 2; s++) {
                emoti_window g = emoti_window_same(hw[i][0], hw[i][1], 3, s);
                conv_case(kt, &st, &g, j % 3 ? 3 : (int)(1 + j % 5), couts[j], (int)(i + j) % 4 == 0);
            }
    emoti_window g5 = emoti_window_same(11, 13, 5, 2);
    conv_case(kt, &st, &g5, 3, 32, 0);
    conv_case(kt, &st, &g5, 3, 32, 1);
    emoti_window b0 = emoti_window_same(224, 224, 3, 2), b2 = emoti_window_same(260, 260, 3, 2);
    conv_case(kt, &st, &b0, 3, 32, 0);
    conv_case(kt, &st, &b2, 3, 32, 0);
    conv_case(kt, &st, &b0, 3, 32, 1); /* as the engine calls it */
    conv_case(kt, &st, &b2, 3, 32, 1);
    report(kt->isa, &st);
}

/* ---- exp / sigmoid / Swish ------------------------------------------------------------- */

static float f_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Relative error in units of FLT_EPSILON (2^-23, one ulp at 1.0). */
static double ulp_err(double got, double exact) {
    return exact == 0 ? (got == 0 ? 0 : INFINITY) : fabs(got - exact) / fabs(exact) / FLT_EPSILON;
}

typedef struct {
    double worst_ulp, worst_ulp_libm, worst_abs;
    float worst_x;
    long n, bad;
} fstats;

/* Relative check (bound in ulp) where rel is set, else an absolute one (tiny results). */
static void f_check(fstats *s, float x, float got, double exact, float libm, int rel,
                    double bound_ulp, double bound_abs) {
    s->n++;
    int ok = isfinite(got) == isfinite(exact);
    if (rel) {
        double e = ulp_err(got, exact);
        if (!(e <= s->worst_ulp)) s->worst_ulp = e, s->worst_x = x;
        double el = ulp_err(got, libm);
        if (isfinite(libm) && fabs(libm) >= FLT_MIN && !(el <= s->worst_ulp_libm)) s->worst_ulp_libm = el;
        ok &= e <= bound_ulp;
    } else {
        double e = fabs(got - exact);
        if (!(e <= s->worst_abs)) s->worst_abs = e;
        ok &= e <= bound_abs;
    }
    if (!ok && s->bad++ < 5)
        printf("  x=%.9g got %.9g exact %.9g (%.3g ulp)\n", x, got, exact, ulp_err(got, exact));
}

static void test_elementwise(const emoti_kernels *kt) {
    /* All floats on a dense grid of bit patterns in the used range, plus random and specials. */
    enum { CHUNK = 4096 };
    static float xs[CHUNK], ye[CHUNK], ys[CHUNK], yw[CHUNK];
    fstats se = {0}, sg = {0}, sw = {0};
    const double exp_bound = 2.0, sig_bound = 3.0; /* ulp, see kernels/avx2.c */
    long total = 0;
    /* positives then negatives, every 1021st bit pattern (every one with
     * EMOTI_TEST_EXHAUSTIVE=1) from 1e-30 up to 100 in magnitude */
    const char *ex_env = getenv("EMOTI_TEST_EXHAUSTIVE");
    uint32_t step = ex_env && *ex_env == '1' ? 1 : 1021;
    for (int sign = 0; sign < 2; sign++) {
        uint32_t lo = 0x0DA24260u /* ~1e-30 */, hi = 0x42C80000u /* 100 */;
        for (uint32_t u = lo; u < hi;) {
            int n = 0;
            for (; n < CHUNK && u < hi; n++, u += step) xs[n] = f_from_bits(u | (sign ? 0x80000000u : 0));
            kt->f32_exp((size_t)n, xs, ye);
            kt->f32_sigmoid((size_t)n, xs, ys);
            kt->f32_swish((size_t)n, xs, yw);
            for (int i = 0; i < n; i++) {
                double x = xs[i], ex = exp(x), sig = 1 / (1 + exp(-x));
                if (x <= 88.7)
                    f_check(&se, xs[i], ye[i], ex, expf(xs[i]), ex >= FLT_MIN, exp_bound, 1.5e-45);
                f_check(&sg, xs[i], ys[i], sig, 1.0f / (1.0f + expf(-xs[i])), x >= -87, sig_bound, FLT_MIN);
                f_check(&sw, xs[i], yw[i], x * sig, emoti_swish_ref(xs[i]), x >= -87, sig_bound, 1.1e-36);
            }
            total += n;
        }
    }
    /* specials: saturation, no NaN/Inf from finite input, signed zeros, odd lengths (tails) */
    static const float sp[] = {0.0f, -0.0f, 1e-38f, -1e-38f, FLT_MIN, -FLT_MIN, 1e-45f, -1e-45f,
                               87.0f, -87.0f, 87.5f, -87.5f, 88.0f, -88.0f, 88.5f, -88.5f, 88.72f,
                               -88.72f, 89.0f, -89.0f, 100.0f, -100.0f, 103.9f, -103.9f, 104.5f,
                               -104.5f, 1e4f, -1e4f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX};
    size_t nsp = sizeof sp / sizeof *sp;
    float e[64], s[64], w[64];
    kt->f32_exp(nsp, sp, e);
    kt->f32_sigmoid(nsp, sp, s);
    kt->f32_swish(nsp, sp, w);
    for (size_t i = 0; i < nsp; i++) {
        float x = sp[i];
        double sig = x >= 0 ? 1 / (1 + exp(-(double)x)) : exp((double)x) / (1 + exp((double)x));
        double ex = exp((double)x);
        int ok = isfinite(s[i]) && isfinite(w[i]) && s[i] >= 0 && s[i] <= 1;
        ok &= ex > FLT_MAX ? isinf(e[i]) && e[i] > 0 : fabs(e[i] - ex) <= 3e-7 * ex + 1e-44;
        ok &= fabs(s[i] - sig) <= 3e-7 * sig + FLT_MIN;
        ok &= fabs(w[i] - x * sig) <= 3e-7 * fabs(x * sig) + 1e-36;
        if (x <= -89) ok &= s[i] == 0 && fabsf(w[i]) <= 1e-36f;
        if (x <= -104) ok &= e[i] == 0;
        if (x >= 89) ok &= s[i] == 1 && w[i] == x;
        if (!ok) {
            failures++;
            printf("FAIL %s exp/sigmoid/swish(%g) = %g / %g / %g\n", kt->isa, x, e[i], s[i], w[i]);
        }
    }
    if (!(signbit(w[1]) && w[1] == 0 && s[0] == 0.5f && s[1] == 0.5f && e[0] == 1 && e[1] == 1)) {
        failures++;
        printf("FAIL %s: f(+-0): exp %g %g sigmoid %g %g swish %g %g\n", kt->isa, e[0], e[1], s[0],
               s[1], w[0], w[1]);
    }
    /* aliasing y == x over an odd length */
    float buf[37], want[37];
    for (int i = 0; i < 37; i++) buf[i] = rng_uniform(-10, 10);
    kt->f32_swish(37, buf, want);
    kt->f32_swish(37, buf, buf);
    if (memcmp(buf, want, sizeof buf)) {
        failures++;
        printf("FAIL %s: f32_swish in place differs\n", kt->isa);
    }
    failures += se.bad > 0 || sg.bad > 0 || sw.bad > 0;
    const fstats *all[3] = {&se, &sg, &sw};
    const char *names[3] = {"exp [-100,88.7]", "sigmoid [-100,100]", "swish [-100,100]"};
    for (int i = 0; i < 3; i++)
        printf("%-7s %-18s %ld points: worst %.2f ulp (rel %.2e at x=%.7g) vs exact, %.2f ulp vs "
               "libm; tiny results: abs %.1e%s\n",
               kt->isa, names[i], all[i]->n, all[i]->worst_ulp, all[i]->worst_ulp * FLT_EPSILON,
               all[i]->worst_x, all[i]->worst_ulp_libm, all[i]->worst_abs, all[i]->bad ? "  FAIL" : "");
    (void)total;
}

int main(void) {
    const emoti_kernels *tables[8];
    int n = emoti_kernels_available(tables, 8);
    const emoti_kernels *chosen = emoti_kernels_get();
    printf("tables:");
    for (int i = 0; i < n; i++) printf(" %s", tables[i]->isa);
    printf("; emoti_kernels_get: %s\n", chosen ? chosen->isa : emoti_kernels_error());
    if (!n || strcmp(tables[0]->isa, "scalar")) {
        printf("FAIL: the scalar table must come first\n");
        return 1;
    }
    /* dispatch: the fastest table by default; EMOTI_ISA gets exactly that table or NULL and a
     * reason, never another table */
    const char *want = getenv("EMOTI_ISA");
    if (!want || !*want) {
        CHECK(chosen == tables[n - 1] && !emoti_kernels_error(), "default dispatch is not %s",
              tables[n - 1]->isa);
    } else {
        const emoti_kernels *match = NULL;
        for (int i = 0; i < n; i++)
            if (!strcmp(tables[i]->isa, want)) match = tables[i];
        CHECK(chosen == match, "EMOTI_ISA=%s dispatched to %s", want, chosen ? chosen->isa : "NULL");
        CHECK(!chosen == !!emoti_kernels_error(), "EMOTI_ISA=%s: error message and table disagree", want);
    }
    CHECK(emoti_kernels_get() == chosen, "the choice changed between calls");
    for (int t = 0; t < n; t++) {
        const emoti_kernels *kt = tables[t];
        if (!kt->f32_gemm || !kt->f32_dwconv_swish || !kt->f32_conv_swish || !kt->f32_exp ||
            !kt->f32_sigmoid || !kt->f32_swish || !kt->f64_gemv || !kt->f32_scale_cols) {
            printf("FAIL %s: incomplete table\n", kt->isa);
            failures++;
            continue;
        }
        test_elementwise(kt);
        test_gemm_split(kt);
        if (t == 0) continue; /* the reference against itself */
        test_gemm(kt);
        test_gemv(kt);
        test_scale_cols(kt);
        test_dwconv(kt);
        test_conv(kt);
    }
    printf("%s\n", failures ? "KERNEL TESTS FAILED" : "kernels ok");
    return failures ? 1 : 0;
}
