/* PNG decoding to 8-bit RGB (W3C PNG specification, 2nd edition / ISO/IEC 15948).
 *
 * Handles every colour type (grey, RGB, palette, grey+alpha, RGBA) at every legal bit depth,
 * Adam7 interlacing and all five filter types. The pixels equal Pillow 9's
 * Image.open(f).convert('RGB'):
 *   - alpha channels and tRNS transparency are dropped;
 *   - 1/2/4-bit grey is scaled to 0..255 (x255, x85, x17);
 *   - 16-bit RGB, RGBA and grey+alpha keep the high byte of each sample;
 *   - 16-bit grey is clipped to 255 (Pillow opens it as a 32-bit "I" image and convert('RGB')
 *     saturates: 0x0064 -> 100, 0x0100 -> 255);
 *   - palette indices past the PLTE entries give grey (i, i, i), Pillow's default palette.
 * Every chunk CRC and the zlib Adler-32 are checked; unknown critical chunks are refused,
 * ancillary chunks skipped. width * height is capped (at max_pixels, EMOTI_IMAGE_MAX_PIXELS
 * without it), and the decompressed data may not exceed what the header implies. Memory
 * beyond the input: the RGB output, two rows and a ~100 KiB inflate window (plus a copy of
 * the compressed data when it is split over several IDAT chunks).
 */
#ifndef EMOTI_PNG_H
#define EMOTI_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"

/* Decodes a whole PNG file held in memory into out (malloc'd RGB, free with
 * emoti_image_free). On failure out is left empty and emoti_last_error() says why. */
emoti_status emoti_png_decode(const uint8_t *data, size_t size, emoti_image *out);
/* The same, refusing more than max_pixels pixels from the header. */
emoti_status emoti_png_decode_max(const uint8_t *data, size_t size, uint64_t max_pixels,
                                  emoti_image *out);

#endif
