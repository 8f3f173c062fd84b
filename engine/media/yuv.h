/* YCbCr -> RGB as ffmpeg converts 8-bit video to rgb24 (swscale: its x86 SIMD path for
 * subsampled chroma, its full-chroma scaler for 4:4:4), bit for bit. */
#ifndef EMOTI_YUV_H
#define EMOTI_YUV_H

#include <stddef.h>
#include <stdint.h>

/* Coefficients as swscale derives them for one range, in the fixed point of one path. */
typedef struct {
    int y, y_offset; /* luma scale and offset */
    int v2r, u2g, v2g, u2b;
} emoti_yuv_coeffs;

typedef struct {
    int w, h, sx, sy, mono; /* luma size; chroma subsampled by 2^sx x 2^sy; grey only */
    int cw;                 /* chroma plane width, (w + sx) >> sx */
    emoti_yuv_coeffs subsampled, full_chroma;
} emoti_yuv_format;

void emoti_yuv_format_init(emoti_yuv_format *f, int w, int h, int sx, int sy, int mono,
                           int full_range);
/* Planes y (w x h), cb and cr (cw wide; unread when mono) into rgb (w x h x 3). */
void emoti_yuv_to_rgb(const emoti_yuv_format *f, const uint8_t *y, const uint8_t *cb,
                      const uint8_t *cr, uint8_t *rgb);

#endif
