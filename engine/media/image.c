/* Image files to 8-bit RGB: a small dispatcher on the first bytes plus a Netpbm PPM/PGM
 * decoder; JPEG (engine/media/jpeg.c) and PNG (engine/media/png.c) have their own files. */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jpeg.h"
#include "png.h"

/* ======================================================================================
 * Dispatcher
 * ====================================================================================== */

typedef struct {
    const char *name;
    const char *magic;
    size_t magic_len;
} foreign_format;

/* Formats we can name in the error message although we cannot decode them (yet). */
static const foreign_format foreign_formats[] = {
    {"GIF", "GIF8", 4},
};

static int has_prefix(const uint8_t *data, size_t size, const char *magic, size_t len) {
    return size >= len && memcmp(data, magic, len) == 0;
}

static emoti_status reject_unknown_format(const uint8_t *data, size_t size) {
    for (size_t i = 0; i < sizeof foreign_formats / sizeof foreign_formats[0]; i++) {
        const foreign_format *f = &foreign_formats[i];
        if (has_prefix(data, size, f->magic, f->magic_len))
            return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                              "%s images are not supported (JPEG, PNG and PPM/PGM are)",
                              f->name);
    }
    if (size == 0) return emoti_fail(EMOTI_ERR_FORMAT, "empty file, not an image");
    if (size == 1)
        return emoti_fail(EMOTI_ERR_FORMAT, "unknown image format (1 byte: 0x%02X)", data[0]);
    return emoti_fail(EMOTI_ERR_FORMAT,
                      "unknown image format (starts with 0x%02X 0x%02X; expected JPEG, PNG or PPM/PGM)",
                      data[0], data[1]);
}

uint64_t emoti_max_pixels(const emoti_decode_opts *opts) {
    uint64_t m = opts ? opts->max_pixels : 0;
    return m == 0 ? EMOTI_MAX_PIXELS_DEFAULT : m > EMOTI_IMAGE_MAX_PIXELS ? EMOTI_IMAGE_MAX_PIXELS : m;
}

emoti_status emoti_image_decode_opts(const uint8_t *data, size_t size,
                                     const emoti_decode_opts *opts, emoti_image *image) {
    if (!image) return emoti_fail(EMOTI_ERR_ARG, "image decode: NULL image");
    image->width = image->height = 0;
    image->rgb = NULL;
    if (!data && size > 0) return emoti_fail(EMOTI_ERR_ARG, "image decode: NULL data");
    uint64_t max = emoti_max_pixels(opts);
    if (size >= 2 && data[0] == 'P') return emoti_ppm_decode_max(data, size, max, image);
    if (has_prefix(data, size, "\xFF\xD8\xFF", 3)) return emoti_jpeg_decode_max(data, size, max, image);
    if (has_prefix(data, size, "\x89PNG\r\n\x1A\n", 8))
        return emoti_png_decode_max(data, size, max, image);
    return reject_unknown_format(data, size);
}

emoti_status emoti_image_decode(const uint8_t *data, size_t size, emoti_image *image) {
    return emoti_image_decode_opts(data, size, NULL, image);
}

void emoti_image_free(emoti_image *image) {
    if (!image) return;
    free(image->rgb);
    image->rgb = NULL;
    image->width = image->height = 0;
}

/* ======================================================================================
 * Reading a file
 * ====================================================================================== */

emoti_status emoti_image_load_opts(const char *path, const emoti_decode_opts *opts,
                                   emoti_image *image) {
    if (!image) return emoti_fail(EMOTI_ERR_ARG, "image load: NULL image");
    image->width = image->height = 0;
    image->rgb = NULL;
    if (!path) return emoti_fail(EMOTI_ERR_ARG, "image load: NULL path");

    uint8_t *data = NULL;
    size_t size = 0;
    int in = !strcmp(path, "-");
    emoti_status st = emoti_file_read(path, in ? EMOTI_IMAGE_STDIN_MAX : 0, &data, &size);
    if (st) return st; /* the message names the file */
    st = emoti_image_decode_opts(data, size, opts, image);
    free(data);
    if (st != EMOTI_OK) emoti_error_prefix(in ? "stdin" : path);
    return st;
}

emoti_status emoti_image_load(const char *path, emoti_image *image) {
    return emoti_image_load_opts(path, NULL, image);
}

/* ======================================================================================
 * Netpbm PPM / PGM
 *
 * Header: magic, width, height, maxval as ASCII decimals separated by whitespace, with
 * '#' comments running to the end of a line. Binary rasters start after exactly one
 * whitespace byte following maxval; samples are 1 byte, or 2 bytes big-endian if maxval > 255.
 * ====================================================================================== */

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} cursor;

typedef struct {
    char magic;   /* '2', '3', '5' or '6' */
    int ascii;    /* P2, P3 */
    int channels; /* 1 (PGM) or 3 (PPM) */
    uint32_t width, height, maxval;
    uint64_t max_pixels;
} ppm_header;

static int is_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int at_end(const cursor *c) { return c->pos >= c->size; }

static void skip_comment(cursor *c) {
    while (!at_end(c) && c->data[c->pos] != '\n' && c->data[c->pos] != '\r') c->pos++;
}

static void skip_space_and_comments(cursor *c) {
    while (!at_end(c)) {
        uint8_t b = c->data[c->pos];
        if (b == '#')
            skip_comment(c);
        else if (is_space(b))
            c->pos++;
        else
            break;
    }
}

/* Copies a token for an error message: printable ASCII, at most 16 characters. */
static const char *printable_token(const uint8_t *tok, size_t len, char out[24]) {
    size_t n = len < 16 ? len : 16, i;
    for (i = 0; i < n; i++) out[i] = tok[i] >= 0x20 && tok[i] < 0x7F ? (char)tok[i] : '?';
    if (len > n) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

typedef enum { NUMBER_OK, NUMBER_MISSING, NUMBER_BAD } number_result;

/* Reads the next whitespace-delimited token as an unsigned decimal; values beyond 2^32-1
 * saturate there (every limit we check is far smaller). On NUMBER_BAD, *tok / *tok_len give
 * the offending token. */
static number_result read_number(cursor *c, uint32_t *value, const uint8_t **tok,
                                 size_t *tok_len) {
    skip_space_and_comments(c);
    if (at_end(c)) return NUMBER_MISSING;
    size_t start = c->pos;
    while (!at_end(c) && !is_space(c->data[c->pos]) && c->data[c->pos] != '#') c->pos++;
    *tok = c->data + start;
    *tok_len = c->pos - start;
    uint64_t v = 0;
    for (size_t i = start; i < c->pos; i++) {
        uint8_t d = c->data[i];
        if (d < '0' || d > '9') return NUMBER_BAD;
        v = v * 10 + (uint64_t)(d - '0');
        if (v > UINT32_MAX) v = UINT32_MAX;
    }
    *value = (uint32_t)v;
    return NUMBER_OK;
}

static emoti_status read_header_number(cursor *c, const ppm_header *h, const char *what,
                                       uint32_t *value) {
    const uint8_t *tok = NULL;
    size_t len = 0;
    char shown[24];
    switch (read_number(c, value, &tok, &len)) {
    case NUMBER_OK: return EMOTI_OK;
    case NUMBER_MISSING:
        return emoti_fail(EMOTI_ERR_FORMAT, "truncated P%c header: missing %s", h->magic, what);
    default:
        return emoti_fail(EMOTI_ERR_FORMAT, "bad P%c header: %s must be a number, found '%s'",
                          h->magic, what, printable_token(tok, len, shown));
    }
}

static emoti_status read_magic(cursor *c, ppm_header *h) {
    char kind = (char)c->data[1];
    h->magic = kind;
    switch (kind) {
    case '2': case '3': case '5': case '6': break;
    case '1': case '4':
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "PBM bitmaps (P%c) are not supported (only PPM/PGM: P2, P3, P5, P6)",
                          kind);
    case '7':
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "PAM images (P7) are not supported (only PPM/PGM: P2, P3, P5, P6)");
    default:
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "unknown image format (starts with 'P' 0x%02X; expected PPM/PGM: P2, "
                          "P3, P5, P6)",
                          c->data[1]);
    }
    h->ascii = kind == '2' || kind == '3';
    h->channels = kind == '3' || kind == '6' ? 3 : 1;
    c->pos = 2;
    /* "P62 ..." is not a P6 header: the magic must be followed by whitespace or a comment. */
    if (!at_end(c) && !is_space(c->data[c->pos]) && c->data[c->pos] != '#')
        return emoti_fail(EMOTI_ERR_FORMAT, "bad P%c header: no whitespace after the magic",
                          kind);
    return EMOTI_OK;
}

static emoti_status check_dimensions(const ppm_header *h) {
    if (h->width == 0 || h->height == 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad P%c header: image size %ux%u is empty",
                          h->magic, h->width, h->height);
    if ((uint64_t)h->width * h->height > h->max_pixels)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "bad P%c header: image size %ux%u is too large (limit %llu pixels)",
                          h->magic, h->width, h->height, (unsigned long long)h->max_pixels);
    return EMOTI_OK;
}

static emoti_status read_header(cursor *c, ppm_header *h) {
    emoti_status st;
    if ((st = read_magic(c, h)) != EMOTI_OK) return st;
    if ((st = read_header_number(c, h, "width", &h->width)) != EMOTI_OK) return st;
    if ((st = read_header_number(c, h, "height", &h->height)) != EMOTI_OK) return st;
    if ((st = check_dimensions(h)) != EMOTI_OK) return st;
    if ((st = read_header_number(c, h, "maxval", &h->maxval)) != EMOTI_OK) return st;
    if (h->maxval == 0 || h->maxval > 65535)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad P%c header: maxval %u%s is out of range 1..65535",
                          h->magic, h->maxval, h->maxval == UINT32_MAX ? " (or more)" : "");
    return EMOTI_OK;
}

/* Binary rasters start after exactly one whitespace byte. read_number stopped maxval at
 * whitespace, a '#' or the end; a comment right after maxval is taken to end with its
 * newline, as libnetpbm reads it. */
static void skip_raster_separator(cursor *c) {
    if (at_end(c)) return; /* the truncation check reports it */
    if (c->data[c->pos] == '#') skip_comment(c);
    if (!at_end(c)) c->pos++;
}

/* maxval-scale sample to 0..255: round to nearest, ties to even (what Pillow does for PGM/PPM
 * with maxval < 255). */
static uint8_t scale_sample(uint32_t v, uint32_t maxval) {
    uint32_t num = v * 255u;
    uint32_t q = num / maxval, r = num % maxval;
    if (2 * r > maxval || (2 * r == maxval && (q & 1))) q++;
    return (uint8_t)q;
}

/* rgb NULL: only check the raster (see emoti_ppm_decode). */
static void store_sample(const ppm_header *h, uint8_t *rgb, size_t index, uint32_t v) {
    if (!rgb) return;
    uint8_t b = h->maxval == 255 ? (uint8_t)v : scale_sample(v, h->maxval);
    if (h->channels == 3) {
        rgb[index] = b;
    } else {
        rgb[3 * index] = rgb[3 * index + 1] = rgb[3 * index + 2] = b;
    }
}

static emoti_status sample_too_big(const ppm_header *h, size_t index, uint32_t v) {
    size_t pixel = index / (size_t)h->channels;
    return emoti_fail(EMOTI_ERR_FORMAT,
                      "bad P%c data: sample %u at pixel (%zu, %zu) exceeds maxval %u", h->magic,
                      v, pixel % h->width, pixel / h->width, h->maxval);
}

static emoti_status decode_binary_raster(cursor *c, const ppm_header *h, size_t samples,
                                         uint8_t *rgb) {
    size_t bytes_per_sample = h->maxval > 255 ? 2 : 1;
    size_t expected = samples * bytes_per_sample, present = c->size - c->pos;
    if (present < expected)
        return emoti_fail(EMOTI_ERR_FORMAT, "truncated P%c data: expected %zu bytes, found %zu",
                          h->magic, expected, present);
    const uint8_t *p = c->data + c->pos;
    for (size_t i = 0; i < samples; i++) {
        uint32_t v = bytes_per_sample == 2 ? (uint32_t)p[2 * i] << 8 | p[2 * i + 1] : p[i];
        if (v > h->maxval) return sample_too_big(h, i, v);
        store_sample(h, rgb, i, v);
    }
    /* Bytes after the raster (e.g. a further image in the same file) are ignored. */
    return EMOTI_OK;
}

static emoti_status decode_ascii_raster(cursor *c, const ppm_header *h, size_t samples,
                                        uint8_t *rgb) {
    for (size_t i = 0; i < samples; i++) {
        uint32_t v;
        const uint8_t *tok = NULL;
        size_t len = 0;
        char shown[24];
        switch (read_number(c, &v, &tok, &len)) {
        case NUMBER_OK: break;
        case NUMBER_MISSING:
            return emoti_fail(EMOTI_ERR_FORMAT,
                              "truncated P%c data: expected %zu samples, found %zu", h->magic,
                              samples, i);
        default:
            return emoti_fail(EMOTI_ERR_FORMAT,
                              "bad P%c data: sample %zu must be a number, found '%s'", h->magic,
                              i, printable_token(tok, len, shown));
        }
        if (v > h->maxval) return sample_too_big(h, i, v);
        store_sample(h, rgb, i, v);
    }
    return EMOTI_OK;
}

emoti_status emoti_ppm_decode(const uint8_t *data, size_t size, emoti_image *image) {
    return emoti_ppm_decode_max(data, size, EMOTI_IMAGE_MAX_PIXELS, image);
}

emoti_status emoti_ppm_decode_max(const uint8_t *data, size_t size, uint64_t max_pixels,
                                  emoti_image *image) {
    cursor c = {data, size, 0};
    ppm_header h;
    h.max_pixels = max_pixels;
    emoti_status st;
    image->width = image->height = 0;
    image->rgb = NULL;
    if (size < 2 || data[0] != 'P')
        return emoti_fail(EMOTI_ERR_FORMAT, "not a PPM/PGM image (no 'P' magic)");
    if ((st = read_header(&c, &h)) != EMOTI_OK) return st;
    if (!h.ascii) skip_raster_separator(&c);

    /* check_dimensions bounds width * height by 2^28, so these products fit in size_t. */
    size_t pixels = (size_t)h.width * h.height;
    size_t samples = pixels * (size_t)h.channels;
    /* A raster the data cannot hold (binary: bytes per sample; ASCII: a digit and a separator
     * per sample but the last) fails before the allocation: a 20-byte header must not make
     * us allocate 800 MB. Decoding without a destination finds the precise error. */
    size_t present = size - c.pos, least = h.ascii ? 2 * samples - 1 : samples * (h.maxval > 255 ? 2 : 1);
    if (present < least)
        return h.ascii ? decode_ascii_raster(&c, &h, samples, NULL)
                       : decode_binary_raster(&c, &h, samples, NULL);
    uint8_t *rgb = malloc(pixels * 3);
    if (!rgb)
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory for a %ux%u image", h.width, h.height);
    st = h.ascii ? decode_ascii_raster(&c, &h, samples, rgb)
                 : decode_binary_raster(&c, &h, samples, rgb);
    if (st != EMOTI_OK) {
        free(rgb);
        return st;
    }
    image->width = (int)h.width;
    image->height = (int)h.height;
    image->rgb = rgb;
    return EMOTI_OK;
}
