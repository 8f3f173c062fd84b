/* emoti video --heads: frames -> backbone -> heads -> the per-video post-processing of `emoti
 * predict` (gap filling, blends, pre-trained modes, box smoothing, decisions) -> one row per
 * frame, in one pass; --causal streams the rows, --plot draws them. */
#ifndef EMOTI_CLI_VIDEOHEADS_H
#define EMOTI_CLI_VIDEOHEADS_H

#include "cli.h"

#define VH_MAX_HEADS 16

typedef struct {
    const char *heads[VH_MAX_HEADS];
    char *lists[VH_MAX_HEADS]; /* owned copies of the -H values, split at commas */
    int n_heads, n_lists;
    const char *weights_s;     /* -w LIST; weights[] once checked (default 1 each) */
    double weights[VH_MAX_HEADS];
    int k, lag;                /* -1: the heads' tuned k; -1: the centred box (no --causal) */
    int paper, values, pre_va;
    double pre_w, threshold;   /* -1: not given */
    const char *plot;
    const char *needs_heads;   /* the first option given that only makes sense with heads */
    const char *needs_mode;    /* the first one that needs heads, --pretrained-va or -k */
    face_opts faces;           /* --faces: a timeline per face track */
} vh_opts;

void vh_opts_init(vh_opts *v);
void vh_opts_free(vh_opts *v);
/* Consumes argv[*i] (and its value) if it is one of the options below; 0 if it is not. */
int vh_opts_parse(vh_opts *v, int argc, char **argv, int *i);
/* Heads mode is on (heads given, --pretrained-va, -k or --faces). */
int vh_active(const vh_opts *v);
/* Usage errors of the combination (exits with EXIT_USAGE); fills v->weights. */
void vh_opts_check(vh_opts *v, const infer_opts *o);

/* Runs INPUT through the model and the heads; the exit status. */
int video_heads(const infer_opts *o, const vh_opts *v, const char *input);

#define VIDEO_HEADS_HELP                                                                     \
    "Heads: valence-arousal, expression (Aff-Wild2's 8 classes: Neutral ... Other) and action\n" \
    "units per frame, post-processed per video as `emoti predict` does (same numbers as\n"    \
    "extract + predict on the same frames):\n"                                               \
    "  -H, --heads FILE[,FILE...]  head containers (emoti fit/tune, tools/export_head.py) on\n" \
    "                       this model's embedding or outputs; repeat -H or list with commas;\n" \
    "                       heads of one task are blended (weighted mean of their outputs)\n" \
    "  -w, --weights LIST   blend weights, one per head in order (default equal)\n"          \
    "  -k, --smooth K       box half-width for every task (default: each head's tuned k)\n"  \
    "      --causal LAG     live mode: each row is the mean of the 2k+1 frames ending LAG\n"   \
    "                       frames after its frame, written as soon as that frame arrives:\n" \
    "                       latency LAG frames (0 = trailing window, no latency; a task whose\n" \
    "                       k is smaller uses LAG = k, its centred box). Without --causal the\n" \
    "                       whole input is read first, then smoothed with the centred box of\n" \
    "                       2k+1 frames truncated at the ends\n"                            \
    "      --paper-interp   the notebook's reversed gap-filling weights\n"                   \
    "      --threshold T    one threshold for every AU (default: the AU head's, as tuned)\n" \
    "      --values         AU probabilities (p_AU1, ...) instead of 0/1\n"                   \
    "      --pretrained-logits W  EXPR: frames the heads do not call Other get W * the\n"    \
    "                       model's AffectNet logits (Aff-Wild2 order) + (1-W) * probabilities\n" \
    "      --pretrained-va  VA from a multi-task model's own valence/arousal (no VA head)\n"  \
    "      --plot OUT.svg   valence and arousal over time, the expression and AU timelines;\n" \
    "                       written (OUT.svg.part, renamed) once every frame has its row\n"  \
    "                       (not when a stream breaks off)\n"                                \
    "Rows (csv, or jsonl with -f jsonl): frame, file, filled, then per task given: valence,\n" \
    "arousal; expression (the most probable class) and p_<class> for each class; 0/1 per AU.\n" \
    "A frame that fails to decode is reported, gets filled = 1 and values filled from its\n" \
    "neighbours (copied at the ends, linear in between, as predict fills frames without a\n" \
    "face); the exit status is then 1. In live mode such a frame waits for the next good one.\n" \
    "Faces (--faces, -d, --min-face): MTCNN on every frame, tracks across frames (ByteTrack-\n" \
    "style, new tracks after a scene cut) and one timeline per track, on each face's crop\n" \
    "(without -H or -k: -k 0, the model's own outputs unsmoothed). One row per (frame, track),\n" \
    "in frame order then track id: frame,time,track,x1,y1,x2,y2,score,filled, then the columns\n" \
    "above (time empty without a frame rate). A frame where the track's face was missed while\n" \
    "the track lived (up to 5 frames) has filled = 1, the tracker's predicted box and score 0.\n" \
    "A video without any face gives the header alone and a note on stderr (exit status 0).\n" \
    "--plot OUT.svg draws one plot per track: OUT-track1.svg, OUT-track2.svg, ...\n"

#endif
