/* What the SIMD GEMMs (kernels/avx2.c, avx512.c, neon.c) share: the modes of a tile, the
 * arguments of one panel and gemm_short_tile.
 * Include it after defining KC (the k block), MC (the row block) and NR (the widest panel). */
#ifndef EMOTI_GEMM_PANEL_H
#define EMOTI_GEMM_PANEL_H

#include <stddef.h>
#include <string.h>

#include "kernels.h"

/* FIRST: the first k block (start from the bias), LAST: the last one (epilogue);
 * RES_FIRST / RES_LAST: add the residual with the bias / in the epilogue. */
enum { FIRST = 1, LAST = 2, RES_FIRST = 4, RES_LAST = 8 };

typedef struct {
    size_t kc, lda, ldy, ldr, ncols; /* ncols: valid columns of this panel (1..its width) */
    const float *w;                  /* the panel's first 16 columns: kc rows of 16 floats */
    size_t w2;                       /* floats from there to the next 16 (wider panels) */
    const float *bias;               /* at this panel's first column */
    emoti_act act;
    int mode;
} panel_args;

/* All mc rows of one panel. */
typedef void panel_fn(const panel_args *pa, size_t mc, const float *a, float *y, const float *res);

#define SHORT_TILE_MAX_ROWS 12

/* mr < min_rows (<= SHORT_TILE_MAX_ROWS) rows as one tile of min_rows through zero-padded
 * copies of a, y (the partial sums without FIRST) and res; the valid rows are copied back.
 * Row arithmetic is per row, so the padding does not change the mr rows' results. Lets a
 * kernel compile only its tall tiles. Rare, so kept out of line. */
__attribute__((noinline, unused)) static void
gemm_short_tile(panel_fn *panel, size_t min_rows, const panel_args *pa, size_t mr, const float *a,
                float *y, const float *res) {
    _Alignas(64) float ap[SHORT_TILE_MAX_ROWS * KC];
    _Alignas(64) float yp[SHORT_TILE_MAX_ROWS * NR], rp[SHORT_TILE_MAX_ROWS * NR];
    const size_t kc = pa->kc, nc = pa->ncols;
    memset(ap, 0, sizeof ap), memset(yp, 0, sizeof yp), memset(rp, 0, sizeof rp);
    for (size_t r = 0; r < mr; r++) {
        memcpy(ap + r * kc, a + r * pa->lda, kc * sizeof *a);
        if (!(pa->mode & FIRST)) memcpy(yp + r * NR, y + r * pa->ldy, nc * sizeof *y);
        if (res) memcpy(rp + r * NR, res + r * pa->ldr, nc * sizeof *res);
    }
    panel_args padded = *pa;
    padded.lda = kc, padded.ldy = padded.ldr = NR;
    panel(&padded, min_rows, ap, yp, res ? rp : NULL);
    for (size_t r = 0; r < mr; r++) memcpy(y + r * pa->ldy, yp + r * NR, nc * sizeof *y);
}

/* NAME(pa, mc, a, y, res): all mc rows of a panel in tiles of exactly R rows (TILE(pa, a, y,
 * res) runs one), the last few through gemm_short_tile. For the narrow last panel of a layer:
 * one tile height compiled instead of R / 2 .. R (binary size), and MC = 120 is a multiple of
 * every R used, so only a layer's last row block pads. */
#define ONE_HEIGHT_PANEL(NAME, R, TILE)                                                          \
    static void NAME(const panel_args *pa, size_t mc, const float *a, float *y, const float *res) { \
        for (; mc >= (R); mc -= (R)) {                                                          \
            TILE(pa, a, y, res);                                                                \
            a += (R) * pa->lda, y += (R) * pa->ldy, res = res ? res + (R) * pa->ldr : NULL;     \
        }                                                                                       \
        if (mc) gemm_short_tile(NAME, (R), pa, mc, a, y, res);                                  \
    }

#endif
