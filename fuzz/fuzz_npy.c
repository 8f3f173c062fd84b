/* libFuzzer target: the .npy reader (emoti_npy_fread, engine/train/npy.c) over an in-memory
 * stream. An array that reads is checked against the input's size, read whole, then written
 * back with emoti_npy_header and read again: the writer's header must give the same array.
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

/* Reads an array from bytes; returns the status (rows, cols, *data as emoti_npy_fread). */
static emoti_status fuzz_npy_read(const uint8_t *data, size_t size, float **out, long *rows,
                                  int *cols) {
    uint8_t *copy;
    FILE *f = fuzz_stream(data, size, &copy);
    *out = NULL;
    if (!f) return EMOTI_ERR_NOMEM;
    fuzz_clear_error();
    emoti_status st = emoti_npy_fread(f, "fuzz.npy", out, rows, cols);
    fclose(f);
    free(copy);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    float *v = (float *)1;
    long rows = -7;
    int cols = -7;
    emoti_status st = fuzz_npy_read(data, size, &v, &rows, &cols);
    if (st != EMOTI_OK) {
        FUZZ_CHECK(v == NULL);
        fuzz_check_failure(st);
        return 0;
    }
    FUZZ_CHECK(v != NULL && rows >= 0 && cols >= 1);
    size_t n = (size_t)rows * (size_t)cols;
    FUZZ_CHECK(n <= size / 4); /* the values came from the input */
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, v + i, 4);
        sum += bits;
    }
    fuzz_sink += sum;
    /* The writer's header over the same values reads back as the same array. */
    uint8_t *again = malloc(EMOTI_NPY_HEADER + n * 4);
    if (again) {
        FUZZ_CHECK(emoti_npy_header(again, rows, cols) == EMOTI_NPY_HEADER);
        memcpy(again + EMOTI_NPY_HEADER, v, n * 4);
        float *w;
        long rows2;
        int cols2;
        FUZZ_CHECK(fuzz_npy_read(again, EMOTI_NPY_HEADER + n * 4, &w, &rows2, &cols2) == EMOTI_OK);
        FUZZ_CHECK(rows2 == rows && cols2 == cols && !memcmp(w, v, n * 4));
        free(w);
        free(again);
    }
    free(v);
    return 0;
}
