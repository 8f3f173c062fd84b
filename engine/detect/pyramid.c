/* The detector's pyramid resampling (pyramid.h); hot, built with -O3 to vectorise. */
#include "pyramid.h"

#include <string.h>

void emoti_pyramid_sat(uint32_t *restrict s, const uint8_t *rgb, int w, int h, size_t stride) {
    const size_t row = (size_t)(w + 1) * 3;
    memset(s, 0, sizeof *s * row);
    for (int y = 0; y < h; y++) {
        uint32_t *restrict o = s + (size_t)(y + 1) * row;
        const uint32_t *restrict up = o - row;
        const uint8_t *p = rgb + (size_t)y * stride;
        uint32_t a = 0, b = 0, c = 0;
        o[0] = o[1] = o[2] = 0;
        for (int x = 0; x < w; x++) { /* the row's prefix sums, then the rows above added */
            o[3 * x + 3] = a += p[3 * x];
            o[3 * x + 4] = b += p[3 * x + 1];
            o[3 * x + 5] = c += p[3 * x + 2];
        }
        for (size_t t = 3; t < row; t++) o[t] += up[t];
    }
}

/* Area resampling as torch's interpolate(mode="area") (adaptive average pooling): output cell
 * (i, j) of oh x ow averages input rows floor(i H / oh) .. ceil((i + 1) H / oh) - 1 of the
 * H x W region at (x0, y0), columns likewise. Writes columns j0..j1-1 normalised and
 * transposed: dst[j - j0][i][c] (the nets' layout, docs/MTCNN.md). */
void emoti_pyramid_area(const uint32_t *s, int w, int x0, int y0, int W, int H, int oh, int ow,
                        int j0, int j1, float *dst) {
    const size_t row = (size_t)(w + 1) * 3;
    for (int i = 0; i < oh; i++) {
        const int r0 = y0 + (int)((long long)i * H / oh);
        const int r1 = y0 + (int)(((long long)(i + 1) * H + oh - 1) / oh);
        const uint32_t *top = s + (size_t)r0 * row, *bot = s + (size_t)r1 * row;
        for (int j = j0; j < j1; j++) {
            const int c0 = x0 + (int)((long long)j * W / ow);
            const int c1 = x0 + (int)(((long long)(j + 1) * W + ow - 1) / ow);
            const double inv = 1.0 / ((double)(r1 - r0) * (c1 - c0));
            float *o = dst + ((size_t)(j - j0) * oh + i) * 3;
            for (int c = 0; c < 3; c++) {
                const uint32_t sum = bot[c1 * 3 + c] - bot[c0 * 3 + c] - top[c1 * 3 + c] + top[c0 * 3 + c];
                o[c] = (float)((sum * inv - 127.5) * 0.0078125);
            }
        }
    }
}
