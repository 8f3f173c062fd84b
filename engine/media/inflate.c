/* DEFLATE (RFC 1951) and zlib (RFC 1950) decompression, written from the two RFCs.
 *
 * The whole compressed stream is in memory, so the decoder is a plain loop (no resumable
 * state machine). Bits are read LSB-first through a 64-bit buffer. Huffman codes are decoded
 * with a two-level lookup table: the first `root_bits` bits of the stream index the first
 * level; codes longer than that go through a link to a second-level table indexed by the
 * following bits. A fast loop runs while at least 8 input bytes and FAST_OUT_MARGIN output
 * bytes remain and needs no bounds checks inside; a careful one-symbol-at-a-time path handles
 * the ends of the buffers. The tables are built in inflate_tables.c.
 */
#include "inflate.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "inflate_internal.h"

static void init_inflater(inflater *s, const uint8_t *in, size_t in_size) {
    s->in_start = s->in = in;
    s->in_end = in + in_size;
    s->bits = 0;
    s->nbits = 0;
    s->overrun = 0;
    s->out = NULL;
    s->len = s->cap = s->limit = 0;
    s->growable = 0;
    s->sink = NULL;
    s->sink_ctx = NULL;
    s->base = s->flushed = 0;
    s->adler = 1;
    s->lit = (huff_table){LITLEN_ROOT, LITLEN_CAPACITY, s->lit_entry};
    s->dist = (huff_table){DIST_ROOT, DIST_CAPACITY, s->dist_entry};
    s->codelen = (huff_table){CODELEN_ROOT, CODELEN_CAPACITY, s->codelen_entry};
}

static inline uint64_t load_le64(const uint8_t *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* Drops the bits up to the next byte boundary and hands the whole bytes still buffered back
 * to the input, so that byte-aligned data (stored blocks, the zlib trailer) is read from
 * s->in directly. */
static emoti_status align_to_byte(inflater *s) {
    take_bits(s, s->nbits & 7);
    size_t buffered = s->nbits / 8;
    if (buffered < s->overrun) return fail_truncated();
    s->in -= buffered - s->overrun;
    s->bits = 0;
    s->nbits = 0;
    s->overrun = 0;
    return EMOTI_OK;
}

/* ======================================================================================
 * Output
 * ====================================================================================== */

static emoti_status fail_output_limit(const inflater *s) {
    return emoti_fail(EMOTI_ERR_FORMAT, "deflate: output exceeds the %zu-byte limit", s->limit);
}

/* Grows a growable buffer (doubling, capped at limit) to hold at least `want` bytes. */
static emoti_status grow_output(inflater *s, size_t want) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < want && cap < s->limit) cap = cap > s->limit / 2 ? s->limit : cap * 2;
    if (cap > s->limit) cap = s->limit;
    uint8_t *p = realloc(s->out, cap ? cap : 1);
    if (!p) return emoti_fail(EMOTI_ERR_NOMEM, "deflate: out of memory (%zu bytes)", cap);
    s->out = p;
    s->cap = cap;
    return EMOTI_OK;
}

#define HISTORY_BYTES 32768 /* the farthest a match reaches back (RFC 1951) */
#define WINDOW_BYTES (HISTORY_BYTES + 65536 + FAST_OUT_MARGIN) /* + a whole stored block */

/* Sink mode: passes the bytes not yet flushed to the sink, then slides the window. */
static emoti_status flush(inflater *s) {
    size_t fresh = s->len - s->flushed;
    s->adler = emoti_adler32(s->adler, s->out + s->flushed, fresh);
    emoti_status st = fresh ? s->sink(s->sink_ctx, s->out + s->flushed, fresh) : EMOTI_OK;
    size_t keep = s->len < HISTORY_BYTES ? s->len : HISTORY_BYTES;
    memmove(s->out, s->out + s->len - keep, keep);
    s->base += s->len - keep;
    s->len = s->flushed = keep;
    s->cap = s->limit - s->base < WINDOW_BYTES ? s->limit - s->base : WINDOW_BYTES;
    return st;
}

/* Makes room for n more output bytes, or fails if that would pass the limit. */
static emoti_status ensure_room(inflater *s, size_t n) {
    if (s->cap - s->len >= n) return EMOTI_OK;
    if (s->sink) {
        emoti_status st = flush(s);
        if (st != EMOTI_OK || s->cap - s->len >= n) return st;
        return fail_output_limit(s);
    }
    if (!s->growable || s->limit - s->len < n) return fail_output_limit(s);
    return grow_output(s, s->len + n);
}

/* Copies a match of `length` bytes from `dist` bytes back. With dist >= 8 it moves 8 bytes at
 * a time (each chunk reads only bytes already final) and may write up to 7 bytes past the
 * end: callers leave that slack. */
static inline void copy_match_fast(uint8_t *dst, size_t dist, size_t length) {
    const uint8_t *src = dst - dist;
    if (dist >= 8) {
        for (size_t i = 0; i < length; i += 8) memcpy(dst + i, src + i, 8);
    } else if (dist == 1) {
        memset(dst, dst[-1], length);
    } else {
        for (size_t i = 0; i < length; i++) dst[i] = src[i];
    }
}

/* ======================================================================================
 * Compressed blocks
 * ====================================================================================== */

/* RFC 1951 3.2.5: base and extra bits of length symbols 257..285 and distance symbols 0..29. */
static const uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                         31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

enum { STEP_MORE = 0, STEP_END_OF_BLOCK = 1, STEP_FAILED = -1 };

static int fail_step(emoti_status *status, emoti_status st) {
    *status = st;
    return STEP_FAILED;
}

static emoti_status fail_symbol(const char *what, unsigned sym) {
    return emoti_fail(EMOTI_ERR_FORMAT, "deflate: invalid %s symbol %u", what, sym);
}

static emoti_status fail_distance(size_t dist, size_t len) {
    return emoti_fail(EMOTI_ERR_FORMAT,
                      "deflate: distance %zu reaches back before the start of the output "
                      "(%zu bytes so far)",
                      dist, len);
}

/* Decodes symbols while the buffers have slack enough that no bounds check is needed: >= 8
 * input bytes (one refill of 56+ bits covers the longest length/distance pair: 15+5+15+13 =
 * 48 bits) and FAST_OUT_MARGIN output bytes. Returns STEP_MORE when a margin runs out. */
static int decode_fast(inflater *s, emoti_status *status) {
    if (s->in_end - s->in < 8 || s->cap - s->len < FAST_OUT_MARGIN) return STEP_MORE;
    const uint8_t *in = s->in, *const in_last = s->in_end - 8;
    uint8_t *const out = s->out;
    size_t len = s->len;
    const size_t out_last = s->cap - FAST_OUT_MARGIN, base = s->base;
    uint64_t bits = s->bits;
    unsigned nbits = s->nbits;
    int result = STEP_MORE;
    /* Locals, not s->...: stores to out could alias the state, forcing reloads. */
    const huff_entry *const lit = s->lit.entry, *const dist_table = s->dist.entry;

    while (in <= in_last && len <= out_last) {
        /* Branch-free refill: OR in 8 bytes, count the whole ones that fit. Bits above nbits
         * are always the stream's own next bits, so OR-ing them in again is harmless. */
        bits |= load_le64(in) << nbits;
        in += (63 - nbits) >> 3;
        nbits |= 56;

        huff_entry e = lookup_in(lit, LITLEN_ROOT, bits);
        if (e.kind != ENTRY_SYMBOL) {
            result = fail_step(status, fail_invalid_code("literal/length"));
            break;
        }
        bits >>= e.bits;
        nbits -= e.bits;
        if (e.value < 256) {
            out[len++] = (uint8_t)e.value;
            continue;
        }
        if (e.value == 256) {
            result = STEP_END_OF_BLOCK;
            break;
        }
        unsigned ls = e.value - 257u;
        if (ls >= 29) {
            result = fail_step(status, fail_symbol("literal/length", e.value));
            break;
        }
        size_t length = length_base[ls] + (size_t)(bits & ((1u << length_extra[ls]) - 1));
        bits >>= length_extra[ls];
        nbits -= length_extra[ls];

        huff_entry d = lookup_in(dist_table, DIST_ROOT, bits);
        if (d.kind != ENTRY_SYMBOL) {
            result = fail_step(status, fail_invalid_code("distance"));
            break;
        }
        if (d.value >= 30) {
            result = fail_step(status, fail_symbol("distance", d.value));
            break;
        }
        bits >>= d.bits;
        nbits -= d.bits;
        size_t dist = dist_base[d.value] + (size_t)(bits & ((1u << dist_extra[d.value]) - 1));
        bits >>= dist_extra[d.value];
        nbits -= dist_extra[d.value];
        if (dist > base + len) {
            result = fail_step(status, fail_distance(dist, base + len));
            break;
        }
        copy_match_fast(out + len, dist, length);
        len += length;
    }
    s->in = in;
    s->len = len;
    s->bits = bits;
    s->nbits = nbits;
    return result;
}

/* Decodes one symbol with every bound checked. */
static int decode_one_slow(inflater *s, emoti_status *status) {
    refill_slow(s);
    huff_entry e = lookup(&s->lit, s->bits);
    if (e.kind != ENTRY_SYMBOL) return fail_step(status, fail_invalid_code("literal/length"));
    take_bits(s, e.bits);
    if (overran(s)) return fail_step(status, fail_truncated());
    if (e.value < 256) {
        emoti_status st = ensure_room(s, 1);
        if (st != EMOTI_OK) return fail_step(status, st);
        s->out[s->len++] = (uint8_t)e.value;
        return STEP_MORE;
    }
    if (e.value == 256) return STEP_END_OF_BLOCK;
    unsigned ls = e.value - 257u;
    if (ls >= 29) return fail_step(status, fail_symbol("literal/length", e.value));
    size_t length = length_base[ls] + take_bits(s, length_extra[ls]);

    huff_entry d = lookup(&s->dist, s->bits);
    if (d.kind != ENTRY_SYMBOL) return fail_step(status, fail_invalid_code("distance"));
    if (d.value >= 30) return fail_step(status, fail_symbol("distance", d.value));
    take_bits(s, d.bits);
    size_t dist = dist_base[d.value] + take_bits(s, dist_extra[d.value]);
    if (overran(s)) return fail_step(status, fail_truncated());
    if (dist > s->base + s->len) return fail_step(status, fail_distance(dist, s->base + s->len));
    emoti_status st = ensure_room(s, length);
    if (st != EMOTI_OK) return fail_step(status, st);
    uint8_t *dst = s->out + s->len;
    const uint8_t *src = dst - dist;
    for (size_t i = 0; i < length; i++) dst[i] = src[i];
    s->len += length;
    return STEP_MORE;
}

/* Decodes the symbols of one Huffman-coded block (tables in s->lit, s->dist). */
static emoti_status inflate_codes(inflater *s) {
    emoti_status status = EMOTI_OK;
    for (;;) {
        /* Keep a growable buffer ahead of the fast loop's margin while the limit allows. */
        if (s->growable && s->cap - s->len < FAST_OUT_MARGIN && s->cap < s->limit) {
            size_t want = s->len + FAST_OUT_MARGIN;
            emoti_status st = grow_output(s, want < s->limit ? want : s->limit);
            if (st != EMOTI_OK) return st;
        }
        if (s->sink && s->cap - s->len < FAST_OUT_MARGIN && s->len > HISTORY_BYTES) {
            emoti_status st = flush(s);
            if (st != EMOTI_OK) return st;
        }
        int r = decode_fast(s, &status);
        if (r == STEP_MORE) r = decode_one_slow(s, &status);
        if (r == STEP_END_OF_BLOCK) return EMOTI_OK;
        if (r == STEP_FAILED) return status;
    }
}

static emoti_status inflate_stored(inflater *s) {
    emoti_status st = align_to_byte(s);
    if (st != EMOTI_OK) return st;
    if (s->in_end - s->in < 4)
        return emoti_fail(EMOTI_ERR_FORMAT, "deflate: truncated stored block header");
    unsigned len = s->in[0] | (unsigned)s->in[1] << 8;
    unsigned nlen = s->in[2] | (unsigned)s->in[3] << 8;
    if (len != (~nlen & 0xFFFFu))
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "deflate: stored block length 0x%04X does not match its complement "
                          "0x%04X",
                          len, nlen);
    s->in += 4;
    if ((size_t)(s->in_end - s->in) < len)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "deflate: truncated stored block (%u bytes declared, %zu left)", len,
                          (size_t)(s->in_end - s->in));
    if ((st = ensure_room(s, len)) != EMOTI_OK) return st;
    if (len) memcpy(s->out + s->len, s->in, len);
    s->len += len;
    s->in += len;
    return EMOTI_OK;
}

/* Decodes blocks up to and including the final one, then aligns to the next byte. */
static emoti_status inflate_blocks(inflater *s) {
    for (;;) {
        refill_slow(s);
        unsigned final = take_bits(s, 1), type = take_bits(s, 2);
        if (overran(s)) return fail_truncated();
        emoti_status st;
        switch (type) {
        case 0: st = inflate_stored(s); break;
        case 1:
            st = emoti_inflate_fixed_tables(s);
            if (st == EMOTI_OK) st = inflate_codes(s);
            break;
        case 2:
            st = emoti_inflate_dynamic_tables(s);
            if (st == EMOTI_OK) st = inflate_codes(s);
            break;
        default: return emoti_fail(EMOTI_ERR_FORMAT, "deflate: invalid block type 3");
        }
        if (st != EMOTI_OK) return st;
        if (final) return align_to_byte(s);
    }
}

/* ======================================================================================
 * zlib framing (RFC 1950)
 * ====================================================================================== */

static emoti_status read_zlib_header(inflater *s) {
    if (s->in_end - s->in < 2)
        return emoti_fail(EMOTI_ERR_FORMAT, "zlib: truncated header (%zu bytes)",
                          (size_t)(s->in_end - s->in));
    unsigned cmf = s->in[0], flg = s->in[1];
    if ((cmf & 15) != 8)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "zlib: unknown compression method %u (only 8, deflate)", cmf & 15);
    if ((cmf >> 4) > 7)
        return emoti_fail(EMOTI_ERR_FORMAT, "zlib: window size 2^%u is over the 32 KiB maximum",
                          (cmf >> 4) + 8);
    if ((cmf * 256 + flg) % 31 != 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "zlib: header check bits wrong (0x%02X%02X)", cmf, flg);
    if (flg & 0x20)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "zlib: preset dictionaries are not supported");
    s->in += 2;
    return EMOTI_OK;
}

static emoti_status check_zlib_trailer(inflater *s) {
    if (s->in_end - s->in < 4)
        return emoti_fail(EMOTI_ERR_FORMAT, "zlib: truncated stream (Adler-32 trailer missing)");
    uint32_t stored = (uint32_t)s->in[0] << 24 | (uint32_t)s->in[1] << 16 |
                      (uint32_t)s->in[2] << 8 | s->in[3];
    uint32_t computed = s->sink ? s->adler : emoti_adler32(1, s->out, s->len);
    if (stored != computed)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "zlib: Adler-32 mismatch (stored 0x%08X, computed 0x%08X)", stored,
                          computed);
    s->in += 4;
    return EMOTI_OK;
}

/* ======================================================================================
 * Public entry points
 * ====================================================================================== */

static emoti_status check_args(const uint8_t *in, size_t in_size, const void *out,
                               const size_t *out_len) {
    if ((!in && in_size) || !out || !out_len)
        return emoti_fail(EMOTI_ERR_ARG, "inflate: NULL argument");
    return EMOTI_OK;
}

/* Runs the decoder on a prepared state: zlib framing around the blocks if `zlib`. */
static emoti_status run(inflater *s, int zlib, size_t *out_len, size_t *in_used) {
    emoti_status st = EMOTI_OK;
    if (zlib) st = read_zlib_header(s);
    if (st == EMOTI_OK) st = inflate_blocks(s);
    if (st == EMOTI_OK && s->sink) st = flush(s);
    if (st == EMOTI_OK && zlib) st = check_zlib_trailer(s);
    if (st != EMOTI_OK) return st;
    *out_len = s->base + s->len;
    if (in_used) *in_used = (size_t)(s->in - s->in_start);
    return EMOTI_OK;
}

/* Into out[0..out_cap) with output up to limit: out_cap = limit, or (with a sink) a window. */
static emoti_status decompress_into(int zlib, const uint8_t *in, size_t in_size, uint8_t *out,
                                    size_t out_cap, size_t limit, emoti_inflate_sink sink,
                                    void *ctx, size_t *out_len, size_t *in_used) {
    emoti_status st = check_args(in, in_size, out, out_len);
    if (st != EMOTI_OK) return st;
    *out_len = 0;
    inflater *s = malloc(sizeof *s);
    if (!s) return emoti_fail(EMOTI_ERR_NOMEM, "inflate: out of memory");
    init_inflater(s, in ? in : (const uint8_t *)"", in_size);
    s->out = out;
    s->cap = out_cap;
    s->limit = limit;
    s->sink = sink;
    s->sink_ctx = ctx;
    st = run(s, zlib, out_len, in_used);
    free(s);
    return st;
}

static emoti_status decompress_alloc(int zlib, const uint8_t *in, size_t in_size,
                                     size_t max_out, uint8_t **out, size_t *out_len,
                                     size_t *in_used) {
    emoti_status st = check_args(in, in_size, out, out_len);
    if (st != EMOTI_OK) return st;
    *out = NULL;
    *out_len = 0;
    inflater *s = malloc(sizeof *s);
    if (!s) return emoti_fail(EMOTI_ERR_NOMEM, "inflate: out of memory");
    init_inflater(s, in ? in : (const uint8_t *)"", in_size);
    s->growable = 1;
    s->limit = max_out;
    /* First guess: 4x the input (typical ratios are 2-4x); doubling takes it from there. */
    size_t guess = in_size <= SIZE_MAX / 4 ? in_size * 4 : SIZE_MAX;
    st = grow_output(s, guess < max_out ? guess : max_out);
    if (st == EMOTI_OK) st = run(s, zlib, out_len, in_used);
    if (st == EMOTI_OK) {
        *out = s->out;
    } else {
        free(s->out);
    }
    free(s);
    return st;
}

emoti_status emoti_zlib_decompress_to(const uint8_t *in, size_t in_size, size_t max_out,
                                      emoti_inflate_sink sink, void *ctx, size_t *out_len) {
    uint8_t *window = sink ? malloc(WINDOW_BYTES) : NULL;
    if (sink && !window) return emoti_fail(EMOTI_ERR_NOMEM, "inflate: out of memory");
    emoti_status st = decompress_into(1, in, in_size, window,
                                      max_out < WINDOW_BYTES ? max_out : WINDOW_BYTES, max_out,
                                      sink, ctx, out_len, NULL);
    free(window);
    return st;
}

emoti_status emoti_zlib_decompress(const uint8_t *in, size_t in_size, uint8_t *out,
                                   size_t out_cap, size_t *out_len, size_t *in_used) {
    return decompress_into(1, in, in_size, out, out_cap, out_cap, NULL, NULL, out_len, in_used);
}

emoti_status emoti_zlib_decompress_alloc(const uint8_t *in, size_t in_size, size_t max_out,
                                         uint8_t **out, size_t *out_len, size_t *in_used) {
    return decompress_alloc(1, in, in_size, max_out, out, out_len, in_used);
}

emoti_status emoti_inflate(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_cap,
                           size_t *out_len, size_t *in_used) {
    return decompress_into(0, in, in_size, out, out_cap, out_cap, NULL, NULL, out_len, in_used);
}

emoti_status emoti_inflate_alloc(const uint8_t *in, size_t in_size, size_t max_out,
                                 uint8_t **out, size_t *out_len, size_t *in_used) {
    return decompress_alloc(0, in, in_size, max_out, out, out_len, in_used);
}

/* ======================================================================================
 * Adler-32
 * ====================================================================================== */

#define ADLER_MOD 65521u
/* Bytes that can be summed before reducing: with a, b < 65521 at the start of a run of n
 * bytes of 255, b ends below 65520 (n+1) + 255 n (n+1) / 2, which stays under 2^32 up to
 * n = 5552. */
#define ADLER_RUN 5552

uint32_t emoti_adler32(uint32_t adler, const uint8_t *data, size_t len) {
    uint32_t a = adler & 0xFFFF, b = adler >> 16;
    while (len > 0) {
        size_t n = len < ADLER_RUN ? len : ADLER_RUN;
        len -= n;
        for (; n >= 4; n -= 4, data += 4) {
            a += data[0];
            b += a;
            a += data[1];
            b += a;
            a += data[2];
            b += a;
            a += data[3];
            b += a;
        }
        for (; n > 0; n--) {
            a += *data++;
            b += a;
        }
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    return b << 16 | a;
}

