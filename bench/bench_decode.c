/* Image decode speed: emoti_image_decode (JPEG, PNG, PPM) on files held in memory.
 *   bench_decode [-t SECONDS] FILE...
 * Per file: 2 warm-up decodes, then decodes until SECONDS (default 2) have passed and at least
 * 5 were timed; prints the median time and, from it, frames/s, megapixels/s and the MB/s of
 * compressed input consumed, then the best (shortest) time, which is the steadier figure on a
 * busy machine. bench/decode.sh sets these beside libjpeg-turbo and Pillow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emoti.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            unsigned char *p = realloc(buf, cap = cap ? cap * 2 : 1 << 20);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *size = n;
    return buf;
}

static int bench_file(const char *path, double seconds) {
    size_t size = 0;
    unsigned char *data = slurp(path, &size);
    if (!data) {
        fprintf(stderr, "bench_decode: %s: cannot read\n", path);
        return 1;
    }
    emoti_image img;
    if (emoti_image_decode(data, size, &img)) {
        fprintf(stderr, "bench_decode: %s: %s\n", path, emoti_last_error());
        free(data);
        return 1;
    }
    int w = img.width, h = img.height;
    emoti_image_free(&img);
    emoti_image_decode(data, size, &img); /* second warm-up */
    emoti_image_free(&img);

    size_t cap = 64, n = 0;
    double *t = malloc(cap * sizeof *t), start = now_s();
    while (t && (n < 5 || now_s() - start < seconds)) {
        if (n == cap) {
            double *p = realloc(t, (cap *= 2) * sizeof *t);
            if (!p) break;
            t = p;
        }
        double s = now_s();
        emoti_image_decode(data, size, &img);
        t[n++] = now_s() - s;
        emoti_image_free(&img);
    }
    if (!t) return 1;
    qsort(t, n, sizeof *t, cmp_double);
    double med = t[n / 2];
    const char *base = strrchr(path, '/');
    printf("%-18s %4dx%-4d %7.1f KB  median %7.2f ms  %7.2f frames/s  %7.2f MP/s  %6.2f MB/s in"
           "  | best %7.2f ms  %7.2f frames/s  (%zu runs)\n",
           base ? base + 1 : path, w, h, size / 1024.0, med * 1e3, 1 / med,
           (double)w * h / med / 1e6, size / med / 1e6, t[0] * 1e3, 1 / t[0], n);
    free(t);
    free(data);
    return 0;
}

int main(int argc, char **argv) {
    double seconds = 2;
    int i = 1, rc = 0;
    if (i + 1 < argc && !strcmp(argv[i], "-t")) seconds = atof(argv[i + 1]), i += 2;
    if (i >= argc) {
        fprintf(stderr, "usage: bench_decode [-t SECONDS] FILE...\n");
        return 2;
    }
    for (; i < argc; i++) rc |= bench_file(argv[i], seconds);
    return rc;
}
