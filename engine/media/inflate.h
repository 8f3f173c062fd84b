/* DEFLATE (RFC 1951) and zlib (RFC 1950) decompression of a stream held whole in memory.
 *
 * Two ways to receive the output:
 *   - into a caller buffer of known capacity (output beyond it is an error), or
 *   - into a malloc'd buffer that grows as needed up to a limit (a "zlib bomb" fails at the
 *     limit instead of allocating more).
 * Failures return an emoti_status and describe the problem with emoti_fail() (one line,
 * starting "deflate:" or "zlib:"). Nothing is printed; no global state.
 */
#ifndef EMOTI_INFLATE_H
#define EMOTI_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"

/* Decompresses the zlib stream in[0..in_size) (header, deflate data, Adler-32 trailer, all
 * checked) into out[0..out_cap); *out_len gets the decompressed length. *in_used (may be
 * NULL) gets the bytes of `in` the stream occupied; anything after it is left unread. */
emoti_status emoti_zlib_decompress(const uint8_t *in, size_t in_size, uint8_t *out,
                                   size_t out_cap, size_t *out_len, size_t *in_used);

/* As emoti_zlib_decompress, into a malloc'd buffer of at most max_out bytes: *out (free() it)
 * and *out_len on success, *out = NULL on failure. */
emoti_status emoti_zlib_decompress_alloc(const uint8_t *in, size_t in_size, size_t max_out,
                                         uint8_t **out, size_t *out_len, size_t *in_used);

/* Receives decompressed bytes in order, in pieces of any size; a status other than EMOTI_OK
 * stops the decompression with it. */
typedef emoti_status (*emoti_inflate_sink)(void *ctx, const uint8_t *data, size_t n);

/* As emoti_zlib_decompress_alloc, but the output goes to sink as it is made, through a
 * fixed window of about 100 KiB: memory does not grow with the output. *out_len gets the
 * total length. */
emoti_status emoti_zlib_decompress_to(const uint8_t *in, size_t in_size, size_t max_out,
                                      emoti_inflate_sink sink, void *ctx, size_t *out_len);

/* Raw DEFLATE data (no zlib header or trailer), otherwise as above. */
emoti_status emoti_inflate(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_cap,
                           size_t *out_len, size_t *in_used);
emoti_status emoti_inflate_alloc(const uint8_t *in, size_t in_size, size_t max_out,
                                 uint8_t **out, size_t *out_len, size_t *in_used);

/* Adler-32 (RFC 1950 section 8.2) of data, continuing from adler (start with 1). */
uint32_t emoti_adler32(uint32_t adler, const uint8_t *data, size_t len);

#endif
