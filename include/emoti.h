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
#include <stdio.h>

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

/* ---- Heads: small dense stacks on backbone features (docs/PIPELINE.md section 3) ----
 * A head maps one row of backbone values (the embedding, or the classifier outputs) through
 * dense layers y = act(x W + b) to a task's values: tanh valence/arousal, softmax expression
 * probabilities, sigmoid AU probabilities. Heads come from `emoti fit` / `emoti tune` or
 * tools/export_head.py, in the model container (weights/FORMAT.md, general.arch = mlp), with the
 * tuned smoothing half-width and AU thresholds. */
enum { EMOTI_TASK_VA = 0, EMOTI_TASK_EXPR = 1, EMOTI_TASK_AU = 2, EMOTI_TASK_COUNT = 3 };
#define EMOTI_HEAD_MAX_LAYERS 8
#define EMOTI_HEAD_MAX_WIDTH 65536

/* What the head reads from `emoti extract` output: the embedding (OUT.features.npy) or the
 * classifier outputs (OUT.outputs.npy: 8 logits, or 8 logits + valence + arousal). */
enum { EMOTI_INPUT_EMBEDDING = 0, EMOTI_INPUT_LOGITS = 1 };

typedef struct emoti_head emoti_head;
struct emoti_head {
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
};

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
/* The same without allocating: scratch holds emoti_head_scratch_floats(h, n) floats. */
size_t emoti_head_scratch_floats(const emoti_head *h, size_t n);
void emoti_head_forward_scratch(const emoti_head *h, const float *x, size_t n, float *out,
                                float *scratch);
static inline int emoti_head_outputs(const emoti_head *h) { return h->sizes[h->n_layers]; }

/* ---- Timeline: per-frame post-processing of one face track (docs/PIPELINE.md section 4) ----
 *
 * A timeline turns per-frame backbone results into finished rows: heads (or the backbone's own
 * outputs) -> gap filling for frames without a face -> blends of heads of one task -> the
 * pre-trained logits / VA modes -> box smoothing of 2k+1 frames per task -> decisions (the most
 * probable expression, AU probability >= its threshold). Feed it one frame at a time; take the
 * rows that are final with emoti_timeline_next. Timelines are independent of each other (one per
 * face track); the heads they read are shared and never written.
 *
 *   centred (lag < 0): the box is centred on each frame and truncated at both ends; rows come out
 *     after emoti_timeline_finish. Memory grows with the number of frames.
 *   causal (lag >= 0): each row is the mean of the 2k+1 frames ending min(lag, k) frames after
 *     it, so a row is final `latency` frames after its frame was pushed. Memory is fixed at
 *     creation (the windows), whatever the video's length, as long as every frame's values come
 *     through emoti_timeline_push (one validity per frame): a gap costs no memory.
 * A frame without a face waits for the next frame with one: its values are interpolated between
 * the two (copied at the ends of the video). */
typedef struct emoti_timeline emoti_timeline;

#define EMOTI_TIMELINE_MAX_HEADS 16
#define EMOTI_TIMELINE_MAX_OUTPUTS 64 /* outputs of one expression or AU head */

typedef struct {
    int k[EMOTI_TASK_COUNT]; /* box half-width per task; -1: the task's first head's tuned k
                                (without a head: 50 for VA and expression, 5 for AUs) */
    int lag;                 /* -1: centred; >= 0: causal, rows final min(lag, k) frames later */
    int paper_interp;        /* the authors' notebook's reversed interpolation weights */
    double threshold;        /* one AU threshold for every AU; -1: the AU head's tuned ones */
    double pretrained_logits; /* W in [0, 1]: expression p = W * the backbone's logits (Aff-Wild2
                                order) + (1 - W) * p, unless the heads call it Other; -1: off */
    int pretrained_va;       /* valence/arousal from a multi-task backbone (no VA head) */
    int backbone;            /* no heads: the backbone's own class probabilities (its label set,
                                e.g. AffectNet-8) smoothed as the expression, plus its VA if any */
    const double *weights;   /* blend weight per head (>= 0), NULL: 1 each */
    const char *const *head_names; /* per head, for messages (e.g. file names); NULL: "head N" */
    const char *model_name;  /* for messages; NULL: "the model" */
} emoti_timeline_config;

/* Defaults: tuned k, centred, linear interpolation, tuned thresholds, no pre-trained modes. */
void emoti_timeline_config_init(emoti_timeline_config *config);

/* Checks the heads against each other (heads of one task are blended: same output count) and
 * against the model (what each head reads, what the pre-trained modes need) and allocates the
 * timeline. model may be NULL when no head or mode reads from it. heads must outlive it. */
emoti_status emoti_timeline_create(const emoti_head *const *heads, int n_heads,
                                   const emoti_info *model, const emoti_timeline_config *config,
                                   emoti_timeline **out);
void emoti_timeline_free(emoti_timeline *t);
/* Forgets every frame (the next push is frame 0 of a new video); keeps heads and settings. */
void emoti_timeline_reset(emoti_timeline *t);

/* The next frame: the backbone's result and embedding (features floats; NULL is fine when no
 * head reads the embedding), or result NULL for a frame without a face or one that could not be
 * decoded. Runs the heads. Take the rows that became final (emoti_timeline_next until it returns
 * 0) before the next push: with rows still waiting it fails with EMOTI_ERR_ARG. */
emoti_status emoti_timeline_push(emoti_timeline *t, const emoti_result *result,
                                 const float *embedding);
/* The same from values computed elsewhere (e.g. the heads run in bulk over extracted features):
 * head_outputs[i] is head i's outputs for this frame or NULL when head i has no input here
 * (heads on different backbones may see faces on different frames); backbone is the result the
 * pre-trained / backbone modes read, or NULL. A head or mode with values on no frame of the
 * video is left out of its blend. While some head waits for its next face the frames in
 * between are kept: memory then grows with that gap. */
emoti_status emoti_timeline_push_outputs(emoti_timeline *t, const float *const *head_outputs,
                                         const emoti_result *backbone);
/* End of the video: every remaining row becomes final. */
emoti_status emoti_timeline_finish(emoti_timeline *t);

typedef struct {
    long frame;          /* index of the frame in push order, from 0 */
    int filled;          /* 1: no face on this frame, its values come from its neighbours */
    int has_va;
    double valence, arousal;
    int n_classes;       /* expression: 0 when the timeline has none */
    const double *probs; /* n_classes smoothed probabilities */
    int expression;      /* index of the most probable class */
    const char *const *class_labels;
    int n_aus;           /* action units: 0 when none */
    const double *au_probs;   /* n_aus smoothed probabilities */
    const int *au_active;     /* n_aus decisions, 0/1 (probability >= threshold) */
    const char *const *au_labels;
} emoti_timeline_row;

/* 1 and the next final row (its pointers valid until the next call on t), or 0 when no row is
 * final yet (or none is left after finish). */
int emoti_timeline_next(emoti_timeline *t, emoti_timeline_row *row);

/* What the timeline computes for a task: on, values per frame, k, causal lag (-1 centred),
 * labels, AU thresholds (NULL for other tasks). */
typedef struct {
    int on, dim, k, lag;
    const char *const *labels;
    const double *thresholds;
} emoti_timeline_task;
void emoti_timeline_task_info(const emoti_timeline *t, int task, emoti_timeline_task *info);
/* Frames after which a row is final in causal mode (the largest task lag); -1 when centred. */
int emoti_timeline_latency(const emoti_timeline *t);
/* Frames pushed so far, and of those the ones with values (a face). */
long emoti_timeline_frames(const emoti_timeline *t);
long emoti_timeline_faces(const emoti_timeline *t);
/* Bytes the timeline holds now (for budgets; causal and one validity per frame: fixed). */
size_t emoti_timeline_memory(const emoti_timeline *t);

/* ---- Writers: rows for programs (hosted builds) ---- */
enum { EMOTI_FORMAT_TEXT = 0, EMOTI_FORMAT_CSV = 1, EMOTI_FORMAT_JSONL = 2 };

/* What identifies a row in the output: the frame's index and file (the input's name for a
 * stream). */
typedef struct {
    long frame;
    const char *file;
} emoti_row_key;

/* One CSV field, quoted only when it needs it; one JSON string literal. */
void emoti_csv_field(FILE *f, const char *s);
void emoti_json_string(FILE *f, const char *s);
/* A timeline's rows: frame, file, filled, then per task on: valence, arousal; expression and
 * p_<class> per class; per AU 0/1 (au_values: its probability, columns p_<AU>). The header is
 * for CSV only (nothing for JSON lines). */
void emoti_timeline_write_header(FILE *f, const emoti_timeline *t, int format, int au_values);
void emoti_timeline_write_row(FILE *f, const emoti_timeline_row *row, emoti_row_key key, int format,
                              int au_values);

/* ---- Output files: written whole or not at all (hosted builds) ---- */
/* Writing goes to PATH.part; commit renames it over PATH once every byte is written, so a
 * reader never sees half a file and a failure (disk full, a kill) leaves PATH as it was. */
typedef struct {
    FILE *f;           /* write here between open and commit */
    char *path, *part;
} emoti_outfile;
emoti_status emoti_outfile_open(emoti_outfile *o, const char *path);
/* Checks every write, closes, renames; on any failure removes PATH.part ("PATH: cannot write
 * (reason)"). */
emoti_status emoti_outfile_commit(emoti_outfile *o);
/* Closes and removes PATH.part (PATH untouched). */
void emoti_outfile_abort(emoti_outfile *o);
/* Whether PATH could be written (creates and removes PATH.part): to fail before long work. */
emoti_status emoti_outfile_probe(const char *path);

/* ---- Plot: a timeline as SVG (hosted builds) ----
 * Valence and arousal over time, the expression timeline (one colour per class, legend), the
 * AU timeline and the filled frames, on one frame axis. Long videos stay small: the VA lines
 * keep at most two points per pixel column, the timelines one rect per run of one value. */
#define EMOTI_PLOT_MAX_CLASSES 64
typedef struct {
    /* What to draw, set before the first emoti_plot_add; a count of 0 leaves that panel out. */
    int has_va, n_classes, n_aus;
    const char *const *class_labels, *const *au_labels;
    const char *title, *subtitle;
    /* One entry per frame (the plot's own; zero-initialise the struct). */
    size_t n, cap;
    float *va;             /* [n][2] */
    unsigned char *cls;    /* [n] expression class */
    uint64_t *aus;         /* [n] bit c: AU c active */
    unsigned char *filled; /* [n] 1: no face, the values are gap-filled */
} emoti_plot;

/* Appends one frame (va: 2 values or NULL, aus: n_aus decisions or NULL). */
emoti_status emoti_plot_add(emoti_plot *p, const double *va, int cls, const int *aus, int filled);
void emoti_plot_free(emoti_plot *p);
/* Writes the SVG through PATH.part (emoti_outfile). */
emoti_status emoti_plot_write(const char *path, const emoti_plot *p);

#ifdef __cplusplus
}
#endif
#endif
