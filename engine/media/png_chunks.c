/* PNG chunks: the signature, every chunk's bounds, type and CRC-32, the header (IHDR), the
 * palette (PLTE) and where the image data (IDAT) lies; and the decoder's entry point. png.c
 * decodes the image data. Built for size: the CRC over the image data, its only loop over
 * every byte, measured as fast at -Os (1 MP photo, bench_decode). */
#include "png.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h" /* EMOTI_IMAGE_MAX_PIXELS */
#include "png_internal.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

/* ======================================================================================
 * CRC-32
 * ====================================================================================== */

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

/* All chunks were checked by read_chunks. */
emoti_status emoti_png_join_idat(const png_reader *r, const uint8_t **stream, uint8_t **owned) {
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
    if (st == EMOTI_OK) st = emoti_png_decode_image(r, out);
    free(r);
    return st;
}
