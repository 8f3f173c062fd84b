/* EfficientNet (timm tf_efficientnet_b*) forward pass over a validated container. */
#ifndef EMOTI_EFFICIENTNET_H
#define EMOTI_EFFICIENTNET_H

#include "container.h"
#include "emoti.h"
#include "kernels.h"

enum { BLOCK_DS = 0, BLOCK_IR = 1 }; /* depthwise-separable, inverted residual */

typedef struct {
    int stage, kind, k, stride, in, mid, out, se, skip;
    int h, w;           /* input spatial size */
    emoti_window dw;    /* depthwise geometry; output is dw.oh x dw.ow */
    /* exp_w, proj_w (and head_w below): 16-column strips (kernels.h, weights/FORMAT.md) */
    const float *exp_w, *exp_b, *dw_w, *dw_b, *se1_w, *se1_b, *se2_w, *se2_b, *proj_w, *proj_b;
} enet_block;

typedef struct {
    int size, stem_c, features, n_out, n_blocks;
    emoti_window stem;
    const float *stem_w, *stem_b, *head_w, *head_b, *fc_w, *fc_b;
    int head_rows, head_cols; /* spatial size at the head conv */
    int last_channels;        /* the last block's outputs: the head conv's inputs */
    int threads;              /* >= 1; more than 1 only in OpenMP builds */
    enet_block *blocks;

    /* Activations, planned at load in the caller's memory; the forward pass allocates nothing. */
    float *input;        /* [S][S][3] normalised image */
    float *act_a;        /* block input / output (and residual)  */
    float *act_b;        /* expanded activations, head conv output */
    float *act_c;        /* depthwise output */
    float *se_row_sums;  /* [oh][mid]: per output row SE pool sums */
    double *se_mean;     /* [max(max mid, features)]: SE means and gates, the final pool */
    double *se_mid;      /* [max se] */
    float *gate;         /* [max mid]: the SE gate, folded into the projection by the GEMM */
    float *embedding;    /* [features] */
} enet;

/* The memory emoti_enet_init takes (the blocks, the activations), from the metadata of a
 * checked container. */
emoti_status emoti_enet_memory(const emoti_container *c, size_t *bytes);
/* Reads the architecture from the container metadata, checks every tensor's shape against it
 * (the container indexed) and takes the blocks and activations from a; nothing to free. */
emoti_status emoti_enet_init(enet *net, const emoti_container *c, emoti_arena *a);

/* Runs net->input through the network: embedding into net->embedding, outputs[n_out]. */
void emoti_enet_forward(enet *net, const emoti_kernels *kern, float *outputs,
                        emoti_stage_fn observe, void *user);

#endif
