/* The model object, shared by its freestanding core (model.c) and the hosted layer
 * (model_hosted.c). */
#ifndef EMOTI_MODEL_H
#define EMOTI_MODEL_H

#include "container.h"
#include "efficientnet.h"
#include "emoti.h"

struct emoti_model {
    emoti_container c;
    enet net;
    emoti_info info;
    char **labels;          /* these and every buffer below: in the model's memory */
    const emoti_kernels *kern;
    float norm_lut[3][256]; /* (v/255 - mean) / std, computed in double like the reference */
    uint8_t *resized;       /* [S][S][3] */
    void *resize_scratch;   /* for images up to max_width x max_height */
    size_t resize_scratch_size;
    int max_width, max_height;
    emoti_stage_fn observe;
    void *observe_user;
    /* Hosted: a larger resize scratch for a larger image, else NULL (caller memory: such an
     * image is refused). */
    emoti_status (*grow_scratch)(emoti_model *m, size_t bytes);
    void *mem;      /* the memory the hosted layer allocated for the model, or NULL */
    void *grown;    /* its grown scratch */
    void *map;      /* the mmap'd file */
    size_t map_size;
};

/* emoti_model_memory and emoti_model_init on a container already checked
 * (emoti_container_check) and, for build, already planned (need: plan's bytes): the hosted
 * layer checks and plans once for both. */
emoti_status emoti_model_plan(const emoti_container *c, int max_w, int max_h, size_t *bytes);
emoti_status emoti_model_build(const emoti_container *c, int max_width, int max_height,
                               size_t need, void *mem, size_t mem_bytes, emoti_model **out);

#endif
