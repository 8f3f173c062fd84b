/* The kernel calls of an EfficientNet-B0 (224) / B2 (260) forward pass, in order: the shapes
 * tests/test_kernels.c checks and bench/bench_kernels.c times. Header-only, for tests and
 * benchmarks (the engine derives the same shapes from the model's metadata). */
#ifndef EMOTI_LAYER_SHAPES_H
#define EMOTI_LAYER_SHAPES_H

#include <stdio.h>

#include "kernels.h"

typedef enum { CALL_STEM, CALL_GEMM, CALL_DW } layer_kind;

typedef struct {
    layer_kind kind;
    char name[24];      /* e.g. "b3.exp", "b3.dw", "b3.proj", "head", "stem" */
    size_t m, n, k;     /* gemm */
    emoti_act act;      /* gemm: activation */
    int res;            /* gemm: residual add in place */
    emoti_window g;     /* stem / dw geometry */
    int c;              /* dw channels; stem: cout (cin = 3) */
} layer_call;

/* Writes the calls of variant 0 (B0 at 224) or 2 (B2 at 260); returns their number. */
static inline int enet_layer_calls(int variant, layer_call *out, int max) {
    static const int kernel[7] = {3, 3, 5, 3, 5, 5, 3}, stride[7] = {1, 2, 2, 2, 1, 2, 1},
                     expand[7] = {1, 6, 6, 6, 6, 6, 6};
    static const int b0_out[7] = {16, 24, 40, 80, 112, 192, 320}, b0_rep[7] = {1, 2, 2, 3, 3, 4, 1};
    static const int b2_out[7] = {16, 24, 48, 88, 120, 208, 352}, b2_rep[7] = {2, 3, 3, 4, 4, 5, 2};
    const int *outc = variant == 2 ? b2_out : b0_out, *rep = variant == 2 ? b2_rep : b0_rep;
    int size = variant == 2 ? 260 : 224, head = variant == 2 ? 1408 : 1280, stem = 32;
    int n = 0, blk = 0;
#define PUSH(call)               \
    do {                         \
        if (n < max) out[n] = (call); \
        n++;                     \
    } while (0)
    layer_call c = {.kind = CALL_STEM, .name = "stem", .g = emoti_window_same(size, size, 3, 2), .c = stem};
    PUSH(c);
    int h = c.g.oh, w = c.g.ow, in = stem;
    for (int s = 0; s < 7; s++)
        for (int r = 0; r < rep[s]; r++, blk++) {
            int st = r == 0 ? stride[s] : 1, mid = in * expand[s], o = outc[s];
            if (expand[s] != 1) {
                layer_call e = {.kind = CALL_GEMM, .m = (size_t)h * w, .n = (size_t)mid,
                                .k = (size_t)in, .act = EMOTI_ACT_SWISH};
                snprintf(e.name, sizeof e.name, "b%d.exp", blk);
                PUSH(e);
            }
            layer_call d = {.kind = CALL_DW, .g = emoti_window_same(h, w, kernel[s], st), .c = mid};
            snprintf(d.name, sizeof d.name, "b%d.dw", blk);
            PUSH(d);
            h = d.g.oh, w = d.g.ow;
            layer_call p = {.kind = CALL_GEMM, .m = (size_t)h * w, .n = (size_t)o, .k = (size_t)mid,
                            .act = EMOTI_ACT_NONE, .res = st == 1 && in == o};
            snprintf(p.name, sizeof p.name, "b%d.proj", blk);
            PUSH(p);
            in = o;
        }
    layer_call hd = {.kind = CALL_GEMM, .name = "head", .m = (size_t)h * w, .n = (size_t)head,
                     .k = (size_t)in, .act = EMOTI_ACT_SWISH};
    PUSH(hd);
    layer_call fc = {.kind = CALL_GEMM, .name = "fc", .m = 1, .n = 8, .k = (size_t)head};
    PUSH(fc);
#undef PUSH
    return n;
}

/* Multiply-adds of one call (FLOPs = 2x). */
static inline double layer_macs(const layer_call *c) {
    if (c->kind == CALL_GEMM) return (double)c->m * c->n * c->k;
    double px = (double)c->g.oh * c->g.ow, taps = (double)c->g.k * c->g.k;
    return c->kind == CALL_DW ? px * taps * c->c : px * taps * 3 * c->c;
}

#endif
