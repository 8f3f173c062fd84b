/* JPEG (ITU T.81) decoder: baseline and progressive Huffman, 8-bit, grey / YCbCr / RGB.
 *
 * The output equals libjpeg-turbo's default decode (djpeg, Pillow) bit for bit: accurate
 * integer IDCT, fancy upsampling, fixed-point YCbCr->RGB. Unsupported kinds (12-bit,
 * arithmetic coding, lossless, hierarchical, CMYK/YCCK) give EMOTI_ERR_UNSUPPORTED naming
 * what; corrupt or truncated data gives EMOTI_ERR_FORMAT. Details and decisions: jpeg.c.
 */
#ifndef EMOTI_JPEG_H
#define EMOTI_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"

/* Decodes a whole JPEG file held in memory into malloc'd interleaved RGB (grey is expanded
 * to R=G=B). On failure *out is left empty (width = height = 0, rgb = NULL). */
emoti_status emoti_jpeg_decode(const uint8_t *data, size_t size, emoti_image *out);
/* The same, refusing more than max_pixels pixels from the frame header. Memory beyond the
 * input: the RGB output (3 bytes per pixel) and every component's sample plane (4:2:0: 1.5
 * bytes per pixel); progressive files first hold 2 bytes of coefficients per sample, turned
 * into planes one component at a time: peak 4.5 bytes per pixel for 4:2:0, 7 for 4:4:4. */
emoti_status emoti_jpeg_decode_max(const uint8_t *data, size_t size, uint64_t max_pixels,
                                   emoti_image *out);

#endif
