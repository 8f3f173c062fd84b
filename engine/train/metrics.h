/* The ABAW metrics (docs/PIPELINE.md section 5). Conventions where a ratio is 0/0: CCC is 0 (both
 * series constant and equal), F1 is 0 (scikit-learn's zero_division default). */
#ifndef EMOTI_METRICS_H
#define EMOTI_METRICS_H

#include <stddef.h>

/* Concordance correlation coefficient with population statistics (two-pass, in double):
 * 2 cov(x,y) / (var x + var y + (mean x - mean y)^2). n = 0 gives 0. */
double emoti_ccc(const double *x, const double *y, size_t n);

/* Macro F1 over classes 0..n_classes-1 (scikit-learn f1_score(average='macro',
 * labels=range(n_classes))). Labels outside 0..n_classes-1 count as no class. per_class
 * (n_classes values) may be NULL. */
double emoti_f1_macro(const int *truth, const int *pred, size_t n, int n_classes,
                      double *per_class);

/* Binary F1 of the positive class 1 (f1_score(average='binary')); any non-1 value is negative. */
double emoti_f1_binary(const int *truth, const int *pred, size_t n);

/* Mean over n_aus columns of the binary F1; truth and pred are row-major [n][n_aus].
 * per_au (n_aus values) may be NULL. */
double emoti_f1_au_mean(const int *truth, const int *pred, size_t n, int n_aus, double *per_au);

/* Binary F1 of column j of row-major [n][stride] ints. */
double emoti_f1_binary_strided(const int *truth, const int *pred, size_t n, size_t stride);

#endif
