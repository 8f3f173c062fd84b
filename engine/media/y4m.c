/* YUV4MPEG2 reader. Planes are read straight from the stream into one frame buffer and
 * converted to RGB as `ffmpeg -pix_fmt rgb24` converts them (yuv.c), in limited or full range
 * as the header says. */
#include "y4m.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h" /* emoti_max_pixels */
#include "yuv.h"

#define MAX_HEADER 4096
#define MAGIC_BYTES 12 /* enough to name the common containers; a valid header is longer */

struct emoti_y4m {
    FILE *f;
    char *name;
    uint64_t max_pixels;
    int w, h, cw, ch, sx, sy, mono, full_range;
    int rate_num, rate_den;
    int index;              /* frames returned so far - 1 */
    long header_bytes;      /* the stream header, with its newline */
    size_t y_size, c_size;
    emoti_yuv_format yuv;
    uint8_t *planes;        /* Y, then Cb, then Cr */
    uint8_t *rgb;
};

/* Reads the rest of a '\n'-terminated line into buf, after the n bytes already there; at most
 * MAX_HEADER bytes in all. Returns its length, -1 at end of stream before any byte, -2 if cut
 * short or too long. */
static int read_line_from(FILE *f, char *buf, int n) {
    int c = 0;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (n == MAX_HEADER - 1) return -2;
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    if (c == EOF) return n == 0 ? -1 : -2;
    return n;
}

/* input as one shell word: as it is when that is safe, else in single quotes. */
static void shell_word(const char *input, char *buf, size_t size) {
    int plain = *input != 0;
    for (const char *p = input; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-/+,:@%=", *p)) plain = 0;
    size_t n = 0;
    if (!plain && n + 1 < size) buf[n++] = '\'';
    for (const char *p = input; *p && n + 5 < size; p++) {
        if (*p == '\'' && !plain) memcpy(buf + n, "'\\''", 4), n += 4;
        else buf[n++] = *p;
    }
    if (!plain && n + 1 < size) buf[n++] = '\'';
    buf[n] = 0;
}

/* The ffmpeg command that turns input into an 8-bit Y4M stream on stdout. */
static void ffmpeg_hint(const char *input, const char *pix_fmt, char *buf, size_t size) {
    char word[200];
    shell_word(input, word, sizeof word);
    snprintf(buf, size, "ffmpeg -i %s -f yuv4mpegpipe -pix_fmt %s -", word, pix_fmt);
}

/* What the first bytes of a file that is not a Y4M stream are, when they are recognisable. */
static const char *container_name(const uint8_t *b, size_t n) {
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "AVI ", 4)) return "an AVI file";
    if (n >= 8 && !memcmp(b + 4, "ftyp", 4)) return "an MP4/MOV file";
    if (n >= 4 && !memcmp(b, "\x1a\x45\xdf\xa3", 4)) return "a Matroska/WebM file";
    if (n >= 4 && !memcmp(b, "OggS", 4)) return "an Ogg file";
    if (n >= 3 && !memcmp(b, "FLV", 3)) return "an FLV file";
    if (n >= 4 && !memcmp(b, "\x30\x26\xb2\x75", 4)) return "an ASF/WMV file";
    if (n >= 4 && !memcmp(b, "\x00\x00\x01\xba", 4)) return "an MPEG program stream";
    if (n >= 4 && !memcmp(b, "GIF8", 4)) return "a GIF image";
    if (n >= 3 && !memcmp(b, "\xff\xd8\xff", 3)) return "a JPEG image";
    if (n >= 8 && !memcmp(b, "\x89PNG", 4)) return "a PNG image";
    return NULL;
}

static emoti_status not_y4m(const emoti_y4m *y, const char *input, const uint8_t *b, size_t n) {
    char hint[256];
    ffmpeg_hint(input, "yuv420p", hint, sizeof hint);
    const char *what = container_name(b, n);
    return emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s: %s%snot a YUV4MPEG2 stream: convert it with %s",
                      y->name, what ? what : "", what ? ", " : "", hint);
}

/* Colour spaces ffmpeg writes that emoti does not read: deeper samples, 4:1:1, alpha. */
static emoti_status unsupported_colorspace(const emoti_y4m *y, const char *input, const char *c) {
    const char *pix_fmt = !strncmp(c, "422", 3) ? "yuv422p" : !strncmp(c, "444", 3) ? "yuv444p"
                        : !strncmp(c, "mono", 4) ? "gray" : "yuv420p";
    const char *digits = c + strcspn(c, "0123456789");
    if (!strncmp(c, "mono", 4)) digits = c + 4;
    else if (*digits) digits += 3; /* past 420 / 422 / 444 */
    if (*digits == 'p') digits++;
    char hint[256];
    ffmpeg_hint(input, pix_fmt, hint, sizeof hint);
    int bits = atoi(digits);
    if (bits > 8 && bits <= 16 && strspn(digits, "0123456789") == strlen(digits))
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s: %d-bit Y4M (C%s) is not supported: convert "
                          "it to 8 bits with %s", y->name, bits, c, hint);
    return emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s: Y4M colour space C%s is not supported (8-bit "
                      "420, 422, 444, mono): convert it with %s", y->name, c, hint);
}

static emoti_status parse_colorspace(emoti_y4m *y, const char *input, const char *c) {
    static const struct { const char *name; int sx, sy, mono; } spaces[] = {
        {"420jpeg", 1, 1, 0}, {"420paldv", 1, 1, 0}, {"420mpeg2", 1, 1, 0}, {"420", 1, 1, 0},
        {"422", 1, 0, 0},     {"444", 0, 0, 0},      {"mono", 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof spaces / sizeof *spaces; i++)
        if (!strcmp(c, spaces[i].name)) {
            y->sx = spaces[i].sx, y->sy = spaces[i].sy, y->mono = spaces[i].mono;
            return EMOTI_OK;
        }
    static const char *const known[] = {"420p", "422p", "444p", "mono1", "mono9", "411", "444alpha"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strncmp(c, known[i], strlen(known[i]))) return unsupported_colorspace(y, input, c);
    return emoti_fail(EMOTI_ERR_FORMAT, "%s: unknown Y4M colour space C%s", y->name, c);
}

/* The range is only in ffmpeg's XCOLORRANGE extension: C420jpeg names the chroma siting, and
 * ffmpeg writes it for limited-range yuv420p too and reads it back as limited. */
static void parse_extension(emoti_y4m *y, const char *x) {
    if (!strcmp(x, "COLORRANGE=FULL")) y->full_range = 1;
    else if (!strcmp(x, "COLORRANGE=LIMITED")) y->full_range = 0;
}

static emoti_status parse_header(emoti_y4m *y, const char *input, char *line) {
    y->sx = y->sy = 1; /* C420jpeg is the default */
    char *save = NULL;
    for (char *tok = strtok_r(line + 9, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *end;
        switch (tok[0]) {
        case 'W':
        case 'H': {
            long v = strtol(tok + 1, &end, 10);
            if (*end || v < 1 || v > 65535)
                return emoti_fail(EMOTI_ERR_FORMAT, "%s: bad Y4M header field '%s'", y->name, tok);
            *(tok[0] == 'W' ? &y->w : &y->h) = (int)v;
            break;
        }
        case 'F':
            if (sscanf(tok + 1, "%d:%d", &y->rate_num, &y->rate_den) != 2 || y->rate_num <= 0 ||
                y->rate_den <= 0)
                y->rate_num = y->rate_den = 0;
            break;
        case 'C': {
            emoti_status st = parse_colorspace(y, input, tok + 1);
            if (st) return st;
            break;
        }
        case 'X': parse_extension(y, tok + 1); break;
        default: break; /* I (interlacing), A (aspect): not needed */
        }
    }
    if (y->w < 1 || y->h < 1)
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: bad Y4M frame size %dx%d", y->name, y->w, y->h);
    if ((uint64_t)y->w * (uint64_t)y->h > y->max_pixels)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "%s: Y4M frame size %dx%d is too large (limit %llu pixels)", y->name,
                          y->w, y->h, (unsigned long long)y->max_pixels);
    return EMOTI_OK;
}

/* Reads the magic bytes (naming what the input is when it is not Y4M), then the header line. */
static emoti_status read_header(emoti_y4m *y, const char *input, char *line) {
    size_t n = fread(line, 1, MAGIC_BYTES, y->f);
    if (n == 0) return emoti_fail(EMOTI_ERR_FORMAT, "%s: empty stream", y->name);
    if (n < 10 && !memcmp(line, "YUV4MPEG2", n))
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: truncated Y4M header", y->name);
    if (n < 10 || memcmp(line, "YUV4MPEG2", 9) || (line[9] != ' ' && line[9] != '\n'))
        return not_y4m(y, input, (const uint8_t *)line, n);
    /* A line this short has no W and H: parse_header refuses it, so the bytes read past its
     * newline are never needed. */
    char *nl = memchr(line, '\n', n);
    int len = nl ? (int)(nl - line) : read_line_from(y->f, line, (int)n);
    if (len < 0) return emoti_fail(EMOTI_ERR_FORMAT, "%s: truncated or overlong Y4M header", y->name);
    line[len] = 0;
    y->header_bytes = len + 1;
    return parse_header(y, input, line);
}

emoti_status emoti_y4m_open_as(FILE *f, const char *name, const char *input,
                               uint64_t max_pixels, emoti_y4m **out) {
    *out = NULL;
    emoti_y4m *y = calloc(1, sizeof *y);
    char *line = malloc(MAX_HEADER);
    if (!y || !line || !(y->name = malloc(strlen(name) + 1))) {
        free(line);
        free(y);
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    strcpy(y->name, name);
    y->f = f;
    y->max_pixels = max_pixels;
    y->index = -1;
    emoti_status st = read_header(y, input, line);
    free(line);
    if (!st) {
        emoti_yuv_format_init(&y->yuv, y->w, y->h, y->sx, y->sy, y->mono, y->full_range);
        y->cw = (y->w + y->sx) >> y->sx, y->ch = (y->h + y->sy) >> y->sy;
        y->y_size = (size_t)y->w * y->h;
        y->c_size = y->mono ? 0 : (size_t)y->cw * y->ch;
        y->planes = malloc(y->y_size + 2 * y->c_size);
        y->rgb = malloc(y->y_size * 3);
        if (!y->planes || !y->rgb) st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    if (st) {
        emoti_y4m_close(y);
        return st;
    }
    *out = y;
    return EMOTI_OK;
}

emoti_status emoti_y4m_open(FILE *f, const char *name, emoti_y4m **out) {
    return emoti_y4m_open_as(f, name, name, emoti_max_pixels(NULL), out);
}

emoti_status emoti_y4m_next(emoti_y4m *y, emoti_image *frame, int *done) {
    char line[MAX_HEADER];
    int frame_no = y->index + 1;
    *done = 0;
    int n = read_line_from(y->f, line, 0);
    if (n == -1) {
        *done = 1;
        return EMOTI_OK;
    }
    if (n < 0 || strncmp(line, "FRAME", 5) || (line[5] && line[5] != ' '))
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: frame %d: bad or truncated frame header", y->name,
                          frame_no);
    size_t want = y->y_size + 2 * y->c_size, got = fread(y->planes, 1, want, y->f);
    if (got != want)
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: frame %d: truncated (%zu of %zu bytes)", y->name,
                          frame_no, got, want);
    const uint8_t *cb = y->planes + y->y_size;
    emoti_yuv_to_rgb(&y->yuv, y->planes, cb, cb + y->c_size, y->rgb);
    y->index = frame_no;
    frame->width = y->w, frame->height = y->h, frame->rgb = y->rgb;
    return EMOTI_OK;
}

int emoti_y4m_frame_index(const emoti_y4m *y) { return y->index; }

void emoti_y4m_rate(const emoti_y4m *y, int *num, int *den) {
    *num = y->rate_num, *den = y->rate_den;
}

size_t emoti_y4m_frame_bytes(const emoti_y4m *y) { return y->y_size + 2 * y->c_size; }

int emoti_y4m_full_range(const emoti_y4m *y) { return y->full_range; }

long emoti_y4m_header_bytes(const emoti_y4m *y) { return y->header_bytes; }

void emoti_y4m_close(emoti_y4m *y) {
    if (!y) return;
    free(y->name);
    free(y->planes);
    free(y->rgb);
    free(y);
}
