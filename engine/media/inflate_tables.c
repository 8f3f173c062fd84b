/* DEFLATE's Huffman tables (RFC 1951 3.2.2, 3.2.6, 3.2.7): the canonical codes from their
 * lengths, checked (over-subscribed or incomplete codes refused), laid out as inflate.c's
 * two-level lookup tables. Once per block, so built for size. */
#include <string.h>

#include "inflate_internal.h"

static unsigned reverse_bits(unsigned code, unsigned len) {
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++, code >>= 1) r = (r << 1) | (code & 1);
    return r;
}

static void fill_invalid(huff_entry *e, size_t n) {
    huff_entry none = {0, 0, ENTRY_INVALID};
    for (size_t i = 0; i < n; i++) e[i] = none;
}

/* Checks the code lengths against the Kraft inequality. Over-subscribed codes are always
 * wrong; incomplete ones are accepted only when empty (decoding any symbol then fails) or,
 * if allow_single, when they hold one code of one bit (RFC 1951 3.2.7). */
static emoti_status check_code_space(const unsigned count[MAX_CODE_BITS + 1], int allow_single,
                                     const char *name) {
    long left = 1, total = 0;
    for (int len = 1; len <= MAX_CODE_BITS; len++) {
        left = 2 * left - (long)count[len];
        total += count[len];
        if (left < 0) return emoti_fail(EMOTI_ERR_FORMAT, "deflate: over-subscribed %s code", name);
    }
    if (left > 0 && total > 0 && !(allow_single && total == 1 && count[1] == 1))
        return emoti_fail(EMOTI_ERR_FORMAT, "deflate: incomplete %s code", name);
    return EMOTI_OK;
}

/* First canonical code of each length (RFC 1951 3.2.2, step 2). */
static void first_codes(const unsigned count[MAX_CODE_BITS + 1], unsigned first[MAX_CODE_BITS + 1]) {
    unsigned code = 0;
    first[0] = 0;
    for (int len = 1; len <= MAX_CODE_BITS; len++) {
        code = (code + (len > 1 ? count[len - 1] : 0)) << 1;
        first[len] = code;
    }
}

/* Stores symbol `sym` with stream-order code `rev` of `len` bits into every slot of the
 * `size`-entry table whose low `len` index bits equal rev (the rest of the index is later
 * bits of the stream, which do not matter for this code). */
static void fill_code(huff_entry *table, size_t size, unsigned rev, unsigned len, unsigned sym) {
    huff_entry e = {(uint16_t)sym, (uint8_t)len, ENTRY_SYMBOL};
    for (size_t i = rev; i < size; i += (size_t)1 << len) table[i] = e;
}

/* Builds the decoding table for the canonical code given by lengths[0..n). */
static emoti_status build_table(huff_table *t, const uint8_t *lengths, unsigned n,
                                int allow_single, const char *name) {
    unsigned count[MAX_CODE_BITS + 1] = {0}, first[MAX_CODE_BITS + 1], next[MAX_CODE_BITS + 1];
    for (unsigned i = 0; i < n; i++) count[lengths[i]]++;
    count[0] = 0;
    emoti_status st = check_code_space(count, allow_single, name);
    if (st != EMOTI_OK) return st;
    first_codes(count, first);

    const unsigned root = t->root_bits, root_size = 1u << root;
    uint8_t sub_bits[1 << MAX_ROOT] = {0}; /* index bits of each root prefix's second level */
    fill_invalid(t->entry, root_size);

    /* Pass 1: short codes go straight into the first level; note how deep each long code's
     * prefix must go. Codes are handed out in symbol order within a length (canonical). */
    memcpy(next, first, sizeof next);
    for (unsigned sym = 0; sym < n; sym++) {
        unsigned len = lengths[sym];
        if (!len) continue;
        unsigned rev = reverse_bits(next[len]++, len);
        if (len <= root)
            fill_code(t->entry, root_size, rev, len, sym);
        else if (len - root > sub_bits[rev & (root_size - 1)])
            sub_bits[rev & (root_size - 1)] = (uint8_t)(len - root);
    }

    /* Lay out the second-level tables after the first level. */
    size_t used = root_size;
    for (unsigned p = 0; p < root_size; p++) {
        if (!sub_bits[p]) continue;
        size_t size = (size_t)1 << sub_bits[p];
        if (used + size > t->capacity)
            return emoti_fail(EMOTI_ERR_FORMAT, "deflate: %s code too large to tabulate", name);
        huff_entry link = {(uint16_t)used, sub_bits[p], ENTRY_LINK};
        t->entry[p] = link;
        fill_invalid(t->entry + used, size);
        used += size;
    }

    /* Pass 2: long codes go into their prefix's second level, indexed by the bits after
     * the root; the entry keeps the full length (the decoder consumes it in one go). */
    memcpy(next, first, sizeof next);
    for (unsigned sym = 0; sym < n; sym++) {
        unsigned len = lengths[sym];
        if (!len) continue;
        unsigned rev = reverse_bits(next[len]++, len);
        if (len <= root) continue;
        huff_entry link = t->entry[rev & (root_size - 1)];
        huff_entry e = {(uint16_t)sym, (uint8_t)len, ENTRY_SYMBOL};
        size_t sub_size = (size_t)1 << link.bits;
        for (size_t j = rev >> root; j < sub_size; j += (size_t)1 << (len - root))
            t->entry[link.value + j] = e;
    }
    return EMOTI_OK;
}

emoti_status emoti_inflate_fixed_tables(inflater *s) {
    uint8_t lengths[LITLEN_SYMBOLS];
    unsigned i = 0;
    for (; i < 144; i++) lengths[i] = 8;
    for (; i < 256; i++) lengths[i] = 9;
    for (; i < 280; i++) lengths[i] = 7;
    for (; i < 288; i++) lengths[i] = 8;
    emoti_status st = build_table(&s->lit, lengths, LITLEN_SYMBOLS, 0, "fixed literal/length");
    if (st != EMOTI_OK) return st;
    for (i = 0; i < DIST_SYMBOLS; i++) lengths[i] = 5;
    return build_table(&s->dist, lengths, DIST_SYMBOLS, 0, "fixed distance");
}

/* Order in which code length code lengths are stored (RFC 1951 3.2.7). */
static const uint8_t codelen_order[CODELEN_SYMBOLS] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                       11, 4,  12, 3, 13, 2, 14, 1, 15};

/* Reads the code length code, then the literal/length and distance code lengths with it. */
static emoti_status read_code_lengths(inflater *s, uint8_t *lengths, unsigned total) {
    for (unsigned i = 0; i < total;) {
        refill_slow(s);
        huff_entry e = lookup(&s->codelen, s->bits);
        if (e.kind != ENTRY_SYMBOL) return fail_invalid_code("code length");
        take_bits(s, e.bits);
        unsigned repeat = 1, value = e.value;
        if (e.value == 16) {
            if (i == 0)
                return emoti_fail(EMOTI_ERR_FORMAT,
                                  "deflate: code length repeat with no previous length");
            value = lengths[i - 1];
            repeat = 3 + take_bits(s, 2);
        } else if (e.value == 17) {
            value = 0;
            repeat = 3 + take_bits(s, 3);
        } else if (e.value == 18) {
            value = 0;
            repeat = 11 + take_bits(s, 7);
        }
        if (overran(s)) return fail_truncated();
        if (repeat > total - i)
            return emoti_fail(EMOTI_ERR_FORMAT, "deflate: code lengths run past the %u declared",
                              total);
        memset(lengths + i, (int)value, repeat);
        i += repeat;
    }
    return EMOTI_OK;
}

emoti_status emoti_inflate_dynamic_tables(inflater *s) {
    refill_slow(s);
    unsigned nlit = 257 + take_bits(s, 5), ndist = 1 + take_bits(s, 5),
             ncodelen = 4 + take_bits(s, 4);
    if (overran(s)) return fail_truncated();
    if (nlit > 286 || ndist > 30)
        return emoti_fail(EMOTI_ERR_FORMAT,
                          "deflate: dynamic block declares %u literal/length and %u distance "
                          "codes (at most 286 and 30)",
                          nlit, ndist);

    uint8_t cl_lengths[CODELEN_SYMBOLS] = {0};
    for (unsigned i = 0; i < ncodelen; i++) {
        refill_slow(s);
        cl_lengths[codelen_order[i]] = (uint8_t)take_bits(s, 3);
    }
    if (overran(s)) return fail_truncated();
    emoti_status st = build_table(&s->codelen, cl_lengths, CODELEN_SYMBOLS, 0, "code length");
    if (st != EMOTI_OK) return st;

    uint8_t lengths[286 + 30];
    if ((st = read_code_lengths(s, lengths, nlit + ndist)) != EMOTI_OK) return st;
    if (lengths[256] == 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "deflate: dynamic block has no end-of-block code");
    if ((st = build_table(&s->lit, lengths, nlit, 1, "literal/length")) != EMOTI_OK) return st;
    return build_table(&s->dist, lengths + nlit, ndist, 1, "distance");
}
