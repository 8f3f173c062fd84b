/* libFuzzer target: the PNG decoder and its inflate, emoti_png_decode (engine/media/png.h).
 *
 * Every PNG chunk carries a CRC-32 and the zlib stream an Adler-32, so nearly every mutation
 * of a valid file dies at a checksum. Each input is therefore decoded twice:
 *   1. as it is (signature, chunk framing and checksum checks);
 *   2. "resealed", when that changes anything: the zlib header's check bits are fixed, the
 *      IDAT stream is inflated (with the engine's own inflate, no size check) and the
 *      Adler-32 of what came out is written where the trailer belongs, then every chunk's
 *      CRC is recomputed - so mutated headers, filters and pixel data reach the decoding
 *      stages behind the checksums.
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "inflate.h"
#include "png.h"

static uint32_t fuzz_png_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void fuzz_png_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* CRC-32 of PNG (ISO 3309, reflected polynomial 0xEDB88320), bit by bit: inputs are small. */
static uint32_t fuzz_png_crc(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

typedef struct {
    size_t offset, length; /* payload of one IDAT chunk in the file */
} fuzz_png_segment;

/* Writes byte v at position i of the IDAT stream (the payloads joined). */
static void fuzz_png_put_stream(uint8_t *file, const fuzz_png_segment *seg, size_t n, size_t i,
                                uint8_t v) {
    for (size_t k = 0; k < n; i -= seg[k].length, k++)
        if (i < seg[k].length) {
            file[seg[k].offset + i] = v;
            return;
        }
}

/* Repairs the zlib check bits, the Adler-32 trailer and every chunk CRC of p in place. */
static void fuzz_png_reseal(uint8_t *p, size_t size) {
    fuzz_png_segment *seg = NULL;
    size_t n = 0, total = 0, pos = 8;
    /* Each chunk takes at least 12 bytes, so this bounds the IDAT count. */
    if (size < 8 || !(seg = malloc((size / 12 + 1) * sizeof *seg))) return;
    for (; pos + 12 <= size; pos += 12 + fuzz_png_be32(p + pos)) {
        size_t len = fuzz_png_be32(p + pos);
        if (len > size - pos - 12) break;
        if (!memcmp(p + pos + 4, "IDAT", 4)) {
            seg[n].offset = pos + 8, seg[n].length = len;
            n++, total += len;
        }
    }
    uint8_t *stream = malloc(total ? total : 1);
    if (stream && total >= 2) {
        size_t at = 0;
        for (size_t k = 0; k < n; k++) {
            memcpy(stream + at, p + seg[k].offset, seg[k].length);
            at += seg[k].length;
        }
        /* FCHECK: (CMF * 256 + FLG) % 31 == 0. */
        unsigned flg = stream[1] & 0xE0u;
        flg += (31 - (stream[0] * 256u + flg) % 31) % 31;
        fuzz_png_put_stream(p, seg, n, 1, (uint8_t)flg);
        uint8_t *out = NULL;
        size_t out_len = 0, used = 0;
        if (emoti_inflate_alloc(stream + 2, total - 2, (size_t)1 << 24, &out, &out_len,
                                &used) == EMOTI_OK) {
            uint32_t adler = emoti_adler32(1, out, out_len);
            for (size_t k = 0; k < 4 && 2 + used + k < total; k++)
                fuzz_png_put_stream(p, seg, n, 2 + used + k, (uint8_t)(adler >> (24 - 8 * k)));
            free(out);
        }
    }
    free(stream);
    free(seg);
    for (pos = 8; pos + 12 <= size; pos += 12 + fuzz_png_be32(p + pos)) {
        size_t len = fuzz_png_be32(p + pos);
        if (len > size - pos - 12) break;
        fuzz_png_put_be32(p + pos + 8 + len, fuzz_png_crc(p + pos + 4, len + 4));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    emoti_image img = {-1, -1, NULL}; /* the decoder must reset it, also on failure */
    fuzz_clear_error();
    fuzz_check_image(emoti_png_decode(data, size, &img), &img);

    uint8_t *sealed = malloc(size ? size : 1);
    if (!sealed) return 0;
    memcpy(sealed, data, size);
    fuzz_png_reseal(sealed, size);
    if (memcmp(sealed, data, size)) {
        img = (emoti_image){-1, -1, NULL};
        fuzz_clear_error();
        fuzz_check_image(emoti_png_decode(sealed, size, &img), &img);
    }
    free(sealed);
    return 0;
}
