/* MTCNN nets, the run: VALID k x k convs as GEMMs over the input stacked by kernel rows, PReLU,
 * Caffe ceil-mode max-pooling, fully connected layers, a 2-way softmax; a batch of inputs at
 * once (the weights and shapes: mtcnn_load.c). */
#include "mtcnn.h"

#include <math.h>
#include <string.h>

#include "error.h"

/* A batch of n maps on a grid of h x w cells with c channels, of which the top-left vh x vw are
 * valid (a VALID conv computed in place over the whole grid leaves its last k - 1 rows and
 * columns meaningless); rows: how many cells from the start were computed. */
typedef struct {
    int n, h, w, c, vh, vw;
    size_t rows;
} grid;

/* Branch-free (the sign of an activation is unpredictable) and vectorisable: for x > 0 it is
 * x + alpha * 0, else 0 + alpha * x, each exactly the PReLU. Runs of 16 cells against alpha16. */
static void prelu(float *restrict x, size_t cells, int c, const float *restrict alpha16) {
    const size_t run = 16 * (size_t)c, total = cells * (size_t)c;
    for (size_t i0 = 0; i0 < total; i0 += run) {
        float *restrict p = x + i0;
        const size_t len = total - i0 < run ? total - i0 : run;
        for (size_t j = 0; j < len; j++) {
            const float v = p[j], pos = v > 0 ? v : 0, neg = v < 0 ? v : 0;
            p[j] = pos + alpha16[j] * neg;
        }
    }
}

/* Caffe ceil-mode max-pooling of the valid part of each map into compact [ph][pw][c] maps: the
 * window's rows first (whole rows of vw * c floats, vectorised), then its columns. */
static void maxpool(const grid *g, int k, int s, const float *restrict x, float *restrict rowmax,
                    float *restrict y) {
    const int oh = mtcnn_pooled(g->vh, k, s), ow = mtcnn_pooled(g->vw, k, s), c = g->c;
    const size_t row = (size_t)g->vw * c;
    for (int b = 0; b < g->n; b++) {
        const float *xb = x + (size_t)b * g->h * g->w * c;
        for (int i = 0; i < oh; i++) {
            const float *restrict r0 = xb + (size_t)i * s * g->w * c;
            memcpy(rowmax, r0, sizeof(float) * row);
            for (int a = i * s + 1; a < i * s + k && a < g->vh; a++) {
                const float *restrict r = xb + (size_t)a * g->w * c;
                for (size_t t = 0; t < row; t++) rowmax[t] = r[t] > rowmax[t] ? r[t] : rowmax[t];
            }
            for (int j = 0; j < ow; j++) {
                float *restrict o = y + (((size_t)b * oh + i) * ow + j) * c;
                memcpy(o, rowmax + (size_t)j * s * c, sizeof(float) * c);
                for (int e = j * s + 1; e < j * s + k && e < g->vw; e++) {
                    const float *restrict p = rowmax + (size_t)e * c;
                    for (int ch = 0; ch < c; ch++) o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
                }
            }
        }
    }
}

/* VALID k x k convs over the whole grid. Cell r's taps in kernel row a are the k cin floats
 * from cell r + a w on. Both compute the first rows cells, those whose taps lie in what the
 * previous layer computed, which every valid output is among. */
static size_t conv_cells(const grid *g, int k) {
    return (size_t)(g->n - 1) * g->h * g->w + (size_t)(g->vh - k) * g->w + (size_t)(g->vw - k + 1);
}

/* k GEMMs over A = x + a w cin (row stride cin, rows overlapping), accumulated in y. */
static void conv_rows(const emoti_kernels *kern, const mtcnn_layer *l, const float *zeros,
                      const float *x, const grid *g, size_t rows, float *y) {
    const size_t cin = (size_t)l->cin, kc = (size_t)l->k * cin, cout = (size_t)l->cout;
    for (int a = 0; a < l->k; a++)
        kern->f32_gemm(rows, cout, kc, x + (size_t)a * g->w * cin, cin, l->w + a * l->w_stride,
                       NULL, a ? zeros : l->b, a ? y : NULL, y, cout, EMOTI_ACT_NONE);
}

/* The input stacked by kernel rows, st[r] = x[r], x[r + w], .. x[r + (k - 1) w] (k cin
 * floats), holds all k k cin taps of cell r in the run from st + r k cin: one GEMM over A = st
 * (row stride k cin), a third of im2col's copy. For few channels, where conv_rows's GEMMs
 * (k = 3 cin) spend more on adding their partial sums than on their products. */
static void conv_stacked(const emoti_kernels *kern, const mtcnn_layer *l, const float *x,
                         const grid *g, size_t rows, float *restrict st, float *y) {
    const size_t cin = (size_t)l->cin, kc = (size_t)l->k * cin, cells = rows + (size_t)l->k - 1;
    for (int a = 0; a < l->k; a++) {
        const float *restrict src = x + (size_t)a * g->w * cin;
        float *restrict dst = st + (size_t)a * cin;
        for (size_t r = 0; r < cells; r++)
            for (size_t c = 0; c < cin; c++) dst[r * kc + c] = src[r * cin + c];
    }
    kern->f32_gemm(rows, (size_t)l->cout, (size_t)l->k * kc, st, kc, l->w, NULL, l->b, NULL, y,
                   (size_t)l->cout, EMOTI_ACT_NONE);
}

static void conv(const emoti_kernels *kern, const mtcnn_net *n, const mtcnn_layer *l,
                 const float *x, grid *g, float *st, float *y) {
    const size_t rows = conv_cells(g, l->k);
    if (l->stacked) conv_stacked(kern, l, x, g, rows, st, y);
    else conv_rows(kern, l, n->zeros, x, g, rows, y);
    g->c = l->cout, g->vh -= l->k - 1, g->vw -= l->k - 1, g->rows = rows;
}

/* The valid part of each map of g, compact: [n][vh][vw][c]. */
static void compact(const grid *g, const float *x, float *y) {
    const size_t row = (size_t)g->vw * g->c;
    for (int b = 0; b < g->n; b++)
        for (int i = 0; i < g->vh; i++)
            memcpy(y + ((size_t)b * g->vh + i) * row,
                   x + ((size_t)b * g->h + i) * g->w * g->c, sizeof(float) * row);
}

/* The heads over the valid cells of g (in cur), then the softmax of the two face logits. */
static void heads(const emoti_kernels *kern, const mtcnn_net *n, const grid *g, const float *cur,
                  float *out) {
    const size_t c = (size_t)g->c, no = (size_t)n->n_out, pos = (size_t)g->n * g->vh * g->vw;
    if (g->h == g->vh && g->w == g->vw) /* compact: one GEMM */
        kern->f32_gemm(pos, no, c, cur, c, n->head_w, NULL, n->head_b, NULL, out, no,
                       EMOTI_ACT_NONE);
    else /* a row of valid cells at a time */
        for (int b = 0; b < g->n; b++)
            for (int i = 0; i < g->vh; i++)
                kern->f32_gemm((size_t)g->vw, no, c, cur + (((size_t)b * g->h + i) * g->w) * c, c,
                               n->head_w, NULL, n->head_b, NULL,
                               out + (((size_t)b * g->vh + i) * g->vw) * no, no, EMOTI_ACT_NONE);
    for (size_t i = 0; i < pos; i++) {
        float *p = out + i * no;
        const double e = exp((double)p[0] - p[1]);
        p[0] = (float)(e / (1 + e)), p[1] = (float)(1 / (1 + e));
    }
}

emoti_status emoti_mtcnn_run(const emoti_mtcnn *m, const emoti_kernels *kern, int net,
                             const float *x, int n, int h, int w, float *scratch,
                             size_t scratch_floats, float *out) {
    mtcnn_buffers b;
    emoti_status status = emoti_mtcnn_plan(m, net, n, h, w, &b);
    if (status) return status;
    if (scratch_floats < mtcnn_buffers_floats(&b))
        return emoti_fail(EMOTI_ERR_ARG, "mtcnn: scratch of %zu floats, %zu needed", scratch_floats,
                          mtcnn_buffers_floats(&b));
    const mtcnn_net *nt = &m->net[net];
    float *buf[2] = {scratch, scratch + b.act}, *rowmax = scratch + 2 * b.act, *st = rowmax + b.row;
    const float *cur = x;
    int next = 0; /* the buffer not holding cur */
    grid g = {n, h, w, 3, h, w, (size_t)n * h * w};
    for (int i = 0; i < nt->n_layers; i++) {
        const mtcnn_layer *l = &nt->layer[i];
        float *y = buf[next];
        if (!l->k) { /* fully connected: the valid cells of each map, compact, as one row */
            if (g.h != g.vh || g.w != g.vw) compact(&g, cur, y), cur = y, next ^= 1, y = buf[next];
            kern->f32_gemm((size_t)n, (size_t)l->cout, (size_t)l->cin, cur, (size_t)l->cin, l->w,
                           NULL, l->b, NULL, y, (size_t)l->cout, EMOTI_ACT_NONE);
            g = (grid){n, 1, 1, l->cout, 1, 1, (size_t)n};
            prelu(y, (size_t)n, l->cout, l->alpha16);
        } else {
            conv(kern, nt, l, cur, &g, st, y);
            if (l->pool_k) {
                float *p = buf[next ^ 1];
                if (!l->pool_first) prelu(y, g.rows, g.c, l->alpha16);
                maxpool(&g, l->pool_k, l->pool_s, y, rowmax, p);
                g.h = g.vh = mtcnn_pooled(g.vh, l->pool_k, l->pool_s);
                g.w = g.vw = mtcnn_pooled(g.vw, l->pool_k, l->pool_s);
                g.rows = (size_t)n * g.h * g.w;
                if (l->pool_first) prelu(p, g.rows, g.c, l->alpha16);
                y = p, next ^= 1;
            } else {
                prelu(y, g.rows, g.c, l->alpha16);
            }
        }
        cur = y, next ^= 1;
    }
    heads(kern, nt, &g, cur, out);
    return EMOTI_OK;
}
