/* What the SIMD GEMMs (kernels/avx2.c, avx512.c, neon.c) share: the loop nest over k blocks, row
 * blocks and panels (gemm_blocks), the modes of a tile, the arguments of one panel, the split of
 * a panel's rows into tiles (BALANCED_PANEL, ONE_HEIGHT_PANEL, gemm_short_tile) and the path for
 * an activation before a residual (gemm_entry). An ISA brings its tiles and what it does to a
 * panel's weights (a copy scaled by the SE gate, or packed for its tiles).
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
 * kernel compile only its tall tiles, or only even heights. Rare, so kept out of line. */
__attribute__((noinline, unused)) static void
gemm_short_tile(panel_fn *panel, size_t min_rows, const panel_args *pa, size_t mr, const float *a,
                float *y, const float *res) {
    _Alignas(64) float ap[SHORT_TILE_MAX_ROWS * KC];
    _Alignas(64) float yp[SHORT_TILE_MAX_ROWS * NR], rp[SHORT_TILE_MAX_ROWS * NR];
    const size_t kc = pa->kc, nc = pa->ncols;
    const size_t pad = min_rows - mr; /* rows of zeros; the valid rows' copies fill the rest */
    memset(ap + mr * kc, 0, pad * kc * sizeof *ap);
    memset(yp + mr * NR, 0, pad * NR * sizeof *yp), memset(rp + mr * NR, 0, pad * NR * sizeof *rp);
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

/* NAME(pa, mc, a, y, res): all mc rows of a panel in tiles of at most MR_ rows, as even as
 * possible, each a multiple of STEP rows: 49 rows go as 5 x 10 rather than 4 x 12 + 1 (MR_ = 12,
 * STEP = 1), or as 10, 10, 10, 10, 9 with STEP = 2 (rows past the last whole STEP go with the
 * last tile). CASES holds a `case R: ...; break;` running one tile for every multiple R of STEP
 * from MIN_ROWS (itself one) to MR_, each an unrolled copy of the tile: only those are
 * compiled. Any other height (fewer than MIN_ROWS rows, or not a multiple of STEP) runs padded
 * to the next compiled one through gemm_short_tile. */
#define BALANCED_PANEL(NAME, MR_, MIN_ROWS, STEP, CASES)                                         \
    static void NAME(const panel_args *pa, size_t mc, const float *a, float *y, const float *res) { \
        size_t tiles = (mc + (MR_) - 1) / (MR_), units = mc / (STEP);                           \
        size_t base = units / tiles, extra = units % tiles;                                     \
        for (size_t t = 0; t < tiles; t++) {                                                    \
            size_t mr = (STEP) * (base + (t < extra)) + (t + 1 == tiles ? mc % (STEP) : 0);     \
            switch (mr) {                                                                       \
                CASES                                                                           \
            default:                                                                            \
                gemm_short_tile(NAME, mr < (MIN_ROWS) ? (MIN_ROWS) : mr + (STEP) - mr % (STEP), \
                                pa, mr, a, y, res);                                             \
            }                                                                                   \
            a += mr * pa->lda, y += mr * pa->ldy, res = res ? res + mr * pa->ldr : NULL;        \
        }                                                                                       \
    }

/* The ISA's part of one panel of gemm_blocks: mc rows of a, y and res (already offset) over the
 * kc x ncols block of weights at pa->w (strips, kernels.h; wider panels' next 16 columns pa->w2
 * floats on); wscale: the block's row scales (the SE gate) or NULL. */
typedef void panel_run_fn(panel_args *pa, size_t mc, const float *a, float *y, const float *res,
                          const float *wscale);

/* y = act(a w + bias) (+ res) with explicit strides: k in blocks of KC, rows in blocks of MC
 * (a's MC x KC block stays in L2), columns in panels of NR (the last one narrower), each panel
 * through run. When k > KC the partial sums live in y, so res may alias y only if act is NONE:
 * res is then added with the bias, up front (RES_FIRST), else in the epilogue (RES_LAST). */
__attribute__((always_inline, unused)) static inline void
gemm_blocks(panel_run_fn *run, size_t m, size_t n, size_t k, const float *a, size_t lda,
            const float *w, const float *wscale, const float *bias, const float *res, size_t ldr,
            float *y, size_t ldy, emoti_act act) {
    const int res_early = res && k > KC;
    for (size_t pc = 0; pc < k || pc == 0; pc += KC) { /* k = 0: one pass, y = act(bias) */
        const size_t kc = k - pc < KC ? k - pc : KC;
        int mode = (pc == 0 ? FIRST : 0) | (pc + kc == k ? LAST : 0);
        if (res && (mode & FIRST) && res_early) mode |= RES_FIRST;
        if (res && (mode & LAST) && !res_early) mode |= RES_LAST;
        for (size_t ic = 0; ic < m; ic += MC) {
            const size_t mc = m - ic < MC ? m - ic : MC;
            for (size_t jr = 0; jr < n; jr += NR) {
                const size_t nc = n - jr < NR ? n - jr : NR;
                panel_args pa = {kc, lda, ldy, ldr, nc, w + jr * k + pc * 16, k * 16, bias + jr,
                                 act, mode};
                run(&pa, mc, a + ic * lda + pc, y + ic * ldy + jr,
                    res ? res + ic * ldr + jr : NULL, wscale ? wscale + pc : NULL);
            }
        }
    }
}

/* An ISA's GEMM core: gemm_blocks with its panels. */
typedef void gemm_core_fn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
                          const float *wscale, const float *bias, const float *res, size_t ldr,
                          float *y, size_t ldy, emoti_act act);

/* f32_gemm (kernels.h) on core. act(...) + res with a multi-block k cannot keep its partial sums
 * in y (it may be res): it goes in 64 x NR tiles through scratch, res added from there. Not used
 * by EfficientNet. */
__attribute__((always_inline, unused)) static inline void
gemm_entry(gemm_core_fn *core, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *w,
           const float *wscale, const float *bias, const float *res, float *y, size_t ld,
           emoti_act act) {
    if (!(res && act != EMOTI_ACT_NONE && k > KC)) {
        core(m, n, k, a, lda, w, wscale, bias, res, ld, y, ld, act);
        return;
    }
    _Alignas(64) float tmp[64 * NR];
    for (size_t i = 0; i < m; i += 64) {
        size_t mi = m - i < 64 ? m - i : 64;
        for (size_t j = 0; j < n; j += NR) {
            size_t nj = n - j < NR ? n - j : NR;
            core(mi, nj, k, a + i * lda, lda, w + j * k, wscale, bias + j, NULL, 0, tmp, NR, act);
            for (size_t r = 0; r < mi; r++)
                for (size_t c = 0; c < nj; c++)
                    y[(i + r) * ld + j + c] = tmp[r * NR + c] + res[(i + r) * ld + j + c];
        }
    }
}

#endif
