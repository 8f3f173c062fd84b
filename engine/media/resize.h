/* Pillow-compatible antialiased bilinear resize of 8-bit interleaved images.
 *
 * Reproduces PIL.Image.resize(size, Image.BILINEAR) bit for bit (Pillow's 8-bit fixed-point
 * path, full-image box, no reducing_gap): a horizontal pass into an intermediate 8-bit image,
 * then a vertical pass; a pass is skipped when its dimension does not change. Channels are
 * independent (RGB, L, and the like; not premultiplied RGBA).
 *
 * The caller provides the working memory, sized by emoti_resize_scratch_size(), so that the
 * resize itself never allocates.
 */
#ifndef EMOTI_RESIZE_H
#define EMOTI_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "emoti.h"

#define EMOTI_RESIZE_MAX_CHANNELS 4

/* Bytes of scratch memory emoti_resize_bilinear_u8() needs for these sizes (any alignment is
 * fine: the function aligns it itself). Returns 0 if an argument is out of range, the shrink
 * ratio is unsupported (see below) or the size does not fit in size_t. */
size_t emoti_resize_scratch_size(int src_w, int src_h, int dst_w, int dst_h, int channels);

/* Resizes src (src_w x src_h, channels 1..4 interleaved bytes per pixel, rows src_stride bytes
 * apart) into dst (dst_w x dst_h, rows dst_stride bytes apart). scratch must hold
 * emoti_resize_scratch_size(src_w, src_h, dst_w, dst_h, channels) bytes. src and dst must not
 * overlap. Returns EMOTI_ERR_ARG for bad sizes, strides or pointers, and
 * EMOTI_ERR_UNSUPPORTED when an axis shrinks by more than about two million times (where
 * Pillow's 32-bit sums could overflow). */
emoti_status emoti_resize_bilinear_u8(const uint8_t *src, int src_w, int src_h, size_t src_stride,
                                      int channels, uint8_t *dst, int dst_w, int dst_h,
                                      size_t dst_stride, void *scratch);

#endif
