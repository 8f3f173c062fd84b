/* Runs every fuzz target (fuzz/fuzz_*.c) over its committed corpus, fuzz/corpus/TARGET/:
 * the crashes and slow inputs the fuzzers found, kept as regressions, and a minimised set
 * of the inputs they grew (fuzz/README.md). Built like the other tests, without libFuzzer,
 * so `make test` replays it all under ASan + UBSan in its sanitizer pass. The targets abort
 * on a broken contract (fuzz/fuzz_util.h); the sanitizers on memory errors, leaks and UB.
 * Each target is compiled in here with its entry point renamed. Also runs the images through
 * the emoti_image_decode dispatcher, and every target on a few degenerate inputs.
 * Env: FUZZ_CORPUS (default fuzz/corpus, relative to the repository root). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LLVMFuzzerTestOneInput fuzz_jpeg_one
#include "../fuzz/fuzz_jpeg.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_png_one
#include "../fuzz/fuzz_png.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ppm_one
#include "../fuzz/fuzz_ppm.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_y4m_one
#include "../fuzz/fuzz_y4m.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_container_one
#include "../fuzz/fuzz_container.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_npy_one
#include "../fuzz/fuzz_npy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_annot_one
#include "../fuzz/fuzz_annot.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_heads_one
#include "../fuzz/fuzz_heads.c"
#undef LLVMFuzzerTestOneInput

/* The public dispatcher over every image corpus (it hands each format to the targets'
 * decoders by the first bytes, and names the formats it refuses). */
static int fuzz_image_one(const uint8_t *data, size_t size) {
    emoti_image img = {-1, -1, NULL};
    fuzz_clear_error();
    fuzz_check_image(emoti_image_decode(data, size, &img), &img);
    return 0;
}

typedef struct {
    const char *name;   /* target, and corpus folder */
    int (*run)(const uint8_t *, size_t);
} target;

static const target targets[] = {
    {"jpeg", fuzz_jpeg_one}, {"png", fuzz_png_one}, {"ppm", fuzz_ppm_one},
    {"y4m", fuzz_y4m_one},   {"container", fuzz_container_one}, {"npy", fuzz_npy_one},
    {"annot", fuzz_annot_one}, {"heads", fuzz_heads_one},
    {"jpeg", fuzz_image_one}, {"png", fuzz_image_one}, {"ppm", fuzz_image_one},
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads a whole file into a buffer of exactly its size (so ASan sees any over-read). */
static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(n ? (size_t)n : 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    *size = n > 0 ? (size_t)n : 0;
    return buf;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs one target over its folder in name order; returns the file count, -1 on error. */
static long run_corpus(const char *root, const target *t, size_t *bytes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, t->name);
    DIR *d = opendir(path);
    if (!d) {
        printf("FAIL: corpus folder %s missing (set FUZZ_CORPUS)\n", path);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof *names);
            if (!p) break;
            names = p;
        }
        if (!(names[n] = malloc(strlen(e->d_name) + 1))) break;
        strcpy(names[n++], e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    long files = 0;
    for (size_t i = 0; i < n; i++) {
        size_t size;
        snprintf(path, sizeof path, "%s/%s/%s", root, t->name, names[i]);
        uint8_t *data = slurp(path, &size);
        free(names[i]);
        if (!data) continue; /* not a regular file */
        t->run(data, size);
        free(data);
        *bytes += size;
        files++;
    }
    free(names);
    return files;
}

int main(void) {
    const char *root = getenv("FUZZ_CORPUS");
    if (!root || !*root) root = "fuzz/corpus";
    int failed = 0;
    double total = 0;
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        const target *t = &targets[i];
        /* Degenerate inputs first: empty, one byte, a run of zeros. */
        static const uint8_t zeros[256];
        for (size_t k = 0; k < 3; k++) {
            size_t size = k == 0 ? 0 : k == 1 ? 1 : sizeof zeros;
            uint8_t *copy = malloc(size ? size : 1);
            if (!copy) return 1;
            memcpy(copy, zeros, size);
            t->run(copy, size);
            free(copy);
        }
        size_t bytes = 0;
        double start = now_s();
        long files = run_corpus(root, t, &bytes);
        double took = now_s() - start;
        total += took;
        if (files < 0) {
            failed = 1;
            continue;
        }
        if (files == 0) {
            printf("FAIL: no inputs in %s/%s\n", root, t->name);
            failed = 1;
        }
        printf("%-9s %-20s %5ld files %8.1f KB %6.2f s\n", t->name,
               t->run == fuzz_image_one ? "(emoti_image_decode)" : "", files, bytes / 1024.0,
               took);
    }
    printf("%s: every input ran in %.2f s\n", failed ? "FAILED" : "ok", total);
    return failed;
}
