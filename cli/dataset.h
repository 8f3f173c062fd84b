/* Shared by fit, tune, predict and eval: `emoti extract` outputs joined with Aff-Wild2
 * annotation folders, per-video frame sequences, head outputs, post-processing, ABAW files. */
#ifndef EMOTI_CLI_DATASET_H
#define EMOTI_CLI_DATASET_H

#include <stdio.h>

#include "annot.h"
#include "heads.h"

/* PREFIX.index.csv + PREFIX.features.npy and/or PREFIX.outputs.npy. */
typedef struct {
    char *prefix;
    emoti_index idx;
    float *feat, *outs;
    int feat_dim, out_dim;
} feat_set;
/* 0 (reported on stderr) on failure. */
int feat_set_load(feat_set *s, const char *prefix, int need_feat, int need_outs);
void feat_set_free(feat_set *s);
/* The matrix a head reads ([idx.n][dim]); NULL (reported) when missing or of the wrong width. */
const float *feat_set_input(feat_set *s, const emoti_head *h);

/* Labelled rows: the frames of s whose video has an annotation file and whose label is valid. */
typedef struct {
    long *rows;
    size_t n;
    int *cls;      /* EXPR */
    float *y;      /* VA [n][2], AU [n][12] */
    long unannotated, invalid;
} labelled;
int join_labels(const feat_set *s, const emoti_annot *a, labelled *out);
void labelled_free(labelled *l);

/* One video as a frame sequence 1..n_frames; row[f] is the feature row of frame f+1 or -1. */
typedef struct {
    char *name;
    int n_frames;
    long *row;
    const emoti_annot_video *annot; /* NULL without annotations */
} video_seq;
/* With annotations: their videos (all of them, frame counts from the files; frames beyond them
 * are an error). Without: the index's videos, frames up to the last one extracted. */
int build_videos(const feat_set *s, const emoti_annot *a, video_seq **out, int *n);
void videos_free(video_seq *v, int n);

/* Per-frame values of one video: rows' values gap-filled into seq [n_frames][k]. Returns the
 * number of frames with a face. */
size_t video_fill(const video_seq *v, const float *rowvals, int k, int paper, double *seq);

/* Ties a path to a task: "va", "expr", "au". Exits with a usage error on anything else. */
int parse_task(const char *cmd, const char *s);
int parse_int_arg(const char *cmd, const char *opt, const char *v, int lo, int hi);
double parse_double_arg(const char *cmd, const char *opt, const char *v, double lo, double hi);


/* Per-row outputs of head h on set s: malloc'd [idx.n][outputs]; NULL (reported) on failure. */
float *head_rows(const emoti_head *h, feat_set *s);
/* ABAW submission header for a task ("image_location,..."), given the output labels. */
void write_abaw_header(FILE *f, int task, char *const *labels, int k);

/* -w LIST: n comma-separated weights >= 0 into w (exits with a usage error otherwise). */
void parse_weights(const char *cmd, const char *s, double *w, int n);
#endif
