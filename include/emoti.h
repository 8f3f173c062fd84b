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
/* A folder's frame file name at an index from 0, without decoding it (to check names first);
 * NULL for a Y4M stream or an index out of range. */
const char *emoti_frames_file(const emoti_frames *frames, long index);
void emoti_frames_close(emoti_frames *frames);

#ifdef __cplusplus
}
#endif
#endif
