/* The per-frame steps between gap filling and smoothing, and the decisions after it
 * (docs/PIPELINE.md 4.3, 4.4, 4.6). The timeline and `emoti tune` share them. */
#ifndef EMOTI_COMBINE_H
#define EMOTI_COMBINE_H

#include <stddef.h>

#include "emoti.h"

/* A weighted mean over sources: acc (zeroed first) += w * x for every source in order, then
 * emoti_blend_finish divides by the summed weights (nothing when it is 0). */
void emoti_blend_add(double *acc, const double *x, size_t n, double w);
void emoti_blend_finish(double *acc, size_t n, double wsum);

/* The 8 AffectNet logits of one backbone output row in Aff-Wild2 class order. */
void emoti_affwild_logits(const float *outputs, float *mapped);
/* Unless the heads' probabilities p[8] call the frame Other: p = w * logits + (1 - w) * p. */
void emoti_mix_pretrained_logits(double *p, const double *logits, double w);

/* AU thresholds of k outputs: fixed when >= 0, else the head's tuned ones, else 0.5. */
void emoti_au_thresholds(const emoti_head *h, int k, double fixed, double *thr);
/* A task's frame decisions from (smoothed) values: EXPR argmax into out[0], AU p >= t per AU
 * (thresholds NULL: 0.5), nothing for VA. */
void emoti_decide(int task, const double *vals, int k, const double *thresholds, int *out);

#endif
