/* The detector's resampling: a summed-area table of the RGB frame, then area-averaged
 * (torch's interpolate(mode="area")) regions of it, normalised for the nets. */
#ifndef EMOTI_PYRAMID_H
#define EMOTI_PYRAMID_H

#include <stddef.h>
#include <stdint.h>

/* s: [h + 1][w + 1][3] sums modulo 2^32 (exact for up to 2^24 pixels). */
void emoti_pyramid_sat(uint32_t *restrict s, const uint8_t *rgb, int w, int h, size_t stride);

/* The H x W region at (x0, y0) of a w-wide image's table, area-resampled to oh x ow,
 * normalised ((v - 127.5) * 0.0078125) and transposed: dst[j - j0][i][c] (docs/MTCNN.md) for
 * the output columns j0 <= j < j1 (0, ow: all of them). */
void emoti_pyramid_area(const uint32_t *s, int w, int x0, int y0, int W, int H, int oh, int ow,
                        int j0, int j1, float *dst);

#endif
