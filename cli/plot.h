/* The SVG of `emoti video --heads ... --plot OUT.svg`, written by hand (no library): valence and
 * arousal over time, the expression timeline and the AU timeline, on one frame axis. */
#ifndef EMOTI_CLI_PLOT_H
#define EMOTI_CLI_PLOT_H

#include <stddef.h>
#include <stdint.h>

#define PLOT_MAX_CLASSES 64

typedef struct {
    /* What to draw, set before the first plot_add; a count of 0 leaves that panel out. */
    int has_va, n_classes, n_aus;
    const char *const *class_labels, *const *au_labels;
    const char *title, *subtitle;
    /* One entry per frame. */
    size_t n, cap;
    float *va;             /* [n][2] */
    unsigned char *cls;    /* [n] expression class */
    uint64_t *aus;         /* [n] bit c: AU c active */
    unsigned char *filled; /* [n] 1: the frame could not be decoded and was gap-filled */
} plot_data;

/* Appends one frame (va: 2 values or NULL, aus: n_aus decisions or NULL); 0 when out of memory. */
int plot_add(plot_data *p, const double *va, int cls, const int *aus, int filled);
void plot_free(plot_data *p);
/* 1 when PATH.part can be created (it is removed again), else reported as "emoti: PATH: ...". */
int plot_probe(const char *path);
/* Writes PATH.part, then renames it to PATH; on failure reports, removes the part, returns 0. */
int plot_write(const char *path, const plot_data *p);

#endif
