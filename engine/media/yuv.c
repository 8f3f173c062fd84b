/* 8-bit YCbCr planes to RGB exactly as `ffmpeg -pix_fmt rgb24` converts them: nearest chroma,
 * swscale's coefficients and fixed-point arithmetic, limited or full range. */
#include "yuv.h"

static uint8_t clamp8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* floor(a * b / 65536): the signed "multiply high" of 16-bit SIMD units. */
static int mul_high(int a, int b) {
    int p = a * b;
    return p >= 0 ? p >> 16 : -((-p + 65535) >> 16);
}

/* swscale's roundToInt16 of a 16.16 value: (v + 2^15) >> 16, an arithmetic (flooring) shift. */
static int round16(int64_t v) {
    int64_t t = v + (1 << 15);
    return (int)(t >= 0 ? t >> 16 : -((-t + 65535) >> 16));
}

/* swscale's coefficients (ff_yuv2rgb_c_init_tables): the BT.601 inverse matrix in 16.16
 * (Cr->R, Cb->B, Cb->G, Cr->G); limited range stretches luma by 255/219 and offsets it by 16,
 * full range instead shrinks chroma by 224/255 (both with C's truncating division). Each
 * conversion path then keeps 13 fractional bits of them. */
static void range_coeffs(int full, emoti_yuv_coeffs *simd, emoti_yuv_coeffs *full_chroma) {
    int64_t crv = 104597, cbu = 132201, cgu = -25675, cgv = -53279, cy = 1 << 16, oy = 0;
    if (full) {
        crv = crv * 224 / 255, cbu = cbu * 224 / 255, cgu = cgu * 224 / 255, cgv = cgv * 224 / 255;
    } else {
        cy = cy * 255 / 219, oy = 16 << 16;
    }
    emoti_yuv_coeffs c = {round16(cy * 8192), 0, round16(crv * 8192), round16(cgu * 8192),
                    round16(cgv * 8192), round16(cbu * 8192)};
    *simd = c, *full_chroma = c;
    simd->y_offset = round16(oy * 8);          /* samples scaled by 8 */
    full_chroma->y_offset = round16(oy * 512); /* samples scaled by 512 */
}

/* ffmpeg converts subsampled 8-bit YUV to rgb24 with its x86 SIMD path: samples scaled by 8,
 * coefficients in 2.13 fixed point, products truncated to their high 16 bits. Reproducing that
 * arithmetic gives its output exactly. */
static void yuv_to_rgb_subsampled(const emoti_yuv_coeffs *k, int y, int cb, int cr, uint8_t rgb[3]) {
    int luma = mul_high(y * 8 - k->y_offset, k->y), u = (cb - 128) * 8, v = (cr - 128) * 8;
    rgb[0] = clamp8(luma + mul_high(v, k->v2r));
    rgb[1] = clamp8(luma + mul_high(u, k->u2g) + mul_high(v, k->v2g));
    rgb[2] = clamp8(luma + mul_high(u, k->u2b));
}

/* One channel of swscale's full-chroma output: a 32-bit sum with 22 fractional bits, clipped
 * to 30 bits. The sum is formed in unsigned 32-bit arithmetic, so bright out-of-gamut pixels
 * of limited-range video (high Y with extreme chroma) wrap negative and come out 0; doing the
 * same keeps the output identical to ffmpeg's. */
static uint8_t full_chroma_channel(int64_t sum) {
    uint32_t u = (uint32_t)(sum & 0xffffffff);
    if (u >= 0x80000000u) return 0; /* negative as swscale's int */
    if (u >= 0x40000000u) return 255;
    return (uint8_t)(u >> 22);
}

/* 4:4:4 goes through swscale's generic scaler with full chroma: 8-bit samples widened to
 * 15 bits (<< 7) then scaled by 4, the luma offset removed, coefficients applied. */
static void yuv_to_rgb_full_chroma(const emoti_yuv_coeffs *k, int y, int cb, int cr, uint8_t rgb[3]) {
    int64_t luma = (int64_t)(y * 512 - k->y_offset) * k->y + (1 << 21);
    int64_t u = (cb - 128) * 512, v = (cr - 128) * 512;
    rgb[0] = full_chroma_channel(luma + v * k->v2r);
    rgb[1] = full_chroma_channel(luma + v * k->v2g + u * k->u2g);
    rgb[2] = full_chroma_channel(luma + u * k->u2b);
}

void emoti_yuv_format_init(emoti_yuv_format *f, int w, int h, int sx, int sy, int mono,
                           int full_range) {
    f->w = w, f->h = h, f->sx = sx, f->sy = sy, f->mono = mono;
    f->cw = (w + sx) >> sx;
    range_coeffs(full_range, &f->subsampled, &f->full_chroma);
}

void emoti_yuv_to_rgb(const emoti_yuv_format *f, const uint8_t *yp, const uint8_t *cb,
                      const uint8_t *cr, uint8_t *rgb) {
    for (int r = 0; r < f->h; r++)
        for (int c = 0; c < f->w; c++) {
            uint8_t *px = rgb + ((size_t)r * f->w + c) * 3;
            int luma = yp[(size_t)r * f->w + c];
            size_t ci = (size_t)(r >> f->sy) * f->cw + (c >> f->sx);
            if (f->mono) /* ffmpeg takes grey as full range whatever the header: R = G = B = Y */
                px[0] = px[1] = px[2] = (uint8_t)luma;
            else if (f->sx || f->sy)
                yuv_to_rgb_subsampled(&f->subsampled, luma, cb[ci], cr[ci], px);
            else
                yuv_to_rgb_full_chroma(&f->full_chroma, luma, cb[ci], cr[ci], px);
        }
}
