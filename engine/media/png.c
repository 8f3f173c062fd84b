/* PNG decoder: chunk walk (png_chunks.c), zlib inflate, unfiltering, Adam7, conversion to RGB
 * (see png.h).
 *
 * Steps: check the signature; walk the chunks once, verifying each CRC and collecting the
 * header, the palette and where the IDAT chunks are; join the IDAT payloads; inflate them
 * as a stream (up to the length the header implies), undoing each row's filter as it
 * completes and writing its pixels, converted to RGB, to their place in the output image.
 * Memory beyond the file and the RGB output: the joined IDAT payloads (only when there are
 * several), the inflater's ~100 KiB window and two rows.
 */
#include "png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "inflate.h"
#include "png_internal.h"

/* ======================================================================================
 * Passes and sizes
 * ====================================================================================== */

typedef struct {
    uint32_t x0, y0, dx, dy; /* first pixel and spacing in the full image */
} png_pass;

static const png_pass adam7_passes[7] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                         {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
static const png_pass whole_image = {0, 0, 1, 1};

/* Pixels of a pass along one axis of `size` pixels. */
static uint32_t pass_extent(uint32_t size, uint32_t start, uint32_t step) {
    return size > start ? (size - start - 1) / step + 1 : 0;
}

/* Bytes of one scanline of `pixels` pixels, without its filter byte. */
static uint64_t line_bytes(const png_header *h, uint32_t pixels) {
    return ((uint64_t)pixels * h->bits_per_pixel + 7) / 8;
}

/* Filtered bytes of a pass: per row, one filter byte and the line; an empty pass has none. */
static uint64_t pass_bytes(const png_header *h, const png_pass *p) {
    uint32_t w = pass_extent(h->width, p->x0, p->dx), rows = pass_extent(h->height, p->y0, p->dy);
    if (w == 0 || rows == 0) return 0;
    return (uint64_t)rows * (1 + line_bytes(h, w));
}

static int pass_count(const png_header *h) { return h->interlaced ? 7 : 1; }

static const png_pass *pass_at(const png_header *h, int i) {
    return h->interlaced ? &adam7_passes[i] : &whole_image;
}

/* The exact decompressed size the header implies (at most ~2^31 given the pixel cap). */
static uint64_t image_data_bytes(const png_header *h) {
    uint64_t total = 0;
    for (int i = 0; i < pass_count(h); i++) total += pass_bytes(h, pass_at(h, i));
    return total;
}

/* ======================================================================================
 * Filters (PNG spec section 9)
 * ====================================================================================== */

/* The Paeth predictor: whichever of left a, up b, up-left c is closest to p = a + b - c,
 * ties going to a, then b. (|p - a| = |b - c| and so on; written with selects rather than
 * branches, which mispredict on photographic data.) */
static inline uint8_t paeth(int a, int b, int c) {
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    int b_or_c = pb <= pc ? b : c;
    return (uint8_t)(((pa <= pb) & (pa <= pc)) ? a : b_or_c);
}

/* Paeth for a pixel of `bpp` bytes (a compile-time constant once inlined): the left and
 * up-left bytes stay in registers instead of being read back from the line. n is a whole
 * number of pixels. */
static inline void unpaeth_pixels(uint8_t *line, const uint8_t *prev, size_t n, size_t bpp) {
    uint8_t left[8], up_left[8];
    for (size_t k = 0; k < bpp; k++) {
        left[k] = line[k] = (uint8_t)(line[k] + prev[k]);
        up_left[k] = prev[k];
    }
    for (size_t i = bpp; i < n; i += bpp)
        for (size_t k = 0; k < bpp; k++) {
            uint8_t up = prev[i + k];
            left[k] = line[i + k] = (uint8_t)(line[i + k] + paeth(left[k], up, up_left[k]));
            up_left[k] = up;
        }
}

static void unpaeth(uint8_t *line, const uint8_t *prev, size_t n, size_t bpp) {
    switch (bpp) { /* the pixel sizes PNG has: 1, 2, 3, 4, 6, 8 bytes */
    case 1: unpaeth_pixels(line, prev, n, 1); break;
    case 2: unpaeth_pixels(line, prev, n, 2); break;
    case 3: unpaeth_pixels(line, prev, n, 3); break;
    case 4: unpaeth_pixels(line, prev, n, 4); break;
    case 6: unpaeth_pixels(line, prev, n, 6); break;
    default: unpaeth_pixels(line, prev, n, 8); break;
    }
}

/* Undoes one filter in place. prev is the previous unfiltered line of the same pass, NULL on
 * a pass's first line (where "up" bytes are 0); bpp is the byte distance to "left". */
static void unfilter_line(unsigned filter, uint8_t *line, const uint8_t *prev, size_t n,
                          size_t bpp) {
    size_t i;
    switch (filter) {
    case 1: /* Sub */
        for (i = bpp; i < n; i++) line[i] = (uint8_t)(line[i] + line[i - bpp]);
        break;
    case 2: /* Up */
        if (prev)
            for (i = 0; i < n; i++) line[i] = (uint8_t)(line[i] + prev[i]);
        break;
    case 3: /* Average */
        if (!prev) {
            for (i = bpp; i < n; i++) line[i] = (uint8_t)(line[i] + (line[i - bpp] >> 1));
            break;
        }
        for (i = 0; i < bpp && i < n; i++) line[i] = (uint8_t)(line[i] + (prev[i] >> 1));
        for (; i < n; i++) line[i] = (uint8_t)(line[i] + ((line[i - bpp] + prev[i]) >> 1));
        break;
    case 4: /* Paeth; with no line above it reduces to Sub */
        if (!prev) {
            unfilter_line(1, line, NULL, n, bpp);
            break;
        }
        unpaeth(line, prev, n, bpp);
        break;
    default: break; /* 0: None */
    }
}

/* ======================================================================================
 * Conversion to RGB (Pillow's convert('RGB') rules, see png.h)
 * ====================================================================================== */

/* Sample i of a line packed at 1, 2 or 4 bits per sample, leftmost pixel in the high bits. */
static unsigned packed_sample(const uint8_t *line, uint32_t i, unsigned depth) {
    size_t bit = (size_t)i * depth;
    return (line[bit >> 3] >> (8 - depth - (bit & 7))) & ((1u << depth) - 1);
}

static void put_grey(uint8_t *dst, unsigned v) { dst[0] = dst[1] = dst[2] = (uint8_t)v; }

/* Grey at 1, 2 or 4 bits, scaled so that the largest value is 255. */
static void convert_grey_packed(const uint8_t *line, uint32_t n, unsigned depth, uint8_t *dst,
                                size_t step) {
    unsigned scale = 255 / ((1u << depth) - 1);
    for (uint32_t i = 0; i < n; i++, dst += step) put_grey(dst, packed_sample(line, i, depth) * scale);
}

static void convert_palette(const uint8_t *line, uint32_t n, unsigned depth,
                            const uint8_t palette[256][3], uint8_t *dst, size_t step) {
    for (uint32_t i = 0; i < n; i++, dst += step) {
        const uint8_t *rgb = palette[depth == 8 ? line[i] : packed_sample(line, i, depth)];
        dst[0] = rgb[0];
        dst[1] = rgb[1];
        dst[2] = rgb[2];
    }
}

/* Grey (first sample of each pixel) from 8-bit or 16-bit samples: for 16 bits the high byte,
 * since src advances by pixel_bytes and 16-bit samples are big-endian. */
static void convert_grey_high_byte(const uint8_t *src, size_t pixel_bytes, uint32_t n,
                                   uint8_t *dst, size_t step) {
    for (uint32_t i = 0; i < n; i++, src += pixel_bytes, dst += step) put_grey(dst, src[0]);
}

/* 16-bit grey without alpha: Pillow's 32-bit "I" image saturates at 255. */
static void convert_grey16_clipped(const uint8_t *src, uint32_t n, uint8_t *dst, size_t step) {
    for (uint32_t i = 0; i < n; i++, src += 2, dst += step) {
        unsigned v = (unsigned)src[0] << 8 | src[1];
        put_grey(dst, v > 255 ? 255 : v);
    }
}

/* RGB from the first three samples of each pixel (high bytes for 16-bit samples). */
static void convert_rgb_high_byte(const uint8_t *src, size_t pixel_bytes, size_t sample_bytes,
                                  uint32_t n, uint8_t *dst, size_t step) {
    if (pixel_bytes == 3 && step == 3) {
        memcpy(dst, src, (size_t)n * 3);
        return;
    }
    for (uint32_t i = 0; i < n; i++, src += pixel_bytes, dst += step) {
        dst[0] = src[0];
        dst[1] = src[sample_bytes];
        dst[2] = src[2 * sample_bytes];
    }
}

/* Converts one unfiltered line of n pixels; pixel i goes to dst + i * step. */
static void convert_line(const png_reader *r, const uint8_t *line, uint32_t n, uint8_t *dst,
                         size_t step) {
    const png_header *h = &r->h;
    size_t sample_bytes = h->depth == 16 ? 2 : 1, pixel_bytes = sample_bytes * h->channels;
    switch (h->colour) {
    case COLOUR_PALETTE: convert_palette(line, n, h->depth, r->palette, dst, step); break;
    case COLOUR_GREY:
        if (h->depth < 8)
            convert_grey_packed(line, n, h->depth, dst, step);
        else if (h->depth == 16)
            convert_grey16_clipped(line, n, dst, step);
        else
            convert_grey_high_byte(line, 1, n, dst, step);
        break;
    case COLOUR_GREY_ALPHA: convert_grey_high_byte(line, pixel_bytes, n, dst, step); break;
    default: convert_rgb_high_byte(line, pixel_bytes, sample_bytes, n, dst, step); break;
    }
}

/* ======================================================================================
 * Image assembly
 * ====================================================================================== */

/* The rows as the inflater hands them over: each filtered row is gathered into `cur`, then
 * unfiltered against `prev` (the row above in the same pass) and converted straight into the
 * output image, so memory beyond the image is two rows. */
typedef struct {
    const png_reader *r;
    emoti_image *img;
    uint8_t *cur, *prev; /* 1 filter byte + the widest line, each */
    size_t have;         /* bytes of cur filled */
    size_t n;            /* line bytes of the current pass */
    uint32_t w, rows, y; /* the current pass's size and row */
    int pass;            /* pass_count when every row is in */
    int bad;             /* a row had a bad filter type (the rest is ignored) */
    unsigned bad_filter;
} png_rows;

/* Moves to the next pass with pixels (or past the last one). */
static void start_pass(png_rows *s, int pass) {
    const png_header *h = &s->r->h;
    s->pass = pass;
    s->y = 0;
    for (; s->pass < pass_count(h); s->pass++) {
        const png_pass *p = pass_at(h, s->pass);
        s->w = pass_extent(h->width, p->x0, p->dx);
        s->rows = pass_extent(h->height, p->y0, p->dy);
        if (s->w && s->rows) break;
    }
    if (s->pass < pass_count(h)) s->n = (size_t)line_bytes(h, s->w);
}

/* Unfilters and converts the complete row in cur. */
static void finish_row(png_rows *s) {
    const png_header *h = &s->r->h;
    const png_pass *p = pass_at(h, s->pass);
    unsigned filter = s->cur[0];
    if (filter > 4) {
        s->bad = 1;
        s->bad_filter = filter;
        return;
    }
    size_t bpp = h->bits_per_pixel >= 8 ? h->bits_per_pixel / 8 : 1;
    unfilter_line(filter, s->cur + 1, s->y ? s->prev + 1 : NULL, s->n, bpp);
    size_t first_pixel = ((size_t)(p->y0 + s->y * p->dy) * h->width + p->x0) * 3;
    convert_line(s->r, s->cur + 1, s->w, s->img->rgb + first_pixel, (size_t)p->dx * 3);
    uint8_t *t = s->prev;
    s->prev = s->cur;
    s->cur = t;
    s->have = 0;
    if (++s->y == s->rows) start_pass(s, s->pass + 1);
}

static emoti_status take_rows(void *ctx, const uint8_t *data, size_t n) {
    png_rows *s = ctx;
    while (n > 0 && !s->bad && s->pass < pass_count(&s->r->h)) {
        size_t k = s->n + 1 - s->have;
        if (k > n) k = n;
        memcpy(s->cur + s->have, data, k);
        s->have += k;
        data += k;
        n -= k;
        if (s->have == s->n + 1) finish_row(s);
    }
    return EMOTI_OK; /* the header bounds the data: the inflater stops at that length */
}

/* Errors in the order the data gives them: inflation first, then length, then filters. */
static emoti_status inflate_rows(png_rows *s, size_t expected) {
    const png_reader *r = s->r;
    const uint8_t *stream = NULL;
    uint8_t *owned = NULL;
    emoti_status st = emoti_png_join_idat(r, &stream, &owned);
    if (st != EMOTI_OK) return st;
    size_t got = 0;
    st = emoti_zlib_decompress_to(stream, r->idat_bytes, expected, take_rows, s, &got);
    free(owned);
    if (st != EMOTI_OK) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "PNG image data (IDAT, %zu bytes by the header)",
                 expected);
        emoti_error_prefix(prefix);
        return st;
    }
    if (got != expected)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "PNG: image data too short: %zu bytes, the header implies %zu", got,
                          expected);
    if (!s->bad) return EMOTI_OK;
    if (r->h.interlaced)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad filter type %u on row %u of interlace pass %d",
                          s->bad_filter, s->y, s->pass + 1);
    return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad filter type %u on row %u", s->bad_filter, s->y);
}

emoti_status emoti_png_decode_image(const png_reader *r, emoti_image *out) {
    const png_header *h = &r->h;
    uint64_t expected = image_data_bytes(h);
    if (expected > SIZE_MAX)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "PNG: image data of %llu bytes is too large",
                          (unsigned long long)expected);
    size_t rgb_bytes = (size_t)h->width * h->height * 3; /* <= 3 * 2^28 */
    size_t row = (size_t)line_bytes(h, h->width) + 1;
    emoti_image img = {(int)h->width, (int)h->height, malloc(rgb_bytes)};
    png_rows s = {r, &img, malloc(row), malloc(row), 0, 0, 0, 0, 0, 0, 0, 0};
    emoti_status st = EMOTI_OK;
    if (!img.rgb || !s.cur || !s.prev)
        st = emoti_fail(EMOTI_ERR_NOMEM, "PNG: out of memory for a %ux%u image", h->width,
                        h->height);
    if (st == EMOTI_OK) {
        start_pass(&s, 0);
        st = inflate_rows(&s, (size_t)expected);
    }
    free(s.cur);
    free(s.prev);
    if (st != EMOTI_OK) {
        free(img.rgb);
        return st;
    }
    *out = img;
    return EMOTI_OK;
}
