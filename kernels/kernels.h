/* The compute kernels behind the forward pass, one table per ISA.
 *
 * Activations are NHWC float32. Every ISA implements the same table; the scalar one is the
 * reference the others are tested against. Kernel names follow op / dtype / ISA.
 */
#ifndef EMOTI_KERNELS_H
#define EMOTI_KERNELS_H

#include <stddef.h>

#include "emoti.h" /* emoti_act: f32_gemm applies EMOTI_ACT_NONE or EMOTI_ACT_SWISH */

/* Geometry of a strided k x k window over an h x w input with explicit top/left padding
 * (TF SAME or symmetric: the kernels skip out-of-range taps, no padded copy). */
typedef struct {
    int h, w;           /* input */
    int oh, ow;         /* output */
    int k, stride;
    int pad_top, pad_left;
} emoti_window;

/* The window of a k x k conv with this stride over h x w: TF "SAME" for stride 2 (timm's
 * Conv2dSame: output ceil(n / 2), the extra padding row / column at the bottom / right),
 * symmetric k / 2 for stride 1. */
static inline emoti_window emoti_window_same(int h, int w, int k, int stride) {
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

typedef struct {
    const char *isa; /* "scalar", "avx2", ... */

    /* y[m][n] = act(sum_k a[m][k] * w'[k][n] + bias[n]) (+ res[m][n] if res != NULL), where
     * w'[k][n] = w[k][n] * wscale[k] rounded to float if wscale != NULL (the SE gate folded
     * into the projection), else w. res may alias y (residual add in place).
     * a: row stride lda (lda < k: overlapping rows, e.g. the taps of a conv's kernel
     * row read in place, engine/detect/mtcnn.c); res, y: row stride ld >= n (ld > n: a block of columns of wider
     * matrices). w is in strips of 16 columns (emoti_strips_pack): strip s holds columns
     * 16 s .. 16 s + 15 as k rows of 16 floats, strips 16 k floats apart; columns past the
     * matrix's last are read (zeros in a whole matrix); the block of columns from j0 (a
     * multiple of 16) is w + j0 k. Each output's arithmetic depends only on k (not on m, n,
     * ld or where the block starts), so any split of the rows or columns gives bitwise the
     * same results. */
    void (*f32_gemm)(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                     const float *wscale, const float *bias, const float *res, float *y,
                     size_t ld, emoti_act act);

    /* Depthwise k x k conv + bias + Swish over c channels; if pool_sums != NULL it receives
     * the per-channel sum over the output pixels (the SE squeeze), overwriting it. */
    void (*f32_dwconv_swish)(const emoti_window *g, int c, const float *x, const float *w,
                             const float *bias, float *y, float *pool_sums);

    /* Dense k x k conv with cin input channels (the stem), + bias + Swish.
     * w layout [k][k][cin][cout]. */
    void (*f32_conv_swish)(const emoti_window *g, int cin, int cout, const float *x,
                           const float *w, const float *bias, float *y);

    /* y[c] += sum_r x[r] * w[r][c] in double over r = 0 .. rows - 1 in order, for the
     * squeeze-excite MLP and the pools (x == NULL: all ones, column sums); w: float, row
     * stride ldw >= cols. Double because an error in an SE gate scales a whole channel. Each
     * column's arithmetic is its own: column blocks give bitwise the same results. */
    void (*f64_gemv)(size_t rows, size_t cols, const double *x, const float *w, size_t ldw,
                     double *y);

    /* Elementwise y[i] = f(x[i]) over n floats with the same exp/sigmoid/Swish the kernels
     * above use (the scalar table: libm's expf). For the SE gate and for testing the
     * approximation; y may alias x. */
    void (*f32_exp)(size_t n, const float *x, float *y);
    void (*f32_sigmoid)(size_t n, const float *x, float *y);
    void (*f32_swish)(size_t n, const float *x, float *y);

    /* x[r][c] *= s[c] for r < rows, c < cols (row stride cols): the SE gate applied to the
     * depthwise output. Each product is rounded once: every table gives the same bits. */
    void (*f32_scale_cols)(size_t rows, size_t cols, float *x, const float *s);
} emoti_kernels;

extern const emoti_kernels emoti_kernels_scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const emoti_kernels emoti_kernels_avx2; /* AVX2 + FMA (kernels/avx2.c) */
extern const emoti_kernels emoti_kernels_avx512; /* AVX-512 F/DQ/BW/VL + FMA (kernels/avx512.c) */
#endif
#if defined(__aarch64__)
extern const emoti_kernels emoti_kernels_neon; /* Advanced SIMD (kernels/neon.c) */
#endif

/* A row-major k x n matrix (row stride ldw) -> the strips f32_gemm reads: 16 k
 * ceil(n / 16) floats at out, zero past column n. */
void emoti_strips_pack(size_t k, size_t n, const float *w, size_t ldw, float *out);
static inline size_t emoti_strips_floats(size_t k, size_t n) { return 16 * k * ((n + 15) / 16); }

/* Scalar Swish, the reference: x * sigmoid(x) with libm's expf. */
float emoti_swish_ref(float x);

/* The kernel table in use, chosen once (thread-safe) on first call: the fastest table this
 * build has and this CPU runs (CPUID), unless EMOTI_ISA=scalar|avx2|avx512|neon forces a level.
 * Returns NULL when EMOTI_ISA names a level that is unknown, not compiled into this build or
 * not supported by this CPU: nothing else is run in its place; emoti_kernels_error() says why
 * and callers must report it. */
const emoti_kernels *emoti_kernels_get(void);
/* Why emoti_kernels_get() returned NULL (a static string), or NULL when it did not. */
const char *emoti_kernels_error(void);
/* All tables this build and this CPU can run, slowest (the scalar reference) first, for tests
 * and benchmarks. Returns how many were written to out (at most max). */
int emoti_kernels_available(const emoti_kernels **out, int max);

#endif
