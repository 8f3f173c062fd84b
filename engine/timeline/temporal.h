/* Per-video post-processing (docs/PIPELINE.md section 4): gap filling for frames without a face and
 * box smoothing, offline and causal. Sequences are row-major [n][dim] doubles. */
#ifndef EMOTI_TEMPORAL_H
#define EMOTI_TEMPORAL_H

#include <stddef.h>

/* Fills the rows whose valid[i] is 0: before the first valid row, a copy of it; after the last,
 * a copy of it; between valid rows p < f < q, linear interpolation
 * (1 - w) * seq[p] + w * seq[q], w = (f - p) / (q - p). With paper != 0 the weights are the
 * authors' notebook's (reversed): w * seq[p] + (1 - w) * seq[q]. Returns the number of valid
 * rows; with none, seq is left as it is. */
size_t emoti_fill_gaps(double *seq, const unsigned char *valid, size_t n, int dim, int paper);

/* Centred box of 2k+1 rows truncated at both ends:
 * out[i] = mean(in[max(i-k, 0) .. min(i+k, n-1)]). k = 0 copies. out may equal in.
 * Returns 0 when out of memory (out untouched). */
int emoti_smooth_box(const double *in, double *out, size_t n, int dim, int k);

/* The causal family: the window of 2k+1 rows ending `lag` rows after row i,
 * out[i] = mean(in[max(i+lag-2k, 0) .. min(i+lag, n-1)]), 0 <= lag <= k. A live stream gets row
 * i's value `lag` frames after frame i arrived: lag = 0 is the trailing window (no latency, the
 * output trails the signal by k frames on average), lag = k is the centred box above (latency k).
 * out may equal in. Returns 0 when out of memory or lag is out of range. */
int emoti_smooth_causal(const double *in, double *out, size_t n, int dim, int k, int lag);

/* The same as a stream: push one row per frame; each push returns (in out) the smoothed row of
 * frame (pushed - 1 - lag) when that frame is ready; flush emits the last lag rows at the end. */
typedef struct {
    int dim, k, lag, width;
    size_t pushed, flushed;
    double *ring; /* the last `width` rows */
} emoti_smoother;
int emoti_smoother_init(emoti_smoother *s, int dim, int k, int lag); /* 0: bad args / no memory */
/* Returns 1 and fills out when a smoothed row is ready (from the lag-th push on), else 0. */
int emoti_smoother_push(emoti_smoother *s, const double *row, double *out);
/* After the last push: returns 1 and fills out with the next pending row, 0 when none is left. */
int emoti_smoother_flush(emoti_smoother *s, double *out);
void emoti_smoother_free(emoti_smoother *s);

#endif
