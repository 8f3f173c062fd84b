/* AVX-512 kernels (x86-64 with AVX-512 F/DQ/BW/VL and FMA; compiled with -mavx512f -mavx512dq
 * -mavx512bw -mavx512vl -mfma). The design of kernels/avx2.c on 16-lane vectors, with mask
 * registers for every partial vector (masked loads do not fault on the lanes they skip):
 *
 *   f32_gemm (12x32 / 12x16 tiles)  1x1 convs: register-blocked microkernel over the weights
 *                                   16-column strips; k summed in sub-blocks of 32 (see
 *                                   gemm_tile: accuracy); bias, Swish, residual in the epilogue
 *   f32_dwconv_swish                depthwise k x k (compile-time paths for 3 and 5, stride 1
 *                                   and 2; any k / stride through the clipped path), 16
 *                                   channels per vector, bias + Swish + SE pool sums fused
 *   f32_conv_swish                  the stem: dense k x k conv over few input channels, up to
 *                                   64 output channels x 4 pixels per step
 *   f64_gemv                        y += x w in double, 8 rows per pass over y (the SE MLP, the
 *                                   pools)
 *   f32_exp / sigmoid / swish       elementwise, the approximations below
 *
 * exp: the range reduction and polynomial of kernels/avx2.c: x = n ln2 + r, |r| <= ln2/2
 * (two-part ln2 with FMA), exp(r) ~= 1 + r + r^2 q(r) with the same degree-4 fit q
 * (approximation error 9.7e-9 relative), 2^n built in the exponent field. Differences:
 *   - f32_exp applies 2^n with VSCALEFPS: one correctly rounded scaling for n in [-150, 128]
 *     (no two-step split), so subnormal results are rounded once and overflow gives +inf.
 *   - Swish reduces to |r| <= ln2/32 with a 16-entry table of 2^(j/16) (VPERMPS), a degree-3
 *     polynomial and VSCALEFPS: 15 vector uops where the polynomial above took 19 (swish16_n).
 * Quotients are true divisions (VDIVPS): a reciprocal estimate with Newton and remainder
 * steps was as accurate but slower here (more uops; the loops are not bound by the divider).
 * Measured by tests/test_kernels.c against double precision (every 1021st float with
 * 1e-30 <= |x| <= 100; EMOTI_TEST_EXHAUSTIVE=1 for all of them), relative, in units of 2^-23:
 *   exp 1.00, sigmoid 1.69, Swish 1.41 (1.88 over every float; 1.56 / 1.83 with the degree-6
 *   polynomial) (the test's bounds: 2 / 3 / 3), with the saturation of
 *   kernels/avx2.c: exp 0 below -104 and +inf above 88.73, sigmoid exactly 0 below -88 and 1
 *   above 88, Swish(x) = x above 88 and |Swish(x)| < 1e-36 below -88, no NaN or Inf from
 *   finite input, Swish(-0) = -0.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "conv_geometry.h"
#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))
/* Fully unrolled loops over register tiles (the arrays must become registers). */
#if defined(__clang__)
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 32")
#endif

/* The first r lanes (0 <= r <= 16). */
INLINE __mmask16 mask_for(size_t r) { return (__mmask16)((1u << r) - 1u); }

/* ---- exp / sigmoid / Swish ------------------------------------------------------------ */

#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693147182464599609375f /* float(ln 2) */
#define EXP_LN2_LO -1.9046542999577e-09f    /* ln 2 - EXP_LN2_HI */
#define EXP_C2 0.5f
#define EXP_C3 0.16666577756404877f
#define EXP_C4 0.041666556149721146f
#define EXP_C5 0.008363173343241215f
#define EXP_C6 0.0013926175888627768f
/* 1.5 * 2^23 + 127: adding it rounds to an integer n and leaves n + 127 (the biased exponent
 * of 2^n) in the low mantissa bits. */
#define EXP_SHIFTER 12583039.0f

#define SET1 _mm512_set1_ps

/* exp(r) ~= 1 + r + r^2 q(r) on |r| <= ln2/2, q in Estrin form (short dependency chains). */
INLINE __m512 exp_poly(__m512 r) {
    __m512 r2 = _mm512_mul_ps(r, r);
    __m512 lo = _mm512_fmadd_ps(SET1(EXP_C3), r, SET1(EXP_C2));
    __m512 hi = _mm512_fmadd_ps(SET1(EXP_C5), r, SET1(EXP_C4));
    __m512 r4 = _mm512_mul_ps(r2, r2);
    __m512 q = _mm512_fmadd_ps(hi, r2, lo);
    q = _mm512_fmadd_ps(SET1(EXP_C6), r4, q);
    return _mm512_fmadd_ps(r2, q, _mm512_add_ps(r, SET1(1.0f)));
}

/* exp(x) for x <= 0. Below -88, n = -127 puts 0 in the exponent field of the scale, i.e. the
 * scale is +0: results that would be subnormal (under ~6e-39) flush to 0, which is what
 * makes sigmoid saturate at exactly 0 and 1. */
INLINE __m512 exp_nonpos(__m512 x) {
    x = _mm512_max_ps(SET1(-88.0f), x);
    __m512 t = _mm512_fmadd_ps(x, SET1(EXP_LOG2E), SET1(EXP_SHIFTER));
    __m512 n = _mm512_sub_ps(t, SET1(EXP_SHIFTER));
    __m512 r = _mm512_fnmadd_ps(n, SET1(EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, SET1(EXP_LN2_LO), r);
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(t), 23));
    return _mm512_mul_ps(exp_poly(r), scale);
}

/* exp(x) over the whole float range: x clamped to [-104, 89] (n in [-150, 128]), then
 * p * 2^n rounded once by VSCALEFPS (0 below -104, +inf above 88.73). */
INLINE __m512 exp_any(__m512 x) {
    x = _mm512_max_ps(SET1(-104.0f), x);
    x = _mm512_min_ps(SET1(89.0f), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, SET1(EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, SET1(EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, SET1(EXP_LN2_LO), r);
    return _mm512_scalef_ps(exp_poly(r), n);
}

/* sigmoid(x) = 1 / (1 + e) or e / (1 + e) (x < 0), e = exp(-|x|) <= 1: nothing overflows. */
INLINE __m512 sigmoid16(__m512 x) {
    __m512 e = exp_nonpos(_mm512_or_ps(x, SET1(-0.0f)));
    __mmask16 neg = _mm512_movepi32_mask(_mm512_castps_si512(x));
    __m512 num = _mm512_mask_blend_ps(neg, SET1(1.0f), e);
    return _mm512_div_ps(num, _mm512_add_ps(SET1(1.0f), e));
}

/* Swish(x) = x / (1 + e), e = exp(-z), z = x with |z| clamped to 100 (one VRANGEPS), with a
 * table instead of a long polynomial: -z log2(e) = n + j/16 + f (n, j integers, 0 <= j < 16,
 * |f| <= 1/32), so e = 2^n 2^(j/16) exp(r), r = f ln 2 (|r| <= ln2/32, two-part ln2 as in
 * exp_nonpos): 2^(j/16) from a 16-entry table in one VPERMPS (indexed by the low mantissa bits
 * of the shifted value), exp(r) ~= 1 + r + r^2 (1/2 + r/6) (truncation 9e-9 relative), 2^n by
 * VSCALEFPS, which makes e +inf above 2^128 (x < -88.7: the quotient is then -0, within 1e-36
 * of the true value) and 0 / subnormal far below (x > 88: x itself). 15 vector uops a vector
 * where the degree-6 polynomial with a clamped numerator took 19 (Swish is ~10% of B2's time,
 * bound by the vector ports). The chain from x to the quotient is still ~60 cycles, so a loop
 * of Swish one vector at a time is bound by how many of those dependent uops the scheduler
 * holds; swish16_n interleaves N <= 4 independent vectors step by step in program order (4 at
 * once: 5.2 instead of 5.5 ns a vector), each with the same operations as alone. */
#define SWISH_MAX 4
#define SWISH_SHIFTER 786432.0f /* 1.5 * 2^19: adding it rounds to a multiple of 1/16 */
static const float exp2_sixteenths[16] = {
    0x1p+0f,        0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fe0p+0f, 0x1.3dea64p+0f,
    0x1.4bfdaep+0f, 0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f,
    0x1.ae89fap+0f, 0x1.c199bep+0f, 0x1.d5818ep+0f, 0x1.ea4afap+0f}; /* 2^(j/16), rounded */
INLINE void swish16_n(const int N, __m512 *v) {
    const __m512 table = _mm512_loadu_ps(exp2_sixteenths);
    __m512 z[SWISH_MAX], t[SWISH_MAX], n[SWISH_MAX], s[SWISH_MAX], r[SWISH_MAX], q[SWISH_MAX];
    UNROLL for (int i = 0; i < N; i++) z[i] = _mm512_range_ps(v[i], SET1(100.0f), 0x2);
    UNROLL for (int i = 0; i < N; i++) t[i] = _mm512_fmadd_ps(z[i], SET1(-EXP_LOG2E), SET1(SWISH_SHIFTER));
    UNROLL for (int i = 0; i < N; i++) n[i] = _mm512_sub_ps(t[i], SET1(SWISH_SHIFTER)); /* n + j/16 */
    UNROLL for (int i = 0; i < N; i++) s[i] = _mm512_permutexvar_ps(_mm512_castps_si512(t[i]), table);
    UNROLL for (int i = 0; i < N; i++) r[i] = _mm512_fnmsub_ps(n[i], SET1(EXP_LN2_HI), z[i]); /* -z - (n + j/16) ln2 */
    UNROLL for (int i = 0; i < N; i++) r[i] = _mm512_fnmadd_ps(n[i], SET1(EXP_LN2_LO), r[i]);
    UNROLL for (int i = 0; i < N; i++) q[i] = _mm512_fmadd_ps(SET1(1.0f / 6), r[i], SET1(0.5f));
    UNROLL for (int i = 0; i < N; i++) q[i] = _mm512_fmadd_ps(q[i], _mm512_mul_ps(r[i], r[i]), r[i]); /* exp(r) - 1 */
    UNROLL for (int i = 0; i < N; i++) q[i] = _mm512_fmadd_ps(s[i], q[i], s[i]);
    UNROLL for (int i = 0; i < N; i++) q[i] = _mm512_add_ps(_mm512_scalef_ps(q[i], n[i]), SET1(1.0f));
    UNROLL for (int i = 0; i < N; i++) v[i] = _mm512_div_ps(v[i], q[i]);
}
INLINE __m512 swish16(__m512 x) {
    swish16_n(1, &x);
    return x;
}

#define ELEMENTWISE(name, f)                                                              \
    static void name(size_t n, const float *x, float *y) {                                \
        size_t i = 0;                                                                     \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));  \
        if (i < n) {                                                                      \
            __mmask16 m = mask_for(n - i);                                                \
            _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));          \
        }                                                                                 \
    }
ELEMENTWISE(f32_exp__avx512, exp_any)
ELEMENTWISE(f32_sigmoid__avx512, sigmoid16)
ELEMENTWISE(f32_swish__avx512, swish16)

static void f32_scale_cols__avx512(size_t rows, size_t cols, float *x, const float *s) {
    for (size_t r = 0; r < rows; r++, x += cols)
        for (size_t c = 0; c < cols; c += 16) {
            const __mmask16 m = mask_for(cols - c < 16 ? cols - c : 16);
            _mm512_mask_storeu_ps(x + c, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + c),
                                                          _mm512_maskz_loadu_ps(m, s + c)));
        }
}

/* ---- GEMM ------------------------------------------------------------------------------ */

/* Loop nest as in kernels/avx2.c: k in blocks of KC; rows in blocks of MC; for each 32-column
 * panel of w (two strips, kernels.h), every row tile of the MC block runs over its KC x 32
 * block (in L1 / L2 after the first tile), read in place (two contiguous runs, which the
 * hardware prefetcher streams from memory: 5-15% faster on B2's late layers than copying from
 * row-major weights with software prefetching), or over a copy scaled by wscale made once per
 * block; the MC x KC block of a stays in L2. Register tiles (32 zmm registers):
 * 12 rows x 32 columns (24 accumulators, 2 weight vectors, 1 broadcast of a) for 32-wide
 * panels; 12 rows x 16 columns for a last panel of at most 16 columns (n = 16, 48, 80, 112,
 * 208 ...; the last vector masked below 16). Rows of a block are split into tiles as evenly
 * as possible (49 = 5 x 10 rather than 4 x 12 + 1). */
#define NR 32
#define KC 256 /* k block: a 256 x 32 panel (32 KiB) streams from L1 / L2 */
#define KB 32  /* summation sub-block (see gemm_tile) */
#define MC 120 /* rows per block (split into balanced tiles) */
#define MR 12  /* rows per tile */
#define TILE_FLOATS (MR * 32) /* stack copies of a tile */

#include "gemm_panel.h"

/* k steps [p0, p1) of an mr x (16 nv) tile: *wp walks the panel's first 16 columns, the next
 * 16 are w2 floats on. */
INLINE void gemm_ksteps(const int mr, const int nv, const float *const *ar, size_t p0, size_t p1,
                        const float **wpp, size_t w2, __m512 (*c)[2]) {
    const float *wp = *wpp;
    _Pragma("GCC unroll 2") for (size_t p = p0; p < p1; p++, wp += 16) {
        __m512 w0 = _mm512_loadu_ps(wp), w1 = nv == 2 ? _mm512_loadu_ps(wp + w2) : w0;
        UNROLL for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(ar[r][p]);
            c[r][0] = _mm512_fmadd_ps(av, w0, c[r][0]);
            if (nv == 2) c[r][1] = _mm512_fmadd_ps(av, w1, c[r][1]);
        }
    }
    *wpp = wp;
}

/* One mr x (16 nv) tile at rows a / y / res (already offset), k summed in sub-blocks of KB:
 * the first sub-block starts from the bias (+ res with RES_FIRST) in mode FIRST, else from 0
 * and then adds y (the partial sums of earlier k blocks); every later sub-block starts from
 * 0 and is added to that running total at its end. Blocked summation: the rounding error
 * grows with KB + k / KB rather than k (on the B2 parity test's worst output, 2.65e-5 with
 * sequential sums over blocks of 128, as kernels/avx2.c, against 1.4e-5 here, bound 3e-5), for
 * ~5% of the GEMM's time (one add per accumulator per 32 k-steps, the total waiting in L1).
 * LAST: then Swish if asked and + res with RES_LAST. The last vector is masked when the panel
 * has fewer than 16 nv valid columns. */
INLINE void gemm_tile(const int mr, const int nv, const panel_args *pa, const float *a, float *y,
                      const float *res) {
    __m512 c[MR][2];
    const size_t kc = pa->kc, lda = pa->lda, ldy = pa->ldy, ldr = pa->ldr, ld = 16 * (size_t)nv;
    const int mode = pa->mode;
    /* the last vector always goes masked: an all-ones mask costs nothing, a branch on it
     * would double the tile's code */
    const __mmask16 mk = mask_for(pa->ncols - 16 * (size_t)(nv - 1));
#define LOADV(ptr, v) \
    ((v) + 1 < nv ? _mm512_loadu_ps((ptr) + 16 * (v)) : _mm512_maskz_loadu_ps(mk, (ptr) + 16 * (v)))
#define STOREV(ptr, v, val)                                                        \
    do {                                                                           \
        if ((v) + 1 < nv) _mm512_storeu_ps((ptr) + 16 * (v), (val));               \
        else _mm512_mask_storeu_ps((ptr) + 16 * (v), mk, (val));                   \
    } while (0)
    if (mode & FIRST) {
        __m512 b0 = LOADV(pa->bias, 0), b1 = nv == 2 ? LOADV(pa->bias, 1) : b0;
        UNROLL for (int r = 0; r < mr; r++) c[r][0] = b0, c[r][1] = b1;
        if (mode & RES_FIRST)
            UNROLL for (int r = 0; r < mr; r++) {
                c[r][0] = _mm512_add_ps(c[r][0], LOADV(res + r * ldr, 0));
                if (nv == 2) c[r][1] = _mm512_add_ps(c[r][1], LOADV(res + r * ldr, 1));
            }
    } else { /* this k block's sum starts from 0 and is added to y's partial sum after */
        UNROLL for (int r = 0; r < mr; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
    }
    const float *ar[MR];
    UNROLL for (int r = 0; r < mr; r++) ar[r] = a + r * lda;
    const float *wp = pa->w;
    /* k in sub-blocks of KB: each one's sum starts from 0 and is then added to the running
     * total, which waits in tt (L1) meanwhile; without FIRST the total starts as y's partial
     * sum of the earlier k blocks. */
    for (size_t p0 = 0; p0 < kc || p0 == 0; p0 += KB) {
        _Alignas(64) float tt[TILE_FLOATS];
        if (p0 > 0)
            UNROLL for (int r = 0; r < mr; r++) {
                _mm512_store_ps(tt + r * ld, c[r][0]);
                if (nv == 2) _mm512_store_ps(tt + r * ld + 16, c[r][1]);
                c[r][0] = c[r][1] = _mm512_setzero_ps();
            }
        gemm_ksteps(mr, nv, ar, p0, kc - p0 < KB ? kc : p0 + KB, &wp, pa->w2, c);
        if (p0 > 0)
            UNROLL for (int r = 0; r < mr; r++) {
                c[r][0] = _mm512_add_ps(c[r][0], _mm512_load_ps(tt + r * ld));
                if (nv == 2) c[r][1] = _mm512_add_ps(c[r][1], _mm512_load_ps(tt + r * ld + 16));
            }
        else if (!(mode & FIRST))
            UNROLL for (int r = 0; r < mr; r++) {
                c[r][0] = _mm512_add_ps(c[r][0], LOADV(y + r * ldy, 0));
                if (nv == 2) c[r][1] = _mm512_add_ps(c[r][1], LOADV(y + r * ldy, 1));
            }
    }
    if ((mode & LAST) && (pa->act == EMOTI_ACT_SWISH || (mode & RES_LAST))) {
        /* Through a stack tile, one vector at a time: Swish needs ~10 registers, which the
         * live accumulators would otherwise spill. (Interleaving 4 vectors through swish16_n
         * here measured no faster: the tile's FMAs already overlap these chains.) */
        _Alignas(64) float t[TILE_FLOATS];
        UNROLL for (int r = 0; r < mr; r++) {
            _mm512_store_ps(t + r * ld, c[r][0]);
            if (nv == 2) _mm512_store_ps(t + r * ld + 16, c[r][1]);
        }
        const int swish = pa->act == EMOTI_ACT_SWISH, add_res = mode & RES_LAST;
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) {
                __m512 o = _mm512_load_ps(t + r * ld + 16 * v);
                if (swish) o = swish16(o);
                if (add_res) o = _mm512_add_ps(o, LOADV(res + r * ldr, v));
                STOREV(y + r * ldy, v, o);
            }
        return;
    }
    UNROLL for (int r = 0; r < mr; r++) {
        STOREV(y + r * ldy, 0, c[r][0]);
        if (nv == 2) STOREV(y + r * ldy, 1, c[r][1]);
    }
#undef LOADV
#undef STOREV
}

/* All mc rows of one 32-wide panel, in balanced tiles of 8, 10 or 12 rows (49 rows as
 * 4 x 10 + 9, the 9 padded to 10 by gemm_short_tile): B0's and B2's blocks split into those
 * heights and the odd one, so compiling three of the seven heights from 6 to 12 saves 14 KB of
 * code for one padded tile per panel of their smallest layers; fewer than 8 rows, which they
 * never have, pad to 8, as do the last rows of a 16-wide panel. */
#define TILE_CASE(R, V) \
    case R: gemm_tile(R, V, pa, a, y, res); break;
BALANCED_PANEL(gemm_panel2, MR, 8, 2, TILE_CASE(8, 2) TILE_CASE(10, 2) TILE_CASE(12, 2))
/* 16-wide panels are only a layer's last columns */
#define TILE_12x16(pa, a, y, res) gemm_tile(MR, 1, pa, a, y, res)
ONE_HEIGHT_PANEL(gemm_panel1, MR, TILE_12x16)
#undef TILE_CASE

/* The weights' kc x (16 strips) block at src (strips sstride floats apart) times scale[p] for
 * row p (the SE gate), rounded as the folded weight, into dst (strips KC x 16 apart). */
static void pack_scaled(size_t kc, size_t strips, const float *src, size_t sstride,
                        const float *scale, float *dst) {
    for (size_t s = 0; s < strips; s++, src += sstride, dst += KC * 16)
        for (size_t p = 0; p < kc; p++)
            _mm512_store_ps(dst + p * 16, _mm512_mul_ps(_mm512_loadu_ps(src + p * 16), _mm512_set1_ps(scale[p])));
}

/* One panel of gemm_blocks: its tiles read the strips in place (each a contiguous run the
 * hardware prefetcher follows); with wscale they read a scaled copy of the k block, made once per
 * panel and row block. */
INLINE void run_panel(panel_args *pa, size_t mc, const float *a, float *y, const float *res,
                      const float *wscale) {
    _Alignas(64) float panel[KC * NR];
    const size_t strips = pa->ncols > 16 ? 2 : 1;
    if (wscale) {
        pack_scaled(pa->kc, strips, pa->w, pa->w2, wscale, panel);
        pa->w = panel, pa->w2 = KC * 16;
    }
    if (strips == 2) gemm_panel2(pa, mc, a, y, res);
    else gemm_panel1(pa, mc, a, y, res);
}

/* gemm_blocks with the panels above, w in strips (kernels.h). */
static void gemm_core(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                      const float *wscale, const float *bias, const float *res, size_t ldr,
                      float *y, size_t ldy, emoti_act act) {
    gemm_blocks(run_panel, m, n, k, a, lda, w, wscale, bias, res, ldr, y, ldy, act);
}

static void f32_gemm__avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                             const float *wscale, const float *bias, const float *res, float *y,
                             size_t ld, emoti_act act) {
    if (!(res && act != EMOTI_ACT_NONE && k > KC)) {
        gemm_core(m, n, k, a, lda, w, wscale, bias, res, ld, y, ld, act);
        return;
    }
    /* act(...) + res with a multi-block k: the partial sums cannot live in y (it may be res),
     * so compute 48 x 32 tiles into scratch and add res from there. Not used by EfficientNet. */
    enum { TM = 48 };
    _Alignas(64) float tmp[TM * NR];
    for (size_t i = 0; i < m; i += TM) {
        const size_t mi = m - i < TM ? m - i : TM;
        for (size_t j = 0; j < n; j += NR) {
            const size_t nj = n - j < NR ? n - j : NR;
            gemm_core(mi, nj, k, a + i * lda, lda, w + j * k, wscale, bias + j, NULL, 0, tmp, NR, act);
            for (size_t r = 0; r < mi; r++)
                for (size_t c = 0; c < nj; c += 16) {
                    const __mmask16 mk = mask_for(nj - c < 16 ? nj - c : 16);
                    float *yp = y + (i + r) * ld + j + c;
                    const __m512 s = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, tmp + r * NR + c),
                                                   _mm512_maskz_loadu_ps(mk, res + (i + r) * ld + j + c));
                    _mm512_mask_storeu_ps(yp, mk, s);
                }
        }
    }
}

/* ---- f64_gemv: rows in groups of GEMV_ROWS, y (at most WIDE doubles at a time) staying in L1:
 * each vector of y is loaded, takes the group's rows in order and is stored, so each y[c] is
 * still summed over r in order (bitwise the row-by-row result) with an eighth of the loads and
 * stores of y, whose store-to-load forwarding chain bound the row-by-row loop (B2's SE shapes,
 * 2112 x 88 and 88 x 2112: 0.6x the time); w is read as GEMV_ROWS sequential streams. -------- */

#define GEMV_ROWS 8
INLINE void gemv_rows(const int G, size_t nc, const double *x, const float *wr, size_t ldw,
                      double *y) {
    __m512d xv[GEMV_ROWS];
    UNROLL for (int g = 0; g < G; g++) xv[g] = _mm512_set1_pd(x ? x[g] : 1.0);
    for (size_t c = 0; c < nc; c += 8) {
        const __mmask8 mk = (__mmask8)mask_for(nc - c < 8 ? nc - c : 8);
        __m512d acc = _mm512_maskz_loadu_pd(mk, y + c);
        UNROLL for (int g = 0; g < G; g++)
            acc = _mm512_fmadd_pd(xv[g], _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mk, wr + g * ldw + c)), acc);
        _mm512_mask_storeu_pd(y + c, mk, acc);
    }
}

static void f64_gemv__avx512(size_t rows, size_t cols, const double *x, const float *w,
                             size_t ldw, double *y) {
    enum { WIDE = 2048 /* 16 KiB of y */ };
    for (size_t c0 = 0; c0 < cols; c0 += WIDE) {
        const size_t nc = cols - c0 < WIDE ? cols - c0 : WIDE;
        size_t r = 0;
        for (; r + GEMV_ROWS <= rows; r += GEMV_ROWS)
            gemv_rows(GEMV_ROWS, nc, x ? x + r : NULL, w + r * ldw + c0, ldw, y + c0);
        for (; r < rows; r++) gemv_rows(1, nc, x ? x + r : NULL, w + r * ldw + c0, ldw, y + c0);
    }
}

/* ---- depthwise ------------------------------------------------------------------------- */

/* Depthwise, channel-vectorised: 16 channels per vector (a last partial group masked), the
 * structure of kernels/avx2.c:
 *
 * Output rows go in bands whose input rows stay in L2; within a band, channel groups of 64
 * (then 32, 16, masked) are outermost, so a group's k x k x 64 weights stay in L1 and its pool
 * sums in registers. Each output row of a group is done in chunks of up to DW_CHUNK pixels,
 * in two passes through a stack scratch (L1):
 *  1. taps -> pre-activations. Interior pixels (all taps inside horizontally) go DW_P at a time
 *     per 16 channels: for each row of taps, its K weight vectors are held in registers and
 *     each input column the DW_P windows need is loaded once and multiplied into every window
 *     it belongs to: DW_P independent FMA chains. Other pixels (near the left/right edges, or
 *     left over) go one at a time with their taps clipped, 64 channels at once (4 chains).
 *     Rows of taps are clipped at the top and bottom by the row loop: no padded copies, no
 *     per-tap checks.
 *  2. Swish (+ pool sums) from the scratch into y: independent iterations, so Swish runs at
 *     its throughput rather than at the end of each pixel's FMA chain.
 * The scratch also keeps the stores to y away from the loads of x (4 KiB aliasing). */

#define DW_P 4
#define DW_CHUNK 32 /* pixels per scratch chunk: 32 x 64 floats = 8 KiB */
#define DW_SC 64    /* scratch floats per pixel */

/* Accumulates DW_P windows of compile-time size K and stride S, all taps inside, channels
 * masked by mk (an all-ones mask costs nothing here: x is loaded once per column anyway):
 * xq is window 0's left tap in the first in-range row of taps, wq that row's weights. */
INLINE void dw_windows(const int K, const int S, __mmask16 mk, const float *xq, size_t row,
                       const float *wq, size_t c, int nrows, __m512 *acc) {
    for (int r = 0; r < nrows; r++, xq += row, wq += (size_t)K * c) {
        __m512 wv[5];
        const float *wp = wq;
        UNROLL for (int kx = 0; kx < K; kx++, wp += c) wv[kx] = _mm512_maskz_loadu_ps(mk, wp);
        const float *xp = xq;
        UNROLL for (int j = 0; j < (DW_P - 1) * S + K; j++, xp += c) {
            __m512 xv = _mm512_maskz_loadu_ps(mk, xp);
            UNROLL for (int p = 0; p < DW_P; p++) {
                const int kx = j - p * S;
                if (kx >= 0 && kx < K) acc[p] = _mm512_fmadd_ps(xv, wv[kx], acc[p]);
            }
        }
    }
}

/* Pass 1, interior: `groups` x DW_P pixels from output column ox, channels [c1, c1 + cn)
 * (cn <= 16); xr / wr: the first in-range row of taps (input row at channel 0, weights at
 * channel 0); sp: scratch at pixel ox, at this vector's lane offset. One copy per (K, S). */
INLINE void dw_interior(const int K, const int S, const emoti_window *g, size_t c, size_t c1,
                        size_t cn, int nrows, int ox, int groups, const float *xr,
                        const float *wr, const float *bias, float *sp) {
    const __mmask16 mk = mask_for(cn);
    const __m512 b = _mm512_maskz_loadu_ps(mk, bias + c1);
    const size_t row = (size_t)g->w * c;
    const float *xq = xr + c1 + (size_t)(ox * S - g->pad_left) * c;
    for (int q = 0; q < groups; q++, xq += (size_t)(DW_P * S) * c, sp += DW_P * DW_SC) {
        __m512 acc[DW_P];
        UNROLL for (int p = 0; p < DW_P; p++) acc[p] = b;
        dw_windows(K, S, mk, xq, row, wr + c1, c, nrows, acc);
        UNROLL for (int p = 0; p < DW_P; p++) _mm512_store_ps(sp + p * DW_SC, acc[p]);
    }
}
typedef void dw_interior_fn(const emoti_window *g, size_t c, size_t c1, size_t cn, int nrows,
                            int ox, int groups, const float *xr, const float *wr,
                            const float *bias, float *sp);
#define DW_INTERIOR(K, S)                                                                     \
    static void dw_interior_##K##_##S(const emoti_window *g, size_t c, size_t c1, size_t cn,  \
                                      int nrows, int ox, int groups, const float *xr,         \
                                      const float *wr, const float *bias, float *sp) {        \
        dw_interior(K, S, g, c, c1, cn, nrows, ox, groups, xr, wr, bias, sp);                 \
    }
DW_INTERIOR(3, 1)
DW_INTERIOR(3, 2)
DW_INTERIOR(5, 1)
DW_INTERIOR(5, 2)
#undef DW_INTERIOR

/* Pass 1, any other pixel: one window, taps clipped to nrows x ncols (xq / wq: its first
 * in-range tap, channel 0), channels [c0, c0 + 16 NV) (the last vector masked to cn lanes
 * when MASKED, then NV = 1); sp: scratch for this pixel. */
INLINE void dw_pixel(const int NV, const int MASKED, size_t c, size_t c0, size_t cn, int nrows,
                     int ncols, size_t row, const float *xq, const float *wq, size_t wrow,
                     const float *bias, float *sp) {
    const __mmask16 mk = mask_for(MASKED ? cn : 16);
#define LD(p) (MASKED ? _mm512_maskz_loadu_ps(mk, (p)) : _mm512_loadu_ps(p))
    __m512 acc[4];
    UNROLL for (int v = 0; v < NV; v++) acc[v] = LD(bias + c0 + 16 * v);
    xq += c0, wq += c0;
    for (int r = 0; r < nrows; r++, xq += row, wq += wrow)
        for (int kx = 0; kx < ncols; kx++)
            UNROLL for (int v = 0; v < NV; v++) {
                const size_t o = (size_t)kx * c + 16 * v;
                acc[v] = _mm512_fmadd_ps(LD(xq + o), LD(wq + o), acc[v]);
            }
    UNROLL for (int v = 0; v < NV; v++) _mm512_store_ps(sp + 16 * v, acc[v]);
#undef LD
}

/* Pass 2: y = Swish(scratch) for npx pixels, channels [c0, c0 + 16 NV) (masked as above),
 * the sums into sum[]. */
INLINE void dw_swish_out(const int NV, const int MASKED, __mmask16 mk, int npx, const float *sp,
                         float *yp, size_t c, __m512 *sum) {
    /* SWISH_MAX vectors at a time (vector q: pixel q / NV, part q % NV; NV is 1 or 4), then
     * the last one by one; each sum[v] still adds its pixels in order */
    const int n = npx * NV;
    int q = 0;
    for (; q + SWISH_MAX <= n; q += SWISH_MAX) {
        __m512 o[SWISH_MAX];
        UNROLL for (int j = 0; j < SWISH_MAX; j++)
            o[j] = _mm512_load_ps(sp + (q + j) / NV * DW_SC + 16 * ((q + j) % NV));
        swish16_n(SWISH_MAX, o);
        UNROLL for (int j = 0; j < SWISH_MAX; j++) {
            const int i = (q + j) / NV, v = (q + j) % NV;
            if (MASKED) _mm512_mask_storeu_ps(yp + i * c, mk, o[j]);
            else _mm512_storeu_ps(yp + i * c + 16 * v, o[j]);
            sum[v] = _mm512_add_ps(sum[v], o[j]); /* masked lanes: Swish(0) = 0 */
        }
    }
    for (; q < n; q++) {
        const int i = q / NV, v = q % NV;
        const __m512 o = swish16(_mm512_load_ps(sp + i * DW_SC + 16 * v));
        if (MASKED) _mm512_mask_storeu_ps(yp + i * c, mk, o);
        else _mm512_storeu_ps(yp + i * c + 16 * v, o);
        sum[v] = _mm512_add_ps(sum[v], o);
    }
}

/* Output rows [oy0, oy1), channels [c0, c0 + 16 NV) (cn lanes in the last vector if MASKED). */
INLINE void dw_group(const int NV, const int MASKED, const emoti_window *g, int oy0, int oy1,
                     size_t c, size_t c0, size_t cn, int ox_lo, int ox_hi, const float *x,
                     const float *w, const float *bias, float *y, float *pool_sums) {
    _Alignas(64) float scratch[DW_CHUNK * DW_SC];
    const __mmask16 mk = mask_for(MASKED ? cn : 16);
    const int k = g->k, s = g->stride, fast = (k == 3 || k == 5) && s <= 2;
    dw_interior_fn *interior_fn = k == 3 ? (s == 1 ? dw_interior_3_1 : dw_interior_3_2)
                                         : (s == 1 ? dw_interior_5_1 : dw_interior_5_2);
    const size_t row = (size_t)g->w * c, wrow = (size_t)k * c;
    __m512 sum[4];
    UNROLL for (int v = 0; v < NV; v++) sum[v] = _mm512_setzero_ps();
    for (int oy = oy0; oy < oy1; oy++) {
        int ky0, ky1;
        tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
        const float *xr = x + (ptrdiff_t)(oy * s - g->pad_top + ky0) * (ptrdiff_t)row;
        const float *wr = w + (size_t)ky0 * wrow;
        const int nr = ky1 - ky0;
        for (int ox0 = 0; ox0 < g->ow; ox0 += DW_CHUNK) {
            const int ox1 = ox0 + DW_CHUNK < g->ow ? ox0 + DW_CHUNK : g->ow;
            const int ql = ox_lo > ox0 ? ox_lo : ox0, qh = ox_hi < ox1 ? ox_hi : ox1;
            const int groups = fast && qh > ql ? (qh - ql) / DW_P : 0, qe = ql + groups * DW_P;
            for (int v = 0; groups && v < NV; v++) {
                const size_t c1 = c0 + 16 * (size_t)v;
                interior_fn(g, c, c1, MASKED ? cn : 16, nr, ql, groups, xr, wr, bias,
                            scratch + (ql - ox0) * DW_SC + 16 * v);
            }
            for (int ox = ox0; ox < ox1; ox++) {
                if (ox == ql && groups) ox = qe;
                if (ox >= ox1) break;
                int kx0, kx1;
                tap_range(ox, s, g->pad_left, k, g->w, &kx0, &kx1);
                dw_pixel(NV, MASKED, c, c0, cn, nr, kx1 - kx0, row,
                         xr + (size_t)(ox * s - g->pad_left + kx0) * c, wr + (size_t)kx0 * c, wrow,
                         bias, scratch + (ox - ox0) * DW_SC);
            }
            dw_swish_out(NV, MASKED, mk, ox1 - ox0, scratch,
                         y + ((size_t)oy * g->ow + ox0) * c + c0,
                         c, sum);
        }
    }
    if (pool_sums)
        UNROLL for (int v = 0; v < NV; v++) {
            float *ps = pool_sums + c0 + 16 * v;
            if (MASKED) _mm512_mask_storeu_ps(ps, mk, _mm512_add_ps(_mm512_maskz_loadu_ps(mk, ps), sum[v]));
            else _mm512_storeu_ps(ps, _mm512_add_ps(_mm512_loadu_ps(ps), sum[v]));
        }
}

static void f32_dwconv_swish__avx512(const emoti_window *g, int ci, const float *x,
                                     const float *w, const float *bias, float *y,
                                     float *pool_sums) {
    const size_t c = (size_t)ci;
    if (pool_sums) memset(pool_sums, 0, c * sizeof *pool_sums);
    int ox_lo, ox_hi;
    interior(g->ow, g->stride, g->pad_left, g->k, g->w, &ox_lo, &ox_hi);
    const int band = dw_band_rows(g, c);
    for (int oy0 = 0; oy0 < g->oh; oy0 += band) {
        const int oy1 = oy0 + band < g->oh ? oy0 + band : g->oh;
        size_t c0 = 0;
        for (; c0 + 64 <= c; c0 += 64)
            dw_group(4, 0, g, oy0, oy1, c, c0, 64, ox_lo, ox_hi, x, w, bias, y, pool_sums);
        for (; c0 < c; c0 += 16) /* masked: free with AVX-512, and one copy less of dw_group */
            dw_group(1, 1, g, oy0, oy1, c, c0, c - c0 < 16 ? c - c0 : 16, ox_lo, ox_hi, x, w,
                     bias, y, pool_sums);
    }
}

/* ---- stem: dense k x k conv over few input channels ------------------------------------ */

#define STEM_PX 4 /* pixels per step where all taps are inside */

/* Output pixels of one row, channels [c0, c0 + 16 NV) (the last vector masked by mk), STEM_PX
 * pixels at a time where all taps are inside (the taps' offsets precomputed), one at a time at
 * the edges (taps clipped). */
INLINE void conv_row(const int NV, __mmask16 mk, const emoti_window *g, int oy, int cin, int cout,
                     int c0, const float *x, const float *w, const float *bias, float *y,
                     const ptrdiff_t *xoff, int ox_lo, int ox_hi) {
    const int k = g->k, s = g->stride, taps = k * k * cin;
    int ky0, ky1;
    tap_range(oy, s, g->pad_top, k, g->h, &ky0, &ky1);
    const int iy0 = oy * s - g->pad_top, rows_full = ky0 == 0 && ky1 == k;
#define LDW(p, v) ((v) + 1 < NV ? _mm512_loadu_ps((p) + 16 * (v)) : _mm512_maskz_loadu_ps(mk, (p) + 16 * (v)))
    __m512 b[2];
    UNROLL for (int v = 0; v < NV; v++) b[v] = LDW(bias + c0, v);
    float *yr = y + (size_t)oy * g->ow * cout + c0;
    int ox = 0;
    while (ox < g->ow) {
        const int multi = rows_full && ox >= ox_lo && ox + STEM_PX <= ox_hi;
        const int npx = multi ? STEM_PX : 1;
        __m512 acc[STEM_PX][2];
        UNROLL for (int p = 0; p < STEM_PX; p++) UNROLL for (int v = 0; v < NV; v++) acc[p][v] = b[v];
        if (multi) {
            const float *x0 = x + ((ptrdiff_t)iy0 * g->w + (ptrdiff_t)(ox * s - g->pad_left)) * cin;
            for (int t = 0; t < taps; t++) {
                const float *wt = w + (size_t)t * cout + c0;
                __m512 wv[2];
                UNROLL for (int v = 0; v < NV; v++) wv[v] = LDW(wt, v);
                UNROLL for (int p = 0; p < STEM_PX; p++) {
                    const __m512 a = _mm512_set1_ps(x0[(ptrdiff_t)p * s * cin + xoff[t]]);
                    UNROLL for (int v = 0; v < NV; v++) acc[p][v] = _mm512_fmadd_ps(a, wv[v], acc[p][v]);
                }
            }
        } else {
            int kx0, kx1;
            tap_range(ox, s, g->pad_left, k, g->w, &kx0, &kx1);
            const int ix0 = ox * s - g->pad_left;
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = kx0; kx < kx1; kx++) {
                    const float *xp = x + ((ptrdiff_t)(iy0 + ky) * g->w + (ix0 + kx)) * cin;
                    const float *wt = w + (size_t)((ky * k + kx) * cin) * cout + c0;
                    for (int ci = 0; ci < cin; ci++, wt += cout) {
                        const __m512 a = _mm512_set1_ps(xp[ci]);
                        UNROLL for (int v = 0; v < NV; v++)
                            acc[0][v] = _mm512_fmadd_ps(a, LDW(wt, v), acc[0][v]);
                    }
                }
        }
        /* Swish through a stack tile, one vector at a time (register pressure, as in gemm) */
        _Alignas(64) float t[STEM_PX][32];
        UNROLL for (int p = 0; p < STEM_PX; p++) UNROLL for (int v = 0; v < NV; v++)
            _mm512_store_ps(t[p] + 16 * v, acc[p][v]);
        for (int p = 0; p < npx; p++)
            for (int v = 0; v < NV; v++) {
                const __m512 o = swish16(_mm512_load_ps(t[p] + 16 * v));
                float *yp = yr + (size_t)(ox + p) * cout + 16 * v;
                if (v + 1 < NV) _mm512_storeu_ps(yp, o);
                else _mm512_mask_storeu_ps(yp, mk, o);
            }
        ox += npx;
    }
#undef LDW
}

static void f32_conv_swish__avx512(const emoti_window *g, int cin, int cout, const float *x,
                                   const float *w, const float *bias, float *y) {
    ptrdiff_t xoff[CONV_MAX_TAPS];
    int ox_lo, ox_hi;
    conv_taps(g, cin, xoff, &ox_lo, &ox_hi);
    for (int oy = 0; oy < g->oh; oy++)
        for (int c0 = 0; c0 < cout; c0 += 32) { /* 32 channels a step: 2 vectors x 4 pixels */
            const int left = cout - c0, nv = left > 16 ? 2 : 1;
            const __mmask16 mk = mask_for((size_t)(left - 16 * (nv - 1) < 16 ? left - 16 * (nv - 1) : 16));
            if (nv == 2) conv_row(2, mk, g, oy, cin, cout, c0, x, w, bias, y, xoff, ox_lo, ox_hi);
            else conv_row(1, mk, g, oy, cin, cout, c0, x, w, bias, y, xoff, ox_lo, ox_hi);
        }
}

const emoti_kernels emoti_kernels_avx512 = {
    .isa = "avx512",
    .f32_gemm = f32_gemm__avx512,
    .f32_dwconv_swish = f32_dwconv_swish__avx512,
    .f32_conv_swish = f32_conv_swish__avx512,
    .f64_gemv = f64_gemv__avx512,
    .f32_exp = f32_exp__avx512,
    .f32_sigmoid = f32_sigmoid__avx512,
    .f32_swish = f32_swish__avx512,
    .f32_scale_cols = f32_scale_cols__avx512,
};
