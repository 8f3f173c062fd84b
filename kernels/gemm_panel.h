/* What the SIMD GEMMs (kernels/avx2.c, avx512.c, neon.c) share: the modes of a tile, the
 * arguments of one packed panel, the prefetching of the next panel and gemm_short_tile.
 * Include it after defining KC (the k block), MC (the row block) and NR (the widest panel). */
#ifndef EMOTI_GEMM_PANEL_H
#define EMOTI_GEMM_PANEL_H

#include <stddef.h>
#include <string.h>

/* FIRST: the first k block (start from the bias), LAST: the last one (epilogue);
 * RES_FIRST / RES_LAST: add the residual with the bias / in the epilogue. */
enum { FIRST = 1, LAST = 2, RES_FIRST = 4, RES_LAST = 8 };

typedef struct {
    size_t kc, lda, ldy, ldr, ncols; /* ncols: valid columns of this panel (1..its width) */
    const float *w;                  /* packed panel: kc x width, row stride = width */
    const float *bias;               /* at this panel's first column */
    int act, mode;
    const float *pf;                 /* rows of w to prefetch into L2 meanwhile (NULL: none): */
    size_t pf_rows, pf_ld, pf_cols;  /* the next panel's, pf_ld floats apart, pf_cols wide */
} panel_args;

/* All mc rows of one panel. */
typedef void panel_fn(const panel_args *pa, size_t mc, const float *a, float *y, const float *res);

/* ---- Prefetching the next panel. In the late layers the weights come from memory a panel
 * row (64 or 128 bytes) at a time, rows ldw floats apart: too scattered for the hardware
 * prefetchers. So while a panel computes, its tiles pull the next panel's rows into L2, each
 * tile its share, a few rows per k sub-block (spread out: a burst would stall on the line
 * fill buffers). */

/* pa->pf / pf_rows / pf_ld: the panel after the one at (pc, ic, jr) in gemm_core's loop order
 * (k blocks, then row blocks, then panels), or none. */
static inline void next_panel(panel_args *pa, const float *w, size_t ldw, size_t m, size_t n,
                              size_t k, size_t pc, size_t ic, size_t jr) {
    size_t j = jr + NR;
    pa->pf = NULL, pa->pf_rows = 0, pa->pf_ld = ldw;
    if (j < n) {
        pa->pf = w + pc * ldw + j, pa->pf_rows = pa->kc;
    } else if (ic + MC >= m && pc + KC < k) { /* (next row block: the same weights, in L2) */
        j = 0, pa->pf = w + (pc + KC) * ldw, pa->pf_rows = k - pc - KC < KC ? k - pc - KC : KC;
    }
    pa->pf_cols = n - j < NR ? n - j : NR; /* (no address past the matrix) */
}

/* Tile t of `tiles`: its share of the rows to prefetch. */
static inline void tile_share(panel_args *tp, const panel_args *pa, size_t t, size_t tiles) {
    const size_t r0 = pa->pf_rows * t / tiles, r1 = pa->pf_rows * (t + 1) / tiles;
    tp->pf = pa->pf && r1 > r0 ? pa->pf + r0 * pa->pf_ld : NULL, tp->pf_rows = r1 - r0;
}

typedef struct {
    const char *p;
    size_t left, step, ld, bytes; /* rows left, rows per sub-block, bytes between rows, per row */
} prefetcher;

static inline prefetcher prefetch_start(const panel_args *pa, size_t kc, size_t kb) {
    const size_t subs = kc ? (kc + kb - 1) / kb : 1, rows = pa->pf ? pa->pf_rows : 0;
    return (prefetcher){(const char *)pa->pf, rows, (rows + subs - 1) / subs,
                        pa->pf_ld * sizeof(float), pa->pf_cols * sizeof(float)};
}

/* One sub-block's rows into L2 (locality 2: T1 on x86), a line at a time. */
static inline void prefetch_some(prefetcher *f) {
    for (size_t i = 0; i < f->step && f->left; i++, f->left--) {
        for (size_t b = 0; b < f->bytes; b += 64) __builtin_prefetch(f->p + b, 0, 2);
        if (f->left > 1) f->p += f->ld; /* (no pointer past the last row) */
    }
}

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
        panel_args tp = *pa;                                                                    \
        const size_t tiles = (mc + (R) - 1) / (R);                                              \
        for (size_t t = 0; mc >= (R); mc -= (R), t++) {                                          \
            tile_share(&tp, pa, t, tiles);                                                      \
            TILE(&tp, a, y, res);                                                               \
            a += (R) * pa->lda, y += (R) * pa->ldy, res = res ? res + (R) * pa->ldr : NULL;     \
        }                                                                                       \
        tile_share(&tp, pa, tiles - 1, tiles);                                                  \
        if (mc) gemm_short_tile(NAME, (R), &tp, mc, a, y, res);                                 \
    }

#endif
