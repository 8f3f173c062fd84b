/* Image decoding internals behind emoti_image_decode() / emoti_image_load() (include/emoti.h).
 *
 * emoti_image_decode() looks at the first bytes and hands the data to one of the format
 * decoders below. Each decoder fills *image with malloc'd interleaved 8-bit RGB or returns an
 * error (with emoti_fail) and leaves *image empty.
 */
#ifndef EMOTI_IMAGE_H
#define EMOTI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"

/* Largest image accepted, in pixels (width * height): 2^28, e.g. 16384 x 16384. */
#define EMOTI_IMAGE_MAX_PIXELS EMOTI_MAX_PIXELS_LIMIT

/* Largest image read from stdin ("-"), in bytes; files are read whole, at their size. */
#define EMOTI_IMAGE_STDIN_MAX ((size_t)256 << 20)

/* Netpbm PPM/PGM: P2, P3 (ASCII) and P5, P6 (binary), maxval 1..65535; grey becomes RGB. */
emoti_status emoti_ppm_decode(const uint8_t *data, size_t size, emoti_image *image);
/* The decoders with a pixel limit (emoti_ppm/png/jpeg_decode use EMOTI_IMAGE_MAX_PIXELS). */
emoti_status emoti_ppm_decode_max(const uint8_t *data, size_t size, uint64_t max_pixels,
                                  emoti_image *image);
/* opts->max_pixels resolved: the default for 0, at most EMOTI_IMAGE_MAX_PIXELS. */
uint64_t emoti_max_pixels(const emoti_decode_opts *opts);

#endif
