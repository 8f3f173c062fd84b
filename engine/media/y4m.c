/* YUV4MPEG2 reader. Planes are read straight from the stream into one frame buffer and
 * converted to RGB with nearest chroma, as `ffmpeg -pix_fmt rgb24` does. */
#include "y4m.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define MAX_HEADER 4096
#define MAX_PIXELS (1u << 28)

struct emoti_y4m {
    FILE *f;
    char *name;
    int w, h, cw, ch, sx, sy, mono;
    int rate_num, rate_den;
    int index;              /* frames returned so far - 1 */
    size_t y_size, c_size;
    uint8_t *planes;        /* Y, then Cb, then Cr */
    uint8_t *rgb;
};

static uint8_t clamp8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* floor(a * b / 65536): the signed "multiply high" of 16-bit SIMD units. */
static int mul_high(int a, int b) {
    int p = a * b;
    return p >= 0 ? p >> 16 : -((-p + 65535) >> 16);
}

/* ffmpeg converts subsampled 8-bit YUV to rgb24 with its x86 SIMD path: samples scaled by 8,
 * BT.601 limited-range coefficients in 2.13 fixed point, products truncated to their high 16
 * bits. Reproducing that arithmetic gives its output exactly. */
static void yuv_to_rgb_subsampled(int y, int cb, int cr, uint8_t rgb[3]) {
    int luma = mul_high((y - 16) * 8, 9539), u = (cb - 128) * 8, v = (cr - 128) * 8;
    rgb[0] = clamp8(luma + mul_high(v, 13075));
    rgb[1] = clamp8(luma + mul_high(u, -3209) + mul_high(v, -6660));
    rgb[2] = clamp8(luma + mul_high(u, 16525));
}

/* 4:4:4 goes through swscale's generic path: BT.601 limited range, rounded (within 1). */
void emoti_yuv_to_rgb(int y, int cb, int cr, unsigned char rgb[3]) {
    int luma = 76309 * (y - 16) + 32768;
    int v[3] = {luma + 104597 * (cr - 128), luma - 25675 * (cb - 128) - 53279 * (cr - 128),
                luma + 132201 * (cb - 128)};
    for (int i = 0; i < 3; i++) rgb[i] = v[i] < 0 ? 0 : v[i] >= (255 << 16) ? 255 : (uint8_t)(v[i] >> 16);
}

/* Reads one '\n'-terminated line (without the newline) of at most MAX_HEADER bytes.
 * Returns its length, -1 at end of stream before any byte, -2 if cut short or too long. */
static int read_line(FILE *f, char *buf) {
    int n = 0, c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (n == MAX_HEADER - 1) return -2;
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    if (c == EOF) return n == 0 ? -1 : -2;
    return n;
}

static emoti_status parse_colorspace(emoti_y4m *y, const char *c) {
    static const struct { const char *name; int sx, sy, mono; } spaces[] = {
        {"420jpeg", 1, 1, 0}, {"420paldv", 1, 1, 0}, {"420mpeg2", 1, 1, 0}, {"420", 1, 1, 0},
        {"422", 1, 0, 0},     {"444", 0, 0, 0},      {"mono", 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof spaces / sizeof *spaces; i++)
        if (!strcmp(c, spaces[i].name)) {
            y->sx = spaces[i].sx, y->sy = spaces[i].sy, y->mono = spaces[i].mono;
            return EMOTI_OK;
        }
    return emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s: Y4M colour space C%s not supported "
                      "(420, 422, 444, mono, 8-bit)", y->name, c);
}

static emoti_status parse_header(emoti_y4m *y, char *line) {
    if (strncmp(line, "YUV4MPEG2", 9) || (line[9] && line[9] != ' '))
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: not a YUV4MPEG2 stream", y->name);
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
            if (sscanf(tok + 1, "%d:%d", &y->rate_num, &y->rate_den) != 2) y->rate_num = y->rate_den = 0;
            break;
        case 'C': {
            emoti_status st = parse_colorspace(y, tok + 1);
            if (st) return st;
            break;
        }
        default: break; /* I (interlacing), A (aspect), X (comments): not needed */
        }
    }
    if (y->w < 1 || y->h < 1 || (uint64_t)y->w * (uint64_t)y->h > MAX_PIXELS)
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: bad Y4M frame size %dx%d", y->name, y->w, y->h);
    return EMOTI_OK;
}

emoti_status emoti_y4m_open(FILE *f, const char *name, emoti_y4m **out) {
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
    y->index = -1;
    int n = read_line(f, line);
    emoti_status st = n < 0 ? emoti_fail(EMOTI_ERR_FORMAT, "%s: %s", name, n == -1 ? "empty stream"
                                         : "truncated or overlong Y4M header")
                            : parse_header(y, line);
    free(line);
    if (!st) {
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

static void convert_frame(emoti_y4m *y) {
    const uint8_t *yp = y->planes, *cb = yp + y->y_size, *cr = cb + y->c_size;
    for (int r = 0; r < y->h; r++)
        for (int c = 0; c < y->w; c++) {
            uint8_t *px = y->rgb + ((size_t)r * y->w + c) * 3;
            int luma = yp[(size_t)r * y->w + c];
            size_t ci = (size_t)(r >> y->sy) * y->cw + (c >> y->sx);
            if (y->mono) /* ffmpeg treats grey as full range: R = G = B = Y */
                px[0] = px[1] = px[2] = (uint8_t)luma;
            else if (y->sx || y->sy)
                yuv_to_rgb_subsampled(luma, cb[ci], cr[ci], px);
            else
                emoti_yuv_to_rgb(luma, cb[ci], cr[ci], px);
        }
}

emoti_status emoti_y4m_next(emoti_y4m *y, emoti_image *frame, int *done) {
    char line[MAX_HEADER];
    int frame_no = y->index + 1;
    *done = 0;
    int n = read_line(y->f, line);
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
    convert_frame(y);
    y->index = frame_no;
    frame->width = y->w, frame->height = y->h, frame->rgb = y->rgb;
    return EMOTI_OK;
}

int emoti_y4m_frame_index(const emoti_y4m *y) { return y->index; }

void emoti_y4m_rate(const emoti_y4m *y, int *num, int *den) {
    *num = y->rate_num, *den = y->rate_den;
}

size_t emoti_y4m_frame_bytes(const emoti_y4m *y) { return y->y_size + 2 * y->c_size; }

void emoti_y4m_close(emoti_y4m *y) {
    if (!y) return;
    free(y->name);
    free(y->planes);
    free(y->rgb);
    free(y);
}
