/* The PNG decoder's shared parts: png_chunks.c walks the chunks (signature, CRCs, IHDR, PLTE,
 * where the IDATs are) and is the entry point; png.c inflates, unfilters and converts the
 * image data. Only those two include it. */
#ifndef EMOTI_PNG_INTERNAL_H
#define EMOTI_PNG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"

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

static inline uint32_t read_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* png.c: the decoded image, from the chunks read_chunks collected into r. */
emoti_status emoti_png_decode_image(const png_reader *r, emoti_image *out);
/* png_chunks.c: the zlib stream, the IDAT payloads in order: points into the file when there
 * is one IDAT, else joins them into *owned (free it). */
emoti_status emoti_png_join_idat(const png_reader *r, const uint8_t **stream, uint8_t **owned);

#endif
