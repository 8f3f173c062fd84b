/* The JPEG syntax (ITU T.81 Annex B): the marker stream, the table, frame and scan headers
 * with their checks, and the decoder's entry point; jpeg.c decodes the scans' data (see there
 * for what is supported and how the output matches libjpeg). Runs once per segment, so it is
 * built for size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h" /* EMOTI_IMAGE_MAX_PIXELS */
#include "jpeg.h"
#include "jpeg_internal.h"

#define JPEG_MAX_SCANS 1000 /* guards against files of endless empty scans */

/* ======================================================================================
 * Standard Huffman tables (T.81 Annex K.3, Tables K.3 to K.6)
 * ====================================================================================== */

static const uint8_t std_dc_luma_counts[16] = {0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t std_dc_chroma_counts[16] = {0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
static const uint8_t std_dc_symbols[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

static const uint8_t std_ac_luma_counts[16] = {0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125};
static const uint8_t std_ac_luma_symbols[162] = {
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
    0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
    0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
    0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
    0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
    0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};

static const uint8_t std_ac_chroma_counts[16] = {0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119};
static const uint8_t std_ac_chroma_symbols[162] = {
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
    0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
    0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
    0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
    0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
    0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
    0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* ======================================================================================
 * Table and frame segments
 * ====================================================================================== */

/* Builds the decoding tables of T.81 Annex C / F.2.2.3 from the code-length counts. A table
 * whose codes overflow their length, or that would need the all-ones code, is marked
 * invalid (libjpeg refuses such a table when a scan uses it, so do we). */
static void huff_build(huff_table *t, const uint8_t counts[16], const uint8_t *symbols, int n) {
    memset(t, 0, sizeof *t);
    t->defined = 1;
    memcpy(t->symbols, symbols, (size_t)n);
    for (int i = 0; i < n; i++)
        if (symbols[i] > t->max_symbol) t->max_symbol = symbols[i];
    int32_t code = 0;
    int k = 0;
    for (int len = 1; len <= 16; len++) {
        int count = counts[len - 1];
        if (code + count >= ((int32_t)1 << len)) return; /* invalid */
        t->offset[len] = k - code;
        t->maxcode[len] = count ? code + count - 1 : -1;
        for (int i = 0; i < count; i++, k++, code++) {
            if (len > FAST_BITS) continue;
            int spare = FAST_BITS - len;
            for (int j = 0; j < (1 << spare); j++)
                t->fast[(code << spare) | j] = (uint16_t)(len << 8 | symbols[k]);
        }
        code <<= 1;
    }
    t->maxcode[17] = INT32_MAX; /* unused sentinel */
    t->valid = 1;
}

static emoti_status parse_dht(jpeg_decoder *d, const uint8_t *p, size_t len) {
    while (len > 0) {
        if (len < 17) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: DHT segment too short");
        int tc = p[0] >> 4, th = p[0] & 15;
        if (tc > 1 || th > 3)
            return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: DHT table class %d / id %d", tc, th);
        int n = 0;
        for (int i = 0; i < 16; i++) n += p[1 + i];
        if (n > 256 || (size_t)n > len - 17)
            return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG Huffman table: %d symbols", n);
        huff_build(tc ? &d->ac_tables[th] : &d->dc_tables[th], p + 1, p + 17, n);
        p += 17 + n;
        len -= 17 + (size_t)n;
    }
    return EMOTI_OK;
}

static emoti_status parse_dqt(jpeg_decoder *d, const uint8_t *p, size_t len) {
    while (len > 0) {
        int pq = p[0] >> 4, tq = p[0] & 15;
        if (pq > 1 || tq > 3)
            return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: DQT precision %d / id %d", pq, tq);
        size_t need = 1 + 64 * (size_t)(pq + 1);
        if (len < need) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: DQT segment too short");
        for (int i = 0; i < 64; i++)
            d->qt[tq][emoti_jpeg_natural_order[i]] = (uint16_t)(pq ? be16(p + 1 + 2 * i) : p[1 + i]);
        d->qt_defined[tq] = 1;
        p += need;
        len -= need;
    }
    return EMOTI_OK;
}

static emoti_status parse_dri(jpeg_decoder *d, const uint8_t *p, size_t len) {
    if (len != 2) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: DRI segment length %zu", len);
    d->restart_interval = (int)be16(p);
    return EMOTI_OK;
}

/* APP0 "JFIF" and APP14 "Adobe" decide the colour space (as libjpeg reads them). */
static void parse_app(jpeg_decoder *d, int marker, const uint8_t *p, size_t len) {
    if (d->scans > 0) return; /* libjpeg settles the colour space at the first scan */
    if (marker == M_APP0 && len >= 14 && memcmp(p, "JFIF", 5) == 0) d->saw_jfif = 1;
    if (marker == M_APP14 && len >= 12 && memcmp(p, "Adobe", 5) == 0) {
        d->saw_adobe = 1;
        d->adobe_transform = p[11];
    }
}

static emoti_status reject_frame_type(int marker) {
    switch (marker) {
    case 0xC3: return emoti_fail(EMOTI_ERR_UNSUPPORTED, "lossless JPEG (SOF3) is not supported");
    case 0xC5: case 0xC6: case 0xC7:
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "hierarchical JPEG (SOF%d) is not supported",
                          marker - 0xC0);
    case 0xC9: case 0xCA:
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "arithmetic-coded JPEG (SOF%d) is not supported", marker - 0xC0);
    case 0xCB:
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "lossless arithmetic-coded JPEG (SOF11) is not supported");
    case 0xCD: case 0xCE: case 0xCF:
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "hierarchical arithmetic-coded JPEG (SOF%d) is not supported",
                          marker - 0xC0);
    default:
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "JPEG marker JPG (0xFFC8) is not supported");
    }
}

static emoti_status check_frame_kind(int precision, int ncomp) {
    if (precision != 8)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "%d-bit JPEG is not supported (only 8-bit samples)", precision);
    if (ncomp == 4)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "4-component (CMYK/YCCK) JPEG is not supported");
    if (ncomp != 1 && ncomp != 3)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "%d-component JPEG is not supported (only grey or colour)", ncomp);
    return EMOTI_OK;
}

/* Component and MCU geometry (T.81 A.1.1, A.2.4). */
static emoti_status set_geometry(jpeg_decoder *d) {
    d->maxh = d->maxv = 1;
    for (int i = 0; i < d->ncomp; i++) {
        if (d->comp[i].h > d->maxh) d->maxh = d->comp[i].h;
        if (d->comp[i].v > d->maxv) d->maxv = d->comp[i].v;
    }
    d->mcux = ceil_div(d->width, 8 * d->maxh);
    d->mcuy = ceil_div(d->height, 8 * d->maxv);
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        if (d->maxh % c->h || d->maxv % c->v)
            return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                              "JPEG sampling factors %dx%d vs %dx%d (not a whole ratio) are not "
                              "supported", c->h, c->v, d->maxh, d->maxv);
        c->wib = ceil_div(d->width * c->h, 8 * d->maxh);
        c->hib = ceil_div(d->height * c->v, 8 * d->maxv);
        c->dw = ceil_div(d->width * c->h, d->maxh);
        c->dh = ceil_div(d->height * c->v, d->maxv);
        c->bw = d->mcux * c->h;
        c->bh = d->mcuy * c->v;
        c->stride = (size_t)c->bw * 8;
        for (int k = 0; k < 64; k++) c->coef_bits[k] = -1;
    }
    return EMOTI_OK;
}

static emoti_status parse_sof(jpeg_decoder *d, int marker, const uint8_t *p, size_t len) {
    if (d->frame_seen) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: more than one frame (SOF)");
    if (len < 6) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: SOF segment too short");
    int precision = p[0], ncomp = p[5];
    d->height = (int)be16(p + 1);
    d->width = (int)be16(p + 3);
    if (len != 6 + 3 * (size_t)ncomp)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: SOF length %zu for %d components", len,
                          ncomp);
    if (d->width == 0 || d->height == 0 || ncomp == 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: empty image (%dx%d, %d components)",
                          d->width, d->height, ncomp);
    emoti_status st = check_frame_kind(precision, ncomp);
    if (st != EMOTI_OK) return st;
    if ((uint64_t)d->width * (uint64_t)d->height > d->max_pixels)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "JPEG: image size %dx%d is too large (limit %llu pixels)", d->width,
                          d->height, (unsigned long long)d->max_pixels);
    d->ncomp = ncomp;
    d->progressive = marker == M_SOF2;
    for (int i = 0; i < ncomp; i++) {
        const uint8_t *c = p + 6 + 3 * i;
        component *comp = &d->comp[i];
        comp->id = c[0];
        comp->h = c[1] >> 4;
        comp->v = c[1] & 15;
        comp->tq = c[2];
        if (comp->h < 1 || comp->h > 4 || comp->v < 1 || comp->v > 4)
            return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: sampling factors %dx%d",
                              comp->h, comp->v);
        if (comp->tq > 3)
            return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: quantisation table id %d",
                              comp->tq);
    }
    d->frame_seen = 1;
    return set_geometry(d);
}

/* ======================================================================================
 * Scans (T.81 B.2.3, G.1.1)
 * ====================================================================================== */

/* Baseline: the sample plane that scans decode into. Progressive: the coefficients only (64
 * per 64 samples); emoti_jpeg_finish_planes makes the plane from them one component at a time and frees
 * them, so samples and coefficients of the whole image never coexist. */
emoti_status emoti_jpeg_allocate(jpeg_decoder *d, component *c, int plane) {
    size_t samples, bytes;
    if (!mul_size(c->stride, (size_t)c->bh * 8, &samples)) return fail_nomem(SIZE_MAX);
    if (plane || !d->progressive) {
        c->plane = malloc(samples);
        if (!c->plane) return fail_nomem(samples);
        return EMOTI_OK;
    }
    if (!mul_size(samples, sizeof(int16_t), &bytes)) return fail_nomem(SIZE_MAX);
    c->coefs = calloc(samples, sizeof(int16_t));
    if (!c->coefs) return fail_nomem(bytes);
    return EMOTI_OK;
}

/* The table a scan names, falling back to the standard tables for ids 0 and 1. */
static const huff_table *scan_table(jpeg_decoder *d, int ac, int id, huff_table *std) {
    huff_table *t = ac ? &d->ac_tables[id] : &d->dc_tables[id];
    if (t->defined) return t;
    if (id > 1) return NULL;
    if (ac)
        huff_build(std, id ? std_ac_chroma_counts : std_ac_luma_counts,
                   id ? std_ac_chroma_symbols : std_ac_luma_symbols, 162);
    else
        huff_build(std, id ? std_dc_chroma_counts : std_dc_luma_counts, std_dc_symbols, 12);
    *t = *std;
    return t;
}

static emoti_status check_table(const huff_table *t, int ac, int id) {
    const char *cls = ac ? "AC" : "DC";
    if (!t)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: %s Huffman table %d not defined", cls, id);
    if (!t->valid)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG Huffman table (%s %d): code lengths overflow",
                          cls, id);
    if (!ac && t->max_symbol > 15)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG Huffman table (DC %d): symbol %d > 15", id,
                          t->max_symbol);
    return EMOTI_OK;
}

/* Binds the Huffman tables that this kind of scan uses (libjpeg's rules). */
static emoti_status bind_tables(jpeg_decoder *d, scan_state *s, const uint8_t *selectors) {
    huff_table std; /* scratch for building a standard table */
    for (int i = 0; i < s->n; i++) {
        int td = selectors[i] >> 4, ta = selectors[i] & 15;
        int need_dc = s->kind == SCAN_SEQUENTIAL || s->kind == SCAN_DC_FIRST;
        int need_ac = s->kind == SCAN_SEQUENTIAL || s->kind == SCAN_AC_FIRST ||
                      s->kind == SCAN_AC_REFINE;
        if (need_dc) {
            s->dc[i] = td < 4 ? scan_table(d, 0, td, &std) : NULL;
            emoti_status st = check_table(s->dc[i], 0, td);
            if (st != EMOTI_OK) return st;
        }
        if (need_ac) {
            s->ac[i] = ta < 4 ? scan_table(d, 1, ta, &std) : NULL;
            emoti_status st = check_table(s->ac[i], 1, ta);
            if (st != EMOTI_OK) return st;
        }
    }
    return EMOTI_OK;
}

/* Progressive scan parameters must be consistent (G.1.1.1.1, libjpeg's checks). */
static emoti_status check_progression(scan_state *s) {
    int bad = 0;
    if (s->ss == 0)
        bad = s->se != 0;
    else
        bad = s->ss > s->se || s->se > 63 || s->n != 1;
    if (s->ah != 0 && s->al != s->ah - 1) bad = 1;
    if (s->al > 13) bad = 1;
    if (bad)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad progressive JPEG scan: Ss=%d Se=%d Ah=%d Al=%d",
                          s->ss, s->se, s->ah, s->al);
    if (s->ss == 0)
        s->kind = s->ah ? SCAN_DC_REFINE : SCAN_DC_FIRST;
    else
        s->kind = s->ah ? SCAN_AC_REFINE : SCAN_AC_FIRST;
    return EMOTI_OK;
}

/* First scan of a component: latch its quantisation table (later DQTs do not change it,
 * as in libjpeg) and allocate its samples. */
static emoti_status start_component(jpeg_decoder *d, component *c) {
    if (c->scanned) return EMOTI_OK;
    if (!d->qt_defined[c->tq])
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: quantisation table %d not defined", c->tq);
    for (int k = 0; k < 64; k++) c->q[k] = (int16_t)d->qt[c->tq][k];
    c->scanned = 1;
    return emoti_jpeg_allocate(d, c, 0);
}

/* Records which coefficients each component has now received (libjpeg's coef_bits). */
static void mark_coefficients(jpeg_decoder *d, const scan_state *s) {
    for (int i = 0; i < s->n; i++) {
        component *c = &d->comp[s->comp[i]];
        if (!d->progressive)
            memset(c->coef_bits, 0, sizeof c->coef_bits);
        else
            for (int k = s->ss; k <= s->se; k++) c->coef_bits[k] = s->al;
    }
}

/* Reads the SOS header into s: components, tables, spectral selection, approximation. */
static emoti_status parse_sos(jpeg_decoder *d, const uint8_t *p, size_t len, scan_state *s) {
    if (!d->frame_seen)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: scan (SOS) before frame (SOF)");
    if (len < 1) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: SOS segment too short");
    int n = p[0];
    if (n < 1 || n > MAX_SCAN_COMPONENTS || len != 4 + 2 * (size_t)n)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: SOS with %d components, length %zu", n, len);
    memset(s, 0, sizeof *s);
    s->n = n;
    uint8_t selectors[MAX_SCAN_COMPONENTS];
    for (int i = 0; i < n; i++) {
        int id = p[1 + 2 * i], found = -1;
        for (int c = 0; c < d->ncomp && found < 0; c++) {
            int taken = 0;
            for (int j = 0; j < i; j++) taken |= s->comp[j] == c;
            if (d->comp[c].id == id && !taken) found = c;
        }
        if (found < 0)
            return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: scan names unknown component id %d", id);
        s->comp[i] = found;
        selectors[i] = p[2 + 2 * i];
    }
    const uint8_t *q = p + 1 + 2 * n;
    s->ss = q[0];
    s->se = q[1];
    s->ah = q[2] >> 4;
    s->al = q[2] & 15;
    s->kind = SCAN_SEQUENTIAL;
    if (d->progressive) {
        emoti_status st = check_progression(s);
        if (st != EMOTI_OK) return st;
    }
    return bind_tables(d, s, selectors);
}

static emoti_status check_mcu_size(const jpeg_decoder *d, const scan_state *s) {
    if (s->n == 1) return EMOTI_OK;
    int blocks = 0;
    for (int i = 0; i < s->n; i++) blocks += d->comp[s->comp[i]].h * d->comp[s->comp[i]].v;
    if (blocks > MAX_MCU_BLOCKS)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: %d blocks in an MCU (at most %d)", blocks,
                          MAX_MCU_BLOCKS);
    return EMOTI_OK;
}

static emoti_status do_scan(jpeg_decoder *d, const uint8_t *p, size_t len) {
    scan_state s;
    emoti_status st = parse_sos(d, p, len, &s);
    if (st == EMOTI_OK) st = check_mcu_size(d, &s);
    if (st != EMOTI_OK) return st;
    if (++d->scans > JPEG_MAX_SCANS)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: more than %d scans", JPEG_MAX_SCANS);
    for (int i = 0; i < s.n; i++) {
        st = start_component(d, &d->comp[s.comp[i]]);
        if (st != EMOTI_OK) return st;
    }
    mark_coefficients(d, &s);
    return emoti_jpeg_decode_scan(d, &s);
}

/* ======================================================================================
 * Marker stream (T.81 B.2)
 * ====================================================================================== */

/* The payload of the segment whose length field is at d->pos; moves d->pos past it. */
static emoti_status read_segment(jpeg_decoder *d, int marker, const uint8_t **payload,
                                 size_t *len) {
    if (d->size - d->pos < 2)
        return emoti_fail(EMOTI_ERR_FORMAT, "truncated JPEG: in marker 0x%02X", marker);
    size_t n = be16(d->data + d->pos);
    if (n < 2)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: marker 0x%02X has length %zu", marker, n);
    if (n > d->size - d->pos)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "truncated JPEG: marker 0x%02X segment of %zu bytes, %zu left", marker,
                          n, d->size - d->pos);
    *payload = d->data + d->pos + 2;
    *len = n - 2;
    d->pos += n;
    return EMOTI_OK;
}

static int is_standalone(int m) { return (m >= M_RST0 && m <= M_RST7) || m == M_TEM; }

static emoti_status handle_marker(jpeg_decoder *d, int m) {
    if (m == M_SOI) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: SOI marker inside the image");
    if (is_standalone(m)) return EMOTI_OK; /* stray RSTn/TEM: ignored, as by libjpeg */
    if ((m >= 0xC3 && m <= 0xCF && m != M_DHT && m != M_DAC)) return reject_frame_type(m);
    int known = m == M_SOF0 || m == M_SOF1 || m == M_SOF2 || m == M_DHT || m == M_DAC ||
                m == M_SOS || m == M_DQT || m == M_DNL || m == M_DRI || m == M_COM ||
                (m >= M_APP0 && m <= M_APP15);
    if (!known) return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: unknown marker 0x%02X", m);

    const uint8_t *p = NULL;
    size_t len = 0;
    emoti_status st = read_segment(d, m, &p, &len);
    if (st != EMOTI_OK) return st;
    switch (m) {
    case M_SOF0: case M_SOF1: case M_SOF2: return parse_sof(d, m, p, len);
    case M_DHT: return parse_dht(d, p, len);
    case M_DQT: return parse_dqt(d, p, len);
    case M_DRI: return parse_dri(d, p, len);
    case M_SOS: return do_scan(d, p, len);
    default: parse_app(d, m, p, len); return EMOTI_OK; /* APPn, COM, DNL, DAC */
    }
}

/* Whether all coefficients of every component have arrived (used when EOI is missing). */
static int image_complete(const jpeg_decoder *d) {
    for (int i = 0; i < d->ncomp; i++)
        for (int k = 0; k < 64; k++)
            if (d->comp[i].coef_bits[k] != 0) return 0;
    return 1;
}

static emoti_status parse_stream(jpeg_decoder *d) {
    if (d->size < 2 || d->data[0] != 0xFF || d->data[1] != M_SOI)
        return emoti_fail(EMOTI_ERR_FORMAT, "not a JPEG file (no SOI marker)");
    d->pos = 2;
    for (;;) {
        int m = next_marker(d->data, d->size, &d->pos);
        if (m == M_EOI) break;
        if (m < 0) {
            if (d->scans > 0 && image_complete(d)) break; /* only the EOI is missing */
            return emoti_fail(EMOTI_ERR_FORMAT, "truncated JPEG: %s",
                              !d->frame_seen ? "no frame header (SOF)"
                              : d->scans == 0 ? "no image data (SOS)"
                                              : "the data ends before the image is complete");
        }
        emoti_status st = handle_marker(d, m);
        if (st != EMOTI_OK) return st;
    }
    if (!d->frame_seen)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: no frame header (SOF) before EOI");
    if (d->scans == 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "bad JPEG: no image data (SOS) before EOI");
    return EMOTI_OK;
}
/* ======================================================================================
 * Entry point
 * ====================================================================================== */

static void free_decoder(jpeg_decoder *d) {
    for (int i = 0; i < MAX_COMPONENTS; i++) {
        free(d->comp[i].plane);
        free(d->comp[i].coefs);
    }
    free(d);
}

emoti_status emoti_jpeg_decode(const uint8_t *data, size_t size, emoti_image *out) {
    return emoti_jpeg_decode_max(data, size, EMOTI_IMAGE_MAX_PIXELS, out);
}

emoti_status emoti_jpeg_decode_max(const uint8_t *data, size_t size, uint64_t max_pixels,
                                   emoti_image *out) {
    if (!out) return emoti_fail(EMOTI_ERR_ARG, "JPEG decode: NULL image");
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!data && size > 0) return emoti_fail(EMOTI_ERR_ARG, "JPEG decode: NULL data");
    jpeg_decoder *d = calloc(1, sizeof *d);
    if (!d) return fail_nomem(sizeof *d);
    d->data = data;
    d->size = size;
    d->max_pixels = max_pixels;
    emoti_status st = parse_stream(d);
    if (st == EMOTI_OK) st = emoti_jpeg_finish_planes(d);
    if (st == EMOTI_OK) st = emoti_jpeg_produce_rgb(d, out);
    free_decoder(d);
    return st;
}

