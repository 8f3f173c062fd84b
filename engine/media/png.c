/* PNG decoder: chunk walk, zlib inflate, unfiltering, Adam7, conversion to RGB (see png.h).
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
#include "image.h" /* EMOTI_IMAGE_MAX_PIXELS */
#include "inflate.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

enum {
    COLOUR_GREY = 0,
    COLOUR_RGB = 2,
    COLOUR_PALETTE = 3,
    COLOUR_GREY_ALPHA = 4,
    COLOUR_RGBA = 6
};

typedef struct {
    uint32_t width, height;
    unsigned depth;          /* bits per sample (palette: per index) */
    unsigned colour;         /* COLOUR_* */
    unsigned interlaced;     /* 0 none, 1 Adam7 */
    unsigned channels;       /* samples per pixel */
    unsigned bits_per_pixel; /* channels * depth */
} png_header;

typedef struct {
    const uint8_t *data;
    size_t size;
    uint64_t max_pixels;
    png_header h;
    int have_header, have_palette, have_end;
    uint8_t palette[256][3]; /* PLTE entries, then Pillow's grey ramp (i, i, i) */
    size_t first_idat;       /* file offset of the first IDAT chunk */
    size_t idat_chunks, idat_bytes;
    int idat_closed; /* a chunk other than IDAT came after the IDATs */
} png_reader;

/* ======================================================================================
 * Big-endian fields and CRC-32
 * ====================================================================================== */

static uint32_t read_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 of the PNG spec (ISO 3309; polynomial 0x04C11DB7, bits reflected: 0xEDB88320).
 * Slicing by 4: table[k][b] is the CRC contribution of byte b followed by k zero bytes, so
 * four bytes are folded in per step. */
typedef struct {
    uint32_t table[4][256];
} crc_tables;

static void make_crc_tables(crc_tables *c) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t r = b;
        for (int k = 0; k < 8; k++) r = r & 1 ? 0xEDB88320u ^ (r >> 1) : r >> 1;
        c->table[0][b] = r;
    }
    for (int k = 1; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t prev = c->table[k - 1][b];
            c->table[k][b] = (prev >> 8) ^ c->table[0][prev & 0xFF];
        }
}

/* CRC of data[0..len), continuing from crc (start with 0). */
static uint32_t crc32_update(const crc_tables *c, uint32_t crc, const uint8_t *p, size_t len) {
    uint32_t r = ~crc;
    for (; len >= 4; len -= 4, p += 4) {
        r ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        r = c->table[3][r & 0xFF] ^ c->table[2][(r >> 8) & 0xFF] ^
            c->table[1][(r >> 16) & 0xFF] ^ c->table[0][r >> 24];
    }
    for (; len > 0; len--) r = c->table[0][(r ^ *p++) & 0xFF] ^ (r >> 8);
    return ~r;
}

/* ======================================================================================
 * Chunks
 * ====================================================================================== */

typedef struct {
    size_t offset; /* of the chunk's length field in the file */
    uint32_t length;
    char type[5];
    const uint8_t *body;
    int critical; /* bit 5 of the first type byte clear */
} png_chunk;

static int is_letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static int type_is(const png_chunk *c, const char *type) { return memcmp(c->type, type, 4) == 0; }

/* Reads the chunk starting at file offset pos: bounds, type and CRC. */
static emoti_status read_chunk(const png_reader *r, const crc_tables *crc, size_t pos,
                               png_chunk *c) {
    size_t left = r->size - pos;
    if (left == 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: truncated: file ends at byte %zu before the IEND chunk", pos);
    if (left < 12)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "PNG: truncated: %zu stray bytes at byte %zu where a chunk should be",
                          left, pos);
    const uint8_t *p = r->data + pos;
    c->offset = pos;
    c->length = read_be32(p);
    for (int i = 0; i < 4; i++) {
        if (!is_letter(p[4 + i]))
            return emoti_fail(EMOTI_ERR_FORMAT,
                              "PNG: bad chunk type at byte %zu (bytes %02X %02X %02X %02X)", pos,
                              p[4], p[5], p[6], p[7]);
        c->type[i] = (char)p[4 + i];
    }
    c->type[4] = '\0';
    c->critical = !(p[4] & 0x20);
    if (c->length > 0x7FFFFFFFu)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: chunk '%s' at byte %zu: length %u is over 2^31-1",
                          c->type, pos, c->length);
    if (left - 12 < c->length)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "PNG: truncated '%s' chunk at byte %zu (%u data bytes declared, %zu "
                          "left)",
                          c->type, pos, c->length, left < 12 ? 0 : left - 12);
    c->body = p + 8;
    uint32_t stored = read_be32(c->body + c->length);
    uint32_t computed = crc32_update(crc, 0, p + 4, (size_t)c->length + 4);
    if (stored != computed)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "PNG: CRC mismatch in '%s' chunk at byte %zu (stored 0x%08X, computed "
                          "0x%08X)",
                          c->type, pos, stored, computed);
    return EMOTI_OK;
}

/* Legal bit depths for each colour type, as a bit mask of depths. */
static int depth_allowed(unsigned colour, unsigned depth) {
    unsigned mask;
    switch (colour) {
    case COLOUR_GREY: mask = 1u << 1 | 1u << 2 | 1u << 4 | 1u << 8 | 1u << 16; break;
    case COLOUR_PALETTE: mask = 1u << 1 | 1u << 2 | 1u << 4 | 1u << 8; break;
    case COLOUR_RGB:
    case COLOUR_GREY_ALPHA:
    case COLOUR_RGBA: mask = 1u << 8 | 1u << 16; break;
    default: return 0;
    }
    return depth <= 16 && (mask >> depth & 1);
}

static unsigned channels_of(unsigned colour) {
    switch (colour) {
    case COLOUR_RGB: return 3;
    case COLOUR_GREY_ALPHA: return 2;
    case COLOUR_RGBA: return 4;
    default: return 1;
    }
}

static emoti_status parse_ihdr(const png_chunk *c, png_header *h, uint64_t max_pixels) {
    if (c->length != 13)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: IHDR chunk is %u bytes, not 13", c->length);
    const uint8_t *b = c->body;
    h->width = read_be32(b);
    h->height = read_be32(b + 4);
    h->depth = b[8];
    h->colour = b[9];
    h->interlaced = b[12];
    if (h->width == 0 || h->height == 0 || h->width > 0x7FFFFFFFu || h->height > 0x7FFFFFFFu)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad IHDR: image size %ux%u", h->width,
                          h->height);
    if ((uint64_t)h->width * h->height > max_pixels)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "PNG: image size %ux%u is too large (limit %llu pixels)", h->width,
                          h->height, (unsigned long long)max_pixels);
    if (h->colour > 6 || h->colour == 1 || h->colour == 5)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad IHDR: colour type %u", h->colour);
    if (!depth_allowed(h->colour, h->depth))
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad IHDR: bit depth %u with colour type %u",
                          h->depth, h->colour);
    if (b[10] != 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad IHDR: compression method %u (only 0)",
                          b[10]);
    if (b[11] != 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad IHDR: filter method %u (only 0)", b[11]);
    if (h->interlaced > 1)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: bad IHDR: interlace method %u (only 0, 1)",
                          h->interlaced);
    h->channels = channels_of(h->colour);
    h->bits_per_pixel = h->channels * h->depth;
    return EMOTI_OK;
}

static emoti_status parse_plte(png_reader *r, const png_chunk *c) {
    if (r->have_palette) return emoti_fail(EMOTI_ERR_FORMAT, "PNG: more than one PLTE chunk");
    if (r->idat_chunks) return emoti_fail(EMOTI_ERR_FORMAT, "PNG: PLTE chunk after IDAT");
    if (c->length == 0 || c->length % 3 != 0 || c->length > 768)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "PNG: PLTE chunk of %u bytes (want 3 per entry, 1..256 entries)",
                          c->length);
    r->have_palette = 1;
    /* Only palette images use it; for RGB it is a suggestion and grey images may not have
     * one at all, but Pillow ignores it there too. */
    if (r->h.colour == COLOUR_PALETTE) memcpy(r->palette, c->body, c->length);
    return EMOTI_OK;
}

static emoti_status note_idat(png_reader *r, const png_chunk *c) {
    if (r->idat_closed)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "PNG: IDAT chunk at byte %zu is separated from the earlier IDATs",
                          c->offset);
    if (r->idat_chunks == 0) r->first_idat = c->offset;
    r->idat_chunks++;
    r->idat_bytes += c->length;
    return EMOTI_OK;
}

/* Acts on one chunk (after the first, which must be IHDR). */
static emoti_status handle_chunk(png_reader *r, const png_chunk *c) {
    if (r->idat_chunks && !type_is(c, "IDAT")) r->idat_closed = 1;
    if (type_is(c, "IDAT")) return note_idat(r, c);
    if (type_is(c, "PLTE")) return parse_plte(r, c);
    if (type_is(c, "IEND")) {
        r->have_end = 1;
        return EMOTI_OK;
    }
    if (type_is(c, "IHDR")) return emoti_fail(EMOTI_ERR_FORMAT, "PNG: more than one IHDR chunk");
    if (c->critical)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "PNG: unknown critical chunk '%s' at byte %zu",
                          c->type, c->offset);
    return EMOTI_OK; /* ancillary (tRNS, gAMA, tEXt, ...): nothing in it changes RGB output */
}

/* Walks every chunk from the signature to IEND. */
static emoti_status read_chunks(png_reader *r) {
    crc_tables crc;
    make_crc_tables(&crc);
    size_t pos = sizeof png_signature;
    while (!r->have_end) {
        png_chunk c;
        emoti_status st = read_chunk(r, &crc, pos, &c);
        if (st != EMOTI_OK) return st;
        if (!r->have_header) {
            if (!type_is(&c, "IHDR"))
                return emoti_fail(EMOTI_ERR_FORMAT, "PNG: first chunk is '%s', not IHDR", c.type);
            if ((st = parse_ihdr(&c, &r->h, r->max_pixels)) != EMOTI_OK) return st;
            r->have_header = 1;
        } else if ((st = handle_chunk(r, &c)) != EMOTI_OK) {
            return st;
        }
        pos += (size_t)c.length + 12;
    }
    if (r->idat_chunks == 0) return emoti_fail(EMOTI_ERR_FORMAT, "PNG: no IDAT chunk");
    if (r->h.colour == COLOUR_PALETTE && !r->have_palette)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: palette image without a PLTE chunk");
    return EMOTI_OK;
}

/* The zlib stream: the IDAT payloads in order. Points into the file when there is one IDAT,
 * else joins them into *owned (free it). All chunks were checked by read_chunks. */
static emoti_status join_idat(const png_reader *r, const uint8_t **stream, uint8_t **owned) {
    *owned = NULL;
    const uint8_t *first = r->data + r->first_idat;
    if (r->idat_chunks == 1) {
        *stream = first + 8;
        return EMOTI_OK;
    }
    uint8_t *joined = malloc(r->idat_bytes ? r->idat_bytes : 1);
    if (!joined)
        return emoti_fail(EMOTI_ERR_NOMEM, "PNG: out of memory joining %zu bytes of IDAT",
                          r->idat_bytes);
    const uint8_t *p = first;
    size_t filled = 0;
    for (size_t i = 0; i < r->idat_chunks; i++) {
        size_t len = read_be32(p);
        memcpy(joined + filled, p + 8, len);
        filled += len;
        p += len + 12;
    }
    *stream = joined;
    *owned = joined;
    return EMOTI_OK;
}

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
    emoti_status st = join_idat(r, &stream, &owned);
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

static emoti_status decode_image(const png_reader *r, emoti_image *out) {
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

/* ======================================================================================
 * Entry point
 * ====================================================================================== */

static emoti_status check_signature(const uint8_t *data, size_t size) {
    size_t n = size < sizeof png_signature ? size : sizeof png_signature;
    if (memcmp(data, png_signature, n) == 0 && n < sizeof png_signature)
        return emoti_fail(EMOTI_ERR_FORMAT, "PNG: truncated: %zu bytes", size);
    if (n == sizeof png_signature && memcmp(data, png_signature, n) == 0) return EMOTI_OK;
    if (size >= 4 && memcmp(data, png_signature, 4) == 0)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "PNG: damaged signature (line endings converted by a text-mode "
                          "transfer?)");
    return emoti_fail(EMOTI_ERR_FORMAT, "PNG: not a PNG file (bad signature)");
}

emoti_status emoti_png_decode(const uint8_t *data, size_t size, emoti_image *out) {
    return emoti_png_decode_max(data, size, EMOTI_IMAGE_MAX_PIXELS, out);
}

emoti_status emoti_png_decode_max(const uint8_t *data, size_t size, uint64_t max_pixels,
                                  emoti_image *out) {
    if (!out) return emoti_fail(EMOTI_ERR_ARG, "PNG decode: NULL image");
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!data && size) return emoti_fail(EMOTI_ERR_ARG, "PNG decode: NULL data");
    if (!data) data = (const uint8_t *)"";
    emoti_status st = check_signature(data, size);
    if (st != EMOTI_OK) return st;

    png_reader *r = calloc(1, sizeof *r);
    if (!r) return emoti_fail(EMOTI_ERR_NOMEM, "PNG: out of memory");
    r->data = data;
    r->size = size;
    r->max_pixels = max_pixels;
    for (int i = 0; i < 256; i++) r->palette[i][0] = r->palette[i][1] = r->palette[i][2] = (uint8_t)i;
    st = read_chunks(r);
    if (st == EMOTI_OK) st = decode_image(r, out);
    free(r);
    return st;
}
