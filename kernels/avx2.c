/* AVX2 + FMA kernels (x86-64 with AVX2 and FMA3; compiled with -mavx2 -mfma).
 *
 *   f32_gemm (6x16 / 12x8 tiles)  1x1 convs: register-blocked microkernel over the
 *                                 weights' 16-column strips, in place (a scaled copy for the SE
 *                                 gate); bias, Swish, residual in the epilogue
 *   f32_dwconv_swish              depthwise k x k (compile-time paths for 3 and 5, stride 1
 *                                 and 2; any k / stride through the clipped path), 8 channels
 *                                 per vector, bias + Swish + SE pool sums fused
 *   f32_conv_swish                the stem: dense k x k conv over few input channels, up to
 *                                 32 output channels x 2 pixels per step
 *   f64_gemv                      y += x w in double, row by row (the SE MLP, the pools)
 *   f32_exp / sigmoid / swish     elementwise, the approximations below
 *
 * exp: x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2 (Cody-Waite with a two-part ln2
 * and FMA); exp(r) ~= 1 + r + r^2 q(r), q a degree-4 polynomial fitted to
 * (exp(r) - 1 - r) / r^2 on [-ln2/2, ln2/2] (Chebyshev fit, coefficients rounded to float:
 * approximation error 9.7e-9 relative, 0.16 ulp); 2^n goes into the exponent field.
 * Error bounds (relative, in units of 2^-23 = FLT_EPSILON), measured by tests/test_kernels.c
 * against double precision over every float with 1e-30 <= |x| <= 100 (1.78e9 points each,
 * EMOTI_TEST_EXHAUSTIVE=1; the default run samples every 1021st and checks the bounds):
 *   exp      1.00 (1.19e-7; libm's expf: 0.50) for results >= FLT_MIN; subnormal results
 *            within 1.2e-45 absolute; 0 below -104, +inf above 88.73
 *   sigmoid  1.76 (2.10e-7; 1 / (1 + expf(-x)): 1.24) for x >= -87; below, |error| < FLT_MIN
 *            (exactly 0 below -88)
 *   Swish    1.83 (2.18e-7; x / (1 + expf(-x)): 1.46) for x >= -87; below, |error| < 1.1e-36
 * The test's bounds are 2 (exp) and 3 (sigmoid, Swish). No NaN or Inf from finite input
 * (Swish(FLT_MAX) = FLT_MAX, sigmoid saturates at exactly 0 and 1).
 * sigmoid(x) = 1 / (1 + e) or e / (1 + e) (x < 0) with e = exp(-|x|) <= 1: nothing overflows.
 * Swish(x) = y / (1 + exp(-y)), y = max(x, -88), exp's argument clamped to [-88, 88]:
 * one 2^n scale then covers it; a true division (not rcp + Newton) keeps it under 2 ulp.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "conv_geometry.h"
#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))
/* Fully unrolled loops over register tiles (the arrays must become registers). */
#define UNROLL _Pragma("GCC unroll 16")

/* Lane masks: mask_for(r) enables the first r lanes (0 < r <= 8). */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
INLINE __m256i mask_for(size_t r) { return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - r)); }

/* ---- exp / sigmoid / Swish ------------------------------------------------------------ */

#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693147182464599609375f /* float(ln 2) */
#define EXP_LN2_LO -1.9046542999577e-09f    /* ln 2 - EXP_LN2_HI */
#define EXP_C2 0.5f
#define EXP_C3 0.16666577756404877f
#define EXP_C4 0.041666556149721146f
#define EXP_C5 0.008363173343241215f
#define EXP_C6 0.0013926175888627768f

/* exp(r) ~= 1 + r + r^2 q(r) on |r| <= ln2/2, q evaluated in Estrin form (short latency:
 * the exp sits at the end of long FMA chains, and out-of-order overlap is limited by the
 * scheduler, so latency, not only throughput, sets its cost). */
INLINE __m256 exp_poly(__m256 r) {
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 lo = _mm256_fmadd_ps(_mm256_set1_ps(EXP_C3), r, _mm256_set1_ps(EXP_C2));
    __m256 hi = _mm256_fmadd_ps(_mm256_set1_ps(EXP_C5), r, _mm256_set1_ps(EXP_C4));
    __m256 r4 = _mm256_mul_ps(r2, r2);
    __m256 q = _mm256_fmadd_ps(hi, r2, lo);
    q = _mm256_fmadd_ps(_mm256_set1_ps(EXP_C6), r4, q);
    return _mm256_fmadd_ps(r2, q, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
}

/* n = round(x / ln2) by adding 1.5 * 2^23 + 127: the sum's low mantissa bits are then n + 127,
 * the biased exponent of 2^n, ready to shift into place. */
#define EXP_SHIFTER 12583039.0f /* 1.5 * 2^23 + 127 */

/* exp(x) for x <= 0 (NaN stays NaN). Below -88, n = -127 makes the scale's exponent field 0,
 * i.e. the scale +0: results that would be subnormal under ~6e-39 flush to 0. */
INLINE __m256 exp_nonpos(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(-88.0f), x);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(EXP_LOG2E), _mm256_set1_ps(EXP_SHIFTER));
    __m256 n = _mm256_sub_ps(t, _mm256_set1_ps(EXP_SHIFTER));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
    return _mm256_mul_ps(exp_poly(r), scale);
}

/* exp(x) over the whole float range: 2^n applied in two halves so that n in [-150, 128]
 * never leaves the normal exponent range before the final rounding. */
INLINE __m256 exp_any(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(EXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
    __m256 p = exp_poly(r);
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

INLINE __m256 neg_abs(__m256 x) { return _mm256_or_ps(x, _mm256_set1_ps(-0.0f)); }

INLINE __m256 sigmoid8(__m256 x) {
    __m256 e = exp_nonpos(neg_abs(x));
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
    __m256 num = _mm256_blendv_ps(_mm256_set1_ps(1.0f), e, x); /* sign of x picks e */
    return _mm256_div_ps(num, d);
}

/* Swish(x) = y / (1 + exp(-y)) with y = max(x, -88): exp's argument is clamped to
 * [-88, 88], where one 2^n scale stays in the float range (exp(88) = 1.65e38 keeps the
 * denominator finite; below -88 the scale is +0). No select needed: fewer operations than
 * the sigmoid form, and for x < -88 the result is y * 6e-39 (|error| < 1e-36, true value
 * < 6e-37). */
INLINE __m256 swish8(__m256 x) {
    __m256 y = _mm256_max_ps(_mm256_set1_ps(-88.0f), x);
    __m256 z = _mm256_min_ps(_mm256_set1_ps(88.0f), y);
    __m256 t = _mm256_fnmadd_ps(z, _mm256_set1_ps(EXP_LOG2E), _mm256_set1_ps(EXP_SHIFTER));
    __m256 n = _mm256_sub_ps(t, _mm256_set1_ps(EXP_SHIFTER)); /* round(-z / ln2) */
    __m256 r = _mm256_fnmsub_ps(n, _mm256_set1_ps(EXP_LN2_HI), z); /* -z - n ln2 */
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
    __m256 e = _mm256_mul_ps(exp_poly(r), scale); /* exp(-z) */
    return _mm256_div_ps(y, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

#define ELEMENTWISE(name, f)                                                         \
    static void name(size_t n, const float *x, float *y) {                           \
        size_t i = 0;                                                                \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i))); \
        if (i < n) {                                                                 \
            __m256i m = mask_for(n - i);                                             \
            _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(x + i, m)));          \
        }                                                                            \
    }
ELEMENTWISE(f32_exp__avx2, exp_any)
ELEMENTWISE(f32_sigmoid__avx2, sigmoid8)
ELEMENTWISE(f32_swish__avx2, swish8)

static void f32_scale_cols__avx2(size_t rows, size_t cols, float *x, const float *s) {
    for (size_t r = 0; r < rows; r++, x += cols) {
        size_t c = 0;
        for (; c + 8 <= cols; c += 8)
            _mm256_storeu_ps(x + c, _mm256_mul_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(s + c)));
        if (c < cols) {
            const __m256i m = mask_for(cols - c);
            _mm256_maskstore_ps(x + c, m, _mm256_mul_ps(_mm256_maskload_ps(x + c, m), _mm256_maskload_ps(s + c, m)));
        }
    }
}

/* ---- GEMM ------------------------------------------------------------------------------ */

/* Loop nest: k in blocks of KC; rows in blocks of MC; for each 16-column strip of w (kernels.h),
 * every row tile of the MC block runs over its KC x 16 block (8 KiB, in L1 after the first
 * tile; contiguous, so the hardware prefetcher streams it from memory), or over a copy scaled
 * by wscale made once per block; the MC x KC block of a stays in L2. Register tiles: 6 rows x
 * 16 columns (12 accumulators, 2 weight vectors, 1 broadcast) for 16-wide panels; 12 rows x 8
 * columns for an 8-wide last panel (n = 24, 40, 88, 120 ...). Rows of a block are split into
 * tiles as evenly as possible (49 = 5 x 6 + 4 x 5 rather than 8 x 6 + 1). */
#define NR 16
#define KC 128 /* k block: the 128 x 16 panel (8 KiB) stays in L1; blocks of 128 also
                  * bound the summation error (see gemm_tile) */
#define MC 120 /* rows per block: the 120 x 128 block of a (60 KiB) stays in L2, and the
                  * 120 x n block of y the panels write stays in cache */
#define KB 16  /* summation sub-block (see gemm_tile) */
#define MR2 6  /* rows per tile, 16-wide panels */
#define MR1 12 /* rows per tile, 8-wide panels */

#include "gemm_panel.h"

/* One mr x (8 nv) tile at rows a / y / res (already offset), k summed in sub-blocks of KB:
 * the first sub-block starts from the bias (+ res with RES_FIRST) in mode FIRST, else from 0
 * and then adds y (the partial sums of earlier k blocks); every later sub-block starts from
 * 0 and is added to that running total at its end. Blocked summation: the rounding error
 * grows with KB + k / KB rather than k. b2_8's outputs (test_parity): 2.62e-5 with sequential
 * sums over blocks of KC, over ONNX Runtime's 1.66e-5; 1.76e-5 with sub-blocks of 32; 1.10e-5
 * with 16, for ~10% more instructions in the k loop (one add per accumulator per 16 steps).
 * LAST: then Swish if asked and + res with RES_LAST. A partial last vector is masked. */
INLINE void gemm_tile(const int mr, const int nv, const panel_args *pa, const float *a, float *y,
                      const float *res) {
    __m256 c[MR1][2];
    const size_t kc = pa->kc, lda = pa->lda, ldy = pa->ldy, ldr = pa->ldr, ld = 8 * (size_t)nv;
    const int full = pa->ncols == ld, mode = pa->mode;
    const __m256i mk = mask_for(full ? 8 : pa->ncols - 8 * (nv - 1));
#define LOADV(ptr, v) \
    ((v) + 1 < nv || full ? _mm256_loadu_ps((ptr) + 8 * (v)) : _mm256_maskload_ps((ptr) + 8 * (v), mk))
    if (mode & FIRST) {
        __m256 b0 = LOADV(pa->bias, 0), b1 = nv == 2 ? LOADV(pa->bias, 1) : b0;
        UNROLL for (int r = 0; r < mr; r++) c[r][0] = b0, c[r][1] = b1;
        if (mode & RES_FIRST)
            UNROLL for (int r = 0; r < mr; r++) {
                c[r][0] = _mm256_add_ps(c[r][0], LOADV(res + r * ldr, 0));
                if (nv == 2) c[r][1] = _mm256_add_ps(c[r][1], LOADV(res + r * ldr, 1));
            }
    } else { /* this k block's sum starts from 0 and is added to y's partial sum after */
        UNROLL for (int r = 0; r < mr; r++) c[r][0] = c[r][1] = _mm256_setzero_ps();
    }
    const float *ar[MR1];
    UNROLL for (int r = 0; r < mr; r++) ar[r] = a + r * lda;
    const float *wp = pa->w;
    /* k in sub-blocks of KB: each one's sum starts from 0 and is then added to the running
     * total, which waits in tt (L1) meanwhile; without FIRST the total starts as y's partial
     * sum of the earlier k blocks. */
    for (size_t p0 = 0; p0 < kc || p0 == 0; p0 += KB) {
        _Alignas(32) float tt[MR1 * 16];
        if (p0 > 0)
            UNROLL for (int r = 0; r < mr; r++) {
                _mm256_store_ps(tt + r * 16, c[r][0]);
                if (nv == 2) _mm256_store_ps(tt + r * 16 + 8, c[r][1]);
                c[r][0] = c[r][1] = _mm256_setzero_ps();
            }
        const size_t p1 = kc - p0 < KB ? kc : p0 + KB;
        _Pragma("GCC unroll 2") for (size_t p = p0; p < p1; p++, wp += 16) { /* (a strip's rows) */
            __m256 w0 = _mm256_loadu_ps(wp), w1 = nv == 2 ? _mm256_loadu_ps(wp + 8) : w0;
            UNROLL for (int r = 0; r < mr; r++) {
                __m256 av = _mm256_broadcast_ss(ar[r] + p);
                c[r][0] = _mm256_fmadd_ps(av, w0, c[r][0]);
                if (nv == 2) c[r][1] = _mm256_fmadd_ps(av, w1, c[r][1]);
            }
        }
        if (p0 > 0)
            UNROLL for (int r = 0; r < mr; r++) {
                c[r][0] = _mm256_add_ps(c[r][0], _mm256_load_ps(tt + r * 16));
                if (nv == 2) c[r][1] = _mm256_add_ps(c[r][1], _mm256_load_ps(tt + r * 16 + 8));
            }
        else if (!(mode & FIRST))
            UNROLL for (int r = 0; r < mr; r++) {
                c[r][0] = _mm256_add_ps(c[r][0], LOADV(y + r * ldy, 0));
                if (nv == 2) c[r][1] = _mm256_add_ps(c[r][1], LOADV(y + r * ldy, 1));
            }
    }
    if ((mode & LAST) && (pa->act == EMOTI_ACT_SWISH || (mode & RES_LAST))) {
        /* Through a stack tile, one vector at a time: Swish needs ~10 registers, which the
         * live accumulators would otherwise spill. */
        _Alignas(32) float t[MR1 * 16];
        UNROLL for (int r = 0; r < mr; r++) {
            _mm256_store_ps(t + r * 16, c[r][0]);
            if (nv == 2) _mm256_store_ps(t + r * 16 + 8, c[r][1]);
        }
        const int swish = pa->act == EMOTI_ACT_SWISH, add_res = mode & RES_LAST;
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) {
                __m256 o = _mm256_load_ps(t + r * 16 + 8 * v);
                if (swish) o = swish8(o);
                if (add_res) o = _mm256_add_ps(o, LOADV(res + r * ldr, v));
                if (v + 1 < nv || full) _mm256_storeu_ps(y + r * ldy + 8 * v, o);
                else _mm256_maskstore_ps(y + r * ldy + 8 * v, mk, o);
            }
        return;
    }
#undef LOADV
    UNROLL for (int r = 0; r < mr; r++) {
        float *yr = y + r * ldy;
        if (nv == 2) {
            _mm256_storeu_ps(yr, c[r][0]);
            if (full) _mm256_storeu_ps(yr + 8, c[r][1]);
            else _mm256_maskstore_ps(yr + 8, mk, c[r][1]);
        } else {
            if (full) _mm256_storeu_ps(yr, c[r][0]);
            else _mm256_maskstore_ps(yr, mk, c[r][0]);
        }
    }
}

/* All mc rows of one 16-wide panel, in balanced tiles of 4 to MR2 rows (49 rows as 5 x 6 +
 * 4 x 5); a tile of 3 rows, which only blocks of 3 or 7 rows give (never B0's or B2's), and
 * fewer rows pad to 4 through gemm_short_tile. */
#define TILE_CASE(R, V) \
    case R: gemm_tile(R, V, pa, a, y, res); break;
BALANCED_PANEL(gemm_panel2, MR2, 4, 1, TILE_CASE(4, 2) TILE_CASE(5, 2) TILE_CASE(6, 2))
/* 8-wide panels are only a layer's last columns */
#define TILE_12x8(pa, a, y, res) gemm_tile(MR1, 1, pa, a, y, res)
ONE_HEIGHT_PANEL(gemm_panel1, MR1, TILE_12x8)
#undef TILE_CASE

/* The kc x 16 block of a strip of w (kernels.h) at w, row p times scale[p] (rounded: the
 * folded weight), into dst in the same layout. */
static void pack_scaled(size_t kc, const float *w, const float *scale, float *dst) {
    for (size_t p = 0; p < kc; p++, w += 16, dst += 16) {
        const __m256 s = _mm256_set1_ps(scale[p]);
        _mm256_store_ps(dst, _mm256_mul_ps(_mm256_loadu_ps(w), s));
        _mm256_store_ps(dst + 8, _mm256_mul_ps(_mm256_loadu_ps(w + 8), s));
    }
}

/* One panel of gemm_blocks: its tiles over the strip in place, or over a copy scaled by wscale. */
INLINE void run_panel(panel_args *pa, size_t mc, const float *a, float *y, const float *res,
                      const float *wscale) {
    _Alignas(32) float panel[KC * NR];
    if (wscale) {
        pack_scaled(pa->kc, pa->w, wscale, panel);
        pa->w = panel;
    }
    if (pa->ncols > 8) gemm_panel2(pa, mc, a, y, res);
    else gemm_panel1(pa, mc, a, y, res);
}

static void gemm_core(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                      const float *wscale, const float *bias, const float *res, size_t ldr,
                      float *y, size_t ldy, emoti_act act) {
    gemm_blocks(run_panel, m, n, k, a, lda, w, wscale, bias, res, ldr, y, ldy, act);
}

static void f32_gemm__avx2(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                           const float *wscale, const float *bias, const float *res, float *y,
                           size_t ld, emoti_act act) {
    gemm_entry(gemm_core, m, n, k, a, lda, w, wscale, bias, res, y, ld, act);
}

/* ---- f64_gemv: row by row, y (at most WIDE doubles at a time) staying in L1, so that w is
 * read sequentially (column blocks would read it in short runs far apart, slow from memory);
 * the last 1-3 columns of each row masked; each y[c] is summed over r in order. ------------ */

static void f64_gemv__avx2(size_t rows, size_t cols, const double *x, const float *w,
                           size_t ldw, double *y) {
    enum { WIDE = 2048 /* 16 KiB of y */ };
    for (size_t c0 = 0; c0 < cols; c0 += WIDE) {
        const size_t nc = cols - c0 < WIDE ? cols - c0 : WIDE, full = nc & ~(size_t)3;
        const int tail = (int)(nc - full);
        const __m256i md = _mm256_setr_epi64x(tail > 0 ? -1 : 0, tail > 1 ? -1 : 0, tail > 2 ? -1 : 0, 0);
        const __m128i mf = _mm_setr_epi32(tail > 0 ? -1 : 0, tail > 1 ? -1 : 0, tail > 2 ? -1 : 0, 0);
        const float *wr = w + c0;
        double *yr = y + c0;
        for (size_t r = 0; r < rows; r++, wr += ldw) {
            const __m256d xv = _mm256_set1_pd(x ? x[r] : 1.0);
            for (size_t c = 0; c < full; c += 4)
                _mm256_storeu_pd(yr + c, _mm256_fmadd_pd(xv, _mm256_cvtps_pd(_mm_loadu_ps(wr + c)),
                                                         _mm256_loadu_pd(yr + c)));
            if (tail)
                _mm256_maskstore_pd(yr + full, md,
                                    _mm256_fmadd_pd(xv, _mm256_cvtps_pd(_mm_maskload_ps(wr + full, mf)),
                                                    _mm256_maskload_pd(yr + full, md)));
        }
    }
}

/* ---- depthwise ------------------------------------------------------------------------- */

/* Depthwise, channel-vectorised: 8 channels per vector (a last partial group masked).
 *
 * Output rows go in bands whose input rows stay in L2; within a band, channel groups of 32
 * (then 16, 8, masked) are outermost, so a group's k x k x 32 weights stay in L1 and its pool
 * sums in registers. Each output row of a group is done in chunks of up to DW_CHUNK pixels, in
 * two passes through a stack scratch (L1):
 *  1. taps -> pre-activations. Interior pixels (all taps inside horizontally) go DW_P = 4 at a
 *     time per 8 channels: for each row of taps, its K weight vectors are held in registers
 *     and each input column the 4 windows need is loaded once and multiplied into every
 *     window it belongs to (stride 1: P + K - 1 loads for P K FMAs): 4 independent FMA
 *     chains. Other pixels (near the left/right edges, or left over) go one at a time with
 *     their taps clipped, 32 channels at once (4 chains). Rows of taps are clipped at the top
 *     and bottom by the row loop: no padded copies, no per-tap checks.
 *  2. Swish (+ pool sums) from the scratch into y: independent iterations, so Swish runs at
 *     its throughput rather than at the end of each pixel's FMA chain.
 * The scratch also keeps the stores to y away from the loads of x: when x and y are 4 KiB
 * congruent (as the engine's arena makes them for 224 x 224 inputs), storing y[p] and then
 * loading x[p] for a later window stalls on 4K aliasing. */

#define DW_P 4
#define DW_CHUNK 64 /* pixels per scratch chunk: 64 x 32 floats = 8 KiB */
#define DW_SC 32    /* scratch floats per pixel */

/* Accumulates NP (1..DW_P) windows of compile-time size K and stride S, all taps inside:
 * xq is window 0's left tap in the first in-range row of taps, wq that row's weights. */
INLINE void dw_windows(const int K, const int S, const int NP, const int MASKED, __m256i mk,
                       const float *xq, size_t row, const float *wq, size_t c, int nrows,
                       __m256 *acc) {
#define LD(p) (MASKED ? _mm256_maskload_ps((p), mk) : _mm256_loadu_ps(p))
    for (int r = 0; r < nrows; r++, xq += row, wq += (size_t)K * c) {
        __m256 wv[5];
        const float *wp = wq;
        UNROLL for (int kx = 0; kx < K; kx++, wp += c) wv[kx] = LD(wp);
        const float *xp = xq;
        UNROLL for (int j = 0; j < (NP - 1) * S + K; j++, xp += c) {
            __m256 xv = LD(xp);
            UNROLL for (int p = 0; p < NP; p++) {
                const int kx = j - p * S;
                if (kx >= 0 && kx < K) acc[p] = _mm256_fmadd_ps(xv, wv[kx], acc[p]);
            }
        }
    }
#undef LD
}

/* Pass 1, interior: `quads` x 4 pixels from output column ox, channels [c1, c1 + 8) (masked
 * to cn when MASKED); xr / wr: the first in-range row of taps (input row at channel 0,
 * weights at channel 0); sp: scratch at pixel ox, at this vector's lane offset. */
INLINE void dw_quads(const int K, const int S, const int MASKED, const emoti_window *g, size_t c,
                     size_t c1, size_t cn, int nrows, int ox, int quads, const float *xr,
                     const float *wr, const float *bias, float *sp) {
    const __m256i mk = mask_for(MASKED ? cn : 8);
    const __m256 b = MASKED ? _mm256_maskload_ps(bias + c1, mk) : _mm256_loadu_ps(bias + c1);
    const size_t row = (size_t)g->w * c;
    const float *xq = xr + c1 + (size_t)(ox * S - g->pad_left) * c;
    for (int q = 0; q < quads; q++, xq += (size_t)(DW_P * S) * c, sp += DW_P * DW_SC) {
        __m256 acc[DW_P] = {b, b, b, b};
        dw_windows(K, S, DW_P, MASKED, mk, xq, row, wr + c1, c, nrows, acc);
        UNROLL for (int p = 0; p < DW_P; p++) _mm256_store_ps(sp + p * DW_SC, acc[p]);
    }
}

/* One out-of-line copy of dw_quads per (K, S, MASKED): inlined into every channel vector of
 * every dw_group it would be 32 copies. */
typedef void dw_quads_fn(const emoti_window *g, size_t c, size_t c1, size_t cn, int nrows,
                         int ox, int quads, const float *xr, const float *wr, const float *bias,
                         float *sp);
#define DW_QUADS(K, S, M)                                                                     \
    static void dw_quads_##K##_##S##_##M(const emoti_window *g, size_t c, size_t c1,          \
                                         size_t cn, int nrows, int ox, int quads,             \
                                         const float *xr, const float *wr, const float *bias, \
                                         float *sp) {                                         \
        dw_quads(K, S, M, g, c, c1, cn, nrows, ox, quads, xr, wr, bias, sp);                  \
    }
DW_QUADS(3, 1, 0) DW_QUADS(3, 2, 0) DW_QUADS(5, 1, 0) DW_QUADS(5, 2, 0)
DW_QUADS(3, 1, 1) DW_QUADS(3, 2, 1) DW_QUADS(5, 1, 1) DW_QUADS(5, 2, 1)
#undef DW_QUADS
static dw_quads_fn *const dw_quads_table[2][2][2] = { /* [masked][k == 5][s == 2] */
    {{dw_quads_3_1_0, dw_quads_3_2_0}, {dw_quads_5_1_0, dw_quads_5_2_0}},
    {{dw_quads_3_1_1, dw_quads_3_2_1}, {dw_quads_5_1_1, dw_quads_5_2_1}}};

/* Pass 1, any other pixel: one window, taps clipped to nrows x ncols (xq / wq: its first
 * in-range tap, channel 0), channels [c0, c0 + 8 NV) (the last vector masked to cn lanes when
 * MASKED, then NV = 1); sp: scratch for this pixel. */
INLINE void dw_pixel(const int NV, const int MASKED, size_t c, size_t c0, size_t cn, int nrows,
                     int ncols, size_t row, const float *xq, const float *wq, size_t wrow,
                     const float *bias, float *sp) {
    const __m256i mk = mask_for(MASKED ? cn : 8);
#define LD(p) (MASKED ? _mm256_maskload_ps((p), mk) : _mm256_loadu_ps(p))
    __m256 acc[4];
    UNROLL for (int v = 0; v < NV; v++) acc[v] = LD(bias + c0 + 8 * v);
    xq += c0, wq += c0;
    for (int r = 0; r < nrows; r++, xq += row, wq += wrow)
        for (int kx = 0; kx < ncols; kx++)
            UNROLL for (int v = 0; v < NV; v++) {
                const size_t o = (size_t)kx * c + 8 * v;
                acc[v] = _mm256_fmadd_ps(LD(xq + o), LD(wq + o), acc[v]);
            }
    UNROLL for (int v = 0; v < NV; v++) _mm256_store_ps(sp + 8 * v, acc[v]);
#undef LD
}

/* Pass 2: y = Swish(scratch) for npx pixels, channels [c0, c0 + 8 NV) (masked as above),
 * the sums into sum[]. */
INLINE void dw_swish_out(const int NV, const int MASKED, __m256i mk, int npx, const float *sp,
                         float *yp, size_t c, __m256 *sum) {
    for (int i = 0; i < npx; i++, sp += DW_SC, yp += c)
        UNROLL for (int v = 0; v < NV; v++) {
            __m256 o = swish8(_mm256_load_ps(sp + 8 * v));
            if (MASKED) _mm256_maskstore_ps(yp, mk, o);
            else _mm256_storeu_ps(yp + 8 * v, o);
            sum[v] = _mm256_add_ps(sum[v], o); /* masked lanes: Swish(0) = 0 */
        }
}

/* Output rows [oy0, oy1), channels [c0, c0 + 8 NV) (cn lanes in the last vector if MASKED). */
INLINE void dw_group(const int NV, const int MASKED, const emoti_window *g, int oy0, int oy1,
                     size_t c, size_t c0, size_t cn, int ox_lo, int ox_hi, const float *x,
                     const float *w, const float *bias, float *y, float *pool_sums) {
    _Alignas(32) float scratch[DW_CHUNK * DW_SC];
    const __m256i mk = mask_for(MASKED ? cn : 8);
    const int k = g->k, s = g->stride, fast = (k == 3 || k == 5) && s <= 2;
    dw_quads_fn *quads_fn = dw_quads_table[MASKED][k == 5][s == 2];
    const size_t row = (size_t)g->w * c, wrow = (size_t)k * c;
    __m256 sum[4];
    UNROLL for (int v = 0; v < NV; v++) sum[v] = _mm256_setzero_ps();
    for (int oy = oy0; oy < oy1; oy++) {
        int ky0, ky1;
        tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
        const float *xr = x + (size_t)(oy * s - g->pad_top + ky0) * row;
        const float *wr = w + (size_t)ky0 * wrow;
        const int nr = ky1 - ky0;
        for (int ox0 = 0; ox0 < g->ow; ox0 += DW_CHUNK) {
            const int ox1 = ox0 + DW_CHUNK < g->ow ? ox0 + DW_CHUNK : g->ow;
            const int ql = ox_lo > ox0 ? ox_lo : ox0, qh = ox_hi < ox1 ? ox_hi : ox1;
            const int quads = fast && qh > ql ? (qh - ql) / DW_P : 0, qe = ql + quads * DW_P;
            for (int v = 0; quads && v < NV; v++)
                quads_fn(g, c, c0 + 8 * (size_t)v, MASKED ? cn : 8, nr, ql, quads, xr, wr, bias,
                         scratch + (ql - ox0) * DW_SC + 8 * v);
            for (int ox = ox0; ox < ox1; ox++) {
                if (ox == ql && quads) ox = qe;
                if (ox >= ox1) break;
                int kx0, kx1;
                tap_range(ox, s, g->pad_left, k, g->w, &kx0, &kx1);
                dw_pixel(NV, MASKED, c, c0, cn, nr, kx1 - kx0, row,
                         xr + (size_t)(ox * s - g->pad_left + kx0) * c, wr + (size_t)kx0 * c, wrow,
                         bias, scratch + (ox - ox0) * DW_SC);
            }
            dw_swish_out(NV, MASKED, mk, ox1 - ox0, scratch, y + ((size_t)oy * g->ow + ox0) * c + c0,
                         c, sum);
        }
    }
    if (pool_sums)
        UNROLL for (int v = 0; v < NV; v++) {
            float *ps = pool_sums + c0 + 8 * v;
            if (MASKED) _mm256_maskstore_ps(ps, mk, _mm256_add_ps(_mm256_maskload_ps(ps, mk), sum[v]));
            else _mm256_storeu_ps(ps, _mm256_add_ps(_mm256_loadu_ps(ps), sum[v]));
        }
}

static void f32_dwconv_swish__avx2(const emoti_window *g, int ci, const float *x, const float *w,
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
            dw_group(4, 0, g, oy0, oy1, c, c0, 32, ox_lo, ox_hi, x, w, bias, y, pool_sums);
        if (c0 + 16 <= c) {
            dw_group(2, 0, g, oy0, oy1, c, c0, 16, ox_lo, ox_hi, x, w, bias, y, pool_sums);
            c0 += 16;
        }
        if (c0 + 8 <= c) {
            dw_group(1, 0, g, oy0, oy1, c, c0, 8, ox_lo, ox_hi, x, w, bias, y, pool_sums);
            c0 += 8;
        }
        if (c0 < c) dw_group(1, 1, g, oy0, oy1, c, c0, c - c0, ox_lo, ox_hi, x, w, bias, y, pool_sums);
    }
}

/* ---- stem: dense k x k conv over few input channels ------------------------------------ */

/* Output pixels of one row, channels [c0, c0 + 8 NV) (all full vectors), two pixels at a time
 * where all taps are inside (the taps' offsets precomputed), one at a time at the edges. */
INLINE void conv_row(const int NV, const emoti_window *g, int oy, int cin, int cout, int c0,
                     const float *x, const float *w, const float *bias, float *y,
                     const ptrdiff_t *xoff, int ox_lo, int ox_hi) {
    const int k = g->k, s = g->stride, taps = k * k * cin;
    int ky0, ky1;
    tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
    const int iy0 = oy * s - g->pad_top, rows_full = ky0 == 0 && ky1 == k;
    __m256 b[4];
    UNROLL for (int v = 0; v < NV; v++) b[v] = _mm256_loadu_ps(bias + c0 + 8 * v);
    float *yr = y + (size_t)oy * g->ow * cout + c0;
    int ox = 0;
    while (ox < g->ow) {
        const int pair = rows_full && ox >= ox_lo && ox + 1 < ox_hi;
        __m256 acc[2][4];
        UNROLL for (int v = 0; v < NV; v++) acc[0][v] = acc[1][v] = b[v];
        if (pair) {
            const float *x0 = x + ((size_t)iy0 * g->w + (size_t)(ox * s - g->pad_left)) * cin;
            const float *x1 = x0 + (size_t)s * cin;
            for (int t = 0; t < taps; t++) {
                const float *wt = w + (size_t)t * cout + c0;
                __m256 a0 = _mm256_broadcast_ss(x0 + xoff[t]), a1 = _mm256_broadcast_ss(x1 + xoff[t]);
                UNROLL for (int v = 0; v < NV; v++) {
                    __m256 wv = _mm256_loadu_ps(wt + 8 * v);
                    acc[0][v] = _mm256_fmadd_ps(a0, wv, acc[0][v]);
                    acc[1][v] = _mm256_fmadd_ps(a1, wv, acc[1][v]);
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
                        __m256 a0 = _mm256_broadcast_ss(xp + ci);
                        UNROLL for (int v = 0; v < NV; v++)
                            acc[0][v] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(wt + 8 * v), acc[0][v]);
                    }
                }
        }
        /* Swish through a stack tile, one vector at a time (register pressure, as in gemm) */
        _Alignas(32) float t[2][32];
        UNROLL for (int v = 0; v < NV; v++) {
            _mm256_store_ps(t[0] + 8 * v, acc[0][v]);
            _mm256_store_ps(t[1] + 8 * v, acc[1][v]);
        }
        for (int p = 0; p <= pair; p++)
            for (int v = 0; v < NV; v++)
                _mm256_storeu_ps(yr + (size_t)(ox + p) * cout + 8 * v, swish8(_mm256_load_ps(t[p] + 8 * v)));
        ox += 1 + pair;
    }
}

static void conv_masked_pixel(const emoti_window *g, int oy, int ox, int cin, int cout, int c0,
                              const float *x, const float *w, const float *bias, float *y) {
    const int k = g->k, s = g->stride;
    int ky0, ky1, kx0, kx1;
    tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
    tap_range(ox, s, g->pad_left, k, g->w, &kx0, &kx1);
    const int iy0 = oy * s - g->pad_top, ix0 = ox * s - g->pad_left;
    __m256i mk = mask_for((size_t)(cout - c0));
    __m256 acc = _mm256_maskload_ps(bias + c0, mk);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = kx0; kx < kx1; kx++)
            for (int ci = 0; ci < cin; ci++) {
                __m256 a = _mm256_broadcast_ss(x + ((size_t)(iy0 + ky) * g->w + (size_t)(ix0 + kx)) * cin + ci);
                acc = _mm256_fmadd_ps(a, _mm256_maskload_ps(w + (size_t)((ky * k + kx) * cin + ci) * cout + c0, mk), acc);
            }
    _mm256_maskstore_ps(y + ((size_t)oy * g->ow + ox) * cout + c0, mk, swish8(acc));
}

static void f32_conv_swish__avx2(const emoti_window *g, int cin, int cout, const float *x,
                                 const float *w, const float *bias, float *y) {
    ptrdiff_t xoff[CONV_MAX_TAPS];
    int ox_lo, ox_hi;
    conv_taps(g, cin, xoff, &ox_lo, &ox_hi);
    const int full = cout / 8 * 8;
    for (int oy = 0; oy < g->oh; oy++) {
        int c0 = 0;
        for (; c0 + 32 <= full; c0 += 32) /* stems have 32 or more channels: 4 vectors */
            conv_row(4, g, oy, cin, cout, c0, x, w, bias, y, xoff, ox_lo, ox_hi);
        for (; c0 < full; c0 += 8) conv_row(1, g, oy, cin, cout, c0, x, w, bias, y, xoff, ox_lo, ox_hi);
        if (full < cout)
            for (int ox = 0; ox < g->ow; ox++) conv_masked_pixel(g, oy, ox, cin, cout, full, x, w, bias, y);
    }
}

const emoti_kernels emoti_kernels_avx2 = {
    .isa = "avx2",
    .f32_gemm = f32_gemm__avx2,
    .f32_dwconv_swish = f32_dwconv_swish__avx2,
    .f32_conv_swish = f32_conv_swish__avx2,
    .f64_gemv = f64_gemv__avx2,
    .f32_exp = f32_exp__avx2,
    .f32_sigmoid = f32_sigmoid__avx2,
    .f32_swish = f32_swish__avx2,
    .f32_scale_cols = f32_scale_cols__avx2,
};
