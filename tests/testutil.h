/* Small helpers shared by the C tests (header-only: each test is one translation unit). */
#ifndef EMOTI_TESTUTIL_H
#define EMOTI_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SKIP_EXIT 77

static inline const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}
static inline const char *fixtures_dir(void) { return env_or("FIXTURES", "../shared/fixtures"); }
static inline const char *models_dir(void) { return env_or("MODELS", "build/models"); }

/* Exits with the skip status, loudly, when the fixtures are not there. */
static inline void require_fixtures(void) {
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/b0_8.pt", fixtures_dir());
    if (stat(path, &sb)) {
        printf("SKIPPED: fixtures not found at %s (set FIXTURES)\n", fixtures_dir());
        exit(SKIP_EXIT);
    }
}

/* Reads a whole file; NULL if missing. */
static inline uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Reads a raw little-endian float32 file; *n gets the float count. */
static inline float *read_f32(const char *path, size_t *n) {
    size_t size = 0;
    uint8_t *buf = read_file(path, &size);
    *n = size / 4;
    const uint16_t one = 1; /* big-endian hosts: swap to host order */
    if (buf && *(const uint8_t *)&one == 0)
        for (size_t i = 0; i < *n; i++) {
            uint8_t *w = buf + 4 * i, t0 = w[0], t1 = w[1];
            w[0] = w[3], w[1] = w[2], w[2] = t1, w[3] = t0;
        }
    return (float *)(void *)buf;
}

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
            failures++;                                    \
        }                                                  \
    } while (0)

#endif
