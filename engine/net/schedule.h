/* How the layers of the forward pass run on the threads: a few verbs, each computing what one
 * kernel call over the whole layer computes, bitwise, for any thread count. They differ from
 * that call only in which thread computes which rows or columns, and in what order: every output
 * value comes from the same kernel code on the same data (kernels.h), and the only cross-row sum
 * (the SE pool) is left per row for the caller to add up in row order.
 * engine/net/schedule.c holds the splits (bands of rows, of columns, work sharing) and the fusion
 * of the expansion with the depthwise conv. */
#ifndef EMOTI_SCHEDULE_H
#define EMOTI_SCHEDULE_H

#include <stddef.h>

#include "kernels.h"

typedef struct {
    const emoti_kernels *kern;
    int threads; /* >= 1; more than 1 only in OpenMP builds */
} emoti_team;

/* Rows a thread claims at a time in emoti_team_gemm: the kernels' row block, for each of which a
 * GEMM with wscale makes its scaled copy of the weights. */
enum { EMOTI_TEAM_ROW_CHUNK = 120 };

/* f32_gemm (kernels.h) over y [m][n] (row stride n), rows or columns split among the threads. */
void emoti_team_gemm(const emoti_team *t, size_t m, size_t n, size_t k, const float *a,
                     const float *w, const float *wscale, const float *bias, const float *res,
                     float *y, emoti_act act);

/* y[cols] += x[rows] w[rows][cols] in double (f64_gemv; w's row stride cols), the columns split. */
void emoti_team_gemv(const emoti_team *t, size_t rows, size_t cols, const double *x,
                     const float *w, double *y);

/* x[rows][cols] *= s[cols] (f32_scale_cols), the rows split. */
void emoti_team_scale_cols(const emoti_team *t, size_t rows, size_t cols, float *x,
                           const float *s);

/* Dense conv + Swish (f32_conv_swish, the stem): x [g.h][g.w][cin] -> y [g.oh][g.ow][cout], by
 * output rows. */
void emoti_team_conv_swish(const emoti_team *t, const emoti_window *g, int cin, int cout,
                           const float *x, const float *w, const float *bias, float *y);

/* A depthwise conv + Swish layer over c channels: -> y [g.oh][g.ow][c], and row_sums [g.oh][c]
 * the channel sums of each output row (the SE squeeze). */
typedef struct {
    const emoti_window *g;
    int c;
    const float *w, *bias; /* [k][k][c], [c] */
    float *y, *row_sums;
} emoti_dw_layer;

/* dw over x [g.h][g.w][c], by output rows. */
void emoti_team_dwconv_swish(const emoti_team *t, const emoti_dw_layer *dw, const float *x);

/* A 1x1 expansion + Swish, in -> dw.c channels, into expanded (room for [g.h][g.w][dw.c]). */
typedef struct {
    int in;
    const float *w, *bias; /* in x dw.c in 16-column strips (kernels.h), [dw.c] */
    float *expanded;
} emoti_expand_layer;

/* x [g.h][g.w][in] -> expansion -> depthwise -> dw.y, dw.row_sums. Large expanded tensors are
 * not written whole: each thread expands its slice of rows a chunk at a time, just before the
 * depthwise rows that read it (one thread: into a window that slides down `expanded`). The
 * contents of `expanded` afterwards are unspecified. */
void emoti_team_expand_dwconv(const emoti_team *t, const emoti_expand_layer *e,
                              const emoti_dw_layer *dw, const float *x);

#endif
