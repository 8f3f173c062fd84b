/* MTCNN's three nets (P-Net, R-Net, O-Net) over a validated `mtcnn` container
 * (weights/FORMAT.md, docs/MTCNN.md). Inputs are NHWC float32 tensors already normalised
 * ((v - 127.5) * 0.0078125) and transposed as the nets expect (axis 0 = image x). */
#ifndef EMOTI_MTCNN_H
#define EMOTI_MTCNN_H

#include <stddef.h>

#include "container.h"
#include "emoti.h"
#include "kernels.h"

enum { MTCNN_PNET, MTCNN_RNET, MTCNN_ONET, MTCNN_NETS };

typedef struct {
    int cout, k, cin;    /* conv k x k (fc: k = 0, cin = inputs) */
    int pool_k, pool_s;  /* max-pool after the PReLU (0: none) */
    int pool_first;      /* every alpha >= 0: PReLU is monotonic, pooling first gives its bits */
    int stacked;         /* conv through one GEMM over its input stacked by kernel rows */
    float *w;            /* [k k cin][cout] in 16-column strips (kernels.h), mtcnn_load.c's pack() */
    size_t w_stride;
    const float *b, *alpha;
    float *alpha16;      /* alpha repeated 16 times: the PReLU over whole rows of cout floats */
} mtcnn_layer;

typedef struct {
    int n_layers, n_out; /* trunk layers; head outputs: prob 2, box 4 (, landmarks 10) */
    mtcnn_layer layer[5];
    float *head_w, *head_b; /* the heads as one [features][n_out] matrix (strips) */
    float *zeros;           /* a zero bias for the kernel rows after the first */
} mtcnn_net;

typedef struct {
    mtcnn_net net[MTCNN_NETS];
} emoti_mtcnn;

/* Ceil-mode pooled size (Caffe): windows start inside the input, clipped at its end. */
static inline int mtcnn_pooled(int n, int k, int s) { return n <= k ? 1 : (n - k + s - 1) / s + 1; }

/* What a run needs besides its input and output, in floats: two activation buffers of act, the
 * pooling's row buffer, conv's stacked input. */
typedef struct {
    size_t act, row, stack;
} mtcnn_buffers;
static inline size_t mtcnn_buffers_floats(const mtcnn_buffers *b) { return 2 * b->act + b->row + b->stack; }

emoti_status emoti_mtcnn_init(emoti_mtcnn *m, const emoti_container *c);
void emoti_mtcnn_free(emoti_mtcnn *m);

/* The scratch floats (activations, stacked conv inputs) emoti_mtcnn_run needs for one net on
 * n inputs of h x w; it grows with each of n, h and w. */
size_t emoti_mtcnn_scratch(const emoti_mtcnn *m, int net, int n, int h, int w);
/* The buffers of emoti_mtcnn_scratch, or EMOTI_ERR_ARG for a net or input shape run refuses. */
emoti_status emoti_mtcnn_plan(const emoti_mtcnn *m, int net, int n, int h, int w,
                              mtcnn_buffers *b);

/* Runs one net on n inputs x [n][h][w][3] (R-Net 24 x 24, O-Net 48 x 48; P-Net any h, w >= 12,
 * n = 1), with the caller's scratch of scratch_floats (at least emoti_mtcnn_scratch's): the nets
 * are only read, so threads may run them at once, each with its own scratch. out: per input and
 * output position (P-Net: oh x ow of them, see emoti_mtcnn_pnet_size), n_out floats: face
 * probabilities [2] (softmax), box regression [4], O-Net landmarks [10]. Each input's outputs
 * are bitwise those of running it alone. */
emoti_status emoti_mtcnn_run(const emoti_mtcnn *m, const emoti_kernels *kern, int net,
                             const float *x, int n, int h, int w, float *scratch,
                             size_t scratch_floats, float *out);
/* P-Net's output grid for an h x w input; returns its floats per position (6). */
int emoti_mtcnn_pnet_size(int h, int w, int *oh, int *ow);

#endif
