/* Heads: small dense stacks on top of backbone features (docs/PIPELINE.md section 3), stored in the
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

#include "arena.h"
#include "emoti.h"

/* A head's shape, checked by emoti_head_check_shape (EMOTI_ERR_ARG, with a message). */
typedef struct {
    int task, input, n_layers;
    int sizes[EMOTI_HEAD_MAX_LAYERS + 1], act[EMOTI_HEAD_MAX_LAYERS];
} emoti_head_shape;
emoti_status emoti_head_check_shape(const emoti_head_shape *s);
/* A head is one block: the struct, each layer's w and b, the AU thresholds, then labels_bytes of
 * labels (the defaults: emoti_head_default_labels_bytes). carve takes the struct and the layers
 * from a (weights 0, the task's defaults otherwise; NULL if a is too small), default_labels the
 * labels (0 if a is too small). */
size_t emoti_head_block_bytes(const emoti_head_shape *s, size_t labels_bytes);
emoti_head *emoti_head_carve(emoti_arena *a, const emoti_head_shape *s);
size_t emoti_head_default_labels_bytes(const emoti_head_shape *s);
int emoti_head_default_labels(emoti_head *h, const emoti_head_shape *s, emoti_arena *a);

/* y[0..n) += a * x[0..n); and the dot product of x and y, both unrolled for the vectorizer. */
void emoti_axpy(float *restrict y, const float *restrict x, float a, size_t n);
float emoti_dot(const float *restrict x, const float *restrict y, size_t n);

/* One dense layer y = x W + b ([n][in] x [in][out]), then the activation (softmax per row). */
void emoti_dense(const float *x, size_t n, int in, const float *w, const float *b, int out,
                 int act, float *y);

#endif
