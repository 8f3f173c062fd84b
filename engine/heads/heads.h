/* Heads: small dense stacks on top of backbone features (REFERENCE.md section 3), stored in the
 * model container with `general.arch` = `mlp` (weights/FORMAT.md; the keys below).
 *
 * A head maps one row of backbone features (the embedding, or the classifier outputs) through
 * Dense layers y = act(x W + b), W being [in][out] (Keras' kernel layout; PyTorch's nn.Linear
 * weight transposed). The last activation gives the task's values: tanh for valence/arousal,
 * softmax for expression probabilities, sigmoid for AU probabilities. Post-processing settings
 * chosen by `emoti tune` (smoothing half-width, AU thresholds) travel with the weights.
 *
 * Container keys (general.arch = mlp; FORMAT.md's header, checksum and tables unchanged):
 *   general.arch str "mlp"; general.name, general.source, general.exporter str
 *   head.task str        va | expr | au
 *   head.input str       embedding (OUT.features.npy) | logits (OUT.outputs.npy, 8 or 10 cols)
 *   head.layers i32[]    sizes: inputs, hidden..., outputs (1 to 8 layers)
 *   head.activations str[] one per layer: none relu tanh sigmoid softmax (softmax last only)
 *   out.labels str[]     one name per output (optional; Aff-Wild2 names by default)
 *   post.smooth_k i64    smoothing half-width d (optional; VA 50, EXPR 50, AU 5)
 *   post.thresholds f64[] AU heads: one threshold per output (optional; 0.5)
 *   head.note str        training / tuning record (optional)
 * Tensors dense{l}.w [in, out] and dense{l}.b [out], l = 0 .. layers-1, f32. */
#ifndef EMOTI_HEADS_H
#define EMOTI_HEADS_H

#include <stddef.h>

#include "emoti.h"

#define EMOTI_HEAD_MAX_LAYERS 8
#define EMOTI_HEAD_MAX_WIDTH 65536

enum { EMOTI_TASK_VA = 0, EMOTI_TASK_EXPR = 1, EMOTI_TASK_AU = 2, EMOTI_TASK_COUNT = 3 };
/* What the head reads from `emoti extract` output: the embedding (OUT.features.npy) or the
 * classifier outputs (OUT.outputs.npy: 8 logits, or 8 logits + valence + arousal). */
enum { EMOTI_INPUT_EMBEDDING = 0, EMOTI_INPUT_LOGITS = 1 };
/* Layer activations: emoti_act (emoti.h), EMOTI_ACT_NONE to EMOTI_ACT_SOFTMAX (a head has no
 * Swish); the files name them (emoti_act_name / emoti_act_parse). */

typedef struct {
    int task, input;
    int n_layers;
    int sizes[EMOTI_HEAD_MAX_LAYERS + 1]; /* sizes[0] inputs ... sizes[n_layers] outputs */
    int act[EMOTI_HEAD_MAX_LAYERS];
    float *w[EMOTI_HEAD_MAX_LAYERS];      /* [sizes[l]][sizes[l+1]] */
    float *b[EMOTI_HEAD_MAX_LAYERS];      /* [sizes[l+1]] */
    int smooth_k;                         /* smoothing half-width d (box of 2d+1 frames) */
    double *thresholds;                   /* AU heads: one per output (p >= t); else NULL */
    char **labels;                        /* one name per output */
    char name[64];
    char source[256];                     /* what it was trained from / imported from */
    char note[512];                       /* training / tuning record (free text) */
} emoti_head;

/* Task names ("va", "expr", "au") and parsing them; -1 if unknown. */
const char *emoti_task_name(int task);
int emoti_task_parse(const char *s);
const char *emoti_act_name(int act);
int emoti_act_parse(const char *s);
/* The paper's default smoothing half-width per task: VA 50, EXPR 50, AU 5. */
int emoti_task_default_k(int task);
/* Aff-Wild2 output names per task (2, 8 or 12 of them). */
int emoti_task_labels(int task, const char *const **labels);

/* A head with the given shape, weights zero, labels/thresholds the task's defaults when the
 * output count matches them (else "out0".., 0.5). */
emoti_status emoti_head_create(emoti_head **out, int task, int input, int n_layers,
                               const int *sizes, const int *acts);
void emoti_head_free(emoti_head *h);

/* Loads a head container (validated in full; the weights are copied). */
emoti_status emoti_head_load(const char *path, emoti_head **out);
emoti_status emoti_head_parse(const void *buf, size_t size, emoti_head **out);
/* Serialises to a container image (malloc'd, size a multiple of 64). */
emoti_status emoti_head_serialize(const emoti_head *h, unsigned char **buf, size_t *size);
/* Writes the container through PATH.part, renamed into place only when complete. */
emoti_status emoti_head_save(const emoti_head *h, const char *path);

/* Runs rows [n][sizes[0]] through the stack: out [n][n_outputs], after the last activation. */
emoti_status emoti_head_forward(const emoti_head *h, const float *x, size_t n, float *out);
static inline int emoti_head_outputs(const emoti_head *h) { return h->sizes[h->n_layers]; }

/* y[0..n) += a * x[0..n); and the dot product of x and y, both unrolled for the vectorizer. */
void emoti_axpy(float *restrict y, const float *restrict x, float a, size_t n);
float emoti_dot(const float *restrict x, const float *restrict y, size_t n);

/* One dense layer y = x W + b ([n][in] x [in][out]), then the activation (softmax per row). */
void emoti_dense(const float *x, size_t n, int in, const float *w, const float *b, int out,
                 int act, float *y);

#endif
