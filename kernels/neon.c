/* NEON (AArch64 Advanced SIMD) kernels: the structure of kernels/avx2.c on 4-lane vectors.
 *
 *   f32_gemm (5x16 / 6x12 / 8x8 / 8x4 tiles)  1x1 convs: register-blocked microkernel over
 *                                 panels copied on the stack from the weights' 16-column
 *                                 strips (4 nv wide); each row's a values are
 *                                 loaded 4 k-steps at a time and used by lane (vfmaq_laneq_f32);
 *                                 bias, Swish, residual in the epilogue
 *   f32_dwconv_swish              depthwise k x k (compile-time paths for 3 and 5, stride 1
 *                                 and 2; any k / stride through the clipped path), 4 channels
 *                                 per vector, bias + Swish + SE pool sums fused
 *   f32_conv_swish                the stem: dense k x k conv over few input channels, up to
 *                                 32 output channels x 2 pixels per step
 *   f64_gemv                      y += x w in double, row by row (the SE MLP, the pools)
 *   f32_exp / sigmoid / swish     elementwise, the approximations below
 *
 * exp / sigmoid / Swish are those of kernels/avx2.c operation for operation (the same range
 * reduction, polynomial, constants, clamps, FMA placement and true division), so they give
 * the same results and keep the same error bounds (relative, in units of 2^-23, vs double):
 *   exp      1.00 for results >= FLT_MIN; subnormal results within 1.2e-45 absolute;
 *            0 below -104, +inf above 88.73
 *   sigmoid  1.76 for x >= -87; below, |error| < FLT_MIN (exactly 0 below -88)
 *   Swish    1.83 for x >= -87; below, |error| < 1.1e-36
 * (tests/test_kernels.c checks 2 for exp and 3 for sigmoid / Swish.) No NaN or Inf from finite
 * input. AArch64 has what x86 needed emulating elsewhere: fused multiply-subtract (vfmsq_f32),
 * round-to-nearest-even (vrndnq_f32) and a vector division (vdivq_f32).
 *
 * NEON has no masked loads: partial vectors (channel or column counts not a multiple of 4) go
 * through a small zero-filled stack copy (load_n / store_n), never past the end of a buffer.
 */
#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#include "conv_geometry.h"
#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))
/* Fully unrolled loops over register tiles (the arrays must become registers). */
#define UNROLL _Pragma("GCC unroll 16")

typedef float32x4_t v4f;

/* The first n (1..4) floats at p, the other lanes 0; reads nothing past p + n. */
INLINE v4f load_n(const float *p, size_t n) {
    if (n >= 4) return vld1q_f32(p);
    float t[4] = {0, 0, 0, 0};
    memcpy(t, p, n * sizeof *p);
    return vld1q_f32(t);
}

/* Stores the first n (1..4) lanes of v at p. */
INLINE void store_n(float *p, v4f v, size_t n) {
    if (n >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, n * sizeof *p);
}

/* ---- exp / sigmoid / Swish ------------------------------------------------------------ */

#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693147182464599609375f /* float(ln 2) */
#define EXP_LN2_LO -1.9046542999577e-09f    /* ln 2 - EXP_LN2_HI */
#define EXP_C2 0.5f
#define EXP_C3 0.16666577756404877f
#define EXP_C4 0.041666556149721146f
#define EXP_C5 0.008363173343241215f
#define EXP_C6 0.0013926175888627768f

/* exp(r) ~= 1 + r + r^2 q(r) on |r| <= ln2/2, q of degree 4 in Estrin form (short latency). */
INLINE v4f exp_poly(v4f r) {
    v4f r2 = vmulq_f32(r, r);
    v4f lo = vfmaq_f32(vdupq_n_f32(EXP_C2), r, vdupq_n_f32(EXP_C3));
    v4f hi = vfmaq_f32(vdupq_n_f32(EXP_C4), r, vdupq_n_f32(EXP_C5));
    v4f r4 = vmulq_f32(r2, r2);
    v4f q = vfmaq_f32(lo, hi, r2);
    q = vfmaq_f32(q, vdupq_n_f32(EXP_C6), r4);
    return vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), r2, q);
}

/* n = round(x / ln2) by adding 1.5 * 2^23 + 127: the sum's low mantissa bits are then n + 127,
 * the biased exponent of 2^n, ready to shift into place. */
#define EXP_SHIFTER 12583039.0f /* 1.5 * 2^23 + 127 */

INLINE v4f shifted_scale(v4f t) { /* 2^n from t = n + EXP_SHIFTER */
    return vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(t), 23));
}

/* exp(x) for x <= 0 (NaN stays NaN). Below -88, n = -127 makes the scale's exponent field 0,
 * i.e. the scale +0: results that would be subnormal under ~6e-39 flush to 0. */
INLINE v4f exp_nonpos(v4f x) {
    x = vmaxq_f32(vdupq_n_f32(-88.0f), x);
    v4f t = vfmaq_f32(vdupq_n_f32(EXP_SHIFTER), x, vdupq_n_f32(EXP_LOG2E));
    v4f n = vsubq_f32(t, vdupq_n_f32(EXP_SHIFTER));
    v4f r = vfmsq_f32(x, n, vdupq_n_f32(EXP_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(EXP_LN2_LO));
    return vmulq_f32(exp_poly(r), shifted_scale(t));
}

/* exp(x) over the whole float range: 2^n applied in two halves so that n in [-150, 128]
 * never leaves the normal exponent range before the final rounding. */
INLINE v4f exp_any(v4f x) {
    x = vmaxq_f32(vdupq_n_f32(-104.0f), x);
    x = vminq_f32(vdupq_n_f32(89.0f), x);
    v4f n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(EXP_LOG2E)));
    v4f r = vfmsq_f32(x, n, vdupq_n_f32(EXP_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(EXP_LN2_LO));
    v4f p = exp_poly(r);
    int32x4_t ni = vcvtq_s32_f32(n); /* exact: n is integral */
    int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    int32x4_t bias = vdupq_n_s32(127);
    v4f s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    v4f s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

INLINE v4f sigmoid4(v4f x) {
    uint32x4_t xb = vreinterpretq_u32_f32(x);
    v4f e = exp_nonpos(vreinterpretq_f32_u32(vorrq_u32(xb, vdupq_n_u32(0x80000000u)))); /* exp(-|x|) */
    v4f d = vaddq_f32(vdupq_n_f32(1.0f), e);
    uint32x4_t neg = vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(x), 31));
    v4f num = vbslq_f32(neg, e, vdupq_n_f32(1.0f)); /* sign of x picks e */
    return vdivq_f32(num, d);
}

/* Swish(x) = y / (1 + exp(-y)) with y = max(x, -88): exp's argument is clamped to
 * [-88, 88], where one 2^n scale stays in the float range; below -88 the scale is +0 and the
 * result is y * 6e-39 (|error| < 1e-36). */
INLINE v4f swish4(v4f x) {
    v4f y = vmaxq_f32(vdupq_n_f32(-88.0f), x);
    v4f z = vminq_f32(vdupq_n_f32(88.0f), y);
    v4f t = vfmsq_f32(vdupq_n_f32(EXP_SHIFTER), z, vdupq_n_f32(EXP_LOG2E));
    v4f n = vsubq_f32(t, vdupq_n_f32(EXP_SHIFTER));             /* round(-z / ln2) */
    v4f r = vfmsq_f32(vnegq_f32(z), n, vdupq_n_f32(EXP_LN2_HI)); /* -z - n ln2 */
    r = vfmsq_f32(r, n, vdupq_n_f32(EXP_LN2_LO));
    v4f e = vmulq_f32(exp_poly(r), shifted_scale(t)); /* exp(-z) */
    return vdivq_f32(y, vaddq_f32(vdupq_n_f32(1.0f), e));
}

#define ELEMENTWISE(name, f)                                                 \
    static void name(size_t n, const float *x, float *y) {                   \
        size_t i = 0;                                                        \
        for (; i + 4 <= n; i += 4) vst1q_f32(y + i, f(vld1q_f32(x + i)));    \
        if (i < n) store_n(y + i, f(load_n(x + i, n - i)), n - i);           \
    }
ELEMENTWISE(f32_exp__neon, exp_any)
ELEMENTWISE(f32_sigmoid__neon, sigmoid4)
ELEMENTWISE(f32_swish__neon, swish4)

static void f32_scale_cols__neon(size_t rows, size_t cols, float *x, const float *s) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        size_t c = 0;
        for (; c + 4 <= cols; c += 4) vst1q_f32(x + c, vmulq_f32(vld1q_f32(x + c), vld1q_f32(s + c)));
        if (c < cols) store_n(x + c, vmulq_f32(load_n(x + c, cols - c), load_n(s + c, cols - c)), cols - c);
    }
}

/* ---- GEMM ------------------------------------------------------------------------------ */

/* Loop nest as in avx2.c: k in blocks of KC; rows in blocks of MC; for each 16-column panel
 * of w, the KC x 16 block is copied (zero-padded at the right edge) into a contiguous panel
 * on the stack that stays in L1 while every row tile of the MC block runs over it.
 * The last panel of a row is 4 nv columns wide (nv = 1..4, the columns rounded up to 4).
 * Register tiles (of the 32 vector registers): mr rows x nv vectors of accumulators, plus mr
 * vectors holding 4 consecutive a values per row (used lane by lane: one load per row every
 * 4 k-steps) and one weight vector:
 *   nv 4: 5 x 16 (20 + 5), nv 3: 6 x 12 (18 + 6), nv 2: 8 x 8 (16 + 8), nv 1: 8 x 4.
 * Rows of a block are split into tiles as evenly as possible. */
#define NR 16
#define KC 128 /* k block: the packed 128 x 16 panel (8 KiB) stays in L1; blocks of 128 also
                  * bound the summation error (see gemm_tile) */
#define MC 120 /* rows per block */
#define MR_MAX 8
#define KB 16   /* summation sub-block: rounding error grows with KB + k / KB, not k */

#include "gemm_panel.h"

/* One mr x (4 nv) tile at rows a / y / res (already offset), k summed in sub-blocks of KB
 * as in kernels/avx2.c: mode FIRST starts from the bias (+ res with RES_FIRST), else from y
 * (the partial sums of earlier k blocks); LAST: then Swish if asked and + res with RES_LAST.
 * A partial last vector is loaded / stored through load_n / store_n. */
INLINE void gemm_tile(const int mr, const int nv, const panel_args *pa, const float *a, float *y,
                      const float *res) {
    v4f c[MR_MAX][4];
    const size_t kc = pa->kc, lda = pa->lda, ldy = pa->ldy, ldr = pa->ldr, ld = 4 * (size_t)nv;
    const size_t tail = pa->ncols - 4 * (size_t)(nv - 1); /* lanes of the last vector, 1..4 */
    const int mode = pa->mode;
#define LOADV(ptr, v) ((v) + 1 < nv ? vld1q_f32((ptr) + 4 * (v)) : load_n((ptr) + 4 * (v), tail))
#define STOREV(ptr, v, val)                                 \
    do {                                                    \
        if ((v) + 1 < nv) vst1q_f32((ptr) + 4 * (v), (val)); \
        else store_n((ptr) + 4 * (v), (val), tail);         \
    } while (0)
    if (mode & FIRST) {
        v4f b[4];
        UNROLL for (int v = 0; v < nv; v++) b[v] = LOADV(pa->bias, v);
        UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++) c[r][v] = b[v];
        if (mode & RES_FIRST)
            UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++)
                c[r][v] = vaddq_f32(c[r][v], LOADV(res + r * ldr, v));
    } else { /* this k block's sum starts from 0 and is added to y's partial sum after */
        UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++)
            c[r][v] = vdupq_n_f32(0.0f);
    }
    const float *ar[MR_MAX];
    UNROLL for (int r = 0; r < mr; r++) ar[r] = a + r * lda;
    const float *wp = pa->w;
    /* k in sub-blocks of KB (blocked summation, as kernels/avx2.c): each one's sum starts from
     * 0 and is then added to the running total, which waits in tt meanwhile; without FIRST the
     * total starts as y's partial sum of the earlier k blocks. */
    for (size_t p0 = 0; p0 < kc || p0 == 0; p0 += KB) {
        _Alignas(16) float tt[MR_MAX * 16];
        if (p0 > 0)
            UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++) {
                vst1q_f32(tt + r * 16 + 4 * v, c[r][v]);
                c[r][v] = vdupq_n_f32(0.0f);
            }
        const size_t p1 = kc - p0 < KB ? kc : p0 + KB;
        size_t p = p0;
        for (; p + 4 <= p1; p += 4, wp += 4 * ld) {
            v4f av[MR_MAX];
            UNROLL for (int r = 0; r < mr; r++) av[r] = vld1q_f32(ar[r] + p);
#define KSTEP(l)                                                                \
    UNROLL for (int v = 0; v < nv; v++) {                                       \
        v4f wv = vld1q_f32(wp + (l) * ld + 4 * v);                              \
        UNROLL for (int r = 0; r < mr; r++) c[r][v] = vfmaq_laneq_f32(c[r][v], wv, av[r], l); \
    }
            KSTEP(0)
            KSTEP(1)
            KSTEP(2)
            KSTEP(3)
#undef KSTEP
        }
        for (; p < p1; p++, wp += ld) /* the last steps (p1 - p0) % 4: a broadcast per row */
            UNROLL for (int v = 0; v < nv; v++) {
                v4f wv = vld1q_f32(wp + 4 * v);
                UNROLL for (int r = 0; r < mr; r++)
                    c[r][v] = vfmaq_f32(c[r][v], wv, vld1q_dup_f32(ar[r] + p));
            }
        if (p0 > 0)
            UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++)
                c[r][v] = vaddq_f32(c[r][v], vld1q_f32(tt + r * 16 + 4 * v));
        else if (!(mode & FIRST))
            UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++)
                c[r][v] = vaddq_f32(c[r][v], LOADV(y + r * ldy, v));
    }
    if ((mode & LAST) && (pa->act == EMOTI_ACT_SWISH || (mode & RES_LAST))) {
        /* Through a stack tile, one vector at a time: Swish needs ~10 registers, which the
         * live accumulators would otherwise spill. */
        _Alignas(16) float t[MR_MAX * 16];
        UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++)
            vst1q_f32(t + r * 16 + 4 * v, c[r][v]);
        const int swish = pa->act == EMOTI_ACT_SWISH, add_res = mode & RES_LAST;
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) {
                v4f o = vld1q_f32(t + r * 16 + 4 * v);
                if (swish) o = swish4(o);
                if (add_res) o = vaddq_f32(o, LOADV(res + r * ldr, v));
                STOREV(y + r * ldy, v, o);
            }
        return;
    }
    UNROLL for (int r = 0; r < mr; r++) UNROLL for (int v = 0; v < nv; v++) STOREV(y + r * ldy, v, c[r][v]);
#undef LOADV
#undef STOREV
}

/* All mc rows of one panel of nv vectors, in balanced tiles of at most 5, 6, 8 or 8 rows (every
 * height compiled: no short tiles). */
#define TILE_CASE(R, V) \
    case R: gemm_tile(R, V, pa, a, y, res); break;
BALANCED_PANEL(gemm_panel4, 5, 1, 1,
               TILE_CASE(1, 4) TILE_CASE(2, 4) TILE_CASE(3, 4) TILE_CASE(4, 4) TILE_CASE(5, 4))
BALANCED_PANEL(gemm_panel3, 6, 1, 1,
               TILE_CASE(1, 3) TILE_CASE(2, 3) TILE_CASE(3, 3) TILE_CASE(4, 3) TILE_CASE(5, 3)
               TILE_CASE(6, 3))
BALANCED_PANEL(gemm_panel2, 8, 1, 1,
               TILE_CASE(1, 2) TILE_CASE(2, 2) TILE_CASE(3, 2) TILE_CASE(4, 2) TILE_CASE(5, 2)
               TILE_CASE(6, 2) TILE_CASE(7, 2) TILE_CASE(8, 2))
BALANCED_PANEL(gemm_panel1, 8, 1, 1,
               TILE_CASE(1, 1) TILE_CASE(2, 1) TILE_CASE(3, 1) TILE_CASE(4, 1) TILE_CASE(5, 1)
               TILE_CASE(6, 1) TILE_CASE(7, 1) TILE_CASE(8, 1))
#undef TILE_CASE

/* Copies a kc x ncols block of a strip of w (rows 16 floats apart, kernels.h) into a kc x ld
 * panel (ld = 4 nv >= ncols), zero-padded on the right, row p times scale[p] if scale. */
static void pack_panel(size_t kc, size_t ncols, size_t ld, const float *w, size_t ldw,
                       const float *scale, float *dst) {
    const size_t full = ncols / 4 * 4;
    for (size_t p = 0; p < kc; p++, w += ldw, dst += ld) {
        const float32x4_t s = vdupq_n_f32(scale ? scale[p] : 1.0f); /* x 1 is exact */
        size_t j = 0;
        for (; j < full; j += 4) vst1q_f32(dst + j, vmulq_f32(vld1q_f32(w + j), s));
        if (j < ncols) vst1q_f32(dst + j, vmulq_f32(load_n(w + j, ncols - j), s));
    }
}

/* One panel of gemm_blocks: its block of weights copied (scaled by wscale if given) into a
 * panel of 4 nv columns, then its tiles over that. */
INLINE void run_panel(panel_args *pa, size_t mc, const float *a, float *y, const float *res,
                      const float *wscale) {
    _Alignas(16) float panel[KC * NR];
    const size_t nv = (pa->ncols + 3) / 4;
    pack_panel(pa->kc, pa->ncols, 4 * nv, pa->w, 16, wscale, panel);
    pa->w = panel;
    switch (nv) {
    case 4: gemm_panel4(pa, mc, a, y, res); break;
    case 3: gemm_panel3(pa, mc, a, y, res); break;
    case 2: gemm_panel2(pa, mc, a, y, res); break;
    default: gemm_panel1(pa, mc, a, y, res); break;
    }
}

static void gemm_core(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                      const float *wscale, const float *bias, const float *res, size_t ldr,
                      float *y, size_t ldy, emoti_act act) {
    gemm_blocks(run_panel, m, n, k, a, lda, w, wscale, bias, res, ldr, y, ldy, act);
}

static void f32_gemm__neon(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                           const float *wscale, const float *bias, const float *res, float *y,
                           size_t ld, emoti_act act) {
    gemm_entry(gemm_core, m, n, k, a, lda, w, wscale, bias, res, y, ld, act);
}

/* ---- f64_gemv: row by row, y (at most WIDE doubles at a time) staying in L1, so that w is
 * read sequentially (as kernels/avx512.c); the odd last column of a row through one lane;
 * each y[c] is summed over r in order, fused. ---------------------------------------------- */

static void f64_gemv__neon(size_t rows, size_t cols, const double *x, const float *w,
                           size_t ldw, double *y) {
    enum { WIDE = 2048 /* 16 KiB of y */ };
    for (size_t c0 = 0; c0 < cols; c0 += WIDE) {
        const size_t nc = cols - c0 < WIDE ? cols - c0 : WIDE, pairs = nc & ~(size_t)1;
        const float *wr = w + c0;
        double *yr = y + c0;
        for (size_t r = 0; r < rows; r++, wr += ldw) {
            const double xs = x ? x[r] : 1.0;
            const float64x2_t xv = vdupq_n_f64(xs);
            for (size_t c = 0; c < pairs; c += 2)
                vst1q_f64(yr + c, vfmaq_f64(vld1q_f64(yr + c), xv, vcvt_f64_f32(vld1_f32(wr + c))));
            if (pairs < nc)
                vst1_f64(yr + pairs, vfma_f64(vld1_f64(yr + pairs), vdup_n_f64(xs),
                                              vdup_n_f64((double)wr[pairs])));
        }
    }
}

/* ---- depthwise ------------------------------------------------------------------------- */

/* Depthwise, channel-vectorised: 4 channels per vector (a last partial vector of 1..3
 * channels through load_n / store_n).
 *
 * As in avx2.c: output rows go in bands whose input rows stay in L2; within a band, channel
 * groups of 32 (then 16, 8, 4, partial) are outermost, so a group's k x k x 32 weights stay in
 * L1 and its pool sums in registers. Each output row of a group is done in chunks of up to
 * DW_CHUNK pixels, in two passes through a stack scratch (L1):
 *  1. taps -> pre-activations. Interior pixels (all taps inside horizontally) go 8 (then 4)
 *     at a time per 4 channels: for each row of taps, its K weight vectors are held in
 *     registers and each input column the windows need is loaded once and multiplied into
 *     every window it belongs to (stride 1: P + K - 1 loads for P K FMAs): 8 independent FMA
 *     chains, 14 registers. Other pixels (near the left/right edges, or left over) go one at
 *     a time with their taps clipped, 32 channels at once (8 chains). Rows of taps are
 *     clipped at the top and bottom by the row loop: no padded copies, no per-tap checks.
 *  2. Swish (+ pool sums) from the scratch into y: independent iterations, so Swish runs at
 *     its throughput rather than at the end of each pixel's FMA chain. */

#define DW_CHUNK 64 /* pixels per scratch chunk: 64 x 32 floats = 8 KiB */
#define DW_SC 32    /* scratch floats per pixel */

/* Accumulates NP windows of compile-time size K and stride S, all taps inside: xq is window
 * 0's left tap in the first in-range row of taps, wq that row's weights (at this vector's
 * channels); cn lanes when MASKED. */
INLINE void dw_windows(const int K, const int S, const int NP, const int MASKED, size_t cn,
                       const float *xq, size_t row, const float *wq, size_t c, int nrows,
                       v4f *acc) {
#define LD(p) (MASKED ? load_n((p), cn) : vld1q_f32(p))
    for (int r = 0; r < nrows; r++, xq += row, wq += (size_t)K * c) {
        v4f wv[5];
        const float *wp = wq;
        UNROLL for (int kx = 0; kx < K; kx++, wp += c) wv[kx] = LD(wp);
        const float *xp = xq;
        UNROLL for (int j = 0; j < (NP - 1) * S + K; j++, xp += c) {
            v4f xv = LD(xp);
            UNROLL for (int p = 0; p < NP; p++) {
                const int kx = j - p * S;
                if (kx >= 0 && kx < K) acc[p] = vfmaq_f32(acc[p], xv, wv[kx]);
            }
        }
    }
#undef LD
}

/* Pass 1, interior: `groups` x NP pixels from output column ox, channels [c1, c1 + 4) (cn
 * lanes when MASKED); xr / wr: the first in-range row of taps (input row at channel 0,
 * weights at channel 0); sp: scratch at pixel ox, at this vector's lane offset. */
INLINE void dw_run(const int K, const int S, const int NP, const int MASKED, const emoti_window *g,
                   size_t c, size_t c1, size_t cn, int nrows, int ox, int groups, const float *xr,
                   const float *wr, const float *bias, float *sp) {
    const v4f b = MASKED ? load_n(bias + c1, cn) : vld1q_f32(bias + c1);
    const size_t row = (size_t)g->w * c;
    const float *xq = xr + c1 + (size_t)(ox * S - g->pad_left) * c;
    for (int q = 0; q < groups; q++, xq += (size_t)(NP * S) * c, sp += NP * DW_SC) {
        v4f acc[8];
        UNROLL for (int p = 0; p < NP; p++) acc[p] = b;
        dw_windows(K, S, NP, MASKED, cn, xq, row, wr + c1, c, nrows, acc);
        UNROLL for (int p = 0; p < NP; p++) vst1q_f32(sp + p * DW_SC, acc[p]);
    }
}

/* Interior pixels [ox, ox + n) of one vector: 8 at a time, then 4; returns how many it did
 * (a multiple of 4; the rest go through dw_pixel). */
INLINE int dw_interior(const int K, const int S, const int MASKED, const emoti_window *g, size_t c,
                       size_t c1, size_t cn, int nrows, int ox, int n, const float *xr,
                       const float *wr, const float *bias, float *sp) {
    const int octs = n / 8, quad = n % 8 >= 4;
    if (octs) dw_run(K, S, 8, MASKED, g, c, c1, cn, nrows, ox, octs, xr, wr, bias, sp);
    if (quad)
        dw_run(K, S, 4, MASKED, g, c, c1, cn, nrows, ox + 8 * octs, 1, xr, wr, bias,
               sp + 8 * octs * DW_SC);
    return 8 * octs + 4 * quad;
}

/* Pass 1, any other pixel: one window, taps clipped to nrows x ncols (xq / wq: its first
 * in-range tap, channel 0), channels [c0, c0 + 4 NV) (the last vector cn lanes when MASKED,
 * then NV = 1); sp: scratch for this pixel. */
INLINE void dw_pixel(const int NV, const int MASKED, size_t c, size_t c0, size_t cn, int nrows,
                     int ncols, size_t row, const float *xq, const float *wq, size_t wrow,
                     const float *bias, float *sp) {
#define LD(p) (MASKED ? load_n((p), cn) : vld1q_f32(p))
    v4f acc[8];
    UNROLL for (int v = 0; v < NV; v++) acc[v] = LD(bias + c0 + 4 * v);
    xq += c0, wq += c0;
    for (int r = 0; r < nrows; r++, xq += row, wq += wrow)
        for (int kx = 0; kx < ncols; kx++)
            UNROLL for (int v = 0; v < NV; v++) {
                const size_t o = (size_t)kx * c + 4 * v;
                acc[v] = vfmaq_f32(acc[v], LD(xq + o), LD(wq + o));
            }
    UNROLL for (int v = 0; v < NV; v++) vst1q_f32(sp + 4 * v, acc[v]);
#undef LD
}

/* Pass 2: y = Swish(scratch) for npx pixels, channels [c0, c0 + 4 NV) (cn lanes if MASKED),
 * the sums into sum[]. */
INLINE void dw_swish_out(const int NV, const int MASKED, size_t cn, int npx, const float *sp,
                         float *yp, size_t c, v4f *sum) {
    for (int i = 0; i < npx; i++, sp += DW_SC, yp += c)
        UNROLL for (int v = 0; v < NV; v++) {
            v4f o = swish4(vld1q_f32(sp + 4 * v));
            if (MASKED) store_n(yp, o, cn);
            else vst1q_f32(yp + 4 * v, o);
            sum[v] = vaddq_f32(sum[v], o); /* lanes past cn: Swish(0) = 0 */
        }
}

/* Output rows [oy0, oy1), channels [c0, c0 + 4 NV) (cn lanes in the last vector if MASKED). */
INLINE void dw_group(const int NV, const int MASKED, const emoti_window *g, int oy0, int oy1,
                     size_t c, size_t c0, size_t cn, int ox_lo, int ox_hi, const float *x,
                     const float *w, const float *bias, float *y, float *pool_sums) {
    _Alignas(16) float scratch[DW_CHUNK * DW_SC];
    const int k = g->k, s = g->stride, fast = (k == 3 || k == 5) && s <= 2;
    const size_t row = (size_t)g->w * c, wrow = (size_t)k * c, vn = MASKED ? cn : 4;
    v4f sum[8];
    UNROLL for (int v = 0; v < NV; v++) sum[v] = vdupq_n_f32(0.0f);
    for (int oy = oy0; oy < oy1; oy++) {
        int ky0, ky1;
        tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
        const float *xr = x + (ptrdiff_t)(oy * s - g->pad_top + ky0) * (ptrdiff_t)row;
        const float *wr = w + (size_t)ky0 * wrow;
        const int nr = ky1 - ky0;
        for (int ox0 = 0; ox0 < g->ow; ox0 += DW_CHUNK) {
            const int ox1 = ox0 + DW_CHUNK < g->ow ? ox0 + DW_CHUNK : g->ow;
            const int ql = ox_lo > ox0 ? ox_lo : ox0, qh = ox_hi < ox1 ? ox_hi : ox1;
            int done = 0; /* interior pixels [ql, ql + done) are in the scratch */
            if (fast && qh - ql >= 4)
                for (int v = 0; v < NV; v++) { /* not unrolled: one copy of the windows code */
                    const size_t c1 = c0 + 4 * (size_t)v;
                    float *sp = scratch + (ql - ox0) * DW_SC + 4 * v;
#define RUN(K, S) dw_interior(K, S, MASKED, g, c, c1, vn, nr, ql, qh - ql, xr, wr, bias, sp)
                    if (k == 3 && s == 1) done = RUN(3, 1);
                    else if (k == 3) done = RUN(3, 2);
                    else if (s == 1) done = RUN(5, 1);
                    else done = RUN(5, 2);
#undef RUN
                }
            for (int ox = ox0; ox < ox1; ox++) {
                if (ox == ql && done) ox = ql + done;
                if (ox >= ox1) break;
                int kx0, kx1;
                tap_range(ox, s, g->pad_left, k, g->w, &kx0, &kx1);
                dw_pixel(NV, MASKED, c, c0, vn, nr, kx1 - kx0, row,
                         xr + (ptrdiff_t)(ox * s - g->pad_left + kx0) * (ptrdiff_t)c,
                         wr + (size_t)kx0 * c, wrow, bias, scratch + (ox - ox0) * DW_SC);
            }
            dw_swish_out(NV, MASKED, vn, ox1 - ox0, scratch, y + ((size_t)oy * g->ow + ox0) * c + c0,
                         c, sum);
        }
    }
    if (pool_sums)
        UNROLL for (int v = 0; v < NV; v++) {
            float *ps = pool_sums + c0 + 4 * v;
            if (MASKED) store_n(ps, vaddq_f32(load_n(ps, cn), sum[v]), cn);
            else vst1q_f32(ps, vaddq_f32(vld1q_f32(ps), sum[v]));
        }
}

static void f32_dwconv_swish__neon(const emoti_window *g, int ci, const float *x, const float *w,
                                   const float *bias, float *y, float *pool_sums) {
    const size_t c = (size_t)ci;
    if (pool_sums) memset(pool_sums, 0, c * sizeof *pool_sums);
    int ox_lo, ox_hi;
    interior(g->ow, g->stride, g->pad_left, g->k, g->w, &ox_lo, &ox_hi);
    const int band = dw_band_rows(g, c);
    for (int oy0 = 0; oy0 < g->oh; oy0 += band) {
        const int oy1 = oy0 + band < g->oh ? oy0 + band : g->oh;
        size_t c0 = 0;
        for (; c0 + 32 <= c; c0 += 32)
            dw_group(8, 0, g, oy0, oy1, c, c0, 32, ox_lo, ox_hi, x, w, bias, y, pool_sums);
        if (c0 + 16 <= c) {
            dw_group(4, 0, g, oy0, oy1, c, c0, 16, ox_lo, ox_hi, x, w, bias, y, pool_sums);
            c0 += 16;
        }
        if (c0 + 8 <= c) {
            dw_group(2, 0, g, oy0, oy1, c, c0, 8, ox_lo, ox_hi, x, w, bias, y, pool_sums);
            c0 += 8;
        }
        if (c0 + 4 <= c) {
            dw_group(1, 0, g, oy0, oy1, c, c0, 4, ox_lo, ox_hi, x, w, bias, y, pool_sums);
            c0 += 4;
        }
        if (c0 < c) dw_group(1, 1, g, oy0, oy1, c, c0, c - c0, ox_lo, ox_hi, x, w, bias, y, pool_sums);
    }
}

/* ---- stem: dense k x k conv over few input channels ------------------------------------ */

/* Output pixels of one row, channels [c0, c0 + 4 NV) (all full vectors), two pixels at a time
 * where all taps are inside (the taps' offsets precomputed), one at a time at the edges. */
INLINE void conv_row(const int NV, const emoti_window *g, int oy, int cin, int cout, int c0,
                     const float *x, const float *w, const float *bias, float *y,
                     const ptrdiff_t *xoff, int ox_lo, int ox_hi) {
    const int k = g->k, s = g->stride, taps = k * k * cin;
    int ky0, ky1;
    tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
    const int iy0 = oy * s - g->pad_top, rows_full = ky0 == 0 && ky1 == k;
    v4f b[8];
    UNROLL for (int v = 0; v < NV; v++) b[v] = vld1q_f32(bias + c0 + 4 * v);
    float *yr = y + (size_t)oy * g->ow * cout + c0;
    int ox = 0;
    while (ox < g->ow) {
        const int pair = rows_full && ox >= ox_lo && ox + 1 < ox_hi;
        v4f acc[2][8];
        UNROLL for (int v = 0; v < NV; v++) acc[0][v] = acc[1][v] = b[v];
        if (pair) {
            const float *x0 = x + ((ptrdiff_t)iy0 * g->w + (ox * s - g->pad_left)) * cin;
            const float *x1 = x0 + (size_t)s * cin;
            for (int t = 0; t < taps; t++) {
                const float *wt = w + (size_t)t * cout + c0;
                v4f a0 = vld1q_dup_f32(x0 + xoff[t]), a1 = vld1q_dup_f32(x1 + xoff[t]);
                UNROLL for (int v = 0; v < NV; v++) {
                    v4f wv = vld1q_f32(wt + 4 * v);
                    acc[0][v] = vfmaq_f32(acc[0][v], a0, wv);
                    acc[1][v] = vfmaq_f32(acc[1][v], a1, wv);
                }
            }
        } else {
            int kx0, kx1;
            tap_range(ox, s, g->pad_left, k, g->w, &kx0, &kx1);
            const int ix0 = ox * s - g->pad_left;
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = kx0; kx < kx1; kx++) {
                    const float *xp = x + ((size_t)(iy0 + ky) * g->w + (size_t)(ix0 + kx)) * cin;
                    const float *wt = w + (size_t)((ky * k + kx) * cin) * cout + c0;
                    for (int ci = 0; ci < cin; ci++, wt += cout) {
                        v4f a0 = vld1q_dup_f32(xp + ci);
                        UNROLL for (int v = 0; v < NV; v++)
                            acc[0][v] = vfmaq_f32(acc[0][v], a0, vld1q_f32(wt + 4 * v));
                    }
                }
        }
        /* Swish through a stack tile, one vector at a time (register pressure, as in gemm) */
        _Alignas(16) float t[2][32];
        UNROLL for (int v = 0; v < NV; v++) {
            vst1q_f32(t[0] + 4 * v, acc[0][v]);
            vst1q_f32(t[1] + 4 * v, acc[1][v]);
        }
        for (int p = 0; p <= pair; p++)
            for (int v = 0; v < NV; v++)
                vst1q_f32(yr + (size_t)(ox + p) * cout + 4 * v, swish4(vld1q_f32(t[p] + 4 * v)));
        ox += 1 + pair;
    }
}

/* The last cout % 4 channels of one pixel. */
static void conv_partial_pixel(const emoti_window *g, int oy, int ox, int cin, int cout, int c0,
                               const float *x, const float *w, const float *bias, float *y) {
    const int k = g->k, s = g->stride;
    const size_t cn = (size_t)(cout - c0);
    int ky0, ky1, kx0, kx1;
    tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
    tap_range(ox, s, g->pad_left, k, g->w, &kx0, &kx1);
    const int iy0 = oy * s - g->pad_top, ix0 = ox * s - g->pad_left;
    v4f acc = load_n(bias + c0, cn);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = kx0; kx < kx1; kx++)
            for (int ci = 0; ci < cin; ci++) {
                v4f a = vld1q_dup_f32(x + ((size_t)(iy0 + ky) * g->w + (size_t)(ix0 + kx)) * cin + ci);
                acc = vfmaq_f32(acc, a, load_n(w + (size_t)((ky * k + kx) * cin + ci) * cout + c0, cn));
            }
    store_n(y + ((size_t)oy * g->ow + ox) * cout + c0, swish4(acc), cn);
}

static void f32_conv_swish__neon(const emoti_window *g, int cin, int cout, const float *x,
                                 const float *w, const float *bias, float *y) {
    ptrdiff_t xoff[CONV_MAX_TAPS];
    int ox_lo, ox_hi;
    conv_taps(g, cin, xoff, &ox_lo, &ox_hi);
    const int full = cout / 4 * 4;
    for (int oy = 0; oy < g->oh; oy++) {
        int c0 = 0;
        for (; c0 + 32 <= full; c0 += 32)
            conv_row(8, g, oy, cin, cout, c0, x, w, bias, y, xoff, ox_lo, ox_hi);
#define ROW(NV) \
    case NV: conv_row(NV, g, oy, cin, cout, c0, x, w, bias, y, xoff, ox_lo, ox_hi); break;
        switch ((full - c0) / 4) { ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7) }
#undef ROW
        if (full < cout)
            for (int ox = 0; ox < g->ow; ox++) conv_partial_pixel(g, oy, ox, cin, cout, full, x, w, bias, y);
    }
}

const emoti_kernels emoti_kernels_neon = {
    .isa = "neon",
    .f32_gemm = f32_gemm__neon,
    .f32_dwconv_swish = f32_dwconv_swish__neon,
    .f32_conv_swish = f32_conv_swish__neon,
    .f64_gemv = f64_gemv__neon,
    .f32_exp = f32_exp__neon,
    .f32_sigmoid = f32_sigmoid__neon,
    .f32_swish = f32_swish__neon,
    .f32_scale_cols = f32_scale_cols__neon,
};
