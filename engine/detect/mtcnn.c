/* MTCNN nets: VALID k x k convs as im2col rows through the GEMM kernel, PReLU, Caffe
 * ceil-mode max-pooling, fully connected layers, a 2-way softmax. */
#include "mtcnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

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

/* [cout][k][k][cin] (OHWI) or [cout][cin] -> strips of the [k k cin][cout] matrix. */
static float *pack(const float *w, int cout, int rows) {
    float *t = malloc(sizeof(float) * (size_t)rows * (size_t)cout);
    float *s = malloc(sizeof(float) * emoti_strips_floats((size_t)rows, (size_t)cout));
    if (t && s) {
        for (int o = 0; o < cout; o++)
            for (int r = 0; r < rows; r++) t[(size_t)r * cout + o] = w[(size_t)o * rows + r];
        emoti_strips_pack((size_t)rows, (size_t)cout, t, (size_t)cout, s);
    }
    free(t);
    if (!t) free(s), s = NULL;
    return s;
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
        if (!st) st = tensor(c, nm, layer, "b", (uint32_t)cout, 0, 0, 0, &l->b);
        if (!st) st = tensor(c, nm, layer, "alpha", (uint32_t)cout, 0, 0, 0, &l->alpha);
        if (!st && !(l->w = pack(w, cout, fc ? l->cin : k * k * cin)))
            st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory packing %s", nm);
        cin = cout;
    }
    /* The heads: one matrix, columns prob | box | landmarks. */
    static const char *const HEADS[3] = {"prob", "box", "landmarks"};
    static const int WIDTH[3] = {2, 4, 10};
    n->n_out = N_OUT[net];
    float *hw = malloc(sizeof(float) * (size_t)cin * (size_t)n->n_out);
    n->head_b = malloc(sizeof(float) * (size_t)n->n_out);
    if (!st && (!hw || !n->head_b)) st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    for (int h = 0, col = 0; !st && col < n->n_out; col += WIDTH[h++]) {
        const float *w, *b;
        const uint32_t o = (uint32_t)WIDTH[h], in = (uint32_t)cin;
        st = net == MTCNN_PNET ? tensor(c, nm, HEADS[h], "w", o, 1, 1, in, &w)
                               : tensor(c, nm, HEADS[h], "w", o, in, 0, 0, &w);
        if (!st) st = tensor(c, nm, HEADS[h], "b", o, 0, 0, 0, &b);
        if (!st) memcpy(hw + (size_t)col * cin, w, sizeof(float) * o * in);
        if (!st) memcpy(n->head_b + col, b, sizeof(float) * o);
    }
    if (!st && !(n->head_w = pack(hw, n->n_out, cin)))
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
        for (int l = 0; l < m->net[i].n_layers; l++) free(m->net[i].layer[l].w);
        free(m->net[i].head_w);
        free(m->net[i].head_b);
    }
    free(m->arena);
    memset(m, 0, sizeof *m);
}

/* Ceil-mode pooled size (Caffe): windows start inside the input, clipped at its end. */
static int pooled(int n, int k, int s) { return n <= k ? 1 : (n - k + s - 1) / s + 1; }

int emoti_mtcnn_pnet_size(int h, int w, int *oh, int *ow) {
    *oh = pooled(h - 2, 2, 2) - 4, *ow = pooled(w - 2, 2, 2) - 4;
    return N_OUT[MTCNN_PNET];
}

/* Branch-free (the sign of an activation is unpredictable) and vectorisable: for x > 0 it is
 * x + alpha * 0, else 0 + alpha * x, each exactly the PReLU. */
static void prelu(float *restrict x, size_t n, int c, const float *restrict alpha) {
    for (size_t i = 0; i < n; i++) {
        float *restrict p = x + i * (size_t)c;
        for (int j = 0; j < c; j++) {
            const float v = p[j], pos = v > 0 ? v : 0, neg = v < 0 ? v : 0;
            p[j] = pos + alpha[j] * neg;
        }
    }
}

static void maxpool(const float *restrict x, int h, int w, int c, int k, int s,
                    float *restrict y) {
    const int oh = pooled(h, k, s), ow = pooled(w, k, s);
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            float *restrict o = y + ((size_t)i * ow + j) * c;
            memcpy(o, x + ((size_t)i * s * w + (size_t)j * s) * c, sizeof(float) * (size_t)c);
            for (int a = i * s; a < i * s + k && a < h; a++)
                for (int b = j * s; b < j * s + k && b < w; b++) {
                    const float *restrict p = x + ((size_t)a * w + b) * c;
                    for (int ch = 0; ch < c; ch++) o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
                }
        }
}

/* Output rows per GEMM call: enough rows that the small R/O-Net maps (ow 3 .. 46) still give
 * the kernel a few hundred rows of patches. */
static int conv_rows(int oh, int ow) {
    const int r = (256 + ow - 1) / ow;
    return r < oh ? r : oh;
}

/* memcpy of n floats in fixed-size pieces, which compilers inline: the patches are short
 * (9 .. 192 floats) and a libc call per patch row cost more than the copy. */
static void copy_floats(float *restrict d, const float *restrict s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) memcpy(d + i, s + i, 8 * sizeof *d);
    if (n - i >= 4) memcpy(d + i, s + i, 4 * sizeof *d), i += 4;
    if (n - i >= 2) memcpy(d + i, s + i, 2 * sizeof *d), i += 2;
    if (n - i) d[i] = s[i];
}

/* VALID conv, a block of output rows at a time: their patches gathered into col, one GEMM. */
static void conv(const emoti_kernels *kern, const mtcnn_layer *l, const float *x, int h, int w,
                 float *col, float *y) {
    const int k = l->k, oh = h - k + 1, ow = w - k + 1, rows = conv_rows(oh, ow);
    const size_t kc = (size_t)k * l->cin;
    for (int i0 = 0; i0 < oh; i0 += rows) {
        const int n = oh - i0 < rows ? oh - i0 : rows;
        for (int i = i0; i < i0 + n; i++)
            for (int j = 0; j < ow; j++)
                for (int a = 0; a < k; a++)
                    copy_floats(col + ((size_t)(i - i0) * ow + j) * k * kc + a * kc,
                                x + ((size_t)(i + a) * w + j) * l->cin, kc);
        kern->f32_gemm((size_t)n * ow, (size_t)l->cout, k * kc, col, l->w, NULL, l->b, NULL,
                       y + (size_t)i0 * ow * l->cout, (size_t)l->cout, EMOTI_ACT_NONE);
    }
}

/* Floats of the two activation buffers and the im2col rows for an h x w input. */
static size_t plan(const mtcnn_net *n, int h, int w, size_t *act) {
    size_t big = (size_t)h * w * 3, col = 0;
    for (int i = 0; i < n->n_layers; i++) {
        const mtcnn_layer *l = &n->layer[i];
        if (!l->k) break;
        const size_t row = (size_t)(w - l->k + 1) * l->k * l->k * l->cin *
                           (size_t)conv_rows(h - l->k + 1, w - l->k + 1);
        h -= l->k - 1, w -= l->k - 1;
        col = row > col ? row : col;
        big = (size_t)h * w * l->cout > big ? (size_t)h * w * l->cout : big;
        if (l->pool_k) h = pooled(h, l->pool_k, l->pool_s), w = pooled(w, l->pool_k, l->pool_s);
    }
    *act = big;
    return 2 * big + col;
}

emoti_status emoti_mtcnn_run(emoti_mtcnn *m, const emoti_kernels *kern, int net, const float *x,
                             int h, int w, float *out) {
    if (net < 0 || net >= MTCNN_NETS || (net && (h != SIZE[net] || w != SIZE[net])) || h < 12 ||
        w < 12 || h > 1 << 14 || w > 1 << 14)
        return emoti_fail(EMOTI_ERR_ARG, "mtcnn: bad net %d or input %d x %d", net, h, w);
    const mtcnn_net *n = &m->net[net];
    size_t act, need = plan(n, h, w, &act);
    if (need > m->arena_floats) {
        float *a = realloc(m->arena, sizeof(float) * need);
        if (!a) return emoti_fail(EMOTI_ERR_NOMEM, "mtcnn: out of memory for %d x %d", h, w);
        m->arena = a, m->arena_floats = need;
    }
    float *cur = m->arena, *tmp = m->arena + act, *col = m->arena + 2 * act;
    memcpy(cur, x, sizeof(float) * (size_t)h * w * 3);
    int c = 3;
    for (int i = 0; i < n->n_layers; i++) {
        const mtcnn_layer *l = &n->layer[i];
        if (l->k) {
            conv(kern, l, cur, h, w, col, tmp);
            h -= l->k - 1, w -= l->k - 1;
        } else {
            kern->f32_gemm(1, (size_t)l->cout, (size_t)l->cin, cur, l->w, NULL, l->b, NULL, tmp,
                           (size_t)l->cout, EMOTI_ACT_NONE);
            h = w = 1;
        }
        c = l->cout;
        prelu(tmp, (size_t)h * w, c, l->alpha);
        if (l->pool_k) {
            maxpool(tmp, h, w, c, l->pool_k, l->pool_s, cur);
            h = pooled(h, l->pool_k, l->pool_s), w = pooled(w, l->pool_k, l->pool_s);
        } else {
            float *t = cur;
            cur = tmp, tmp = t;
        }
    }
    const size_t pos = (size_t)h * w;
    kern->f32_gemm(pos, (size_t)n->n_out, (size_t)c, cur, n->head_w, NULL, n->head_b, NULL, out,
                   (size_t)n->n_out, EMOTI_ACT_NONE);
    for (size_t i = 0; i < pos; i++) { /* softmax of the two face logits */
        float *p = out + i * (size_t)n->n_out;
        const double e = exp((double)p[0] - p[1]);
        p[0] = (float)(e / (1 + e)), p[1] = (float)(1 / (1 + e));
    }
    return EMOTI_OK;
}
