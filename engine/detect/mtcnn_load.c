/* MTCNN nets, the setup: the layers' shapes, their weights packed for the kernels, the buffers
 * a run needs (built for size: mtcnn.c runs the nets). */
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

int emoti_mtcnn_pnet_size(int h, int w, int *oh, int *ow) {
    *oh = mtcnn_pooled(h - 2, 2, 2) - 4, *ow = mtcnn_pooled(w - 2, 2, 2) - 4;
    return N_OUT[MTCNN_PNET];
}

/* The buffers a batch of n inputs of h x w needs in net (mtcnn.c's run): floats of the larger
 * activation buffer, of the pooling's row buffer and of conv()'s stacked input. */
emoti_status emoti_mtcnn_plan(const emoti_mtcnn *m, int net, int n, int h, int w,
                              mtcnn_buffers *b) {
    if (net < 0 || net >= MTCNN_NETS || (net && (h != SIZE[net] || w != SIZE[net])) || h < 12 ||
        w < 12 || h > 1 << 14 || w > 1 << 14 || n < 1 || (!net && n != 1) || n > 1024)
        return emoti_fail(EMOTI_ERR_ARG, "mtcnn: bad net %d or input %d x %d x %d", net, n, h, w);
    const mtcnn_net *nt = &m->net[net];
    int gh = h, gw = w, c = 3, vh = h, vw = w; /* a VALID conv leaves its grid, shrinks vh, vw */
    b->act = b->row = b->stack = 0;
    for (int i = 0; i < nt->n_layers && nt->layer[i].k; i++) {
        const mtcnn_layer *l = &nt->layer[i];
        const size_t cells = (size_t)n * gh * gw;
        const size_t st = l->stacked ? cells * l->k * l->cin : 0;
        b->stack = st > b->stack ? st : b->stack;
        b->act = cells * l->cout > b->act ? cells * l->cout : b->act;
        c = l->cout, vh -= l->k - 1, vw -= l->k - 1;
        if (l->pool_k) {
            b->row = (size_t)vw * c > b->row ? (size_t)vw * c : b->row;
            gh = vh = mtcnn_pooled(vh, l->pool_k, l->pool_s);
            gw = vw = mtcnn_pooled(vw, l->pool_k, l->pool_s);
        }
    }
    const size_t flat = (size_t)n * vh * vw * c; /* the fc input, made compact */
    b->act = flat > b->act ? flat : b->act;
    return EMOTI_OK;
}

size_t emoti_mtcnn_scratch(const emoti_mtcnn *m, int net, int n, int h, int w) {
    mtcnn_buffers b;
    return emoti_mtcnn_plan(m, net, n, h, w, &b) ? 0 : mtcnn_buffers_floats(&b);
}
