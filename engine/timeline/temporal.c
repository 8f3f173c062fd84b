#include "emoti.h"

#include <stdlib.h>
#include <string.h>

size_t emoti_fill_gaps(double *seq, const unsigned char *valid, size_t n, int dim, int paper) {
    size_t d = (size_t)dim, first = n, count = 0, prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (!valid[i]) continue;
        count++;
        if (first == n) {
            first = i;
            for (size_t f = 0; f < i; f++) memcpy(seq + f * d, seq + i * d, d * sizeof *seq);
        } else if (i > prev + 1) {
            for (size_t f = prev + 1; f < i; f++) {
                double w = (double)(f - prev) / (double)(i - prev);
                double wp = paper ? w : 1 - w, wn = paper ? 1 - w : w;
                for (size_t c = 0; c < d; c++) seq[f * d + c] = wp * seq[prev * d + c] + wn * seq[i * d + c];
            }
        }
        prev = i;
    }
    if (count)
        for (size_t f = prev + 1; f < n; f++) memcpy(seq + f * d, seq + prev * d, d * sizeof *seq);
    return count;
}

/* Window [lo(i), hi(i)] with lo = max(i + lag - 2k, 0), hi = min(i + lag, n - 1), by prefix sums. */
static int window_mean(const double *in, double *out, size_t n, int dim, long back, long ahead) {
    if (n == 0) return 1;
    size_t d = (size_t)dim;
    double *pre = malloc((n + 1) * d * sizeof *pre);
    if (!pre) return 0;
    memset(pre, 0, d * sizeof *pre);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++) pre[(i + 1) * d + c] = pre[i * d + c] + in[i * d + c];
    for (size_t i = 0; i < n; i++) {
        long lo = (long)i - back, hi = (long)i + ahead;
        if (lo < 0) lo = 0;
        if (hi > (long)n - 1) hi = (long)n - 1;
        double cnt = (double)(hi - lo + 1);
        for (size_t c = 0; c < d; c++)
            out[i * d + c] = (pre[(size_t)(hi + 1) * d + c] - pre[(size_t)lo * d + c]) / cnt;
    }
    free(pre);
    return 1;
}

int emoti_smooth_box(const double *in, double *out, size_t n, int dim, int k) {
    if (k < 0) return 0;
    return window_mean(in, out, n, dim, k, k);
}

int emoti_smooth_causal(const double *in, double *out, size_t n, int dim, int k, int lag) {
    if (k < 0 || lag < 0 || lag > k) return 0;
    return window_mean(in, out, n, dim, 2L * k - lag, lag);
}

int emoti_smoother_init(emoti_smoother *s, int dim, int k, int lag) {
    memset(s, 0, sizeof *s);
    if (dim < 1 || k < 0 || lag < 0 || lag > k) return 0;
    s->dim = dim, s->k = k, s->lag = lag, s->width = 2 * k + 1;
    s->ring = malloc((size_t)s->width * (size_t)dim * sizeof *s->ring);
    return s->ring != NULL;
}

/* Mean of rows [lo, hi] (absolute frame numbers still in the ring). */
static void ring_mean(const emoti_smoother *s, size_t lo, size_t hi, double *out) {
    size_t d = (size_t)s->dim;
    for (size_t c = 0; c < d; c++) out[c] = 0;
    for (size_t f = lo; f <= hi; f++) {
        const double *r = s->ring + (f % (size_t)s->width) * d;
        for (size_t c = 0; c < d; c++) out[c] += r[c];
    }
    for (size_t c = 0; c < d; c++) out[c] /= (double)(hi - lo + 1);
}

/* The output row for frame j, given that frames up to `last` are known. */
static void emit(const emoti_smoother *s, size_t j, size_t last, double *out) {
    long lo = (long)j + s->lag - 2L * s->k;
    size_t hi = j + (size_t)s->lag;
    if (hi > last) hi = last;
    ring_mean(s, lo < 0 ? 0 : (size_t)lo, hi, out);
}

int emoti_smoother_push(emoti_smoother *s, const double *row, double *out) {
    size_t d = (size_t)s->dim, i = s->pushed++;
    memcpy(s->ring + (i % (size_t)s->width) * d, row, d * sizeof *row);
    if (i < (size_t)s->lag) return 0;
    emit(s, i - (size_t)s->lag, i, out);
    return 1;
}

int emoti_smoother_flush(emoti_smoother *s, double *out) {
    size_t n = s->pushed;
    size_t pending = n < (size_t)s->lag ? n : (size_t)s->lag;
    if (s->flushed >= pending) return 0;
    size_t j = n - pending + s->flushed++;
    emit(s, j, n - 1, out);
    return 1;
}

void emoti_smoother_free(emoti_smoother *s) {
    free(s->ring);
    s->ring = NULL;
}
