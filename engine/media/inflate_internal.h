/* The inflater's state and bit input, shared by inflate.c (blocks, decoding, output, zlib
 * framing) and inflate_tables.c (the Huffman tables: fixed, or read from a dynamic block's
 * header). Only those two include it. */
#ifndef EMOTI_INFLATE_INTERNAL_H
#define EMOTI_INFLATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"
#include "error.h"
#include "inflate.h"

/* ======================================================================================
 * Huffman decoding tables
 * ====================================================================================== */

#define MAX_CODE_BITS 15
#define LITLEN_SYMBOLS 288 /* 286 usable + 2 that take part in the fixed code only */
#define DIST_SYMBOLS 32    /* 30 usable + 2 likewise */
#define CODELEN_SYMBOLS 19

#define LITLEN_ROOT 10
#define DIST_ROOT 8
#define CODELEN_ROOT 7
#define MAX_ROOT 10

/* Table capacities. In a complete code, a root prefix whose second-level table has 2^k
 * entries holds at least k+1 codes (lengths root+1 .. root+k, root+k), so with n symbols
 * the second levels add at most max over k of (n / (k+1)) * 2^k entries:
 * literal/length 288/6*32 = 1536, distance 32/8*128 = 512. build_table checks anyway. */
#define LITLEN_CAPACITY ((1 << LITLEN_ROOT) + 1536)
#define DIST_CAPACITY ((1 << DIST_ROOT) + 512)
#define CODELEN_CAPACITY (1 << CODELEN_ROOT)

enum { ENTRY_INVALID = 0, ENTRY_SYMBOL = 1, ENTRY_LINK = 2 };

typedef struct {
    uint16_t value; /* SYMBOL: the symbol; LINK: index of the second-level table */
    uint8_t bits;   /* SYMBOL: full code length; LINK: index bits of the second-level table */
    uint8_t kind;
} huff_entry;

typedef struct {
    unsigned root_bits;
    unsigned capacity;
    huff_entry *entry;
} huff_table;

/* The entry for the code at the bottom of `bits` (which must hold at least 15 valid bits)
 * in a table with `root` first-level bits. */
static inline huff_entry lookup_in(const huff_entry *entry, unsigned root, uint64_t bits) {
    huff_entry e = entry[bits & ((1u << root) - 1)];
    if (e.kind == ENTRY_LINK) e = entry[e.value + ((bits >> root) & ((1u << e.bits) - 1))];
    return e;
}

static inline huff_entry lookup(const huff_table *t, uint64_t bits) {
    return lookup_in(t->entry, t->root_bits, bits);
}

/* ======================================================================================
 * Decoder state and bit input
 * ====================================================================================== */

/* Fast loop output margin: the longest match (258) plus the 8-byte copy overshoot. */
#define FAST_OUT_MARGIN (258 + 8)
#define MAX_MATCH 258

typedef struct {
    const uint8_t *in_start, *in, *in_end; /* in: next byte not yet in the bit buffer */
    uint64_t bits;                         /* next stream bits, LSB first */
    unsigned nbits;                        /* valid bits in `bits` */
    size_t overrun;                        /* zero bytes fed in after the input ended */

    uint8_t *out;
    size_t len, cap, limit; /* bytes written, allocated, allowed */
    int growable;           /* out is ours to realloc, up to limit */

    /* Sink mode: out is a window of WINDOW_BYTES; flush() hands new bytes to the sink and
     * slides the window, keeping the last HISTORY_BYTES that matches may reach. */
    emoti_inflate_sink sink;
    void *sink_ctx;
    size_t base;    /* output bytes slid out of the window */
    size_t flushed; /* bytes of the window already given to the sink */
    uint32_t adler; /* of the bytes given to the sink */

    huff_table lit, dist, codelen;
    huff_entry lit_entry[LITLEN_CAPACITY], dist_entry[DIST_CAPACITY],
        codelen_entry[CODELEN_CAPACITY];
} inflater;

/* Tops the bit buffer up to 56..63 bits, one byte at a time; past the end of the input it
 * feeds zero bytes and counts them, so that overran() can tell the stream was truncated.
 * (Never 64: the fast loop shifts by nbits.) */
static inline void refill_slow(inflater *s) {
    while (s->nbits < 56) {
        uint64_t byte = 0;
        if (s->in < s->in_end)
            byte = *s->in++;
        else
            s->overrun++;
        s->bits |= byte << s->nbits;
        s->nbits += 8;
    }
}

/* True once bits fed in past the end of the input have been consumed. */
static inline int overran(const inflater *s) { return s->overrun * 8 > s->nbits; }

static inline emoti_status fail_truncated(void) {
    return emoti_fail(EMOTI_ERR_FORMAT, "deflate: truncated stream (input ends inside a block)");
}

/* Removes and returns the next n (<= 32) bits; the buffer must hold them. */
static inline uint32_t take_bits(inflater *s, unsigned n) {
    uint32_t v = (uint32_t)(s->bits & (((uint64_t)1 << n) - 1));
    s->bits >>= n;
    s->nbits -= n;
    return v;
}

static inline emoti_status fail_invalid_code(const char *what) {
    return emoti_fail(EMOTI_ERR_FORMAT, "deflate: invalid %s code", what);
}

/* inflate_tables.c: the fixed codes (RFC 1951 3.2.6), or a dynamic block's code lengths read
 * from the stream and tabulated (3.2.7), into s->lit and s->dist. */
emoti_status emoti_inflate_fixed_tables(inflater *s);
emoti_status emoti_inflate_dynamic_tables(inflater *s);

#endif
