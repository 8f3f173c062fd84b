/* Pillow-compatible antialiased bilinear resize (see resize.h): the plan and the entry point.
 *
 * Each output sample along an axis is a weighted sum of a window of input samples. The window
 * is centred on the output sample's centre mapped into input coordinates; the triangle filter
 * is stretched by the scale factor when shrinking, so every input pixel contributes
 * (antialiasing). Weights are computed in double, normalised to sum 1 and converted to fixed
 * point exactly the way Pillow's 8-bit path does, so the integer sums match it bit for bit.
 */
#include "resize.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "resize_internal.h"

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
        emoti_resize_copy_rows(src, src_stride, dst, dst_stride, src_h, src_row);
        return EMOTI_OK;
    }

    unsigned char *base = scratch;
    base += (SCRATCH_ALIGN - (uintptr_t)base % SCRATCH_ALIGN) % SCRATCH_ALIGN;
    double *window = (double *)(void *)(base + l.window_off);
    axis_plan px = carve_plan(base, l.ksize_x, l.coeffs_x_off, l.bounds_x_off, dst_w);
    axis_plan py = carve_plan(base, l.ksize_y, l.coeffs_y_off, l.bounds_y_off, dst_h);

    if (!resize_y) {
        emoti_resize_axis_plan(px, src_w, dst_w, window);
        emoti_resize_rows(src, src_stride, src_h, channels, px, dst_w, dst, dst_stride);
        return EMOTI_OK;
    }
    emoti_resize_axis_plan(py, src_h, dst_h, window);
    if (!resize_x) {
        emoti_resize_columns(src, src_stride, src_row, py, dst_h, dst, dst_stride);
        return EMOTI_OK;
    }

    /* Both passes: the horizontal one only produces the source rows some output row reads,
     * and the vertical plan is shifted to index the intermediate image from its first row. */
    emoti_resize_axis_plan(px, src_w, dst_w, window);
    int first_row = py.first[0];
    int end_row = py.first[dst_h - 1] + py.count[dst_h - 1];
    for (int y = 0; y < dst_h; y++) py.first[y] -= first_row;
    uint8_t *temp = base + l.temp_off;
    emoti_resize_rows(src + (size_t)first_row * src_stride, src_stride, end_row - first_row, channels,
                  px, dst_w, temp, dst_row);
    emoti_resize_columns(temp, dst_row, dst_row, py, dst_h, dst, dst_stride);
    return EMOTI_OK;
}
