/* Training heads on frozen features (docs/PIPELINE.md section 3): the paper's losses with their
 * gradients, Adam, Keras-style initialisation; single-threaded, seeded and deterministic. */
#ifndef EMOTI_TRAIN_H
#define EMOTI_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "heads.h"

/* ---- losses: value of a batch and the gradient with respect to the last layer's
 *      pre-activations z [n][k] (dz may be NULL) ---- */

/* Class-weighted sparse cross-entropy of softmax(z): mean_i w[y_i] * -log softmax(z_i)[y_i]
 * (Keras' class_weight: weighted sum over the batch divided by the batch size). */
double emoti_loss_ce(const double *z, const int *y, size_t n, int k, const double *w, double *dz);
/* Weighted binary cross-entropy of sigmoid(z) against y in {0,1}, the mean over the batch and
 * the k AUs of w0[j]^(1-y) w1[j]^y BCE. */
double emoti_loss_bce(const double *z, const double *y, size_t n, int k, const double *w0,
                      const double *w1, double *dz);
/* 1 - mean over the k columns of the CCC between act(z) and y on the batch's statistics,
 * CCC = 2 cov / (var x + var y + (mean x - mean y)^2 + eps); act is tanh (tanh != 0) or the
 * identity. */
double emoti_loss_ccc(const double *z, const double *y, size_t n, int k, double eps, int tanh_out,
                      double *dz);

/* ---- data ---- */
typedef struct {
    const float *x;   /* feature matrix [rows][dim] (all rows of the extract output) */
    int dim;
    const long *rows; /* the n labelled rows used, in order */
    size_t n;
    const int *cls;   /* EXPR: class of each used row (n) */
    const float *y;   /* VA: [n][2]; AU: [n][n_aus] 0/1 */
} emoti_train_set;

typedef struct {
    int epochs, batch;
    double lr, beta1, beta2, adam_eps; /* Keras' Adam: 1e-3, 0.9, 0.999, 1e-7 */
    double l2;                         /* Keras l2(): l2 * sum(W^2) added per kernel */
    double ccc_eps;                    /* 1e-7 */
    uint64_t seed;
    FILE *log;                         /* per-epoch lines, or NULL */
} emoti_train_opts;

/* The paper's settings for a task (batch, epochs, L2) with Adam lr 1e-3 and seed 1. */
void emoti_train_defaults(emoti_train_opts *o, int task);

typedef struct {
    int best_epoch;      /* 1-based; the last one without validation */
    double best_metric;  /* validation metric at best_epoch (NaN without validation) */
    double final_loss;   /* training loss (mean over batches) of the last epoch */
    double metric[256];  /* validation metric per epoch (first 256) */
    double loss[256];
} emoti_train_report;

/* Keras' glorot_uniform kernels and zero biases from a seeded generator. */
void emoti_head_init(emoti_head *h, uint64_t seed);

/* Trains h in place: shuffles every epoch, Adam steps per batch (the last batch may be short).
 * With val, keeps the weights of the epoch with the best validation metric (EXPR macro F1,
 * AU mean F1 at h's thresholds, VA mean CCC). */
emoti_status emoti_train(emoti_head *h, const emoti_train_set *train, const emoti_train_set *val,
                         const emoti_train_opts *o, emoti_train_report *report);

/* The validation metric of h on a set (raw per-frame outputs, no smoothing). */
double emoti_head_metric(const emoti_head *h, const emoti_train_set *s);

/* The loss of h on a batch and the gradients of every parameter (grads[2l] kernels,
 * grads[2l+1] biases, shaped like h's); class/AU weights as in emoti_train. For tests. */
typedef struct {
    int task, n_classes;
    double class_w[64];
    double *w0, *w1;  /* AU weights, n outputs each */
    double ccc_eps, l2;
} emoti_loss_spec;
emoti_status emoti_loss_spec_init(emoti_loss_spec *s, const emoti_head *h, const emoti_train_set *t,
                                  double l2, double ccc_eps);
void emoti_loss_spec_free(emoti_loss_spec *s);
emoti_status emoti_head_loss_grad(const emoti_head *h, const emoti_loss_spec *spec,
                                  const emoti_train_set *t, const size_t *idx, size_t n,
                                  double *loss, float **grads);

/* splitmix64 step (the generator behind init and shuffling). */
uint64_t emoti_rng_next(uint64_t *state);

#endif
