/* Faces drawn into an RGB image, and the image written as a binary PPM: `emoti detect --draw`,
 * for looking at what the detector found. */
#include <math.h>
#include <stdio.h>

#include "emoti.h"
#include "../base/error.h"

/* Distinct, saturated colours (face k takes PALETTE[k % 6]) that stand out on skin and on grey. */
static const uint8_t PALETTE[6][3] = {{0, 255, 0}, {255, 0, 255}, {0, 255, 255},
                                      {255, 255, 0}, {255, 64, 0}, {64, 128, 255}};

static void fill(uint8_t *rgb, int w, int h, size_t stride, int x0, int y0, int x1, int y1,
                 const uint8_t c[3]) {
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w - 1) x1 = w - 1;
    if (y1 > h - 1) y1 = h - 1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 3;
            p[0] = c[0], p[1] = c[1], p[2] = c[2];
        }
}

/* A coordinate as a pixel index, kept far inside int so that the clipping in fill() works. */
static int pixel(float v) {
    return isfinite(v) ? (int)floorf(fmaxf(-1e6f, fminf(v, 1e6f))) : -1000000;
}

void emoti_draw_faces(uint8_t *rgb, int width, int height, size_t stride, const emoti_face *faces,
                      int n) {
    if (!rgb || width <= 0 || height <= 0) return;
    for (int k = 0; k < n; k++) {
        const emoti_face *f = &faces[k];
        const uint8_t *c = PALETTE[k % 6];
        const int t = 1 + (width > 640 || height > 640); /* line width */
        const int x0 = pixel(f->x1), y0 = pixel(f->y1), x1 = pixel(f->x2), y1 = pixel(f->y2);
        fill(rgb, width, height, stride, x0, y0, x1, y0 + t - 1, c);
        fill(rgb, width, height, stride, x0, y1 - t + 1, x1, y1, c);
        fill(rgb, width, height, stride, x0, y0, x0 + t - 1, y1, c);
        fill(rgb, width, height, stride, x1 - t + 1, y0, x1, y1, c);
        for (int l = 0; l < 5; l++) {
            const int x = pixel(f->landmarks[l][0]), y = pixel(f->landmarks[l][1]);
            fill(rgb, width, height, stride, x - t, y - t, x + t, y + t, c);
        }
    }
}

emoti_status emoti_ppm_write(const char *path, const uint8_t *rgb, int width, int height,
                             size_t stride) {
    if (!path || !rgb || width <= 0 || height <= 0 || stride < (size_t)width * 3)
        return emoti_fail(EMOTI_ERR_ARG, "%s: no image to write", path ? path : "(null)");
    emoti_outfile o;
    emoti_status st = emoti_outfile_open(&o, path);
    if (st) return st;
    fprintf(o.f, "P6\n%d %d\n255\n", width, height);
    for (int y = 0; y < height; y++) fwrite(rgb + (size_t)y * stride, 3, (size_t)width, o.f);
    return emoti_outfile_commit(&o);
}
