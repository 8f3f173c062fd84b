/* Checks shared by the fuzz targets (header-only: tests/test_fuzz_corpus.c compiles every
 * target into one translation unit, so everything here is static and guarded).
 *
 * Besides "no crash, no leak, no undefined behaviour" (the sanitizers' job) the targets
 * check the library's documented contract and abort() when it is broken:
 *   - a failing call leaves the output image empty (width = height = 0, rgb = NULL) and
 *     sets a non-empty emoti_last_error();
 *   - a successful decode gives a sane size and a buffer of width * height * 3 bytes, every
 *     one of which is read here (so ASan sees a short allocation, and the decode cannot be
 *     optimised away).
 */
#ifndef EMOTI_FUZZ_UTIL_H
#define EMOTI_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "emoti.h"
#include "error.h"

/* Something for the checks to write to, so the reads of the pixels are not dead code. */
static volatile uint32_t fuzz_sink;

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: fuzz check failed: %s (last error: '%s')\n", \
                    __FILE__, __LINE__, #cond, emoti_last_error());               \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* Clears the thread's error message, so that a failure that sets none shows. */
static inline void fuzz_clear_error(void) { (void)emoti_fail(EMOTI_OK, "%s", ""); }

/* Checks a decode's status against its output image, reads every pixel, frees the image. */
static inline void fuzz_check_image(emoti_status st, emoti_image *img) {
    if (st != EMOTI_OK) {
        FUZZ_CHECK(st == EMOTI_ERR_FORMAT || st == EMOTI_ERR_UNSUPPORTED ||
                   st == EMOTI_ERR_NOMEM);
        FUZZ_CHECK(img->width == 0 && img->height == 0 && img->rgb == NULL);
        FUZZ_CHECK(emoti_last_error()[0] != '\0');
        return;
    }
    FUZZ_CHECK(img->width >= 1 && img->height >= 1 && img->rgb != NULL);
    FUZZ_CHECK((uint64_t)img->width * (uint64_t)img->height <= ((uint64_t)1 << 28));
    size_t n = (size_t)img->width * (size_t)img->height * 3;
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += img->rgb[i];
    fuzz_sink += sum;
    emoti_image_free(img);
    FUZZ_CHECK(img->rgb == NULL);
}

/* An input as a read-only stream (fmemopen over a copy, *copy to free after fclose). fmemopen
 * wants a writable buffer and (before glibc 2.22) a non-zero size: an empty input is a 1-byte
 * stream already read to its end. NULL when out of memory. */
static inline FILE *fuzz_stream(const uint8_t *data, size_t size, uint8_t **copy) {
    *copy = malloc(size ? size : 1);
    if (!*copy) return NULL;
    if (size) memcpy(*copy, data, size);
    else (*copy)[0] = 0;
    FILE *f = fmemopen(*copy, size ? size : 1, "rb");
    if (!f) {
        free(*copy);
        *copy = NULL;
        return NULL;
    }
    if (!size) getc(f);
    return f;
}

/* A failure's status is one of the expected ones, and it left a message. */
static inline void fuzz_check_failure(emoti_status st) {
    FUZZ_CHECK(st == EMOTI_ERR_FORMAT || st == EMOTI_ERR_UNSUPPORTED || st == EMOTI_ERR_NOMEM);
    FUZZ_CHECK(emoti_last_error()[0] != '\0');
}

/* A container input twice, in 64-byte aligned copies (the loader's tensor alignment): *raw as
 * given, and *sealed zero-padded to a multiple of 64 bytes (*cap) with the header's file_size
 * and checksum rewritten to match, so that mutations get past the checksum (fuzz/README.md).
 * Returns 0 when out of memory. */
static inline void fuzz_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline int fuzz_seal(const uint8_t *data, size_t size, uint8_t **raw, uint8_t **sealed,
                            size_t *cap) {
    *cap = size < 64 ? 64 : (size + 63) / 64 * 64;
    *raw = aligned_alloc(64, *cap), *sealed = aligned_alloc(64, *cap);
    if (!*raw || !*sealed) {
        free(*raw), free(*sealed);
        return 0;
    }
    memcpy(*raw, data, size);
    memcpy(*sealed, data, size);
    memset(*sealed + size, 0, *cap - size);
    fuzz_put64(*sealed + 16, *cap);
    fuzz_put64(*sealed + 56, emoti_container_checksum(*sealed, *cap));
    return 1;
}

#endif
