/* End-to-end batch-1 latency: model load (with validation) and forward passes.
 *   bench_latency MODEL [RUNS] [IMAGE]      (EMOTI_THREADS=N: threads, OpenMP builds)
 *   bench_latency MODEL --serve
 * Prints the load time, and the median / min / max of RUNS timed runs after 3 warm-up runs
 * (with IMAGE: resize + normalise + forward; without: forward on a fixed tensor).
 * --serve (for bench/ort_bench.js, which alternates single runs of emoti and ONNX Runtime):
 * after the warm-up prints "ready load=MS kernels=ISA threads=T", then for each line read
 * from stdin runs one forward pass on the fixed tensor and prints its time in ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emoti.h"
#include "kernels.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --serve: one timed forward pass per line of stdin, its time on stdout, until EOF. */
static void serve_runs(emoti_model *m, const float *x) {
    emoti_result r;
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        double s = now_ms();
        emoti_run_tensor(m, x, &r, NULL);
        printf("%.4f\n", now_ms() - s);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_latency MODEL [RUNS] [IMAGE.ppm] | MODEL --serve\n");
        return 2;
    }
    const int serve = argc > 2 && !strcmp(argv[2], "--serve");
    int runs = argc > 2 && !serve ? atoi(argv[2]) : 30;
    if (runs < 1) runs = 1;
    double t0 = now_ms();
    emoti_model *m;
    if (emoti_model_open(argv[1], &m)) {
        fprintf(stderr, "bench_latency: %s\n", emoti_last_error());
        return 1;
    }
    double load = now_ms() - t0;
    const emoti_kernels *kern = emoti_kernels_get(); /* non-NULL: the model opened */
    const char *threads = getenv("EMOTI_THREADS");
    int nthreads = threads && *threads ? atoi(threads) : 1;
    if (emoti_model_set_threads(m, nthreads)) {
        fprintf(stderr, "bench_latency: %s\n", emoti_last_error());
        return 1;
    }
    emoti_info in;
    emoti_model_info(m, &in);
    emoti_image img = {0, 0, NULL};
    if (argc > 3 && emoti_image_load(argv[3], &img)) {
        fprintf(stderr, "bench_latency: %s\n", emoti_last_error());
        return 1;
    }
    size_t n = (size_t)3 * in.input_size * in.input_size;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    if (serve) {
        emoti_result r;
        for (int i = 0; i < 3; i++) emoti_run_tensor(m, x, &r, NULL); /* warm-up */
        printf("ready load=%.3f kernels=%s threads=%d\n", load, kern->isa, nthreads);
        fflush(stdout);
        serve_runs(m, x);
    } else {
        double *t = malloc((size_t)runs * sizeof *t);
        emoti_result r;
        for (int i = -3; i < runs; i++) {
            double s = now_ms();
            if (img.rgb)
                emoti_run_rgb(m, img.rgb, img.width, img.height, (size_t)img.width * 3, &r, NULL);
            else
                emoti_run_tensor(m, x, &r, NULL);
            if (i >= 0) t[i] = now_ms() - s;
        }
        qsort(t, (size_t)runs, sizeof *t, cmp_double);
        printf("%s %s %dx%d kernels=%s threads=%d load %.2f ms | %d runs: median %.2f ms min %.2f "
               "max %.2f\n", argv[1], in.name, in.input_size, in.input_size, kern->isa, nthreads,
               load, runs, t[runs / 2], t[0], t[runs - 1]);
        free(t);
    }
    free(x);
    emoti_image_free(&img);
    emoti_model_close(m);
    return 0;
}
