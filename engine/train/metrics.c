#include "emoti.h"

#include <stdlib.h>

double emoti_ccc(const double *x, const double *y, size_t n) {
    if (n == 0) return 0;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= (double)n, my /= (double)n;
    double vx = 0, vy = 0, cov = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        vx += dx * dx, vy += dy * dy, cov += dx * dy;
    }
    vx /= (double)n, vy /= (double)n, cov /= (double)n;
    double den = vx + vy + (mx - my) * (mx - my);
    return den > 0 ? 2 * cov / den : 0;
}

static double f1_counts(size_t tp, size_t fp, size_t fn) {
    size_t den = 2 * tp + fp + fn;
    return den ? 2.0 * (double)tp / (double)den : 0;
}

double emoti_f1_macro(const int *truth, const int *pred, size_t n, int n_classes,
                      double *per_class) {
    if (n_classes <= 0) return 0;
    size_t *c = calloc((size_t)n_classes * 3, sizeof *c); /* tp, fp, fn per class */
    if (!c) return 0;
    for (size_t i = 0; i < n; i++) {
        int t = truth[i], p = pred[i];
        int tv = t >= 0 && t < n_classes, pv = p >= 0 && p < n_classes;
        if (tv && pv && t == p) {
            c[3 * t]++;
            continue;
        }
        if (pv) c[3 * p + 1]++;
        if (tv) c[3 * t + 2]++;
    }
    double sum = 0;
    for (int k = 0; k < n_classes; k++) {
        double f = f1_counts(c[3 * k], c[3 * k + 1], c[3 * k + 2]);
        if (per_class) per_class[k] = f;
        sum += f;
    }
    free(c);
    return sum / n_classes;
}

double emoti_f1_binary_strided(const int *truth, const int *pred, size_t n, size_t stride) {
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        int t = truth[i * stride] == 1, p = pred[i * stride] == 1;
        tp += t && p, fp += !t && p, fn += t && !p;
    }
    return f1_counts(tp, fp, fn);
}

double emoti_f1_binary(const int *truth, const int *pred, size_t n) {
    return emoti_f1_binary_strided(truth, pred, n, 1);
}

double emoti_f1_au_mean(const int *truth, const int *pred, size_t n, int n_aus, double *per_au) {
    if (n_aus <= 0) return 0;
    double sum = 0;
    for (int j = 0; j < n_aus; j++) {
        double f = emoti_f1_binary_strided(truth + j, pred + j, n, (size_t)n_aus);
        if (per_au) per_au[j] = f;
        sum += f;
    }
    return sum / n_aus;
}
