/* The JPEG decoder's state, shared by its two halves: jpeg_syntax.c (the marker stream,
 * table, frame and scan headers, the entry point) and jpeg.c (entropy-coded data, IDCT,
 * upsampling, colour). Only those two include it. */
#ifndef EMOTI_JPEG_INTERNAL_H
#define EMOTI_JPEG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"
#include "error.h"

enum {
    MAX_COMPONENTS = 4,  /* we decode 1 or 3; 4 is parsed to be named in the error */
    MAX_SCAN_COMPONENTS = 4,
    MAX_MCU_BLOCKS = 10, /* T.81 B.2.3 limit on blocks in an interleaved MCU */
    FAST_BITS = 9,       /* Huffman codes up to this long decode with one table look-up */
};

/* Marker codes (T.81 Table B.1). */
enum {
    M_SOF0 = 0xC0, M_SOF1 = 0xC1, M_SOF2 = 0xC2, M_DHT = 0xC4, M_JPG = 0xC8, M_DAC = 0xCC,
    M_RST0 = 0xD0, M_RST7 = 0xD7, M_SOI = 0xD8, M_EOI = 0xD9, M_SOS = 0xDA, M_DQT = 0xDB,
    M_DNL = 0xDC, M_DRI = 0xDD, M_APP0 = 0xE0, M_APP14 = 0xEE, M_APP15 = 0xEF, M_COM = 0xFE,
    M_TEM = 0x01,
};

/* Zigzag position -> row-major index (T.81 Figure A.6), with 16 entries past the end for
 * corrupt run lengths (jpeg.c). */
extern const uint8_t emoti_jpeg_natural_order[64 + 16];

typedef struct {
    int defined;
    int valid;                    /* the code lengths form a proper prefix code */
    int max_symbol;               /* largest symbol (DC tables must stay <= 15) */
    uint8_t symbols[256];
    int32_t maxcode[18];          /* largest code of each length, -1 if none */
    int32_t offset[17];           /* symbols[code + offset[len]] is a code's symbol */
    uint16_t fast[1 << FAST_BITS]; /* length << 8 | symbol for codes <= FAST_BITS long */
} huff_table;

typedef struct {
    int id, h, v, tq;
    int wib, hib;       /* blocks that hold image samples (T.81 A.2) */
    int bw, bh;         /* blocks allocated: whole MCUs of an interleaved scan */
    int dw, dh;         /* samples of the component that the image covers */
    int scanned;        /* has been in a scan: quant table latched */
    int16_t q[64];      /* latched quantisation table, row-major (libjpeg keeps 16 bits) */
    int coef_bits[64];  /* per coefficient: Al of its last scan (0: final), -1: none yet */
    size_t stride;      /* bw * 8 */
    uint8_t *plane;     /* bw*8 x bh*8 samples */
    int16_t *coefs;     /* progressive: bw*bh blocks of 64 coefficients, row-major */
} component;

typedef struct {
    const uint8_t *data;
    size_t size, pos; /* pos: next byte to parse between segments */
    uint64_t max_pixels;

    int frame_seen, progressive, scans;
    int width, height, ncomp;
    int maxh, maxv, mcux, mcuy;
    component comp[MAX_COMPONENTS];

    huff_table dc_tables[4], ac_tables[4];
    uint16_t qt[4][64];
    int qt_defined[4];
    int restart_interval;
    int saw_jfif, saw_adobe, adobe_transform;
} jpeg_decoder;

typedef struct {
    const uint8_t *data;
    size_t size, pos;  /* next byte to read */
    uint64_t acc;      /* unread bits, first one in the top bit */
    int count;         /* bits in acc */
    int marker;        /* marker that ended the data: 0 none yet, -1 end of file */
    size_t marker_pos; /* where that marker starts */
    uint64_t pad;      /* zero bits appended after the data ended */
} bit_reader;

typedef enum {
    SCAN_SEQUENTIAL,
    SCAN_DC_FIRST,
    SCAN_DC_REFINE,
    SCAN_AC_FIRST,
    SCAN_AC_REFINE
} scan_kind;

typedef struct {
    scan_kind kind;
    int n;                        /* components in the scan */
    int comp[MAX_SCAN_COMPONENTS]; /* their indices */
    const huff_table *dc[MAX_SCAN_COMPONENTS], *ac[MAX_SCAN_COMPONENTS];
    int32_t pred[MAX_SCAN_COMPONENTS]; /* DC predictions */
    int ss, se, ah, al;
    int eobrun;
    int next_rst;
    bit_reader br;
} scan_state;

/* a * b into *out unless it overflows size_t. */
static inline int mul_size(size_t a, size_t b, size_t *out) {
    if (b != 0 && a > SIZE_MAX / b) return 0;
    *out = a * b;
    return 1;
}

static inline emoti_status fail_nomem(size_t bytes) {
    return emoti_fail(EMOTI_ERR_NOMEM, "JPEG: out of memory (%zu bytes)", bytes);
}

/* Finds the next marker at or after *pos the way libjpeg does: stray non-FF bytes, fill FFs
 * and FF 00 pairs are skipped. Returns the marker code with *pos just past it, or -1 (and
 * *pos = size) when the data ends first. */
static inline int next_marker(const uint8_t *data, size_t size, size_t *pos) {
    size_t p = *pos;
    for (;;) {
        while (p < size && data[p] != 0xFF) p++;
        while (p < size && data[p] == 0xFF) p++;
        if (p >= size) {
            *pos = size;
            return -1;
        }
        if (data[p] != 0) {
            *pos = p + 1;
            return data[p];
        }
        p++;
    }
}

/* jpeg_syntax.c: a component's samples (plane) or, progressive, its coefficients. */
emoti_status emoti_jpeg_allocate(jpeg_decoder *d, component *c, int plane);
/* jpeg.c: the entropy-coded data of the scan s, from d->pos; d->pos then where it ended. */
emoti_status emoti_jpeg_decode_scan(jpeg_decoder *d, scan_state *s);
/* jpeg.c: progressive: every component's samples from its coefficients; a component that no
 * scan had is mid-grey. */
emoti_status emoti_jpeg_finish_planes(jpeg_decoder *d);
/* jpeg.c: the image in RGB, upsampled, in the colour space libjpeg picks. */
emoti_status emoti_jpeg_produce_rgb(jpeg_decoder *d, emoti_image *out);

#endif
