/* Shared pieces of the emoti command line: options, model opening, result writers. */
#ifndef EMOTI_CLI_H
#define EMOTI_CLI_H

#include <stdio.h>

#include "emoti.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Without -m the model is $EMOTI_MODEL, else ./DEFAULT_MODEL, else INSTALLED_MODEL (the
 * folder `make install` fills; the Makefile sets EMOTI_MODEL_DIR from PREFIX). */
#define DEFAULT_MODEL_NAME "enet_b0_8_best_vgaf.emoti"
#define DEFAULT_MODEL "weights/" DEFAULT_MODEL_NAME
#ifndef EMOTI_MODEL_DIR
#define EMOTI_MODEL_DIR "/usr/local/share/emoti/models"
#endif
#define INSTALLED_MODEL EMOTI_MODEL_DIR "/" DEFAULT_MODEL_NAME
/* The face detector (tools/export.py --mtcnn) is found the same way, from $EMOTI_DETECTOR. */
#define DEFAULT_DETECTOR_NAME "mtcnn.emoti"
#define DEFAULT_DETECTOR "weights/" DEFAULT_DETECTOR_NAME
#define INSTALLED_DETECTOR EMOTI_MODEL_DIR "/" DEFAULT_DETECTOR_NAME
#define MODEL_OPT_HELP                                                                     \
    "  -m, --model FILE     converted model (default: $EMOTI_MODEL, else ./" DEFAULT_MODEL ",\n" \
    "                       else " INSTALLED_MODEL ")\n"

/* Options every inference command takes. */
typedef struct {
    const char *model;
    int format, embeddings;
    int threads; /* 0: $EMOTI_THREADS or 1 */
    int fps_num, fps_den; /* video --fps: the frame rate (replaces a stream's), 0 if not given */
    int time;             /* rows carry a time column: the input's frame rate is known */
    emoti_decode_opts decode; /* --max-pixels */
} infer_opts;

/* Prints "emoti: message (try 'emoti CMD --help')" and exits with EXIT_USAGE. */
_Noreturn void cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "emoti: message" as one line (control characters escaped, as in text output). */
void cli_say(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

void infer_opts_init(infer_opts *o);
/* Consumes argv[*i] (and its value) if it is one of -m/-f/-e/-t/--max-pixels; returns 0 if it
 * is not. */
int infer_opts_parse(infer_opts *o, const char *cmd, int argc, char **argv, int *i);
#define INFER_OPTS_HELP                                                                  \
    MODEL_OPT_HELP                                                                       \
    "  -f, --format FMT     text, csv or jsonl\n"                                        \
    "  -e, --embeddings     also print the embedding (csv/jsonl)\n"                     \
    "  -t, --threads N      threads (default $EMOTI_THREADS, else 1; needs make OPENMP=1)\n" \
    MAX_PIXELS_HELP
#define MAX_PIXELS_HELP                                                                  \
    "      --max-pixels N   largest image or frame, in pixels (default 16777216 = 4096^2)\n"

/* The thread count: -t, else $EMOTI_THREADS, else 1. */
int cli_threads(const infer_opts *o);
/* Opens the model and sets its threads, printing the library's message on failure. */
int cli_open_model(const infer_opts *o, emoti_model **m);
/* The model to use without -m (never NULL); if none of the places exists, a placeholder that
 * default_model_missing recognises. */
const char *default_model(void);
/* 1 if model is that placeholder, after saying on stderr where it looked and how to get models. */
int default_model_missing(const char *model);
/* The same for the detector ($EMOTI_DETECTOR, ./DEFAULT_DETECTOR, INSTALLED_DETECTOR). */
const char *default_detector(void);
int default_detector_missing(const char *det);

/* The model's own rows (run, video without -H / -k): text, CSV (header once) or JSON lines;
 * key.frame -1 leaves the frame out, o->time adds the time. */
void write_header(const infer_opts *o, const emoti_info *in, int with_frame);
void write_row(const infer_opts *o, const emoti_info *in, emoti_row_key key, const emoti_result *r,
               const float *emb);

/* Detected faces, one row each: the CSV header, then per face the file, its number from 1, the
 * box, the score and the five landmarks (fmt EMOTI_FORMAT_CSV or _JSONL); face NULL writes the
 * row of an image without a face (face 0, the other fields empty / absent). */
void write_face_header(void);
void write_face_row(int fmt, const char *file, int index, const emoti_face *face);

/* --faces, -d/--detector FILE, --min-face N (run, video, extract). */
typedef struct {
    int on;
    const char *detector; /* NULL: default_detector() */
    double min_face;      /* 0: the detector's default (40) */
    const char *first;    /* the first of -d / --min-face given (they need --faces) */
} face_opts;
#define FACE_OPTS_HELP                                                                     \
    "      --faces          find the faces (MTCNN) and run the model on each crop\n"          \
    "  -d, --detector FILE  with --faces: converted detector (as for emoti detect;\n"         \
    "                       default: $EMOTI_DETECTOR, else ./" DEFAULT_DETECTOR ",\n"         \
    "                       else " INSTALLED_DETECTOR ")\n"                                  \
    "      --min-face N     with --faces: smallest face side in pixels (default 40)\n"
/* Consumes argv[*i] (and its value) if it is one of those; 0 if not. */
int face_opts_parse(face_opts *f, const char *cmd, int argc, char **argv, int *i);
/* A usage error for -d / --min-face without --faces. */
void face_opts_check(const face_opts *f, const char *cmd);
/* Opens the detector at path (NULL: default_detector()) with threads, printing where it looked
 * or the library's message on failure (0, *det NULL). */
int cli_open_detector(const char *path, int threads, emoti_detector **det);
/* Opens the detector (threads) and a face pipeline on m (tracking: video; embeddings: keep
 * them), printing the library's message on failure (0). cli_close_faces takes what was opened. */
int cli_open_faces(const face_opts *f, emoti_model *m, int threads, int tracking, int embeddings,
                   emoti_detector **det, emoti_faces **fp);
void cli_close_faces(emoti_detector *det, emoti_faces *fp);

/* run --faces: the face before the model's columns (file,face,x1,y1,x2,y2,score,label,...);
 * write_noface_row: an image without a face (face 0, the other fields empty), as detect. */
void write_face_result_header(const infer_opts *o, const emoti_info *in);
void write_face_result(const infer_opts *o, const emoti_info *in, const char *file,
                       const emoti_face_result *fr);
void write_noface_row(const infer_opts *o, const emoti_info *in, const char *file);

/* Opens input (emoti_frames_open), printing the library's message on failure; for an input
 * that is not 8-bit Y4M it ends with "| reader", reader being how to pipe into this command
 * (e.g. "emoti video -"). */
int cli_frames_open(const char *input, const char *reader, const emoti_decode_opts *decode,
                    emoti_frames **s);
/* --fps (when given) onto s; then its frame rate in frames/s, 0 if unknown (rows get a time
 * column when it is known). */
double cli_frames_rate(emoti_frames *s, const infer_opts *o);
/* --fps RATE: "25", "29.97" or "30000/1001" into num/den (a usage error otherwise). */
void parse_rate(const char *cmd, const char *v, int *num, int *den);
/* Next frame of s, its key (the ordinal index and the file name, or input for a stream):
 * 1 = got one, 0 = end, -1 = a bad frame (reported; key and info name it; with
 * emoti_frames_skippable, go on). */
int cli_frames_next(emoti_frames *s, const char *input, emoti_image *frame, emoti_frame_info *info,
                    emoti_row_key *key);
double seconds(void);
/* "frames 120/900  24.3 fps  ETA 0:32" on stderr, redrawn at most 5 times a second. */
void progress(int done, long total, double start, double *last, int final);

/* Option values (cli/args.c); each exits with a usage error on a bad value. */
int parse_task(const char *cmd, const char *s); /* "va", "expr", "au" */
int parse_int_arg(const char *cmd, const char *opt, const char *v, int lo, int hi);
double parse_double_arg(const char *cmd, const char *opt, const char *v, double lo, double hi);
/* -w LIST: n comma-separated weights >= 0 into w. */
void parse_weights(const char *cmd, const char *s, double *w, int n);
/* 1 when st is EMOTI_OK; else prints "emoti: <the library's message>" and returns 0. */
int cli_ok(emoti_status st);

int cmd_run(int argc, char **argv);
int cmd_video(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_detect(int argc, char **argv);

#endif
