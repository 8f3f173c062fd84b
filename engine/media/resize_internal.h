/* The resize's shared parts: resize_plan.c (the scratch layout, the checks, the entry point)
 * and resize.c (the weights and the passes over the pixels). Only those two include it. */
#ifndef EMOTI_RESIZE_INTERNAL_H
#define EMOTI_RESIZE_INTERNAL_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

/* The weight arithmetic below must not be fused into FMAs, or rounding could differ from the
 * reference. GCC in ISO C mode (-std=c11) never contracts; clang honours the standard pragma. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Fractional bits of the fixed-point weights: 32 bits minus 8 for the sample value and 2 of
 * headroom, as in Pillow's 8-bit resampler. */
#define PRECISION_BITS (32 - 8 - 2)

#define SCRATCH_ALIGN alignof(max_align_t)

/* Accumulators are 32-bit like Pillow's. They cannot overflow: weights are non-negative and
 * each rounds up by at most 1/2, so a window sums to at most 2^22 + ksize/2, and
 * 255 * (2^22 + MAX_WINDOW/2) + 2^21 < 2^31. Longer windows (shrinking by more than about
 * two million times) are refused. */
#define MAX_WINDOW ((size_t)1 << 22)
#define ROUNDING_OFFSET ((int32_t)1 << (PRECISION_BITS - 1))

/* Per-axis resampling plan: for output sample i, input samples first[i] .. first[i]+count[i]-1
 * weighted by coeffs[i * ksize + 0 .. count[i]-1]. */
/* Per-axis resampling plan: for output sample i, input samples first[i] .. first[i]+count[i]-1
 * weighted by coeffs[i * ksize + 0 .. count[i]-1]. */
typedef struct {
    size_t ksize;
    int32_t *coeffs;
    int32_t *first;
    int32_t *count;
} axis_plan;

/* Offsets of each piece of the scratch memory, from one place so that the size query and the
 * carving agree. */
typedef struct {
    size_t ksize_x, ksize_y;
    size_t window_off;                 /* double[max(ksize_x, ksize_y)] */
    size_t coeffs_x_off, bounds_x_off; /* int32[dst_w * ksize_x], int32[2 * dst_w] */
    size_t coeffs_y_off, bounds_y_off; /* int32[dst_h * ksize_y], int32[2 * dst_h] */
    size_t temp_off;                   /* uint8[dst_w * src_h * channels] */
    size_t total;
} scratch_layout;

/* Filter support in input samples: 1, stretched by the scale factor when shrinking. */
static inline double filter_support(int in_size, int out_size) {
    double scale = (double)in_size / out_size;
    return scale < 1.0 ? 1.0 : scale;
}

/* resize.c: the weights of resampling in_size samples to out_size into plan (window: ksize
 * doubles of scratch), computed per call like the passes. */
void emoti_resize_axis_plan(axis_plan plan, int in_size, int out_size, double *window);
/* resize.c: the horizontal pass over rows rows (to plan-many samples each), the vertical pass
 * (row_bytes wide) and a plain copy. The plan goes by value: the byte stores of the passes
 * cannot alias a copy, so its fields stay in registers (through a pointer, 8% slower). */
void emoti_resize_rows(const uint8_t *src, size_t src_stride, int rows, int channels,
                       axis_plan plan, int out_w, uint8_t *dst, size_t dst_stride);
void emoti_resize_columns(const uint8_t *src, size_t src_stride, size_t row_bytes,
                          axis_plan plan, int out_h, uint8_t *dst, size_t dst_stride);
void emoti_resize_copy_rows(const uint8_t *src, size_t src_stride, uint8_t *dst,
                            size_t dst_stride, int rows, size_t row_bytes);

#endif
