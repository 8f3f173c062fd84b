/* Reading and writing 2-D float32 .npy files (numpy format 1.0/2.0/3.0, little-endian '<f4',
 * C order), as `emoti extract` writes them. */
#ifndef EMOTI_NPY_H
#define EMOTI_NPY_H

#include "emoti.h"

/* Reads a [rows, cols] (or [rows], taken as cols = 1) float32 array into malloc'd memory. */
emoti_status emoti_npy_read(const char *path, float **data, long *rows, int *cols);

/* The 128-byte header of a [rows, cols] '<f4' array (format 1.0): for writers that stream rows
 * after it (rows must be known, or the header rewritten at the end). Returns its size. */
#define EMOTI_NPY_HEADER 128
#include <stddef.h>
size_t emoti_npy_header(unsigned char out[EMOTI_NPY_HEADER], long rows, int cols);

/* Writes a [rows, cols] float32 array through PATH.part, renamed into place on success. */
emoti_status emoti_npy_write(const char *path, const float *data, long rows, int cols);

#endif
