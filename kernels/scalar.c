/* Scalar reference kernels: plain loops, the oracle for every SIMD kernel. */
#include <math.h>

#include "conv_geometry.h"
#include "kernels.h"

float emoti_swish_ref(float x) { return x / (1.0f + expf(-x)); }

static float activate(float v, emoti_act act) { return act == EMOTI_ACT_SWISH ? emoti_swish_ref(v) : v; }

/* Each output is bias + a0 w0 + a1 w1 + ... summed in k order, columns in chunks of 64 (four
 * strips). res is read before y is written at the same index, so res may alias y. */
static void f32_gemm__scalar(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                             const float *wscale, const float *bias, const float *res, float *y,
                             size_t ld, emoti_act act) {
    enum { CHUNK = 64, KB = 16 };
    float acc[CHUNK];
    for (size_t i = 0; i < m; i++) {
        const float *ar = a + i * lda;
        float *yr = y + i * ld;
        for (size_t j0 = 0; j0 < n; j0 += CHUNK) {
            size_t nj = n - j0 < CHUNK ? n - j0 : CHUNK;
            for (size_t j = 0; j < nj; j++) acc[j] = bias[j0 + j];
            /* k in blocks of KB, each summed from 0 and then added to the total: the
             * rounding error grows with KB + k / KB rather than k (as the SIMD kernels) */
            for (size_t p0 = 0; p0 < k; p0 += KB) {
                float part[CHUNK] = {0};
                for (size_t p = p0; p < k && p < p0 + KB; p++) {
                    const float *wr = w + j0 * k + p * 16; /* strip j0 / 16, row p */
                    const float s = wscale ? wscale[p] : 1.0f;
                    for (size_t j = 0; j < nj; j++) {
                        const float wv = wr[j / 16 * 16 * k + j % 16] * s; /* rounded: the folded weight */
                        part[j] += ar[p] * wv;
                    }
                }
                for (size_t j = 0; j < nj; j++) acc[j] += part[j];
            }
            for (size_t j = 0; j < nj; j++) {
                float s = activate(acc[j], act);
                yr[j0 + j] = res ? s + res[i * ld + j0 + j] : s;
            }
        }
    }
}

static void f32_scale_cols__scalar(size_t rows, size_t cols, float *x, const float *s) {
    for (size_t r = 0; r < rows; r++, x += cols)
        for (size_t c = 0; c < cols; c++) x[c] *= s[c];
}

void emoti_strips_pack(size_t k, size_t n, const float *w, size_t ldw, float *out) {
    for (size_t j0 = 0; j0 < n; j0 += 16)
        for (size_t p = 0; p < k; p++, out += 16)
            for (size_t j = 0; j < 16; j++) out[j] = j0 + j < n ? w[p * ldw + j0 + j] : 0.0f;
}

static void f32_dwconv_swish__scalar(const emoti_window *g, int c, const float *x,
                                     const float *w, const float *bias, float *y,
                                     float *pool_sums) {
    if (pool_sums)
        for (int ch = 0; ch < c; ch++) pool_sums[ch] = 0;
    for (int oy = 0; oy < g->oh; oy++) {
        int ky0, ky1;
        tap_range(oy, g->stride, g->pad_top, g->k, g->h, &ky0, &ky1);
        int iy0 = oy * g->stride - g->pad_top;
        for (int ox = 0; ox < g->ow; ox++) {
            int kx0, kx1;
            tap_range(ox, g->stride, g->pad_left, g->k, g->w, &kx0, &kx1);
            int ix0 = ox * g->stride - g->pad_left;
            float *out = y + ((size_t)oy * g->ow + ox) * c;
            for (int ch = 0; ch < c; ch++) {
                float s = bias[ch];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        s += x[((size_t)(iy0 + ky) * g->w + ix0 + kx) * c + ch] *
                             w[(ky * g->k + kx) * c + ch];
                out[ch] = emoti_swish_ref(s);
                if (pool_sums) pool_sums[ch] += out[ch];
            }
        }
    }
}

static void f32_conv_swish__scalar(const emoti_window *g, int cin, int cout, const float *x,
                                   const float *w, const float *bias, float *y) {
    for (int oy = 0; oy < g->oh; oy++) {
        int ky0, ky1;
        tap_range(oy, g->stride, g->pad_top, g->k, g->h, &ky0, &ky1);
        int iy0 = oy * g->stride - g->pad_top;
        for (int ox = 0; ox < g->ow; ox++) {
            int kx0, kx1;
            tap_range(ox, g->stride, g->pad_left, g->k, g->w, &kx0, &kx1);
            int ix0 = ox * g->stride - g->pad_left;
            float *out = y + ((size_t)oy * g->ow + ox) * cout;
            for (int co = 0; co < cout; co++) {
                float s = bias[co];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        for (int ci = 0; ci < cin; ci++)
                            s += x[((size_t)(iy0 + ky) * g->w + ix0 + kx) * cin + ci] *
                                 w[((ky * g->k + kx) * cin + ci) * cout + co];
                out[co] = emoti_swish_ref(s);
            }
        }
    }
}

/* Multiply then add, each rounded (C11 does not contract them here); x == NULL: plain sums. */
static void f64_gemv__scalar(size_t rows, size_t cols, const double *x, const float *w,
                             size_t ldw, double *y) {
    for (size_t r = 0; r < rows; r++, w += ldw)
        for (size_t c = 0; c < cols; c++) y[c] += x ? x[r] * w[c] : (double)w[c];
}

static void f32_exp__scalar(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static void f32_sigmoid__scalar(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void f32_swish__scalar(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = emoti_swish_ref(x[i]);
}

const emoti_kernels emoti_kernels_scalar = {
    .isa = "scalar",
    .f32_gemm = f32_gemm__scalar,
    .f32_dwconv_swish = f32_dwconv_swish__scalar,
    .f32_conv_swish = f32_conv_swish__scalar,
    .f64_gemv = f64_gemv__scalar,
    .f32_exp = f32_exp__scalar,
    .f32_sigmoid = f32_sigmoid__scalar,
    .f32_swish = f32_swish__scalar,
    .f32_scale_cols = f32_scale_cols__scalar,
};
