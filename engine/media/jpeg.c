/* JPEG decoder, written from ITU T.81 (the JPEG standard) for emoti.
 *
 * Supported: baseline (SOF0), extended sequential Huffman (SOF1) and progressive Huffman
 * (SOF2) JPEGs with 8-bit samples and 1 (grey) or 3 (YCbCr or RGB) components; any sampling
 * factors 1..4 whose ratios to the largest are whole numbers (4:4:4, 4:2:2, 4:2:0, 4:4:0,
 * 4:1:1, ...); interleaved and non-interleaved scans; restart intervals; any number of
 * DHT/DQT segments; APPn/COM skipped.
 *
 * The result equals what libjpeg-turbo (checked against 2.1.5: `djpeg`, Pillow) gives with its
 * default settings, bit for bit:
 *   - the accurate integer inverse DCT (libjpeg's "islow": the Loeffler-Ligtenberg-Moschytz
 *     factorisation with 13-bit constants, 2 extra bits between the passes, round-half-up
 *     descaling, and its 10-bit wrap-around range limit);
 *   - "fancy" (triangle-filter) upsampling when a component is half the width (h2v1), half
 *     the height (h1v2) or both (h2v2), with libjpeg's rounding biases and edge rules;
 *     plain replication for every other whole ratio and for components at most 2 samples
 *     wide (libjpeg's own cut-off);
 *   - YCbCr->RGB in 16-bit fixed point with round-half-up, as libjpeg's tables;
 *   - the colour space chosen as libjpeg does: JFIF APP0 means YCbCr, else Adobe APP14
 *     transform 0 means RGB (1 or other: YCbCr), else component ids 'R','G','B' mean RGB,
 *     else YCbCr;
 *   - a missing Huffman table 0 or 1 is the standard one of Annex K (as libjpeg-turbo does
 *     for Motion-JPEG frames).
 *
 * Decisions where libjpeg would carry on with a warning:
 *   - entropy-coded data that ends too early (the file is cut, or a marker stands where data
 *     should be) is an error ("truncated"); libjpeg pads with zero bits and outputs a partly
 *     grey image. A file that lacks only its EOI marker after complete image data decodes.
 *   - a bit pattern that is no code of the Huffman table is an error (libjpeg substitutes 0).
 *   - a restart marker out of sequence is an error (libjpeg tries to resynchronise).
 *   - a progressive file whose coefficients are never fully refined (rare: every common
 *     encoder sends complete progressions) is decoded without libjpeg's inter-block
 *     smoothing of the missing coefficients (its heuristic, not part of T.81), so it can
 *     differ slightly from djpeg; it equals libjpeg with do_block_smoothing = FALSE.
 * Data that libjpeg accepts silently but that only corrupt files contain (coefficients that
 * overflow 16 bits, IDCT results outside -512..511) follows libjpeg's C code; its SIMD code,
 * which djpeg uses on x86, saturates instead, so such garbage can decode differently.
 *
 * Every size is checked (at most the caller's pixel limit, 65535 per side by the format); the
 * decoder never reads outside the input buffer, also on corrupt data.
 *
 * This file decodes the entropy-coded data and makes the samples (built for speed);
 * jpeg_syntax.c reads the marker stream and the headers (built for size).
 */
#include "jpeg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jpeg_internal.h"

/* Zigzag position -> row-major index (T.81 Figure A.6). The 16 extra entries map run
 * lengths that overshoot the end of a block (corrupt data) onto coefficient 63, which is
 * where libjpeg puts them. */
const uint8_t emoti_jpeg_natural_order[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33,
    40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36,
    29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
};

typedef enum { COLOR_GRAY, COLOR_YCC, COLOR_RGB } color_space;

/* ======================================================================================
 * Entropy-coded data: bit reader and Huffman decoding (T.81 F.2.2)
 * ====================================================================================== */

static void bits_start(bit_reader *br, const uint8_t *data, size_t size, size_t pos) {
    memset(br, 0, sizeof *br);
    br->data = data;
    br->size = size;
    br->pos = pos;
}

/* The next data byte, undoing FF 00 stuffing; 0 (counted as padding) once a marker or the
 * end of the file is reached. */
static uint8_t next_byte_slow(bit_reader *br) {
    if (br->marker == 0 && br->pos < br->size) {
        uint8_t b = br->data[br->pos];
        if (b != 0xFF) {
            br->pos++;
            return b;
        }
        size_t p = br->pos + 1;
        while (p < br->size && br->data[p] == 0xFF) p++; /* fill bytes */
        if (p < br->size && br->data[p] == 0) {
            br->pos = p + 1;
            return 0xFF;
        }
        br->marker = p < br->size ? br->data[p] : -1;
        br->marker_pos = br->pos;
    } else if (br->marker == 0) {
        br->marker = -1;
        br->marker_pos = br->size;
    }
    br->pad += 8;
    return 0;
}

static void refill(bit_reader *br) {
    while (br->count <= 56) {
        uint8_t b;
        if (br->marker == 0 && br->pos < br->size && br->data[br->pos] != 0xFF)
            b = br->data[br->pos++];
        else
            b = next_byte_slow(br);
        br->acc |= (uint64_t)b << (56 - br->count);
        br->count += 8;
    }
}

/* Whether decoding has used bits beyond the end of the data (they are all padding). */
static int used_padding(const bit_reader *br) { return br->pad > (uint64_t)br->count; }

static inline void skip_bits(bit_reader *br, int n) {
    br->acc <<= n;
    br->count -= n;
}

static inline int get_bits(bit_reader *br, int n) {
    if (n == 0) return 0;
    if (br->count < n) refill(br);
    int v = (int)(br->acc >> (64 - n));
    skip_bits(br, n);
    return v;
}

/* An n-bit magnitude category value to its signed value (T.81 F.2.2.1 EXTEND). */
static inline int receive_extend(bit_reader *br, int n) {
    if (n == 0) return 0;
    int v = get_bits(br, n);
    return v < (1 << (n - 1)) ? v - (1 << n) + 1 : v;
}

static int huff_decode_long(bit_reader *br, const huff_table *t) {
    for (int len = FAST_BITS + 1; len <= 16; len++) {
        int32_t code = (int32_t)(br->acc >> (64 - len));
        if (code <= t->maxcode[len]) {
            skip_bits(br, len);
            return t->symbols[code + t->offset[len]];
        }
    }
    return -1; /* no such code */
}

/* The next Huffman-coded symbol, or -1 when the bits are no code of the table. */
static inline int huff_decode(bit_reader *br, const huff_table *t) {
    if (br->count < 16) refill(br);
    unsigned e = t->fast[br->acc >> (64 - FAST_BITS)];
    if (e) {
        skip_bits(br, (int)(e >> 8));
        return (int)(e & 0xFF);
    }
    return huff_decode_long(br, t);
}

/* ======================================================================================
 * Block decoding: sequential (F.2.2) and progressive (G.1.2)
 * ====================================================================================== */
/* Adds a DC difference like libjpeg: the prediction wraps as 32 bits, the coefficient keeps
 * the low 16 (only corrupt data gets there). */
static int32_t add_dc(int32_t *pred, int diff) {
    *pred = (int32_t)((uint32_t)*pred + (uint32_t)diff);
    return *pred;
}

static int16_t shifted(int32_t v, int al) { return (int16_t)(uint16_t)((uint32_t)v << al); }

static int decode_block_sequential(bit_reader *br, const huff_table *dc, const huff_table *ac,
                                   int32_t *pred, int16_t blk[64]) {
    memset(blk, 0, 64 * sizeof blk[0]);
    int s = huff_decode(br, dc);
    if (s < 0) return -1;
    blk[0] = (int16_t)(uint16_t)add_dc(pred, receive_extend(br, s));
    for (int k = 1; k < 64; k++) {
        int rs = huff_decode(br, ac);
        if (rs < 0) return -1;
        int r = rs >> 4;
        s = rs & 15;
        if (s) {
            k += r;
            blk[emoti_jpeg_natural_order[k]] = (int16_t)receive_extend(br, s);
        } else {
            if (r != 15) break; /* end of block */
            k += 15;            /* run of 16 zeros */
        }
    }
    return 0;
}

static int decode_dc_first(scan_state *s, int si, int16_t *blk) {
    int t = huff_decode(&s->br, s->dc[si]);
    if (t < 0) return -1;
    blk[0] = shifted(add_dc(&s->pred[si], receive_extend(&s->br, t)), s->al);
    return 0;
}

static int decode_dc_refine(scan_state *s, int16_t *blk) {
    if (get_bits(&s->br, 1)) blk[0] = (int16_t)(blk[0] | (1 << s->al));
    return 0;
}

static int decode_ac_first(scan_state *s, int16_t *blk) {
    if (s->eobrun > 0) {
        s->eobrun--;
        return 0;
    }
    bit_reader *br = &s->br;
    for (int k = s->ss; k <= s->se; k++) {
        int rs = huff_decode(br, s->ac[0]);
        if (rs < 0) return -1;
        int r = rs >> 4, n = rs & 15;
        if (n) {
            k += r;
            blk[emoti_jpeg_natural_order[k]] = shifted(receive_extend(br, n), s->al);
        } else if (r == 15) {
            k += 15;
        } else {
            s->eobrun = (1 << r) + get_bits(br, r) - 1; /* this block ends the band too */
            break;
        }
    }
    return 0;
}

/* Appends a correction bit to an already nonzero coefficient (G.1.2.3). */
static void refine_nonzero(bit_reader *br, int16_t *coef, int p1) {
    if (get_bits(br, 1) && (*coef & p1) == 0)
        *coef = (int16_t)(*coef >= 0 ? *coef + p1 : *coef - p1);
}

static int decode_ac_refine(scan_state *s, int16_t *blk) {
    bit_reader *br = &s->br;
    int p1 = 1 << s->al;
    int k = s->ss;
    if (s->eobrun == 0) {
        for (; k <= s->se; k++) {
            int rs = huff_decode(br, s->ac[0]);
            if (rs < 0) return -1;
            int r = rs >> 4, n = rs & 15, value = 0;
            if (n) {
                value = get_bits(br, 1) ? p1 : -p1; /* n is 1 in valid data */
            } else if (r != 15) {
                s->eobrun = (1 << r) + get_bits(br, r);
                break;
            }
            /* Skip r zero coefficients (refining the nonzero ones passed on the way), then
             * place the new coefficient at the next zero one. */
            for (; k <= s->se; k++) {
                int16_t *coef = &blk[emoti_jpeg_natural_order[k]];
                if (*coef != 0)
                    refine_nonzero(br, coef, p1);
                else if (--r < 0)
                    break;
            }
            if (value) blk[emoti_jpeg_natural_order[k]] = (int16_t)value;
        }
    }
    if (s->eobrun > 0) {
        for (; k <= s->se; k++) {
            int16_t *coef = &blk[emoti_jpeg_natural_order[k]];
            if (*coef != 0) refine_nonzero(br, coef, p1);
        }
        s->eobrun--;
    }
    return 0;
}

/* ======================================================================================
 * Inverse DCT: libjpeg's accurate integer algorithm ("islow", the Loeffler-Ligtenberg-
 * Moschytz factorisation), 13-bit constants, 2 extra fraction bits between the passes.
 *
 * libjpeg computes in 64-bit integers. With inputs of magnitude <= IDCT_SMALL every
 * intermediate stays below 178219 * IDCT_SMALL + 2^17 < 2^31 (sum of the constants'
 * magnitudes along the longest path), so 32 bits give the same result faster; that covers
 * all valid 8-bit data, and anything larger takes the 64-bit path.
 * ====================================================================================== */

enum { CONST_BITS = 13, PASS1_BITS = 2, IDCT_SMALL = 8192 };

/* round(x * 2^13) for the cosine combinations of the LLM butterfly */
enum {
    FIX_0_298631336 = 2446, FIX_0_390180644 = 3196, FIX_0_541196100 = 4433,
    FIX_0_765366865 = 6270, FIX_0_899976223 = 7373, FIX_1_175875602 = 9633,
    FIX_1_501321110 = 12299, FIX_1_847759065 = 15137, FIX_1_961570560 = 16069,
    FIX_2_053119869 = 16819, FIX_2_562915447 = 20995, FIX_3_072711026 = 25172,
};

/* A centred IDCT output to a sample: libjpeg wraps it to 10 bits, then clamps -128..127. */
static inline uint8_t range_limit(int64_t x) {
    int v = (int)((x & 1023) ^ 512) - 512 + 128;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The 1-D butterfly in type T: LOAD(i) gives input i, STORE(i, v) receives output i scaled
 * by 2^CONST_BITS (before descaling). A macro, so that each pass loads and stores straight
 * from and to its own arrays. */
#define IDCT_1D(T, LOAD, STORE)                                                             \
    do {                                                                                    \
        /* Even part: inputs 0, 2, 4, 6. */                                                 \
        T x0 = LOAD(0), x2 = LOAD(2), x4 = LOAD(4), x6 = LOAD(6);                           \
        T z1 = (x2 + x6) * FIX_0_541196100;                                                 \
        T t2 = z1 - x6 * FIX_1_847759065;                                                   \
        T t3 = z1 + x2 * FIX_0_765366865;                                                   \
        T t0 = (x0 + x4) * (1 << CONST_BITS);                                               \
        T t1 = (x0 - x4) * (1 << CONST_BITS);                                               \
        T t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;                       \
        /* Odd part: inputs 7, 5, 3, 1. */                                                  \
        T o0 = LOAD(7), o1 = LOAD(5), o2 = LOAD(3), o3 = LOAD(1);                           \
        T za = o0 + o3, zb = o1 + o2, zc = o0 + o2, zd = o1 + o3;                           \
        T z5 = (zc + zd) * FIX_1_175875602;                                                 \
        o0 *= FIX_0_298631336;                                                              \
        o1 *= FIX_2_053119869;                                                              \
        o2 *= FIX_3_072711026;                                                              \
        o3 *= FIX_1_501321110;                                                              \
        za *= -FIX_0_899976223;                                                             \
        zb *= -FIX_2_562915447;                                                             \
        zc = zc * -FIX_1_961570560 + z5;                                                    \
        zd = zd * -FIX_0_390180644 + z5;                                                    \
        o0 += za + zc;                                                                      \
        o1 += zb + zd;                                                                      \
        o2 += zb + zc;                                                                      \
        o3 += za + zd;                                                                      \
        STORE(0, t10 + o3);                                                                 \
        STORE(7, t10 - o3);                                                                 \
        STORE(1, t11 + o2);                                                                 \
        STORE(6, t11 - o2);                                                                 \
        STORE(2, t12 + o1);                                                                 \
        STORE(5, t12 - o1);                                                                 \
        STORE(3, t13 + o0);                                                                 \
        STORE(4, t13 - o0);                                                                 \
    } while (0)

enum {
    PASS1_SHIFT = CONST_BITS - PASS1_BITS,
    PASS2_SHIFT = CONST_BITS + PASS1_BITS + 3,
};

/* Pass 1 and pass 2 for T = int32_t and int64_t. Pass 1 turns the dequantised columns of x
 * into the workspace (a column with only its DC term is DC * 4 throughout); pass 2 turns
 * workspace rows into samples (a row with only ws[0] is one value). */
#define COLUMN_IN(i) in[(i) * 8]
#define COLUMN_OUT(i, v) \
    ws[(i) * 8 + c] = (int32_t)(((v) + ((int64_t)1 << (PASS1_SHIFT - 1))) >> PASS1_SHIFT)
#define ROW_IN(i) w[i]
#define ROW_OUT(i, v) out[i] = range_limit(((v) + ((int64_t)1 << (PASS2_SHIFT - 1))) >> PASS2_SHIFT)
#define DEFINE_IDCT_PASSES(SUFFIX, T)                                                       \
    static void idct_columns_##SUFFIX(const int32_t *x, int32_t *ws) {                      \
        for (int c = 0; c < 8; c++) {                                                       \
            const int32_t *in = x + c;                                                      \
            if (!(in[8] | in[16] | in[24] | in[32] | in[40] | in[48] | in[56])) {           \
                int32_t dc = (int32_t)((uint32_t)in[0] << PASS1_BITS);                      \
                for (int r = 0; r < 8; r++) ws[r * 8 + c] = dc;                             \
                continue;                                                                   \
            }                                                                               \
            IDCT_1D(T, COLUMN_IN, COLUMN_OUT);                                              \
        }                                                                                   \
    }                                                                                       \
    static void idct_rows_##SUFFIX(const int32_t *ws, uint8_t *out, size_t stride) {        \
        for (int r = 0; r < 8; r++, out += stride) {                                        \
            const int32_t *w = ws + r * 8;                                                  \
            if (!(w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])) {                        \
                memset(out, range_limit(((int64_t)w[0] + (1 << (PASS1_BITS + 2))) >>       \
                                        (PASS1_BITS + 3)),                                  \
                       8);                                                                  \
                continue;                                                                   \
            }                                                                               \
            IDCT_1D(T, ROW_IN, ROW_OUT);                                                    \
        }                                                                                   \
    }
DEFINE_IDCT_PASSES(32, int32_t)
DEFINE_IDCT_PASSES(64, int64_t)

/* Whether every value is within +-IDCT_SMALL. */
static int all_small(const int32_t v[64]) {
    uint32_t over = 0;
    for (int i = 0; i < 64; i++) over |= (uint32_t)v[i] + IDCT_SMALL > 2 * IDCT_SMALL;
    return !over;
}

static void idct_block(const int16_t blk[64], const int16_t q[64], uint8_t *out, size_t stride) {
    int32_t x[64], ws[64];
    for (int i = 0; i < 64; i++) x[i] = blk[i] * q[i];
    if (all_small(x))
        idct_columns_32(x, ws);
    else
        idct_columns_64(x, ws);
    if (all_small(ws))
        idct_rows_32(ws, out, stride);
    else
        idct_rows_64(ws, out, stride);
}

/* A block whose AC coefficients are all 0: one value, as the two passes above give it. */
static void idct_dc_only(int16_t dc, int16_t q, uint8_t *out, size_t stride) {
    int32_t ws0 = (int32_t)((uint32_t)(dc * q) << PASS1_BITS);
    uint8_t v = range_limit(((int64_t)ws0 + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3));
    for (int r = 0; r < 8; r++) memset(out + (size_t)r * stride, v, 8);
}

static int ac_all_zero(const int16_t blk[64]) {
    int any = 0;
    for (int i = 1; i < 64; i++) any |= blk[i];
    return any == 0;
}

/* The samples of block (bx, by) of component c. */
static void idct_to_plane(const component *c, const int16_t blk[64], int bx, int by) {
    uint8_t *out = c->plane + (size_t)by * 8 * c->stride + (size_t)bx * 8;
    if (ac_all_zero(blk))
        idct_dc_only(blk[0], c->q[0], out, c->stride);
    else
        idct_block(blk, c->q, out, c->stride);
}
/* ======================================================================================
 * Scans (T.81 B.2.3, G.1.1)
 * ====================================================================================== */

static emoti_status fail_truncated(const bit_reader *br) {
    if (br->marker < 0)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "truncated JPEG: the data ends before the image is complete");
    return emoti_fail(EMOTI_ERR_FORMAT,
                      "corrupt JPEG: premature end of entropy-coded data (marker 0x%02X)",
                      br->marker);
}

/* Moves past the RSTn marker that must end a restart interval, and resets the decoder. */
static emoti_status process_restart(scan_state *s) {
    bit_reader *br = &s->br;
    size_t p = br->marker > 0 ? br->marker_pos : br->marker < 0 ? br->size : br->pos;
    int m = next_marker(br->data, br->size, &p);
    if (m < 0) return fail_truncated(br);
    if (m != M_RST0 + s->next_rst)
        return emoti_fail(EMOTI_ERR_FORMAT, "corrupt JPEG: expected RST%d marker, found 0x%02X",
                          s->next_rst, m);
    bits_start(br, br->data, br->size, p);
    s->next_rst = (s->next_rst + 1) & 7;
    memset(s->pred, 0, sizeof s->pred);
    s->eobrun = 0;
    return EMOTI_OK;
}

static int decode_block(jpeg_decoder *d, scan_state *s, int si, int bx, int by) {
    component *c = &d->comp[s->comp[si]];
    if (s->kind == SCAN_SEQUENTIAL) {
        int16_t blk[64];
        if (decode_block_sequential(&s->br, s->dc[si], s->ac[si], &s->pred[si], blk)) return -1;
        idct_to_plane(c, blk, bx, by);
        return 0;
    }
    int16_t *blk = c->coefs + ((size_t)by * (size_t)c->bw + (size_t)bx) * 64;
    switch (s->kind) {
    case SCAN_DC_FIRST: return decode_dc_first(s, si, blk);
    case SCAN_DC_REFINE: return decode_dc_refine(s, blk);
    case SCAN_AC_FIRST: return decode_ac_first(s, blk);
    default: return decode_ac_refine(s, blk);
    }
}

/* One MCU: a single block in a one-component scan, else h x v blocks of each component. */
static int decode_mcu(jpeg_decoder *d, scan_state *s, int mx, int my) {
    if (s->n == 1) return decode_block(d, s, 0, mx, my);
    for (int i = 0; i < s->n; i++) {
        const component *c = &d->comp[s->comp[i]];
        for (int y = 0; y < c->v; y++)
            for (int x = 0; x < c->h; x++)
                if (decode_block(d, s, i, mx * c->h + x, my * c->v + y)) return -1;
    }
    return 0;
}

emoti_status emoti_jpeg_decode_scan(jpeg_decoder *d, scan_state *s) {
    bits_start(&s->br, d->data, d->size, d->pos);
    const component *c0 = &d->comp[s->comp[0]];
    int cols = s->n == 1 ? c0->wib : d->mcux;
    int rows = s->n == 1 ? c0->hib : d->mcuy;
    int restarts_left = d->restart_interval;
    for (int my = 0; my < rows; my++) {
        for (int mx = 0; mx < cols; mx++) {
            if (d->restart_interval) {
                if (restarts_left == 0) {
                    emoti_status st = process_restart(s);
                    if (st != EMOTI_OK) return st;
                    restarts_left = d->restart_interval;
                }
                restarts_left--;
            }
            int bad = decode_mcu(d, s, mx, my);
            if (used_padding(&s->br)) return fail_truncated(&s->br);
            if (bad)
                return emoti_fail(EMOTI_ERR_FORMAT,
                                  "corrupt JPEG data: bad Huffman code (scan %d, MCU %d,%d)",
                                  d->scans, mx, my);
        }
    }
    /* Parsing goes on after the data: at the marker that ended it, or where it stopped. */
    const bit_reader *br = &s->br;
    d->pos = br->marker > 0 ? br->marker_pos : br->marker < 0 ? br->size : br->pos;
    return EMOTI_OK;
}

/* ======================================================================================
 * Samples: IDCT of progressive coefficients, upsampling, colour conversion
 * ====================================================================================== */

emoti_status emoti_jpeg_finish_planes(jpeg_decoder *d) {
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        if (c->scanned && !d->progressive) continue;
        emoti_status st = emoti_jpeg_allocate(d, c, 1);
        if (st != EMOTI_OK) return st;
        if (!c->scanned) { /* never in a scan: all coefficients 0, i.e. mid-grey */
            memset(c->plane, 128, c->stride * (size_t)c->bh * 8);
            continue;
        }
        for (int by = 0; by < c->hib; by++)
            for (int bx = 0; bx < c->wib; bx++)
                idct_to_plane(c, c->coefs + ((size_t)by * (size_t)c->bw + (size_t)bx) * 64, bx, by);
        free(c->coefs);
        c->coefs = NULL;
    }
    return EMOTI_OK;
}

static color_space pick_color_space(const jpeg_decoder *d) {
    if (d->ncomp == 1) return COLOR_GRAY;
    if (d->saw_jfif) return COLOR_YCC;
    if (d->saw_adobe) return d->adobe_transform == 0 ? COLOR_RGB : COLOR_YCC;
    const component *c = d->comp;
    if (c[0].id == 'R' && c[1].id == 'G' && c[2].id == 'B') return COLOR_RGB;
    return COLOR_YCC;
}

/* Horizontal 2x triangle filter (libjpeg h2v1 "fancy"): each output is 3/4 of the nearer
 * input plus 1/4 of the further, rounding alternately down and up; edges replicate. */
static void upsample_h2v1_fancy(const uint8_t *in, int n, uint8_t *out) {
    out[0] = in[0];
    out[1] = (uint8_t)((in[0] * 3 + in[1] + 2) >> 2);
    for (int x = 1; x < n - 1; x++) {
        int c = in[x] * 3;
        out[2 * x] = (uint8_t)((c + in[x - 1] + 1) >> 2);
        out[2 * x + 1] = (uint8_t)((c + in[x + 1] + 2) >> 2);
    }
    out[2 * n - 2] = (uint8_t)((in[n - 1] * 3 + in[n - 2] + 1) >> 2);
    out[2 * n - 1] = in[n - 1];
}

/* Vertical 2x triangle filter (libjpeg h1v2 "fancy"): 3/4 nearer row + 1/4 further row;
 * the upper output row rounds with bias 1, the lower with 2. */
static void upsample_h1v2_fancy(const uint8_t *near, const uint8_t *far, int n, int bias,
                                uint8_t *out) {
    for (int x = 0; x < n; x++) out[x] = (uint8_t)((near[x] * 3 + far[x] + bias) >> 2);
}

/* Both (libjpeg h2v2 "fancy"): column sums 3*near + far, then the horizontal filter in
 * 1/16ths with biases 8 and 7. */
static void upsample_h2v2_fancy(const uint8_t *near, const uint8_t *far, int n, int *colsum,
                                uint8_t *out) {
    for (int x = 0; x < n; x++) colsum[x] = near[x] * 3 + far[x];
    out[0] = (uint8_t)((colsum[0] * 4 + 8) >> 4);
    out[1] = (uint8_t)((colsum[0] * 3 + colsum[1] + 7) >> 4);
    for (int x = 1; x < n - 1; x++) {
        int c = colsum[x] * 3;
        out[2 * x] = (uint8_t)((c + colsum[x - 1] + 8) >> 4);
        out[2 * x + 1] = (uint8_t)((c + colsum[x + 1] + 7) >> 4);
    }
    out[2 * n - 2] = (uint8_t)((colsum[n - 1] * 3 + colsum[n - 2] + 8) >> 4);
    out[2 * n - 1] = (uint8_t)((colsum[n - 1] * 4 + 7) >> 4);
}

static void upsample_replicate(const uint8_t *in, int n, int factor, uint8_t *out) {
    for (int x = 0; x < n; x++)
        for (int k = 0; k < factor; k++) out[x * factor + k] = in[x];
}

/* Row y of component c at full resolution: the plane row itself, or an upsampled copy in
 * tmp (room for width + 3 samples). Rows beyond the component's edges repeat the edge. */
static const uint8_t *component_row(const jpeg_decoder *d, const component *c, int y,
                                    uint8_t *tmp, int *colsum) {
    int hr = d->maxh / c->h, vr = d->maxv / c->v;
    int iy = y / vr;
    const uint8_t *near = c->plane + (size_t)iy * c->stride;
    if (hr == 1 && vr == 1) return near;
    int fancy_h = hr == 2 && c->dw > 2; /* libjpeg needs 3 columns for the filter */
    if (vr == 2 && (hr == 1 || fancy_h)) {
        int lower = y & 1;
        int fy = lower ? (iy + 1 < c->dh ? iy + 1 : iy) : (iy > 0 ? iy - 1 : 0);
        const uint8_t *far = c->plane + (size_t)fy * c->stride;
        if (hr == 1)
            upsample_h1v2_fancy(near, far, c->dw, lower ? 2 : 1, tmp);
        else
            upsample_h2v2_fancy(near, far, c->dw, colsum, tmp);
    } else if (vr == 1 && fancy_h) {
        upsample_h2v1_fancy(near, c->dw, tmp);
    } else {
        upsample_replicate(near, c->dw, hr, tmp);
    }
    return tmp;
}

/* YCbCr -> RGB as libjpeg: 16-bit fixed point, FIX(x) = round(x * 2^16), ONE_HALF rounding,
 * through per-channel tables of the chroma terms and a clamping table. */
enum {
    SCALEBITS = 16, ONE_HALF = 1 << (SCALEBITS - 1),
    FIX_1_40200 = 91881, FIX_1_77200 = 116130, FIX_0_71414 = 46802, FIX_0_34414 = 22554,
    CLAMP_OFFSET = 256, /* y + chroma term lies in -227..482 */
};

typedef struct {
    int cr_r[256], cb_b[256]; /* rounded red and blue offsets */
    int32_t g[256][2];        /* scaled green terms of Cb (with ONE_HALF) and of Cr */
    uint8_t clamp[768];       /* clamp[v + CLAMP_OFFSET] = v limited to 0..255 */
} ycc_tables;

static void build_ycc_tables(ycc_tables *t) {
    for (int i = 0; i < 256; i++) {
        int c = i - 128;
        t->cr_r[i] = (FIX_1_40200 * c + ONE_HALF) >> SCALEBITS;
        t->cb_b[i] = (FIX_1_77200 * c + ONE_HALF) >> SCALEBITS;
        t->g[i][0] = -FIX_0_34414 * c + ONE_HALF;
        t->g[i][1] = -FIX_0_71414 * c;
    }
    for (int v = 0; v < 768; v++) {
        int x = v - CLAMP_OFFSET;
        t->clamp[v] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
    }
}

static void ycc_to_rgb_row(const ycc_tables *t, const uint8_t *y, const uint8_t *cb,
                           const uint8_t *cr, int n, uint8_t *out) {
    const uint8_t *clamp = t->clamp + CLAMP_OFFSET;
    for (int x = 0; x < n; x++) {
        int Y = y[x], b = cb[x], r = cr[x];
        out[3 * x] = clamp[Y + t->cr_r[r]];
        out[3 * x + 1] = clamp[Y + ((t->g[b][0] + t->g[r][1]) >> SCALEBITS)];
        out[3 * x + 2] = clamp[Y + t->cb_b[b]];
    }
}

static void interleave_row(const uint8_t *r, const uint8_t *g, const uint8_t *b, int n,
                           uint8_t *out) {
    for (int x = 0; x < n; x++) {
        out[3 * x] = r[x];
        out[3 * x + 1] = g[x];
        out[3 * x + 2] = b[x];
    }
}

emoti_status emoti_jpeg_produce_rgb(jpeg_decoder *d, emoti_image *out) {
    size_t w = (size_t)d->width, h = (size_t)d->height, bytes;
    if (!mul_size(w * h, 3, &bytes)) return fail_nomem(SIZE_MAX);
    uint8_t *rgb = malloc(bytes);
    uint8_t *tmp = malloc(MAX_COMPONENTS * (w + 8));
    int *colsum = malloc((w + 8) * sizeof(int));
    if (!rgb || !tmp || !colsum) {
        free(rgb);
        free(tmp);
        free(colsum);
        return fail_nomem(bytes);
    }
    color_space cs = pick_color_space(d);
    ycc_tables ycc;
    if (cs == COLOR_YCC) build_ycc_tables(&ycc);
    for (int y = 0; y < d->height; y++) {
        const uint8_t *row[MAX_COMPONENTS];
        for (int i = 0; i < d->ncomp; i++)
            row[i] = component_row(d, &d->comp[i], y, tmp + (size_t)i * (w + 8), colsum);
        uint8_t *o = rgb + (size_t)y * w * 3;
        if (cs == COLOR_GRAY)
            interleave_row(row[0], row[0], row[0], d->width, o);
        else if (cs == COLOR_RGB)
            interleave_row(row[0], row[1], row[2], d->width, o);
        else
            ycc_to_rgb_row(&ycc, row[0], row[1], row[2], d->width, o);
    }
    free(tmp);
    free(colsum);
    out->width = d->width;
    out->height = d->height;
    out->rgb = rgb;
    return EMOTI_OK;
}
