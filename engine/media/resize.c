/* Pillow-compatible antialiased bilinear resize (see resize.h).
 *
 * Each output sample along an axis is a weighted sum of a window of input samples. The window
 * is centred on the output sample's centre mapped into input coordinates; the triangle filter
 * is stretched by the scale factor when shrinking, so every input pixel contributes
 * (antialiasing). Weights are computed in double, normalised to sum 1 and converted to fixed
 * point exactly the way Pillow's 8-bit path does, so the integer sums match it bit for bit.
 */
#include "resize.h"

#include <math.h>
#include <stdalign.h>
#include <string.h>

#include "error.h"

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

static double triangle_filter(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Filter support in input samples: 1, stretched by the scale factor when shrinking. */
static double filter_support(int in_size, int out_size) {
    double scale = (double)in_size / out_size;
    return scale < 1.0 ? 1.0 : scale;
}

/* Longest window a plan can need: ceil(support) on either side of the centre, plus one. */
static size_t window_capacity(int in_size, int out_size) {
    return (size_t)ceil(filter_support(in_size, out_size)) * 2 + 1;
}

/* *total = align_up(*total) + count * elem_size; returns 0 on overflow. */
static int reserve(size_t *total, size_t *offset, size_t count, size_t elem_size) {
    size_t start = *total;
    size_t pad = (SCRATCH_ALIGN - start % SCRATCH_ALIGN) % SCRATCH_ALIGN;
    if (start > SIZE_MAX - pad) return 0;
    start += pad;
    if (elem_size != 0 && count > (SIZE_MAX - start) / elem_size) return 0;
    *offset = start;
    *total = start + count * elem_size;
    return 1;
}

static int mul_fits(size_t a, size_t b, size_t *out) {
    if (b != 0 && a > SIZE_MAX / b) return 0;
    *out = a * b;
    return 1;
}

static int valid_sizes(int src_w, int src_h, int dst_w, int dst_h, int channels) {
    return src_w > 0 && src_h > 0 && dst_w > 0 && dst_h > 0 && channels >= 1 &&
           channels <= EMOTI_RESIZE_MAX_CHANNELS;
}

static int ratio_supported(int src_w, int src_h, int dst_w, int dst_h) {
    return window_capacity(src_w, dst_w) <= MAX_WINDOW &&
           window_capacity(src_h, dst_h) <= MAX_WINDOW;
}

static int plan_layout(scratch_layout *l, int src_w, int src_h, int dst_w, int dst_h,
                       int channels) {
    size_t n_coeffs_x, n_coeffs_y, temp_row, temp_bytes;
    l->ksize_x = window_capacity(src_w, dst_w);
    l->ksize_y = window_capacity(src_h, dst_h);
    size_t window = l->ksize_x > l->ksize_y ? l->ksize_x : l->ksize_y;
    if (!mul_fits((size_t)dst_w, l->ksize_x, &n_coeffs_x) ||
        !mul_fits((size_t)dst_h, l->ksize_y, &n_coeffs_y) ||
        !mul_fits((size_t)dst_w, (size_t)channels, &temp_row) ||
        !mul_fits(temp_row, (size_t)src_h, &temp_bytes))
        return 0;
    /* Offsets are from the aligned start; the total adds room to align the caller's pointer. */
    size_t end = 0;
    if (!reserve(&end, &l->window_off, window, sizeof(double)) ||
        !reserve(&end, &l->coeffs_x_off, n_coeffs_x, sizeof(int32_t)) ||
        !reserve(&end, &l->bounds_x_off, 2 * (size_t)dst_w, sizeof(int32_t)) ||
        !reserve(&end, &l->coeffs_y_off, n_coeffs_y, sizeof(int32_t)) ||
        !reserve(&end, &l->bounds_y_off, 2 * (size_t)dst_h, sizeof(int32_t)) ||
        !reserve(&end, &l->temp_off, temp_bytes, 1) || end > SIZE_MAX - (SCRATCH_ALIGN - 1))
        return 0;
    l->total = end + (SCRATCH_ALIGN - 1);
    return 1;
}

size_t emoti_resize_scratch_size(int src_w, int src_h, int dst_w, int dst_h, int channels) {
    scratch_layout l;
    if (!valid_sizes(src_w, src_h, dst_w, dst_h, channels)) return 0;
    if (!ratio_supported(src_w, src_h, dst_w, dst_h)) return 0;
    if (!plan_layout(&l, src_w, src_h, dst_w, dst_h, channels)) return 0;
    return l.total;
}

/* Pillow rounds weights half away from zero and truncates toward zero. */
static int32_t to_fixed_point(double weight) {
    double scaled = weight * (double)(1 << PRECISION_BITS);
    return (int32_t)(weight < 0.0 ? scaled - 0.5 : scaled + 0.5);
}

/* Fills the plan for resampling in_size samples to out_size (window: ksize doubles). */
static void build_axis_plan(const axis_plan *plan, int in_size, int out_size, double *window) {
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
        if ((size_t)n > plan->ksize) n = (int)plan->ksize; /* cannot happen; keeps writes bounded */

        double sum = 0.0;
        for (int k = 0; k < n; k++) {
            double w = triangle_filter(((double)(k + lo) - center + 0.5) * inv_filter_scale);
            window[k] = w;
            sum += w;
        }
        int32_t *coeffs = plan->coeffs + (size_t)i * plan->ksize;
        for (int k = 0; k < n; k++) {
            /* Division (not multiplication by 1/sum) to round exactly like the reference. */
            double w = sum != 0.0 ? window[k] / sum : window[k];
            coeffs[k] = to_fixed_point(w);
        }
        for (size_t k = (size_t)n; k < plan->ksize; k++) coeffs[k] = 0;
        plan->first[i] = lo;
        plan->count[i] = n;
    }
}

/* Fixed-point sum back to a byte: drop the fraction, clamp to 0..255. */
static uint8_t fixed_to_u8(int32_t acc) {
    if (acc < 0) return 0;
    acc >>= PRECISION_BITS;
    return acc > 255 ? 255 : (uint8_t)acc;
}

/* Horizontal pass for 3 interleaved channels (the engine's RGB): one window, three sums. */
static void resample_row_rgb(const uint8_t *in, const axis_plan *plan, int out_w, uint8_t *out) {
    for (int x = 0; x < out_w; x++) {
        const int32_t *k = plan->coeffs + (size_t)x * plan->ksize;
        const uint8_t *p = in + (size_t)plan->first[x] * 3;
        int32_t r = ROUNDING_OFFSET, g = ROUNDING_OFFSET, b = ROUNDING_OFFSET;
        for (int i = 0, n = plan->count[x]; i < n; i++, p += 3) {
            r += p[0] * k[i];
            g += p[1] * k[i];
            b += p[2] * k[i];
        }
        out[3 * (size_t)x + 0] = fixed_to_u8(r);
        out[3 * (size_t)x + 1] = fixed_to_u8(g);
        out[3 * (size_t)x + 2] = fixed_to_u8(b);
    }
}

static void resample_row_any(const uint8_t *in, int channels, const axis_plan *plan, int out_w,
                             uint8_t *out) {
    for (int x = 0; x < out_w; x++) {
        const int32_t *k = plan->coeffs + (size_t)x * plan->ksize;
        const uint8_t *p = in + (size_t)plan->first[x] * (size_t)channels;
        int32_t acc[EMOTI_RESIZE_MAX_CHANNELS];
        for (int c = 0; c < channels; c++) acc[c] = ROUNDING_OFFSET;
        for (int i = 0, n = plan->count[x]; i < n; i++, p += channels)
            for (int c = 0; c < channels; c++) acc[c] += p[c] * k[i];
        for (int c = 0; c < channels; c++)
            out[(size_t)x * (size_t)channels + (size_t)c] = fixed_to_u8(acc[c]);
    }
}

/* Horizontal pass: `rows` rows to plan-many samples each. */
static void resample_rows(const uint8_t *src, size_t src_stride, int rows, int channels,
                          const axis_plan *plan, int out_w, uint8_t *dst, size_t dst_stride) {
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
static void resample_columns(const uint8_t *src, size_t src_stride, size_t row_bytes,
                             const axis_plan *plan, int out_h, uint8_t *dst,
                             size_t dst_stride) {
    int32_t acc[COLUMN_BLOCK];
    for (int y = 0; y < out_h; y++) {
        const int32_t *k = plan->coeffs + (size_t)y * plan->ksize;
        const uint8_t *top = src + (size_t)plan->first[y] * src_stride;
        int n = plan->count[y];
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

static void copy_rows(const uint8_t *src, size_t src_stride, uint8_t *dst, size_t dst_stride,
                      int rows, size_t row_bytes) {
    for (int y = 0; y < rows; y++)
        memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * src_stride, row_bytes);
}

static axis_plan carve_plan(unsigned char *base, size_t ksize, size_t coeffs_off,
                            size_t bounds_off, int out_size) {
    axis_plan p;
    p.ksize = ksize;
    p.coeffs = (int32_t *)(void *)(base + coeffs_off);
    p.first = (int32_t *)(void *)(base + bounds_off);
    p.count = p.first + out_size;
    return p;
}

emoti_status emoti_resize_bilinear_u8(const uint8_t *src, int src_w, int src_h, size_t src_stride,
                                      int channels, uint8_t *dst, int dst_w, int dst_h,
                                      size_t dst_stride, void *scratch) {
    scratch_layout l;
    size_t src_row, dst_row;
    if (!valid_sizes(src_w, src_h, dst_w, dst_h, channels))
        return emoti_fail(EMOTI_ERR_ARG, "resize: bad size %dx%d -> %dx%d, %d channels", src_w,
                          src_h, dst_w, dst_h, channels);
    if (!ratio_supported(src_w, src_h, dst_w, dst_h))
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "resize: shrinking %dx%d to %dx%d is beyond the supported ratio", src_w,
                          src_h, dst_w, dst_h);
    if (!plan_layout(&l, src_w, src_h, dst_w, dst_h, channels) ||
        !mul_fits((size_t)src_w, (size_t)channels, &src_row) ||
        !mul_fits((size_t)dst_w, (size_t)channels, &dst_row))
        return emoti_fail(EMOTI_ERR_ARG, "resize: %dx%d -> %dx%d is too large", src_w, src_h,
                          dst_w, dst_h);
    /* Pointers after sizes: a caller that sized scratch with emoti_resize_scratch_size() and got
     * 0 learns why here rather than about a NULL scratch. */
    if (!src || !dst || !scratch)
        return emoti_fail(EMOTI_ERR_ARG, "resize: NULL %s",
                          !src ? "source" : !dst ? "destination" : "scratch");
    if (src_stride < src_row || dst_stride < dst_row)
        return emoti_fail(EMOTI_ERR_ARG, "resize: stride %zu smaller than a row (%zu bytes)",
                          src_stride < src_row ? src_stride : dst_stride,
                          src_stride < src_row ? src_row : dst_row);

    int resize_x = dst_w != src_w, resize_y = dst_h != src_h;
    if (!resize_x && !resize_y) {
        copy_rows(src, src_stride, dst, dst_stride, src_h, src_row);
        return EMOTI_OK;
    }

    unsigned char *base = scratch;
    base += (SCRATCH_ALIGN - (uintptr_t)base % SCRATCH_ALIGN) % SCRATCH_ALIGN;
    double *window = (double *)(void *)(base + l.window_off);
    axis_plan px = carve_plan(base, l.ksize_x, l.coeffs_x_off, l.bounds_x_off, dst_w);
    axis_plan py = carve_plan(base, l.ksize_y, l.coeffs_y_off, l.bounds_y_off, dst_h);

    if (!resize_y) {
        build_axis_plan(&px, src_w, dst_w, window);
        resample_rows(src, src_stride, src_h, channels, &px, dst_w, dst, dst_stride);
        return EMOTI_OK;
    }
    build_axis_plan(&py, src_h, dst_h, window);
    if (!resize_x) {
        resample_columns(src, src_stride, src_row, &py, dst_h, dst, dst_stride);
        return EMOTI_OK;
    }

    /* Both passes: the horizontal one only produces the source rows some output row reads,
     * and the vertical plan is shifted to index the intermediate image from its first row. */
    build_axis_plan(&px, src_w, dst_w, window);
    int first_row = py.first[0];
    int end_row = py.first[dst_h - 1] + py.count[dst_h - 1];
    for (int y = 0; y < dst_h; y++) py.first[y] -= first_row;
    uint8_t *temp = base + l.temp_off;
    resample_rows(src + (size_t)first_row * src_stride, src_stride, end_row - first_row, channels,
                  &px, dst_w, temp, dst_row);
    resample_columns(temp, dst_row, dst_row, &py, dst_h, dst, dst_stride);
    return EMOTI_OK;
}
