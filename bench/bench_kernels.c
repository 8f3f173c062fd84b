/* Kernel micro-benchmarks on every distinct EfficientNet-B0 (224) and B2 (260) layer shape.
 *
 *   bench_kernels [b0|b2|all] [--isa NAME] [--min-ms MS] [--min] [--peak GFLOPS] [--rows]
 *
 * For each shape and each available kernel table (or only --isa): the median (--min: the
 * minimum, steadier on a shared machine) of repeated runs (at least 5, and at least MS
 * milliseconds in all, default 30), GFLOP/s (2 flops per multiply-add, depthwise counting
 * every tap) and the fraction of one core's FP32 peak: --peak, else measured here with an
 * FMA loop (12 independent chains of 8-lane FMAs, best of 20 tries). Then per network: the
 * sum over all layers (repeats counted) of those times, by kernel. Buffers are separate
 * page-aligned allocations, so input and output are 4 KiB-congruent, as the engine's arena
 * makes them at 224 x 224. --rows calls the depthwise and stem kernels one output row at a
 * time, as engine/net/efficientnet.c does (its unit of work for threads). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "layer_shapes.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_FMA_PEAK 1
#endif

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#ifdef HAVE_FMA_PEAK
/* 12 independent FMA chains: enough to cover FMA latency x ports on current x86 cores.
 * One copy per vector width: AVX-512 doubles the peak where it runs on two FMA ports. */
#define FMA_PEAK(name, isa, reg, V, set1, fmadd, add, storeu, lanes)                          \
    __attribute__((target(isa))) static double name(void) {                               \
        V b = set1(0.999f), c = set1(1e-3f);                                                  \
        V a0 = set1(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,        \
          a8 = a0, a9 = a0, a10 = a0, a11 = a0;                                               \
        double best = 0;                                                                      \
        for (int trial = 0; trial < 20; trial++) {                                            \
            long iters = 4000000;                                                             \
            double t = now_s();                                                               \
            for (long i = 0; i < iters; i++) {                                                \
                a0 = fmadd(a0, b, c), a1 = fmadd(a1, b, c), a2 = fmadd(a2, b, c);             \
                a3 = fmadd(a3, b, c), a4 = fmadd(a4, b, c), a5 = fmadd(a5, b, c);             \
                a6 = fmadd(a6, b, c), a7 = fmadd(a7, b, c), a8 = fmadd(a8, b, c);             \
                a9 = fmadd(a9, b, c), a10 = fmadd(a10, b, c), a11 = fmadd(a11, b, c);         \
                __asm__ volatile("" : reg(a0), reg(a1), reg(a2), reg(a3), reg(a4), reg(a5),   \
                                 reg(a6), reg(a7), reg(a8), reg(a9), reg(a10), reg(a11));     \
            }                                                                                 \
            t = now_s() - t;                                                                  \
            double g = iters * 12.0 * 2 * (lanes) / t / 1e9;                                  \
            if (g > best) best = g;                                                           \
        }                                                                                     \
        float sink[lanes];                                                                    \
        storeu(sink, add(a0, a11));                                                           \
        return sink[0] == 12345.0f ? 0 : best;                                                \
    }
FMA_PEAK(fma_peak_gflops, "avx2,fma", "+x", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
         _mm256_storeu_ps, 8)
FMA_PEAK(fma512_peak_gflops, "avx512f", "+v", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
         _mm512_storeu_ps, 16)
#undef FMA_PEAK
#endif

static float *buf(size_t n, float lo, float hi, uint32_t *seed) {
    float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64 + 64);
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = lo + (hi - lo) * (float)(*seed >> 8) / 16777216.0f;
    }
    return p;
}

static int use_min, by_rows;

/* The window of output row oy alone (as the engine's one_row). */
static emoti_window one_row(const emoti_window *g, int oy) {
    emoti_window r = *g;
    r.oh = 1;
    r.pad_top = g->pad_top - oy * g->stride;
    return r;
}

/* Median (or minimum) seconds of one call. */
static double time_call(const emoti_kernels *kt, const layer_call *c, double min_s) {
    uint32_t seed = 12345;
    float *x, *w, *b, *y, *pool = NULL, *gate = NULL;
    if (c->kind == CALL_GEMM) {
        x = buf(c->m * c->k, -1, 1, &seed), w = buf(emoti_strips_floats(c->k, c->n), -0.1f, 0.1f, &seed);
        b = buf(c->n, -1, 1, &seed), y = buf(c->m * c->n, -1, 1, &seed);
        gate = buf(c->k, 0, 1, &seed);
    } else {
        int cin = c->kind == CALL_DW ? c->c : 3;
        size_t taps = (size_t)c->g.k * c->g.k;
        x = buf((size_t)c->g.h * c->g.w * cin, -1, 1, &seed);
        w = buf(c->kind == CALL_DW ? taps * c->c : taps * 3 * c->c, -0.3f, 0.3f, &seed);
        b = buf((size_t)c->c, -1, 1, &seed), y = buf((size_t)c->g.oh * c->g.ow * c->c, 0, 0, &seed);
        pool = buf((size_t)c->c, 0, 0, &seed);
    }
    enum { MAX_RUNS = 2000 };
    static double t[MAX_RUNS];
    int runs = 0;
    double start = now_s();
    for (int i = -2; runs < MAX_RUNS && (runs < 5 || now_s() - start < min_s); i++) {
        double s = now_s();
        if (c->kind == CALL_GEMM)
            kt->f32_gemm(c->m, c->n, c->k, x, c->k, w, c->act == EMOTI_ACT_NONE ? gate : NULL, b,
                         c->res ? y : NULL, y, c->n, c->act); /* projections fold the SE gate */
        else if (!by_rows && c->kind == CALL_DW)
            kt->f32_dwconv_swish(&c->g, c->c, x, w, b, y, pool);
        else if (!by_rows)
            kt->f32_conv_swish(&c->g, 3, c->c, x, w, b, y);
        else
            for (int oy = 0; oy < c->g.oh; oy++) {
                emoti_window r = one_row(&c->g, oy);
                float *yr = y + (size_t)oy * c->g.ow * c->c;
                if (c->kind == CALL_DW) kt->f32_dwconv_swish(&r, c->c, x, w, b, yr, pool);
                else kt->f32_conv_swish(&r, 3, c->c, x, w, b, yr);
            }
        double e = now_s() - s;
        if (i >= 0) t[runs++] = e;
        else start = now_s();
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    free(x), free(w), free(b), free(y), free(pool), free(gate);
    return use_min ? t[0] : t[runs / 2];
}

static int same_shape(const layer_call *a, const layer_call *b) {
    if (a->kind != b->kind) return 0;
    if (a->kind == CALL_GEMM)
        return a->m == b->m && a->n == b->n && a->k == b->k && a->act == b->act && a->res == b->res;
    return a->c == b->c && !memcmp(&a->g, &b->g, sizeof a->g);
}

static void describe(const layer_call *c, char *s, size_t n) {
    if (c->kind == CALL_GEMM)
        snprintf(s, n, "gemm %zux%zux%zu%s%s", c->m, c->n, c->k, c->act ? " swish" : "",
                 c->res ? " +res" : "");
    else
        snprintf(s, n, "%s %dx%d c%d k%d s%d", c->kind == CALL_DW ? "dw" : "stem", c->g.h, c->g.w,
                 c->c, c->g.k, c->g.stride);
}

static void bench_net(int variant, const emoti_kernels **tables, int nt, double peak, double min_s) {
    layer_call calls[128];
    int nc = enet_layer_calls(variant, calls, 128);
    printf("\n== EfficientNet-B%d, %dx%d input: %d kernel calls ==\n", variant,
           variant == 2 ? 260 : 224, variant == 2 ? 260 : 224, nc);
    printf("%-10s %-32s %3s %8s", "layer", "shape", "x", "MFLOP");
    for (int t = 0; t < nt; t++) printf(" | %-6s %8s %7s %5s", tables[t]->isa, "ms", "GFLOP/s", "peak");
    printf("\n");
    double total[8][3] = {{0}}, flops[3] = {0};
    for (int i = 0; i < nc; i++) {
        int count = 0, first = 1;
        for (int j = 0; j < nc; j++)
            if (same_shape(&calls[i], &calls[j])) {
                if (j < i) first = 0;
                count++;
            }
        if (!first) continue;
        const layer_call *c = &calls[i];
        double fl = 2 * layer_macs(c);
        char shape[64];
        describe(c, shape, sizeof shape);
        printf("%-10s %-32s %3d %8.2f", c->name, shape, count, fl / 1e6);
        int kind = c->kind == CALL_GEMM ? 0 : c->kind == CALL_DW ? 1 : 2;
        flops[kind] += fl * count;
        for (int t = 0; t < nt; t++) {
            double s = time_call(tables[t], c, min_s);
            total[t][kind] += s * count;
            double g = fl / s / 1e9;
            printf(" | %-6s %8.3f %7.2f %4.0f%%", "", s * 1e3, g, peak > 0 ? 100 * g / peak : 0);
        }
        printf("\n");
        fflush(stdout);
    }
    static const char *kinds[3] = {"gemm (1x1)", "depthwise", "stem"};
    printf("-- B%d totals (sum of %s x repeats) --\n", variant, use_min ? "minima" : "medians");
    for (int k = 0; k < 4; k++) {
        double fl = k < 3 ? flops[k] : flops[0] + flops[1] + flops[2];
        printf("%-43s %8.1f", k < 3 ? kinds[k] : "all kernels", fl / 1e6);
        for (int t = 0; t < nt; t++) {
            double s = k < 3 ? total[t][k] : total[t][0] + total[t][1] + total[t][2];
            double g = fl / s / 1e9;
            printf(" | %-6s %8.2f %7.2f %4.0f%%", tables[t]->isa, s * 1e3, g, peak > 0 ? 100 * g / peak : 0);
        }
        printf("\n");
    }
}

int main(int argc, char **argv) {
    int which = 3; /* bit 0: B0, bit 1: B2 */
    const char *isa = NULL;
    double min_ms = 30, peak = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "b0")) which = 1;
        else if (!strcmp(argv[i], "b2")) which = 2;
        else if (!strcmp(argv[i], "all")) which = 3;
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa = argv[++i];
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) min_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--min")) use_min = 1;
        else if (!strcmp(argv[i], "--rows")) by_rows = 1;
        else if (!strcmp(argv[i], "--peak") && i + 1 < argc) peak = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: bench_kernels [b0|b2|all] [--isa NAME] [--min-ms MS] [--min] [--peak GFLOPS] "
                    "[--rows]\n");
            return 2;
        }
    }
    const emoti_kernels *avail[8], *tables[8];
    int na = emoti_kernels_available(avail, 8), nt = 0;
    for (int i = 0; i < na; i++)
        if (!isa || !strcmp(isa, avail[i]->isa)) tables[nt++] = avail[i];
    if (!nt) {
        fprintf(stderr, "bench_kernels: no kernel table '%s' in this build / on this CPU\n", isa);
        return 1;
    }
    const char *peak_src = "given";
#ifdef HAVE_FMA_PEAK
    __builtin_cpu_init();
    if (!peak && __builtin_cpu_supports("avx512f"))
        peak = fma512_peak_gflops(), peak_src = "measured with an AVX-512 FMA loop";
    else if (!peak && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        peak = fma_peak_gflops(), peak_src = "measured with an AVX2 FMA loop";
#endif
    printf("FP32 peak of one core, %s: %.1f GFLOP/s "
           "(\"peak\" columns are fractions of it); times are %s%s\n", peak_src, peak,
           use_min ? "minima" : "medians", by_rows ? "; depthwise and stem called row by row" : "");
    if (which & 1) bench_net(0, tables, nt, peak, min_ms / 1e3);
    if (which & 2) bench_net(2, tables, nt, peak, min_ms / 1e3);
    return 0;
}
