/* emoti: EmotiEffNet facial-emotion inference in plain C11.
 *
 * The library behind the `emoti` binary (libemoti.a): everything the command does, in the
 * order the data flows. Sections: the model (load a converted model, weights/FORMAT.md, from a
 * file or a memory buffer; run it on RGB images); images; faces (detection); video frames (Y4M, frame folders);
 * heads; the timeline (one face track's per-frame post-processing, fed a frame at a time);
 * tracking (track ids across frames, scene cuts, a timeline per track);
 * whole-sequence post-processing; training data, metrics and training; writers (rows, files
 * written whole, the SVG plot).
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

/* Maps the file read-only and validates it (magic, version, bounds, shapes, checksum).
 * Byte order: the container is little-endian by specification (weights/FORMAT.md). A
 * little-endian host reads the weights in place (zero-copy); a big-endian host (s390x, ...)
 * makes one byte-swapped, 64-byte aligned copy of the file at open and computes from it, so
 * it needs the model's size again in memory. Heads, .npy files and the containers that fit /
 * tune write are little-endian on every host. */
emoti_status emoti_model_open(const char *path, emoti_model **out);
/* Uses buf in place (no copy on little-endian hosts, see above); it must stay valid and
 * unchanged until emoti_model_close. buf must be 64-byte aligned. */
emoti_status emoti_model_from_memory(const void *buf, size_t size, emoti_model **out);
/* Frees what emoti_model_open / _from_memory allocated; a model in caller memory
 * (emoti_model_init) owns nothing, so closing it does nothing. NULL: nothing. */
void emoti_model_close(emoti_model *model);

/* Models in caller memory, for firmware: no allocation, no file, no OS call. Sizes first:
 * emoti_model_memory validates the container blob (as emoti_model_open does) and says how many
 * bytes of memory a model of it takes, for RGB images up to max_width x max_height
 * (0, 0: images of the model's input size; emoti_run_rgb refuses an image whose resize needs
 * more than that); emoti_model_init builds the model in mem (64-byte
 * aligned, at least that many bytes), reading the weights in place from blob (flash or
 * .rodata: 64-byte aligned, unchanged while the model is used; a big-endian host copies them
 * into mem, byte-swapped, and counts that in). A corrupt blob, memory too small and a larger
 * image are statuses, never a crash. The memory holds everything: the model needs nothing
 * else, and emoti_model_close need not be called. */
emoti_status emoti_model_memory(const void *blob, size_t size, int max_width, int max_height,
                                size_t *bytes);
emoti_status emoti_model_init(const void *blob, size_t size, int max_width, int max_height,
                              void *mem, size_t mem_bytes, emoti_model **out);

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

/* Reads an image file by its content, not its name: JPEG (baseline and progressive, exactly as
 * libjpeg-turbo decodes it), PNG (every colour type and depth, as Pillow's convert('RGB')), or
 * PPM/PGM (P2, P3, P5, P6). Grey and palette images are expanded to RGB, alpha is dropped. */
emoti_status emoti_image_load(const char *path, emoti_image *image);
/* The same from bytes in memory. */
emoti_status emoti_image_decode(const uint8_t *data, size_t size, emoti_image *image);
void emoti_image_free(emoti_image *image);

/* Decoding limits. An image (or video frame) whose header gives more than max_pixels pixels
 * (width * height) is refused from the header, before anything is allocated, with a message
 * naming its size and the limit. 0 means EMOTI_MAX_PIXELS_DEFAULT: 4096x4096 (16.7 MP), four
 * times a 4K UHD frame and far more than a face needs; values over EMOTI_MAX_PIXELS_LIMIT
 * (2^28, 16384x16384) act as it. The functions without _opts use the default.
 * Peak memory of a decode, beyond the file itself: the 3-byte-per-pixel RGB output plus
 * O(width) for PNG (any colour type, depth or interlacing; the IDAT payloads are copied
 * once when split over several chunks) and PPM/PGM; for JPEG the component planes as well
 * (1.5 bytes per pixel for 4:2:0, 3 for 4:4:4, 1 for grey), and progressive JPEG first holds
 * 2 bytes per sample of coefficients: peak 4.5 bytes per pixel for 4:2:0, 7 for 4:4:4. */
#define EMOTI_MAX_PIXELS_DEFAULT ((uint64_t)4096 * 4096)
#define EMOTI_MAX_PIXELS_LIMIT ((uint64_t)1 << 28)
typedef struct {
    uint64_t max_pixels;
} emoti_decode_opts;
/* opts may be NULL (the defaults). */
emoti_status emoti_image_load_opts(const char *path, const emoti_decode_opts *opts,
                                   emoti_image *image);
emoti_status emoti_image_decode_opts(const uint8_t *data, size_t size,
                                     const emoti_decode_opts *opts, emoti_image *image);

/* ---- Faces: MTCNN detection (docs/MTCNN.md) ----
 * facenet-pytorch 2.5's algorithm (EmotiEffLib's detector) on the P/R/O-Net weights of a
 * detector container (tools/export.py --mtcnn). The detector keeps its buffers between calls:
 * no allocation per frame once it has seen the largest frame size. Work is bounded whatever the
 * image holds: per pyramid level the EMOTI_DETECT_MAX_LEVEL best P-Net cells go on to that
 * level's NMS; over all levels the EMOTI_DETECT_MAX_PNET best survivors to the global NMS; the
 * EMOTI_DETECT_MAX_RNET best after it to R-Net, the EMOTI_DETECT_MAX_ONET best after R-Net to
 * O-Net (so at most that many faces). Not thread-safe on one detector: one per thread. */
#define EMOTI_DETECT_MAX_LEVEL 1024
#define EMOTI_DETECT_MAX_PNET 4096
#define EMOTI_DETECT_MAX_RNET 1024
#define EMOTI_DETECT_MAX_ONET 256
typedef struct emoti_detector emoti_detector;

typedef struct {
    double min_face;      /* smallest face side in pixels, >= 12 (default 40) */
    double threshold[3];  /* P-Net (score >= t), R-Net and O-Net (score > t): 0.6 0.7 0.7 */
    double factor;        /* pyramid scale step, in (0.1, 0.95] (default 0.709) */
    double keep;          /* faces returned when their O-Net score > keep (default 0.9) */
} emoti_detector_params;

typedef struct {
    float x1, y1, x2, y2;   /* box in pixels, float and unrounded like facenet-pytorch's */
    float score;            /* O-Net face probability */
    float landmarks[5][2];  /* (x, y): eyes (left, right in the image), nose, mouth corners */
} emoti_face;

void emoti_detector_params_init(emoti_detector_params *p);
/* Maps a detector container read-only and validates it (general.arch mtcnn). */
emoti_status emoti_detector_open(const char *path, emoti_detector **out);
/* Uses buf in place (64-byte aligned; it must outlive the detector). */
emoti_status emoti_detector_from_memory(const void *buf, size_t size, emoti_detector **out);
void emoti_detector_close(emoti_detector *det);
/* Threads for emoti_detect (default 1). More than 1 needs a build with OpenMP (make OPENMP=1);
 * otherwise EMOTI_ERR_UNSUPPORTED. P-Net's pyramid levels are shared among the threads (R-Net
 * and O-Net run on the calling thread) and merged in level order, so the faces are bitwise the
 * same for any count. On failure the previous count is kept. */
emoti_status emoti_detector_set_threads(emoti_detector *det, int threads);
/* Detects faces in an 8-bit RGB image (stride bytes per row, at most 2^24 pixels) with params
 * (NULL: the defaults). Writes the first min(found, max) faces, largest box area first, to out
 * and sets *n to the number found (which may exceed max). No face: *n = 0 and EMOTI_OK. */
emoti_status emoti_detect(emoti_detector *det, const emoti_detector_params *params,
                          const uint8_t *rgb, int width, int height, size_t stride,
                          emoti_face *out, int max, int *n);
/* Runs the emotion model on one face of a frame as EmotiEffLib does: the crop
 * frame[y1:y2, x1:x2] with the box truncated to integers (toward zero), no margin, then
 * emoti_run_rgb on it. Unlike numpy slicing, a box reaching past the image edge is clipped to
 * the image; a box with nothing inside the image is EMOTI_ERR_ARG. */
emoti_status emoti_run_face(emoti_model *model, const uint8_t *rgb, int width, int height,
                            size_t stride, const emoti_face *face, emoti_result *result,
                            float *embedding);

/* ---- Video frames ----
 * The frames of a video, one at a time in constant memory: a YUV4MPEG2 stream (a .y4m file,
 * or a pipe such as `ffmpeg -i talk.mp4 -f yuv4mpegpipe -pix_fmt yuv420p -`) or a folder of
 * frame images. Other containers (AVI, MP4, Matroska, ...) and Y4M deeper than 8 bits fail
 * with EMOTI_ERR_UNSUPPORTED and a message that ends with the ffmpeg command converting the
 * input into an 8-bit Y4M stream on stdout (a program can add "| program -" to it).
 *
 * Y4M streams are converted to RGB exactly as `ffmpeg -i X -pix_fmt rgb24` converts them on
 * x86 (4:2:0 frames of even height): BT.601, limited range unless the header says
 * XCOLORRANGE=FULL (as ffmpeg writes for yuvj420p, yuvj422p, yuvj444p and -color_range pc;
 * C420jpeg is only the chroma siting), nearest chroma, 4:2:0 / 4:2:2 / 4:4:4 / mono (taken as
 * full range, as ffmpeg does) in 8 bits. */

/* A Y4M stream read from an open FILE. */
typedef struct emoti_y4m emoti_y4m;

/* Reads the stream header from f (which emoti_y4m_close does not close); name is used in
 * messages. */
emoti_status emoti_y4m_open(FILE *f, const char *name, emoti_y4m **out);
/* Decodes the next frame into frame->rgb, which the reader owns (valid until the next call;
 * not for emoti_image_free). Sets *done = 1 at a clean end of stream. A truncated frame or a
 * bad frame header is an error whose message names the frame index (from 0); the stream
 * cannot be resynchronised after it. */
emoti_status emoti_y4m_next(emoti_y4m *y, emoti_image *frame, int *done);
int emoti_y4m_frame_index(const emoti_y4m *y);              /* of the frame last returned, -1 before */
void emoti_y4m_rate(const emoti_y4m *y, int *num, int *den); /* frames/s num/den; 0/0 if unknown */
size_t emoti_y4m_frame_bytes(const emoti_y4m *y);            /* plane bytes per frame */
void emoti_y4m_close(emoti_y4m *y);

/* Frames of one input: a Y4M file, "-" for a Y4M stream on stdin, or a folder. */
typedef struct emoti_frames emoti_frames;

/* One frame's place in its input. */
typedef struct {
    long index;       /* ordinal from 0 (frames that failed to decode count too) */
    long number;      /* folder: the number in the file name, its last run of digits before the
                       * extension (gap/00007.jpg and frame_0007.png: 7), -1 if it has none;
                       * Y4M: index + 1 (frame 0 is 1, as ffmpeg numbers the files of %05d.jpg) */
    const char *file; /* folder: the file name in the folder (valid until emoti_frames_close);
                       * Y4M: NULL */
    double time;      /* seconds from the start of the video, -1 if the rate is unknown. Y4M:
                       * index / rate. Folder where every name has a number: (number - 1) / rate,
                       * or number / rate if some frame is numbered 0 (0-based names), so gaps in
                       * the numbering keep the frames' times; otherwise index / rate. */
} emoti_frame_info;

/* Opens input. A folder holds its frames as .jpg .jpeg .png .ppm .pgm .pnm files (other files
 * and hidden ones are ignored), taken in natural order: runs of digits compare by value, so
 * 9.jpg comes before 10.jpg. */
emoti_status emoti_frames_open(const char *input, emoti_frames **out);
/* The same with decoding limits for every frame (opts may be NULL: the defaults). */
emoti_status emoti_frames_open_opts(const char *input, const emoti_decode_opts *opts,
                                    emoti_frames **out);
/* Decodes the next frame: EMOTI_OK with *done = 0, the frame (owned by the reader: valid until
 * the next call or emoti_frames_close; not for emoti_image_free) and info; EMOTI_OK with
 * *done = 1 at the end (info left as it was); or the error of a frame that cannot be decoded,
 * with info filled for it all the same (to name it).
 * After a bad frame of a folder the next call goes on with the following frame; a Y4M stream
 * is broken for good and every later call fails (see emoti_frames_skippable). info may be NULL. */
emoti_status emoti_frames_next(emoti_frames *frames, emoti_image *frame, emoti_frame_info *info,
                               int *done);
/* 1 if a bad frame can be skipped (folders), 0 if it ends the input (Y4M streams). */
int emoti_frames_skippable(const emoti_frames *frames);
/* Frames in the input, -1 if unknown (a pipe): a folder's image count, a Y4M file's size over
 * its frame size (exact when its frame headers carry no parameters, as ffmpeg writes them). */
long emoti_frames_count(const emoti_frames *frames);
/* The frame rate, frames per second num/den; 0/0 if unknown. A Y4M stream's is its header's
 * (F), a folder has none until emoti_frames_set_rate gives one. */
void emoti_frames_rate(const emoti_frames *frames, int *num, int *den);
/* Sets the rate (num, den > 0), replacing the stream's own; EMOTI_ERR_ARG otherwise. */
emoti_status emoti_frames_set_rate(emoti_frames *frames, int num, int den);
/* The time of the frame at an index from 0 (as emoti_frame_info.time), -1 if unknown: for rows
 * written after their frame (smoothing). */
double emoti_frames_time(const emoti_frames *frames, long index);
/* A folder's frame file name at an index from 0, without decoding it (to check names first);
 * NULL for a Y4M stream or an index out of range. */
const char *emoti_frames_file(const emoti_frames *frames, long index);
void emoti_frames_close(emoti_frames *frames);

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
    int owned;                            /* 1: emoti_head_free releases it (0: caller memory) */
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
/* A head in caller memory (firmware; sizes first, as emoti_model_memory): emoti_head_memory
 * validates the container blob and says the bytes, emoti_head_parse_in builds the head in mem
 * (64-byte aligned; the weights are copied, so blob may go after). Nothing to free:
 * emoti_head_free does nothing to such a head. */
emoti_status emoti_head_memory(const void *blob, size_t size, size_t *bytes);
emoti_status emoti_head_parse_in(const void *blob, size_t size, void *mem, size_t mem_bytes,
                                 emoti_head **out);
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

/* ---- Tracking: faces across frames get stable ids (engine/track) ----
 * Per frame, give the tracker that frame's detections (boxes and scores, e.g. MTCNN's faces);
 * it returns each detection's track id. Ids are 1, 2, 3 ... in the order tracks are confirmed,
 * never reused (not even after emoti_tracker_cut); 0 means "no track".
 *
 * One update, in the manner of ByteTrack (Zhang et al. 2022):
 *   1. every live track predicts its box: constant velocity of the box centre and size, the
 *      velocity an exponential mean (weight 1/2) of the measured per-frame changes, damped by
 *      `damping` for each frame the track has gone without a detection;
 *   2. high-score detections (score >= high_score) are matched to the tracks by the Hungarian
 *      assignment that maximises the summed IoU (predicted box, detection) over the pairs with
 *      IoU >= iou_high;
 *   3. low-score ones (low_score <= score < high_score: a blurred or half-turned face) are
 *      matched the same way, IoU >= iou_low, to the confirmed tracks still unmatched, so that
 *      such a face keeps its track; a low-score detection never starts or confirms a track;
 *   4. a matched track takes the detection's box; an unmatched one is missed: it ends after
 *      more than max_missed consecutive missed frames;
 *   5. each unmatched high-score detection starts a track, tentative (id 0) until it has been
 *      matched on min_hits consecutive frames (then it gets the next id); a tentative track
 *      ends at its first miss.
 * Bounds: at most max_dets detections per frame are read (the first ones: MTCNN gives the
 * largest first; the others get id 0) and at most max_tracks tracks live (a high-score
 * detection with no room gets id 0). Memory is sized at init; an update allocates nothing
 * and its work is O(max_tracks^2 * max_dets) at worst. */
typedef struct {
    float x1, y1, x2, y2; /* box in pixels, x2 > x1, y2 > y1 (others are ignored: id 0) */
    float score;          /* detector confidence in [0, 1] */
} emoti_track_det;

typedef struct {
    float high_score;  /* 0.9: EmotiEffLib keeps MTCNN faces of probability > 0.9 */
    float low_score;   /* 0.5: below, ignored (MTCNN's O-Net threshold 0.7 is above it, so every
                          face it gives under 0.9 goes to the second pass) */
    float iou_high;    /* 0.3: a box shifted by s from its prediction has IoU (w - s) / (w + s):
                          up to half its width off, a face still matches */
    float iou_low;     /* 0.5 (ByteTrack's): low-score detections need a closer match */
    int max_missed;    /* 5: frames a track survives without a detection */
    int min_hits;      /* 1: confirmed at once (2 or more drops one-frame false detections, at
                          the price of the first frames of every face) */
    float damping;     /* 0.8: velocity factor per frame without a detection (0: a missed
                          track stops after one predicted step) */
    int max_tracks;    /* 64: live tracks (1 .. 1024) */
    int max_dets;      /* 256: detections read per frame (1 .. 4096) */
} emoti_tracker_params;

void emoti_tracker_params_init(emoti_tracker_params *p);

typedef struct emoti_tracker emoti_tracker;

/* Bytes a tracker with these parameters needs (0 when they are out of range). */
size_t emoti_tracker_size(const emoti_tracker_params *p);
/* A tracker in caller memory: mem (aligned as malloc aligns, e.g. from malloc) of at least
 * emoti_tracker_size(p) bytes, which the tracker uses until the caller frees it. */
emoti_status emoti_tracker_init(void *mem, size_t size, const emoti_tracker_params *p,
                                emoti_tracker **out);
/* The same in memory of its own (one malloc); emoti_tracker_free releases it. */
emoti_status emoti_tracker_create(const emoti_tracker_params *p, emoti_tracker **out);
void emoti_tracker_free(emoti_tracker *t);

/* One frame: dets[n] (n >= 0; NULL when n is 0); ids[n] gets each detection's track id or 0.
 * Frames without any detection are updates with n = 0 (tracks age). */
emoti_status emoti_tracker_update(emoti_tracker *t, const emoti_track_det *dets, int n,
                                  int64_t *ids);
/* A scene cut: ends every track; the next update starts new tracks with new ids. */
void emoti_tracker_cut(emoti_tracker *t);

typedef struct {
    int64_t id;           /* 0 while tentative */
    float x1, y1, x2, y2; /* the last detection's box, or the prediction while missed */
    float score;          /* the last detection's score */
    int hits, missed;     /* frames matched; consecutive frames missed (0: matched now) */
} emoti_track;
/* The live tracks after the last update, in no particular order; valid until the next call. */
int emoti_tracker_tracks(const emoti_tracker *t, const emoti_track **tracks);
/* The ids of the confirmed tracks that ended in the last update and any cut since (finish
 * their timelines); valid until the next update. */
int emoti_tracker_ended(const emoti_tracker *t, const int64_t **ids);
/* Ids given so far (the last id). */
int64_t emoti_tracker_last_id(const emoti_tracker *t);

/* Scene cuts in RGB frames: the colour histogram (4 levels per channel, 64 bins) of the frame
 * reduced to at most 64 x 64 cell means (each cell the mean of its pixels: noise and small
 * motion barely move it), compared with the previous frame's by the total variation distance
 * (half the L1 distance of the normalised histograms: 0 same colours, 1 none shared). A cut
 * is a distance >= threshold: 0.5 by default, where a shot's frames (camera or face motion,
 * noise) stay under 0.2 and two unrelated shots are above 0.6 (tests/test_tracker.c). */
#define EMOTI_SCENE_BINS 64
typedef struct {
    double threshold;               /* 0.5 */
    double distance;                /* of the last frame to the one before (0 for the first) */
    float hist[EMOTI_SCENE_BINS];   /* the last frame's, normalised */
    int have;                       /* hist holds a frame */
} emoti_scene;
void emoti_scene_init(emoti_scene *s);
/* 1 when frame (interleaved RGB, stride bytes per row) starts a new shot after the previous
 * frame given, else 0 (always 0 for the first); -1 for a bad argument. Keeps this frame's
 * histogram for the next call. Reads every pixel once; allocates nothing. */
int emoti_scene_cut(emoti_scene *s, const uint8_t *rgb, int width, int height, size_t stride);

/* Per-track timelines: one emoti_timeline per track id, created at its first face (and
 * recycled after its track ended), fed the frames of its track only. A track's frames
 * between two faces (missed by the detector while it lived) are pushed without a face when
 * the next face comes, so the timeline gap-fills them as it fills frames without a face;
 * the frames after its last face are not part of the track (no rows). Rows come out with
 * the video frame number (row.frame = the track's first frame + the row's index). Per frame:
 * emoti_track_timelines_end for each id of emoti_tracker_ended, a push per tracked face, then
 * emoti_track_timelines_next until it returns 0 (before the next frame's pushes); at the end,
 * emoti_track_timelines_finish and next until 0. Holds 2 * max_tracks timelines at most (the
 * live tracks and those ended this frame whose rows are not taken yet). */
typedef struct emoti_track_timelines emoti_track_timelines;
/* heads, model and config as for emoti_timeline_create (they must outlive it). */
emoti_status emoti_track_timelines_create(const emoti_head *const *heads, int n_heads,
                                          const emoti_info *model,
                                          const emoti_timeline_config *config, int max_tracks,
                                          emoti_track_timelines **out);
void emoti_track_timelines_free(emoti_track_timelines *tt);
/* Track id's face on frame (frames of one id increase). */
emoti_status emoti_track_timelines_push(emoti_track_timelines *tt, int64_t id, long frame,
                                        const emoti_result *result, const float *embedding);
/* Track id ended (nothing for an id not live): its remaining rows become final (they come
 * from emoti_track_timelines_next after those already waiting). */
emoti_status emoti_track_timelines_end(emoti_track_timelines *tt, int64_t id);
/* Every track ends (end of the video). */
emoti_status emoti_track_timelines_finish(emoti_track_timelines *tt);
/* 1, the track's id and its next final row (pointers valid until the next call on tt), or 0
 * when no row of any track is final. */
int emoti_track_timelines_next(emoti_track_timelines *tt, int64_t *id, emoti_timeline_row *row);

/* A timeline with the heads and settings of every track's (for emoti_timeline_task_info and
 * the row writers' header). */
const emoti_timeline *emoti_track_timelines_template(const emoti_track_timelines *tt);

/* ---- Face pipeline: detect -> track -> crop -> backbone -> per-track timelines ----
 * What `emoti run --faces`, `video --faces` and `extract --faces` do per frame, in one object:
 * MTCNN (emoti_detect), scene cuts (emoti_scene) and the tracker for video, the emotion model
 * on every tracked face's crop (emoti_run_face: the box truncated, clipped to the frame), and
 * optionally one timeline per track (emoti_track_timelines) whose rows come out in frame order,
 * then track id. All buffers are sized at creation (max_faces results and embeddings, the
 * tracker's tables); only the row buffer of the timelines grows, as a centred timeline does:
 * with causal smoothing it stays within (latency + max_missed + 1) frames of tracks.
 * With tracking the detector keeps faces down to the tracker's low_score (0.5), so that its
 * second pass can hold a track through a poor frame; faces that start or confirm no track
 * (tentative ones, low scores left over) are not run. */
typedef struct {
    emoti_detector_params detect;
    emoti_tracker_params track;
    int tracking;           /* 1 (default): video, ids across frames; 0: still images, faces
                               numbered by detection order (largest first) */
    double scene_threshold; /* emoti_scene's cut threshold (0.5); <= 0 leaves the default */
    int max_faces;          /* faces run through the model per frame, largest first (64; up to
                               EMOTI_DETECT_MAX_ONET) */
    int embeddings;         /* keep each face's embedding (extract; timelines always do) */
} emoti_faces_params;

typedef struct {
    int64_t track;          /* track id (tracking), else 0 */
    int index;              /* the face's place in the frame's detections, from 1 */
    emoti_face face;        /* the detection */
    emoti_result result;    /* the model on its crop */
    const float *embedding; /* features floats, or NULL without embeddings */
} emoti_face_result;

/* A row of a track's timeline: the frame, the track, the box (the detection; on a frame where
 * the track's face was missed, row.filled = 1, the tracker's predicted box and score 0). */
typedef struct {
    long frame; /* from 0, in the order frames were given */
    int64_t track;
    float x1, y1, x2, y2, score;
    emoti_timeline_row row; /* row.frame == frame */
} emoti_face_row;

typedef struct emoti_faces emoti_faces;
void emoti_faces_params_init(emoti_faces_params *p);
/* det and model must outlive the pipeline; params NULL: the defaults. */
emoti_status emoti_faces_create(emoti_detector *det, emoti_model *model,
                                const emoti_faces_params *params, emoti_faces **out);
void emoti_faces_free(emoti_faces *f);
/* Turns on per-track timelines (tracking only; heads, config as emoti_timeline_create). */
emoti_status emoti_faces_timelines(emoti_faces *f, const emoti_head *const *heads, int n_heads,
                                   const emoti_timeline_config *config);
/* The timelines' template (NULL without timelines): header and task information. */
const emoti_timeline *emoti_faces_template(const emoti_faces *f);
/* One frame (rgb NULL: a frame that could not be decoded, tracks age): *faces gets the faces
 * run (valid until the next call), *n of them; by track id with tracking, else by detection
 * order. With timelines, take the rows that became final (emoti_faces_next) afterwards. */
emoti_status emoti_faces_frame(emoti_faces *f, const uint8_t *rgb, int width, int height,
                               size_t stride, const emoti_face_result **faces, int *n);
/* End of the video: every track ends, every row becomes final. */
emoti_status emoti_faces_finish(emoti_faces *f);
/* 1 and the next final row in (frame, track) order (pointers valid until the next call on f),
 * or 0 when the next row is not final yet (or none is left after finish). */
int emoti_faces_next(emoti_faces *f, emoti_face_row *row);
/* Frames given so far; tracks started so far (the last id). */
long emoti_faces_frames(const emoti_faces *f);
int64_t emoti_faces_tracks(const emoti_faces *f);

/* ---- Gap filling and smoothing over whole sequences ---- */
/* Per-video post-processing (docs/PIPELINE.md section 4): gap filling for frames without a face and
 * box smoothing, offline and causal. Sequences are row-major [n][dim] doubles. */


/* Fills the rows whose valid[i] is 0: before the first valid row, a copy of it; after the last,
 * a copy of it; between valid rows p < f < q, linear interpolation
 * (1 - w) * seq[p] + w * seq[q], w = (f - p) / (q - p). With paper != 0 the weights are the
 * authors' notebook's (reversed): w * seq[p] + (1 - w) * seq[q]. Returns the number of valid
 * rows; with none, seq is left as it is. */
size_t emoti_fill_gaps(double *seq, const unsigned char *valid, size_t n, int dim, int paper);

/* Centred box of 2k+1 rows truncated at both ends:
 * out[i] = mean(in[max(i-k, 0) .. min(i+k, n-1)]). k = 0 copies. out may equal in.
 * Returns 0 when out of memory (out untouched). */
int emoti_smooth_box(const double *in, double *out, size_t n, int dim, int k);

/* The causal family: the window of 2k+1 rows ending `lag` rows after row i,
 * out[i] = mean(in[max(i+lag-2k, 0) .. min(i+lag, n-1)]), 0 <= lag <= k. A live stream gets row
 * i's value `lag` frames after frame i arrived: lag = 0 is the trailing window (no latency, the
 * output trails the signal by k frames on average), lag = k is the centred box above (latency k).
 * out may equal in. Returns 0 when out of memory or lag is out of range. */
int emoti_smooth_causal(const double *in, double *out, size_t n, int dim, int k, int lag);

/* The same as a stream: push one row per frame; each push returns (in out) the smoothed row of
 * frame (pushed - 1 - lag) when that frame is ready; flush emits the last lag rows at the end. */
typedef struct {
    int dim, k, lag, width;
    size_t pushed, flushed;
    double *ring; /* the last `width` rows */
} emoti_smoother;
int emoti_smoother_init(emoti_smoother *s, int dim, int k, int lag); /* 0: bad args / no memory */
/* Returns 1 and fills out when a smoothed row is ready (from the lag-th push on), else 0. */
int emoti_smoother_push(emoti_smoother *s, const double *row, double *out);
/* After the last push: returns 1 and fills out with the next pending row, 0 when none is left. */
int emoti_smoother_flush(emoti_smoother *s, double *out);
void emoti_smoother_free(emoti_smoother *s);

/* ---- Combining and deciding ---- */
/* The per-frame steps between gap filling and smoothing, and the decisions after it
 * (docs/PIPELINE.md 4.3, 4.4, 4.6). The timeline and `emoti tune` share them. */



/* A weighted mean over sources: acc (zeroed first) += w * x for every source in order, then
 * emoti_blend_finish divides by the summed weights (nothing when it is 0). */
void emoti_blend_add(double *acc, const double *x, size_t n, double w);
void emoti_blend_finish(double *acc, size_t n, double wsum);

/* The 8 AffectNet logits of one backbone output row in Aff-Wild2 class order. */
void emoti_affwild_logits(const float *outputs, float *mapped);
/* Unless the heads' probabilities p[8] call the frame Other: p = w * logits + (1 - w) * p. */
void emoti_mix_pretrained_logits(double *p, const double *logits, double w);

/* AU thresholds of k outputs: fixed when >= 0, else the head's tuned ones, else 0.5. */
void emoti_au_thresholds(const emoti_head *h, int k, double fixed, double *thr);
/* A task's frame decisions from (smoothed) values: EXPR argmax into out[0], AU p >= t per AU
 * (thresholds NULL: 0.5), nothing for VA. */
void emoti_decide(int task, const double *vals, int k, const double *thresholds, int *out);

/* ---- npy arrays ---- */
/* Reading and writing 2-D float32 .npy files (numpy format 1.0/2.0/3.0, little-endian '<f4',
 * C order), as `emoti extract` writes them. */


/* Reads a [rows, cols] (or [rows], taken as cols = 1) float32 array into malloc'd memory. */
emoti_status emoti_npy_read(const char *path, float **data, long *rows, int *cols);
/* The same from an open stream positioned at the array; name is the file name for messages. */
emoti_status emoti_npy_fread(FILE *f, const char *name, float **data, long *rows, int *cols);

/* The 128-byte header of a [rows, cols] '<f4' array (format 1.0): for writers that stream rows
 * after it (rows must be known, or the header rewritten at the end). Returns its size. */
#define EMOTI_NPY_HEADER 128
size_t emoti_npy_header(unsigned char out[EMOTI_NPY_HEADER], long rows, int cols);

/* Writes n floats as '<f4' data (little-endian on every host) after such a header; returns
 * how many were written, as fwrite does. */
size_t emoti_npy_fwrite(FILE *f, const float *data, size_t n);

/* Writes a [rows, cols] float32 array through PATH.part, renamed into place on success. */
emoti_status emoti_npy_write(const char *path, const float *data, long rows, int cols);

/* ---- Aff-Wild2 annotations and extract index files ---- */
/* Aff-Wild2 annotation folders (docs/PIPELINE.md section 5) and `emoti extract` index files.
 *
 * An annotation file `<video>.txt` has a header line, then one line per frame: EXPR one integer
 * (0..7, -1 invalid), VA `v,a` (in [-1, 1], -5 invalid), AU twelve 0/1 (-1 invalid; any -1
 * invalidates the frame). Line i + 1 of the file (i >= 1) is frame i, the face crop
 * `<video>/%05d.jpg` numbered i. Errors name the file and line. */



typedef struct {
    char *video;          /* file name without .txt */
    char *path;
    int n_frames, cols;   /* frame lines; values per line (1, 2 or 12) */
    float *values;        /* [n_frames][cols] */
    unsigned char *valid; /* [n_frames] */
} emoti_annot_video;

typedef struct {
    int task; /* EMOTI_TASK_* (heads.h) */
    int n;
    emoti_annot_video *v; /* sorted by video name */
} emoti_annot;

/* Values per frame line of a task: 2, 1, 12. */
int emoti_annot_cols(int task);
emoti_status emoti_annot_read_file(const char *path, int task, emoti_annot_video *out);
/* The same from an open stream; path is the name that messages and out->video come from. */
emoti_status emoti_annot_fread(FILE *f, const char *path, int task, emoti_annot_video *out);
/* Reads every *.txt in dir (error if none). */
emoti_status emoti_annot_read_dir(const char *dir, int task, emoti_annot *out);
const emoti_annot_video *emoti_annot_find(const emoti_annot *a, const char *video);
void emoti_annot_free(emoti_annot *a);
void emoti_annot_video_free(emoti_annot_video *v);

/* The frame number of a key "<video>/<digits>.<ext>": the digits' value (>= 1), or -1. */
long emoti_key_frame(const char *key);

/* OUT.index.csv of `emoti extract`: row,key,video,frame,source. */
typedef struct {
    long n;
    char **key, **video; /* n each */
    long *frame;         /* frame number from the key's file name (1-based, Aff-Wild2 style) */
} emoti_index;
emoti_status emoti_index_read(const char *path, emoti_index *out);
emoti_status emoti_index_fread(FILE *f, const char *path, emoti_index *out); /* open stream */
void emoti_index_free(emoti_index *x);

/* ---- ABAW metrics ---- */
/* The ABAW metrics (docs/PIPELINE.md section 5). Conventions where a ratio is 0/0: CCC is 0 (both
 * series constant and equal), F1 is 0 (scikit-learn's zero_division default). */


/* Concordance correlation coefficient with population statistics (two-pass, in double):
 * 2 cov(x,y) / (var x + var y + (mean x - mean y)^2). n = 0 gives 0. */
double emoti_ccc(const double *x, const double *y, size_t n);

/* Macro F1 over classes 0..n_classes-1 (scikit-learn f1_score(average='macro',
 * labels=range(n_classes))). Labels outside 0..n_classes-1 count as no class. per_class
 * (n_classes values) may be NULL. */
double emoti_f1_macro(const int *truth, const int *pred, size_t n, int n_classes,
                      double *per_class);

/* Binary F1 of the positive class 1 (f1_score(average='binary')); any non-1 value is negative. */
double emoti_f1_binary(const int *truth, const int *pred, size_t n);

/* Mean over n_aus columns of the binary F1; truth and pred are row-major [n][n_aus].
 * per_au (n_aus values) may be NULL. */
double emoti_f1_au_mean(const int *truth, const int *pred, size_t n, int n_aus, double *per_au);

/* Binary F1 of column j of row-major [n][stride] ints. */
double emoti_f1_binary_strided(const int *truth, const int *pred, size_t n, size_t stride);

/* ---- Training heads ---- */
/* Training heads on frozen features (docs/PIPELINE.md section 3): the paper's losses with their
 * gradients, Adam, Keras-style initialisation; single-threaded, seeded and deterministic. */



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

/* ---- Extract outputs joined with annotations (fit, tune, predict, eval) ---- */
/* PREFIX.index.csv + PREFIX.features.npy and/or PREFIX.outputs.npy. */
typedef struct {
    char *prefix;
    emoti_index idx;
    float *feat, *outs;
    int feat_dim, out_dim;
} emoti_features;
emoti_status emoti_features_load(emoti_features *s, const char *prefix, int need_feat, int need_outs);
void emoti_features_free(emoti_features *s);
/* The matrix a head reads ([idx.n][dim]), loaded when needed; an error when of the wrong width. */
emoti_status emoti_features_input(emoti_features *s, const emoti_head *h, const float **x);

/* Labelled rows: the frames of s whose video has an annotation file and whose label is valid. */
typedef struct {
    long *rows;
    size_t n;
    int *cls;      /* EXPR */
    float *y;      /* VA [n][2], AU [n][12] */
    long unannotated, invalid;
} emoti_labelled;
emoti_status emoti_join_labels(const emoti_features *s, const emoti_annot *a, emoti_labelled *out);
void emoti_labelled_free(emoti_labelled *l);

/* One video as a frame sequence 1..n_frames; row[f] is the feature row of frame f+1 or -1. */
typedef struct {
    char *name;
    int n_frames;
    long *row;
    const emoti_annot_video *annot; /* NULL without annotations */
} emoti_video_seq;
/* With annotations: their videos (all of them, frame counts from the files; frames beyond them
 * are an error). Without: the index's videos, frames up to the last one extracted. */
emoti_status emoti_videos_build(const emoti_features *s, const emoti_annot *a, emoti_video_seq **out, int *n);
void emoti_videos_free(emoti_video_seq *v, int n);

/* Per-frame values of one video: rows' values gap-filled into seq [n_frames][k]. Returns the
 * number of frames with a face. */
size_t emoti_video_fill(const emoti_video_seq *v, const float *rowvals, int k, int paper, double *seq);

/* Per-row outputs of head h on set s: *out malloc'd [idx.n][outputs]. */
emoti_status emoti_head_rows(const emoti_head *h, emoti_features *s, float **out);
/* ABAW submission header for a task ("image_location,..."), given the output labels. */
void emoti_abaw_header(FILE *f, int task, char *const *labels, int k);

/* -w LIST: n comma-separated weights >= 0 into w (exits with a usage error otherwise). */
void parse_weights(const char *cmd, const char *s, double *w, int n);

/* ---- Writers: rows for programs (hosted builds) ---- */
enum { EMOTI_FORMAT_TEXT = 0, EMOTI_FORMAT_CSV = 1, EMOTI_FORMAT_JSONL = 2 };

/* What identifies a row in the output: the frame's index and file (the input's name for a
 * stream). */
typedef struct {
    long frame;
    const char *file;
    double time; /* seconds (emoti_frame_info.time); written with EMOTI_ROWS_TIME */
} emoti_row_key;
/* Writer flags: AU probabilities instead of 0/1 decisions; a `time` column (last in CSV), for
 * inputs whose frame rate is known. */
enum { EMOTI_ROWS_AU_VALUES = 1, EMOTI_ROWS_TIME = 2 };

/* One CSV field, quoted only when it needs it; one JSON string literal; a name in text for
 * people, its control characters escaped as in JSON (\u001b). */
void emoti_csv_field(FILE *f, const char *s);
void emoti_json_string(FILE *f, const char *s);
void emoti_text_field(FILE *f, const char *s);
/* A timeline's rows: frame, file, filled, then per task on: valence, arousal; expression and
 * p_<class> per class; per AU 0/1 (EMOTI_ROWS_AU_VALUES: its probability, columns p_<AU>); then
 * time with EMOTI_ROWS_TIME. The header is for CSV only (nothing for JSON lines). */
void emoti_timeline_write_header(FILE *f, const emoti_timeline *t, int format, int flags);
void emoti_timeline_write_row(FILE *f, const emoti_timeline_row *row, emoti_row_key key, int format,
                              int flags);

/* Face rows (emoti_faces_next): frame, time (empty / null when time < 0), track, x1, y1, x2,
 * y2, score, then the timeline row's columns from filled on (as above). */
void emoti_face_rows_header(FILE *f, const emoti_timeline *t, int format, int flags);
void emoti_face_row_write(FILE *f, const emoti_face_row *row, double time, int format, int flags);

/* ---- Input files (hosted builds) ---- */
/* Every reader of a named file opens it here: a regular file only (a folder, FIFO, device or
 * socket is refused at once, never blocking: "PATH: not a regular file (a FIFO)"), of at most
 * max bytes (0: any size). *size (when not NULL) gets its size. */
emoti_status emoti_file_open(const char *path, size_t max, FILE **f, size_t *size);
/* The whole of PATH, or of stdin for "-" (a stream: at most max bytes, then an error), into
 * *buf: 64-byte aligned, with at least one spare byte after *size; free() it. */
emoti_status emoti_file_read(const char *path, size_t max, unsigned char **buf, size_t *size);

/* ---- Output files: written whole or not at all (hosted builds) ---- */
/* Writing goes to a temporary PATH.XXXXXX.part of a unique name, created exclusively in PATH's
 * folder (never through a symlink, never shared with another run; permissions 0666 less the
 * umask); commit renames it over PATH once every byte is written and synced, so a reader never
 * sees half a file and a failure (disk full, a file-size limit, a kill) leaves PATH as it was. */
typedef struct {
    FILE *f;           /* write here between open and commit */
    char *path, *part; /* the target, the temporary */
    int slot;          /* its entry for emoti_outfile_remove_all (+ 1; 0: none) */
} emoti_outfile;
/* Fails with the real reason: "PATH: cannot write (Permission denied)", "PATH: is a directory". */
emoti_status emoti_outfile_open(emoti_outfile *o, const char *path);
/* Checks every write, syncs, closes, renames; on any failure removes the temporary ("PATH:
 * cannot write (reason)"). */
emoti_status emoti_outfile_commit(emoti_outfile *o);
/* The files of one result, committed together or not at all: all are checked and synced first
 * and, on any failure, all removed with every PATH left as it was; then renamed into place while
 * holding an exclusive flock on the first one's folder, so that of two runs committing sets on
 * one prefix, the files that stay are all one run's. Meant for files of one folder. Only a
 * rename failing midway (after every write succeeded: a target turned into a folder) leaves the
 * files before it renamed. Closes every file (each is committed or removed); a file never
 * opened fails the set (EMOTI_ERR_ARG). */
emoti_status emoti_outfile_commit_set(emoti_outfile *files, int n);
/* Closes and removes the temporary (PATH untouched); nothing for a zeroed or finished one. */
void emoti_outfile_abort(emoti_outfile *o);
/* Whether PATH could be written (creates and removes a temporary): to fail before long work. */
emoti_status emoti_outfile_probe(const char *path);
/* Removes every temporary open in this process. Async-signal-safe: for a SIGINT/SIGTERM
 * handler, which then re-raises the signal (the emoti CLI does so). */
void emoti_outfile_remove_all(void);

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
    double fps;            /* > 0: the axis is in seconds (frame index / fps), else frames */
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
/* Writes the SVG whole or not at all (emoti_outfile). */
emoti_status emoti_plot_write(const char *path, const emoti_plot *p);

/* ---- Drawing faces (hosted builds: the writer) ----
 * Each face's box (1 pixel wide; 2 for images over 640 pixels on a side) and its 5 landmarks
 * (3x3 or 5x5 dots) drawn into rgb in place, face k in the k-th of 6 colours (green, magenta,
 * cyan, yellow, orange, blue, then again); parts outside the image are clipped. */
void emoti_draw_faces(uint8_t *rgb, int width, int height, size_t stride, const emoti_face *faces,
                      int n);
/* rgb (rows stride bytes apart) as a binary 8-bit PPM (P6), whole or not at all (emoti_outfile). */
emoti_status emoti_ppm_write(const char *path, const uint8_t *rgb, int width, int height,
                             size_t stride);

#ifdef __cplusplus
}
#endif
#endif
