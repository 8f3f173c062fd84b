/* MTCNN nets: VALID k x k convs as GEMMs over the input stacked by kernel rows, PReLU, Caffe ceil-mode
 * max-pooling, fully connected layers, a 2-way softmax; a batch of inputs at once. */
#include "mtcnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Convs over at most this many input channels go through conv_stacked. */
#ifndef STACK_MAX_CIN
#define STACK_MAX_CIN 3
#endif

/* Trunk layers: cout, k (0: fully connected), pool kernel, pool stride (0: no pool). */
static const short SPEC[MTCNN_NETS][6][4] = {
    {{10, 3, 2, 2}, {16, 3, 0, 0}, {32, 3, 0, 0}},
    {{28, 3, 3, 2}, {48, 3, 3, 2}, {64, 2, 0, 0}, {128, 0, 0, 0}},
    {{32, 3, 3, 2}, {64, 3, 3, 2}, {64, 3, 2, 2}, {128, 2, 0, 0}, {256, 0, 0, 0}},
};
static const char *const NAMES[MTCNN_NETS] = {"pnet", "rnet", "onet"};
static const int N_OUT[MTCNN_NETS] = {6, 6, 16}, SIZE[MTCNN_NETS] = {12, 24, 48};

static emoti_status tensor(const emoti_container *c, const char *net, const char *layer,
                           const char *kind, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3,
                           const float **out) {
    char name[48];
    snprintf(name, sizeof name, "%s.%s.%s", net, layer, kind);
    const uint32_t dims[5] = {d0, d1, d2, d3, 0};
    return emoti_tensor_get(c, name, dims, out);
}

/* [cout][k][k][cin] (OHWI; fc and heads: k = 1) -> strips (kernels.h) of the [k k cin][cout]
 * matrix. Stacked (conv_stacked): one matrix, rows in (column, row, channel) order; else
 * (conv_rows) k matrices [k cin][cout], one per kernel row, *w_stride floats apart. */
static float *pack(const float *w, int cout, int k, int cin, int stacked, size_t *w_stride) {
    const size_t rows = (size_t)k * k * cin, pieces = stacked ? 1 : (size_t)k;
    *w_stride = emoti_strips_floats(rows / pieces, (size_t)cout);
    float *t = malloc(sizeof(float) * rows * (size_t)cout);
    float *s = malloc(sizeof(float) * *w_stride * pieces);
    if (t && s) {
        for (int o = 0; o < cout; o++)
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++)
                    for (int c = 0; c < cin; c++) {
                        const size_t r = stacked ? ((size_t)b * k + a) * cin + c
                                                 : ((size_t)a * k + b) * cin + c;
                        t[r * cout + o] = w[(((size_t)o * k + a) * k + b) * cin + c];
                    }
        for (size_t i = 0; i < pieces; i++)
            emoti_strips_pack(rows / pieces, (size_t)cout, t + i * (rows / pieces) * cout,
                              (size_t)cout, s + i * *w_stride);
    }
    free(t);
    if (!t) free(s), s = NULL;
    return s;
}

static emoti_status init_layer(mtcnn_layer *l, const emoti_container *c, const char *nm,
                               const char *layer, const float *w) {
    const int fc = !l->k;
    emoti_status st = tensor(c, nm, layer, "b", (uint32_t)l->cout, 0, 0, 0, &l->b);
    if (!st) st = tensor(c, nm, layer, "alpha", (uint32_t)l->cout, 0, 0, 0, &l->alpha);
    if (st) return st;
    l->pool_first = 1;
    for (int o = 0; o < l->cout; o++) l->pool_first &= l->alpha[o] >= 0;
    l->alpha16 = malloc(sizeof(float) * 16 * (size_t)l->cout);
    l->stacked = !fc && l->cin <= STACK_MAX_CIN;
    l->w = pack(w, l->cout, fc ? 1 : l->k, l->cin, l->stacked, &l->w_stride);
    if (!l->alpha16 || !l->w) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory packing %s", nm);
    for (int i = 0; i < 16 * l->cout; i++) l->alpha16[i] = l->alpha[i % l->cout];
    return EMOTI_OK;
}

static emoti_status init_net(mtcnn_net *n, int net, const emoti_container *c) {
    const char *nm = NAMES[net];
    int cin = 3, side = SIZE[net], convs = 0, fcs = 0;
    emoti_status st = EMOTI_OK;
    for (int i = 0; !st && SPEC[net][i][0]; i++) {
        mtcnn_layer *l = &n->layer[n->n_layers++];
        const int cout = SPEC[net][i][0], k = SPEC[net][i][1], fc = !k;
        char layer[16];
        const float *w;
        snprintf(layer, sizeof layer, fc ? "fc%d" : "conv%d", fc ? ++fcs : ++convs);
        l->cout = cout, l->k = fc ? 0 : k, l->pool_k = SPEC[net][i][2], l->pool_s = SPEC[net][i][3];
        if (fc) {
            l->cin = cin * side * side, side = 1;
            st = tensor(c, nm, layer, "w", (uint32_t)cout, (uint32_t)l->cin, 0, 0, &w);
        } else {
            l->cin = cin, side -= k - 1;
            if (l->pool_k) side = (side - l->pool_k + l->pool_s - 1) / l->pool_s + 1;
            st = tensor(c, nm, layer, "w", (uint32_t)cout, (uint32_t)k, (uint32_t)k,
                        (uint32_t)cin, &w);
        }
        if (!st) st = init_layer(l, c, nm, layer, w);
        cin = cout;
    }
    /* The heads: one matrix, columns prob | box | landmarks. */
    static const char *const HEADS[3] = {"prob", "box", "landmarks"};
    static const int WIDTH[3] = {2, 4, 10};
    n->n_out = N_OUT[net];
    n->zeros = calloc(256, sizeof(float));
    float *hw = malloc(sizeof(float) * (size_t)cin * (size_t)n->n_out);
    n->head_b = malloc(sizeof(float) * (size_t)n->n_out);
    if (!st && (!hw || !n->head_b || !n->zeros)) st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    for (int h = 0, col = 0; !st && col < n->n_out; col += WIDTH[h++]) {
        const float *w, *b;
        const uint32_t o = (uint32_t)WIDTH[h], in = (uint32_t)cin;
        st = net == MTCNN_PNET ? tensor(c, nm, HEADS[h], "w", o, 1, 1, in, &w)
                               : tensor(c, nm, HEADS[h], "w", o, in, 0, 0, &w);
        if (!st) st = tensor(c, nm, HEADS[h], "b", o, 0, 0, 0, &b);
        if (!st) memcpy(hw + (size_t)col * cin, w, sizeof(float) * o * in);
        if (!st) memcpy(n->head_b + col, b, sizeof(float) * o);
    }
    size_t unused;
    if (!st && !(n->head_w = pack(hw, n->n_out, 1, cin, 1, &unused)))
        st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    free(hw);
    return st;
}

emoti_status emoti_mtcnn_init(emoti_mtcnn *m, const emoti_container *c) {
    memset(m, 0, sizeof *m);
    const char *arch;
    uint32_t len;
    emoti_status st = emoti_meta_str(c, "general.arch", &arch, &len);
    if (!st && (len != 5 || memcmp(arch, "mtcnn", 5)))
        st = emoti_fail(EMOTI_ERR_UNSUPPORTED, "architecture '%.*s' is not mtcnn", (int)len, arch);
    for (int i = 0; !st && i < MTCNN_NETS; i++) st = init_net(&m->net[i], i, c);
    if (st) emoti_mtcnn_free(m);
    return st;
}

void emoti_mtcnn_free(emoti_mtcnn *m) {
    for (int i = 0; i < MTCNN_NETS; i++) {
        for (int l = 0; l < m->net[i].n_layers; l++)
            free(m->net[i].layer[l].w), free(m->net[i].layer[l].alpha16);
        free(m->net[i].head_w), free(m->net[i].zeros);
        free(m->net[i].head_b);
    }
    memset(m, 0, sizeof *m);
}

/* Ceil-mode pooled size (Caffe): windows start inside the input, clipped at its end. */
static int pooled(int n, int k, int s) { return n <= k ? 1 : (n - k + s - 1) / s + 1; }

int emoti_mtcnn_pnet_size(int h, int w, int *oh, int *ow) {
    *oh = pooled(h - 2, 2, 2) - 4, *ow = pooled(w - 2, 2, 2) - 4;
    return N_OUT[MTCNN_PNET];
}

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
    const int oh = pooled(g->vh, k, s), ow = pooled(g->vw, k, s), c = g->c;
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

/* The shapes a batch of n goes through: floats of the larger activation buffer, of the
 * pooling's row buffer and of conv()'s stacked input. */
static void plan(const mtcnn_net *net, int n, int h, int w, size_t *act, size_t *row,
                 size_t *stack) {
    grid g = {n, h, w, 3, h, w, (size_t)n * h * w};
    *act = *row = *stack = 0;
    for (int i = 0; i < net->n_layers && net->layer[i].k; i++) {
        const mtcnn_layer *l = &net->layer[i];
        const size_t full = (size_t)g.n * g.h * g.w * l->cout;
        const size_t st = l->stacked ? (size_t)g.n * g.h * g.w * l->k * l->cin : 0;
        *stack = st > *stack ? st : *stack;
        g.c = l->cout, g.vh -= l->k - 1, g.vw -= l->k - 1;
        *act = full > *act ? full : *act;
        if (l->pool_k) {
            *row = (size_t)g.vw * g.c > *row ? (size_t)g.vw * g.c : *row;
            g.h = g.vh = pooled(g.vh, l->pool_k, l->pool_s);
            g.w = g.vw = pooled(g.vw, l->pool_k, l->pool_s);
        }
    }
    const size_t flat = (size_t)g.n * g.vh * g.vw * g.c; /* the fc input, made compact */
    *act = flat > *act ? flat : *act;
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

size_t emoti_mtcnn_scratch(const emoti_mtcnn *m, int net, int n, int h, int w) {
    size_t act, row, stack;
    plan(&m->net[net], n, h, w, &act, &row, &stack);
    return 2 * act + row + stack;
}

emoti_status emoti_mtcnn_run(const emoti_mtcnn *m, const emoti_kernels *kern, int net,
                             const float *x, int n, int h, int w, float *scratch,
                             size_t scratch_floats, float *out) {
    if (net < 0 || net >= MTCNN_NETS || (net && (h != SIZE[net] || w != SIZE[net])) || h < 12 ||
        w < 12 || h > 1 << 14 || w > 1 << 14 || n < 1 || (!net && n != 1) || n > 1024)
        return emoti_fail(EMOTI_ERR_ARG, "mtcnn: bad net %d or input %d x %d x %d", net, n, h, w);
    const mtcnn_net *nt = &m->net[net];
    size_t act, row, stack;
    plan(nt, n, h, w, &act, &row, &stack);
    if (scratch_floats < 2 * act + row + stack)
        return emoti_fail(EMOTI_ERR_ARG, "mtcnn: scratch of %zu floats, %zu needed", scratch_floats,
                          2 * act + row + stack);
    float *buf[2] = {scratch, scratch + act}, *rowmax = scratch + 2 * act, *st = rowmax + row;
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
                g.h = g.vh = pooled(g.vh, l->pool_k, l->pool_s);
                g.w = g.vw = pooled(g.vw, l->pool_k, l->pool_s);
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
