/* emoti: EmotiEffNet facial-emotion inference in plain C11.
 *
 * The embeddable library behind the `emoti` binary (libemoti.a). Load a converted model
 * (weights/FORMAT.md) from a file or a memory buffer, then run it on RGB images.
 * Every call returns an emoti_status; on failure emoti_last_error() describes what went wrong
 * in the calling thread. The library never prints and never exits.
 */
#ifndef EMOTI_H
#define EMOTI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EMOTI_VERSION "0.1.0"
#define EMOTI_MAX_OUTPUTS 16

typedef enum {
    EMOTI_OK = 0,
    EMOTI_ERR_IO = 1,          /* file missing, unreadable, not a regular file */
    EMOTI_ERR_FORMAT = 2,      /* corrupt or inconsistent data */
    EMOTI_ERR_UNSUPPORTED = 3, /* valid but not something emoti handles */
    EMOTI_ERR_NOMEM = 4,
    EMOTI_ERR_ARG = 5          /* bad argument from the caller */
} emoti_status;

/* Activations, one list for the whole library. The network's kernels apply NONE and SWISH;
 * heads (dense layers on the embedding) use NONE to SOFTMAX, stored in their files by name
 * (none, relu, tanh, sigmoid, softmax), never by number. */
typedef enum {
    EMOTI_ACT_NONE = 0,
    EMOTI_ACT_RELU = 1,
    EMOTI_ACT_TANH = 2,
    EMOTI_ACT_SIGMOID = 3,
    EMOTI_ACT_SOFTMAX = 4,
    EMOTI_ACT_SWISH = 5
} emoti_act;

/* Message for the last failure in this thread ("" if none). Valid until the next call. */
const char *emoti_last_error(void);

typedef struct emoti_model emoti_model;

/* Maps the file read-only and validates it (magic, version, bounds, shapes, checksum). */
emoti_status emoti_model_open(const char *path, emoti_model **out);
/* Uses buf in place (no copy); it must stay valid and unchanged until emoti_model_close.
 * buf must be 64-byte aligned. */
emoti_status emoti_model_from_memory(const void *buf, size_t size, emoti_model **out);
void emoti_model_close(emoti_model *model);

typedef struct {
    const char *name;       /* e.g. "tf_efficientnet_b0" */
    const char *source;     /* file the container was converted from */
    int input_size;         /* S: images are resized to S x S */
    int features;           /* embedding length (1280 for B0, 1408 for B2) */
    int n_outputs;          /* raw classifier outputs */
    int n_logits;           /* of which class logits */
    int valence_index;      /* output index of valence, -1 if none */
    int arousal_index;      /* output index of arousal, -1 if none */
    int n_blocks;
    const char *const *labels; /* n_logits class names */
    double mean[3], std[3];
} emoti_info;

void emoti_model_info(const emoti_model *model, emoti_info *info);

typedef struct {
    int top;                            /* index of the largest logit */
    float outputs[EMOTI_MAX_OUTPUTS];   /* raw outputs, n_outputs of them */
    float probs[EMOTI_MAX_OUTPUTS];     /* softmax over the n_logits logits */
    int has_va;
    float valence, arousal;
} emoti_result;

/* Runs the network on an 8-bit RGB image (interleaved, stride bytes per row): Pillow-exact
 * bilinear resize to S x S, normalisation, forward pass. embedding (features floats) may be
 * NULL. Not thread-safe on one model: use one model per thread. */
emoti_status emoti_run_rgb(emoti_model *model, const uint8_t *rgb, int width, int height,
                           size_t stride, emoti_result *result, float *embedding);

/* Runs the network on an already normalised input tensor, planar [3][S][S] (PyTorch's CHW). */
emoti_status emoti_run_tensor(emoti_model *model, const float *chw, emoti_result *result,
                              float *embedding);

/* Threads for the forward pass (default 1). More than 1 needs a build with OpenMP
 * (make OPENMP=1); otherwise EMOTI_ERR_UNSUPPORTED. Results are bitwise identical for any
 * thread count. */
emoti_status emoti_model_set_threads(emoti_model *model, int threads);

/* Optional observer of intermediate activations (for tests and debugging): called with the
 * stage name ("input", "stem", "stage0".."stage6", "head"), and the NHWC activation. */
typedef void (*emoti_stage_fn)(void *user, const char *stage, const float *nhwc, int h, int w,
                               int c);
void emoti_set_stage_observer(emoti_model *model, emoti_stage_fn fn, void *user);

/* 8-bit images: decoded into malloc'd interleaved RGB. */
typedef struct {
    int width, height;
    uint8_t *rgb; /* width * height * 3 bytes */
} emoti_image;

/* Reads a PPM/PGM (P2, P3, P5, P6) file; grey is expanded to RGB. */
emoti_status emoti_image_load(const char *path, emoti_image *image);
emoti_status emoti_image_decode(const uint8_t *data, size_t size, emoti_image *image);
void emoti_image_free(emoti_image *image);

#ifdef __cplusplus
}
#endif
#endif
