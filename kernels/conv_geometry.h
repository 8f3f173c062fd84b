/* The geometry every ISA's convolutions share (kernels/scalar.c, avx2.c, avx512.c, neon.c): which
 * taps of a window land inside the input, which outputs have all of theirs inside, how many
 * depthwise output rows go in a band, where the stem's taps sit. The padding of emoti_window
 * (TF SAME or symmetric) is never materialised: taps outside the input are skipped. */
#ifndef EMOTI_CONV_GEOMETRY_H
#define EMOTI_CONV_GEOMETRY_H

#include <stddef.h>

#include "kernels.h"

/* First and one-past-last kernel tap that land inside [0, size) for output o. */
static inline void tap_range(int o, int stride, int pad, int k, int size, int *t0, int *t1) {
    int start = o * stride - pad;
    *t0 = start < 0 ? -start : 0;
    *t1 = start + k > size ? size - start : k;
}

/* Outputs [lo, hi) along a dimension whose taps all fall inside [0, size). */
static inline void interior(int out, int stride, int pad, int k, int size, int *lo, int *hi) {
    int l = (pad + stride - 1) / stride, h = size - k + pad; /* need o*s - pad + k <= size */
    h = h < 0 ? 0 : h / stride + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l, *hi = h;
}

/* Depthwise output rows per band over c channels: the band's input rows (band s + k of them)
 * within ~256 KiB, so that they stay in L2 while every channel group of the band runs. */
static inline int dw_band_rows(const emoti_window *g, size_t c) {
    const size_t in_row = (size_t)g->w * c * sizeof(float);
    const size_t fit = (256u << 10) / (in_row ? in_row : 1);
    return fit > (size_t)g->k ? (int)((fit - (size_t)g->k) / (size_t)g->stride) + 1 : 1;
}

/* The stem (a dense conv over cin channels, weights [k][k][cin][cout]): its taps as offsets in
 * x from a window's top-left input, xoff[t] for tap t = (ky k + kx) cin + ci, and its output
 * columns [*lo, *hi) whose taps are all inside (the others have theirs clipped). When the taps do
 * not fit in CONV_MAX_TAPS the interior is empty: every pixel is then clipped. */
#define CONV_MAX_TAPS (7 * 7 * 8)
static inline void conv_taps(const emoti_window *g, int cin, ptrdiff_t *xoff, int *lo, int *hi) {
    const int k = g->k, taps = k * k * cin, fast = taps <= CONV_MAX_TAPS;
    for (int t = 0; fast && t < taps; t++) {
        const int ky = t / (k * cin), kx = t / cin % k, ci = t % cin;
        xoff[t] = ((ptrdiff_t)ky * g->w + kx) * cin + ci;
    }
    interior(g->ow, g->stride, g->pad_left, k, g->w, lo, hi);
    if (!fast) *lo = *hi = 0; /* every pixel through the bounds-checked path */
}

#endif
