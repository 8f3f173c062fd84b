
#include "emoti.h"
#include "heads.h"

void emoti_blend_add(double *acc, const double *x, size_t n, double w) {
    for (size_t q = 0; q < n; q++) acc[q] += w * x[q];
}

void emoti_blend_finish(double *acc, size_t n, double wsum) {
    if (wsum > 0)
        for (size_t q = 0; q < n; q++) acc[q] /= wsum;
}

/* Aff-Wild2 class k <- AffectNet logit MAP[k] (Neutral, Anger, Disgust, Fear, Happiness, Sadness,
 * Surprise, Other <- Contempt). */
static const int AFFECTNET_MAP[8] = {5, 0, 2, 3, 4, 6, 7, 1};

void emoti_affwild_logits(const float *outputs, float *mapped) {
    for (int c = 0; c < 8; c++) mapped[c] = outputs[AFFECTNET_MAP[c]];
}

void emoti_mix_pretrained_logits(double *p, const double *logits, double w) {
    int best = 0;
    for (int c = 1; c < 8; c++) best = p[c] > p[best] ? c : best;
    if (best == 7) return; /* the heads call it Other: keep their probabilities */
    for (int c = 0; c < 8; c++) p[c] = w * logits[c] + (1 - w) * p[c];
}

void emoti_au_thresholds(const emoti_head *h, int k, double fixed, double *thr) {
    for (int c = 0; c < k; c++)
        thr[c] = fixed >= 0 ? fixed : h && h->thresholds ? h->thresholds[c] : 0.5;
}

void emoti_decide(int task, const double *vals, int k, const double *thresholds, int *out) {
    if (task == EMOTI_TASK_EXPR) {
        int best = 0;
        for (int c = 1; c < k; c++) best = vals[c] > vals[best] ? c : best;
        out[0] = best;
    } else if (task == EMOTI_TASK_AU) {
        for (int c = 0; c < k; c++) out[c] = vals[c] >= (thresholds ? thresholds[c] : 0.5);
    }
}
