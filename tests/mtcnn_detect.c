/* Driver of tests/test_mtcnn_detect.sh: runs emoti_detect (the public API) on the images of a
 * reference file written by tests/mtcnn_algo_ref.py and checks the same faces in the same
 * order, boxes and landmarks within 0.5 px, scores within 1e-4 of the float64 reference.
 *   mtcnn_detect DETECTOR.emoti REF.bin [RUNS]
 * RUNS > 0: also prints each image's median emoti_detect time over RUNS runs.
 * In an OpenMP build (make check-openmp) every image is also detected with 2 and 3 threads,
 * which must give bitwise the faces of 1.
 * REF.bin: records of char name[32]; i32 w, h; f64 min_face; u8 rgb[h][w][3]; i32 n;
 * f64 faces[n][15] (x1 y1 x2 y2 score, 5 landmarks x y). n = -1: run only (bounded work). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emoti.h"

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    if (f && !fseek(f, 0, SEEK_END) && (*size = (size_t)ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
        (buf = malloc(*size)) && fread(buf, 1, *size, f) != *size)
        free(buf), buf = NULL;
    if (f) fclose(f);
    return buf;
}

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 2 and 3 threads against the faces of 1 (OpenMP builds; elsewhere nothing to check): returns
 * the number of failures. */
static int check_threads(emoti_detector *det, const emoti_detector_params *p, const char *name,
                         const uint8_t *rgb, int w, int h, const emoti_face *want, int n) {
    int fails = 0;
#ifdef _OPENMP
    static emoti_face got[EMOTI_DETECT_MAX_ONET];
    for (int t = 2; t <= 3; t++) {
        int m = -1;
        if (emoti_detector_set_threads(det, t) ||
            emoti_detect(det, p, rgb, w, h, (size_t)w * 3, got, EMOTI_DETECT_MAX_ONET, &m) ||
            m != n || memcmp(got, want, sizeof *got * (size_t)(n < EMOTI_DETECT_MAX_ONET ? n : EMOTI_DETECT_MAX_ONET))) {
            fprintf(stderr, "FAIL %s: %d threads: %d faces, not bitwise those of 1 (%d) %s\n", name,
                    t, m, n, emoti_last_error());
            fails++;
        }
    }
    emoti_detector_set_threads(det, 1);
#else
    (void)det, (void)p, (void)name, (void)rgb, (void)w, (void)h, (void)want, (void)n;
#endif
    return fails;
}

/* Compares one image's faces; returns the number of failures. */
static int compare(const char *name, const emoti_face *got, int n, const double *want, int nw,
                   double *worst_px, double *worst_score) {
    if (n != nw) {
        fprintf(stderr, "FAIL %s: %d faces, the reference has %d\n", name, n, nw);
        return 1;
    }
    int fails = 0;
    for (int i = 0; i < n; i++) {
        const emoti_face *f = &got[i];
        const double *r = want + 15 * i;
        const float v[14] = {f->x1, f->y1, f->x2, f->y2, f->landmarks[0][0], f->landmarks[0][1],
                             f->landmarks[1][0], f->landmarks[1][1], f->landmarks[2][0],
                             f->landmarks[2][1], f->landmarks[3][0], f->landmarks[3][1],
                             f->landmarks[4][0], f->landmarks[4][1]};
        double px = 0;
        for (int k = 0; k < 14; k++) px = fmax(px, fabs(v[k] - r[k < 4 ? k : k + 1]));
        const double ds = fabs(f->score - r[4]);
        *worst_px = fmax(*worst_px, px), *worst_score = fmax(*worst_score, ds);
        if (!(px <= 0.5) || !(ds <= 1e-4)) {
            fprintf(stderr, "FAIL %s face %d: box (%.2f %.2f %.2f %.2f) score %.6f, reference "
                    "(%.2f %.2f %.2f %.2f) %.6f: %.3g px, score %.3g off\n", name, i, f->x1, f->y1,
                    f->x2, f->y2, f->score, r[0], r[1], r[2], r[3], r[4], px, ds);
            fails++;
        }
    }
    return fails;
}

int main(int argc, char **argv) {
    size_t size = 0;
    unsigned char *ref = argc >= 3 ? slurp(argv[2], &size) : NULL;
    emoti_detector *det = NULL;
    if (!ref || emoti_detector_open(argv[1], &det)) {
        fprintf(stderr, "usage: mtcnn_detect DETECTOR.emoti REF.bin [RUNS] (%s)\n",
                ref ? emoti_last_error() : "cannot read REF.bin");
        free(ref);
        return 2;
    }
    const int runs = argc > 3 ? atoi(argv[3]) : 0;
    emoti_detector_params p;
    emoti_detector_params_init(&p);
    emoti_face faces[EMOTI_DETECT_MAX_ONET];
    int fails = 0, records = 0, total = 0;
    double worst_px = 0, worst_score = 0;
    for (size_t pos = 0; pos + 52 <= size; records++) {
        char name[33] = {0};
        int32_t wh[2], nw;
        memcpy(name, ref + pos, 32), memcpy(wh, ref + pos + 32, 8), memcpy(&p.min_face, ref + pos + 40, 8);
        pos += 48;
        const unsigned char *rgb = ref + pos;
        pos += (size_t)wh[0] * wh[1] * 3;
        memcpy(&nw, ref + pos, 4), pos += 4;
        double *w = malloc(sizeof(double) * 15 * (size_t)(nw > 0 ? nw : 1));
        if (nw > 0) memcpy(w, ref + pos, sizeof(double) * 15 * (size_t)nw), pos += sizeof(double) * 15 * nw;
        int n = 0;
        const double t0 = now();
        if (emoti_detect(det, &p, rgb, wh[0], wh[1], (size_t)wh[0] * 3, faces,
                         EMOTI_DETECT_MAX_ONET, &n)) {
            fprintf(stderr, "FAIL %s: %s\n", name, emoti_last_error());
            fails++;
        } else if (nw >= 0) {
            fails += compare(name, faces, n, w, nw, &worst_px, &worst_score);
            fails += check_threads(det, &p, name, rgb, wh[0], wh[1], faces, n);
            total += n;
        } else {
            printf("mtcnn_detect: %s %dx%d: %d faces (at most %d), %.0f ms\n", name, wh[0], wh[1],
                   n, EMOTI_DETECT_MAX_ONET, (now() - t0) * 1e3);
            if (n > EMOTI_DETECT_MAX_ONET) fails++;
            fails += check_threads(det, &p, name, rgb, wh[0], wh[1], faces, n);
        }
        if (runs > 0) {
            /* wall and CPU time (the CPU time is steadier on a shared machine) */
            double *t = malloc(sizeof(double) * 2 * (size_t)runs), *c = t + runs;
            for (int r = 0; r < runs; r++) {
                const double a = now(), b = clock_s(CLOCK_PROCESS_CPUTIME_ID);
                emoti_detect(det, &p, rgb, wh[0], wh[1], (size_t)wh[0] * 3, faces, 0, &n);
                t[r] = now() - a, c[r] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - b;
            }
            qsort(t, (size_t)runs, sizeof *t, cmp_d);
            qsort(c, (size_t)runs, sizeof *c, cmp_d);
            printf("time %-22s %4dx%-4d min %2.0f: median %.2f ms wall, %.2f ms CPU, %d runs "
                   "(%d faces)\n", name, wh[0], wh[1], p.min_face, t[runs / 2] * 1e3,
                   c[runs / 2] * 1e3, runs, n);
            free(t);
        }
        free(w);
    }
    /* Too small for one P-Net cell: no face, no error; bad parameters: refused. */
    static const uint8_t px[11 * 11 * 3];
    int n = -1;
    emoti_detector_params_init(&p);
    for (int side = 1; side <= 11; side += 10)
        if (emoti_detect(det, &p, px, side, side, (size_t)side * 3, faces, 1, &n) || n != 0)
            fprintf(stderr, "FAIL %dx%d image: %d faces, %s\n", side, side, n, emoti_last_error()),
                fails++;
    p.min_face = 5;
    if (emoti_detect(det, &p, px, 11, 11, 33, faces, 1, &n) != EMOTI_ERR_ARG)
        fprintf(stderr, "FAIL min face 5 accepted\n"), fails++;
    printf("mtcnn_detect: %d images, %d faces, max |C - float64| %.3g px, score %.3g\n", records,
           total, worst_px, worst_score);
#ifdef _OPENMP
    printf("mtcnn_detect: 2 and 3 threads bitwise the faces of 1 on every image\n");
#endif
    emoti_detector_close(det);
    free(ref);
    return fails != 0 || records == 0;
}
