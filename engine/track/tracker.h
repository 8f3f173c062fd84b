/* The tracker's association step, for tests: IoU and the Hungarian assignment. */
#ifndef EMOTI_TRACKER_H
#define EMOTI_TRACKER_H

#include <stddef.h>

#include "emoti.h"

/* Intersection over union of two boxes (continuous coordinates, no +1); 0 for empty boxes. */
float emoti_track_iou(const emoti_track_det *a, const emoti_track_det *b);

/* Bytes of work memory for emoti_track_assign on up to n x n (either side <= n). */
size_t emoti_track_assign_work(int n);
/* The assignment of rows to columns of iou (nr x nc, row r's entries at iou[rows[r] * stride +
 * cols[c]]) maximising the summed IoU of the pairs with IoU >= min_iou: match[r] gets the
 * column index c, or -1. Returns the number of pairs. work: emoti_track_assign_work(max(nr,
 * nc)) bytes, aligned for double. */
int emoti_track_assign(const float *iou, size_t stride, const int *rows, int nr, const int *cols,
                       int nc, float min_iou, int *match, void *work);

#endif
