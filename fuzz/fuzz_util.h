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

#endif
