/* Pillow-compatible antialiased bilinear resize (see resize.h): the weights and the passes over
 * the pixels, each output sample a fixed-point weighted sum of a window of input samples (the
 * scratch layout and the entry point: resize_plan.c). */
#include "resize.h"

#include <math.h>
#include <string.h>

#include "resize_internal.h"

/* Fixed-point sum back to a byte: drop the fraction, clamp to 0..255. */
static double triangle_filter(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Pillow rounds weights half away from zero and truncates toward zero. */
static int32_t to_fixed_point(double weight) {
    double scaled = weight * (double)(1 << PRECISION_BITS);
    return (int32_t)(weight < 0.0 ? scaled - 0.5 : scaled + 0.5);
}

/* Fills the plan for resampling in_size samples to out_size (window: ksize doubles). */
void emoti_resize_axis_plan(axis_plan plan, int in_size, int out_size, double *window) {
    double scale = (double)in_size / out_size;
    double support = filter_support(in_size, out_size);
    double inv_filter_scale = 1.0 / support; /* support == filter scale for a support-1 filter */
    for (int i = 0; i < out_size; i++) {
        /* Written without an added offset (the box starts at 0) so that no FMA can apply. */
        double center = (i + 0.5) * scale;
        /* +0.5 then truncation toward zero, as the reference does; clamped to the input. */
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in_size) hi = in_size;
        int n = hi - lo;
        if (n < 0) n = 0;
        if ((size_t)n > plan.ksize) n = (int)plan.ksize; /* cannot happen; keeps writes bounded */

        double sum = 0.0;
        for (int k = 0; k < n; k++) {
            double w = triangle_filter(((double)(k + lo) - center + 0.5) * inv_filter_scale);
            window[k] = w;
            sum += w;
        }
        int32_t *coeffs = plan.coeffs + (size_t)i * plan.ksize;
        for (int k = 0; k < n; k++) {
            /* Division (not multiplication by 1/sum) to round exactly like the reference. */
            double w = sum != 0.0 ? window[k] / sum : window[k];
            coeffs[k] = to_fixed_point(w);
        }
        for (size_t k = (size_t)n; k < plan.ksize; k++) coeffs[k] = 0;
        plan.first[i] = lo;
        plan.count[i] = n;
    }
}

static uint8_t fixed_to_u8(int32_t acc) {
    if (acc < 0) return 0;
    acc >>= PRECISION_BITS;
    return acc > 255 ? 255 : (uint8_t)acc;
}

/* Horizontal pass for 3 interleaved channels (the engine's RGB): one window, three sums. */
static void resample_row_rgb(const uint8_t *in, axis_plan plan, int out_w, uint8_t *out) {
    for (int x = 0; x < out_w; x++) {
        const int32_t *k = plan.coeffs + (size_t)x * plan.ksize;
        const uint8_t *p = in + (size_t)plan.first[x] * 3;
        int32_t r = ROUNDING_OFFSET, g = ROUNDING_OFFSET, b = ROUNDING_OFFSET;
        for (int i = 0, n = plan.count[x]; i < n; i++, p += 3) {
            r += p[0] * k[i];
            g += p[1] * k[i];
            b += p[2] * k[i];
        }
        out[3 * (size_t)x + 0] = fixed_to_u8(r);
        out[3 * (size_t)x + 1] = fixed_to_u8(g);
        out[3 * (size_t)x + 2] = fixed_to_u8(b);
    }
}

static void resample_row_any(const uint8_t *in, int channels, axis_plan plan, int out_w,
                             uint8_t *out) {
    for (int x = 0; x < out_w; x++) {
        const int32_t *k = plan.coeffs + (size_t)x * plan.ksize;
        const uint8_t *p = in + (size_t)plan.first[x] * (size_t)channels;
        int32_t acc[EMOTI_RESIZE_MAX_CHANNELS];
        for (int c = 0; c < channels; c++) acc[c] = ROUNDING_OFFSET;
        for (int i = 0, n = plan.count[x]; i < n; i++, p += channels)
            for (int c = 0; c < channels; c++) acc[c] += p[c] * k[i];
        for (int c = 0; c < channels; c++)
            out[(size_t)x * (size_t)channels + (size_t)c] = fixed_to_u8(acc[c]);
    }
}

/* Horizontal pass: `rows` rows to plan-many samples each. */
void emoti_resize_rows(const uint8_t *src, size_t src_stride, int rows, int channels,
                       axis_plan plan, int out_w, uint8_t *dst, size_t dst_stride) {
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src + (size_t)y * src_stride;
        uint8_t *out = dst + (size_t)y * dst_stride;
        if (channels == 3)
            resample_row_rgb(in, plan, out_w, out);
        else
            resample_row_any(in, channels, plan, out_w, out);
    }
}

/* Vertical pass: output row y is a weighted sum of plan-chosen rows of src (row_bytes wide),
 * accumulated a block of bytes at a time so that the inner loop runs along a row. */
#define COLUMN_BLOCK 512
void emoti_resize_columns(const uint8_t *src, size_t src_stride, size_t row_bytes,
                          axis_plan plan, int out_h, uint8_t *dst, size_t dst_stride) {
    int32_t acc[COLUMN_BLOCK];
    for (int y = 0; y < out_h; y++) {
        const int32_t *k = plan.coeffs + (size_t)y * plan.ksize;
        const uint8_t *top = src + (size_t)plan.first[y] * src_stride;
        int n = plan.count[y];
        uint8_t *out = dst + (size_t)y * dst_stride;
        for (size_t b0 = 0; b0 < row_bytes; b0 += COLUMN_BLOCK) {
            size_t len = row_bytes - b0 < COLUMN_BLOCK ? row_bytes - b0 : COLUMN_BLOCK;
            for (size_t b = 0; b < len; b++) acc[b] = ROUNDING_OFFSET;
            for (int i = 0; i < n; i++) {
                const uint8_t *row = top + (size_t)i * src_stride + b0;
                int32_t w = k[i];
                for (size_t b = 0; b < len; b++) acc[b] += row[b] * w;
            }
            for (size_t b = 0; b < len; b++) out[b0 + b] = fixed_to_u8(acc[b]);
        }
    }
}

void emoti_resize_copy_rows(const uint8_t *src, size_t src_stride, uint8_t *dst,
                            size_t dst_stride, int rows, size_t row_bytes) {
    for (int y = 0; y < rows; y++)
        memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * src_stride, row_bytes);
}
