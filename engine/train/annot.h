/* Aff-Wild2 annotation folders (docs/PIPELINE.md section 5) and `emoti extract` index files.
 *
 * An annotation file `<video>.txt` has a header line, then one line per frame: EXPR one integer
 * (0..7, -1 invalid), VA `v,a` (in [-1, 1], -5 invalid), AU twelve 0/1 (-1 invalid; any -1
 * invalidates the frame). Line i + 1 of the file (i >= 1) is frame i, the face crop
 * `<video>/%05d.jpg` numbered i. Errors name the file and line. */
#ifndef EMOTI_ANNOT_H
#define EMOTI_ANNOT_H

#include <stddef.h>

#include "emoti.h"

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
void emoti_index_free(emoti_index *x);

#endif
