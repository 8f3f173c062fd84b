/* Extract outputs x annotations (emoti.h): the joins and per-video sequences behind fit, tune,
 * predict and eval. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "error.h"

static char *cat2(const char *a, const char *b) {
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (s) sprintf(s, "%s%s", a, b);
    return s;
}

void emoti_features_free(emoti_features *s) {
    emoti_index_free(&s->idx);
    free(s->feat), free(s->outs), free(s->prefix);
    memset(s, 0, sizeof *s);
}

/* A NaN or infinity would pass through every head and smoother into the results unnoticed
 * (VA nan, EXPR class 0 over whole windows), so every reader of extract output refuses it. */
static emoti_status check_finite(const char *path, const emoti_index *x, const float *m, int dim) {
    for (size_t i = 0; i < (size_t)x->n * (size_t)dim; i++)
        if (!isfinite(m[i]))
            return emoti_fail(EMOTI_ERR_FORMAT, "%s: row %zu (%s) column %zu is %s, not a finite number",
                              path, i / (size_t)dim, x->key[i / (size_t)dim], i % (size_t)dim,
                              isnan(m[i]) ? "NaN" : "infinite");
    return EMOTI_OK;
}

static emoti_status load_matrix(const emoti_features *s, const char *suffix, float **m, int *dim) {
    char *path = cat2(s->prefix, suffix);
    long rows;
    if (!path) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_status st = emoti_npy_read(path, m, &rows, dim);
    if (!st && rows != s->idx.n)
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s has %ld rows but %s.index.csv lists %ld frames", path, rows,
                        s->prefix, s->idx.n);
    if (!st) st = check_finite(path, &s->idx, *m, *dim);
    if (st) free(*m), *m = NULL;
    free(path);
    return st;
}

emoti_status emoti_features_load(emoti_features *s, const char *prefix, int need_feat, int need_outs) {
    memset(s, 0, sizeof *s);
    s->prefix = cat2(prefix, "");
    char *ipath = cat2(prefix, ".index.csv");
    emoti_status st = s->prefix && ipath ? emoti_index_read(ipath, &s->idx) : emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    free(ipath);
    if (!st && need_feat) st = load_matrix(s, ".features.npy", &s->feat, &s->feat_dim);
    if (!st && need_outs) st = load_matrix(s, ".outputs.npy", &s->outs, &s->out_dim);
    if (st) emoti_features_free(s);
    return st;
}

emoti_status emoti_features_input(emoti_features *s, const emoti_head *h, const float **x) {
    int logits = h->input == EMOTI_INPUT_LOGITS;
    *x = NULL;
    if (logits ? !s->outs : !s->feat) {
        emoti_status st = load_matrix(s, logits ? ".outputs.npy" : ".features.npy", logits ? &s->outs : &s->feat,
                                      logits ? &s->out_dim : &s->feat_dim);
        if (st) return st;
    }
    int dim = logits ? s->out_dim : s->feat_dim;
    if (dim != h->sizes[0])
        return emoti_fail(EMOTI_ERR_ARG, "%s.%s.npy has %d columns, the %s head takes %d", s->prefix,
                          logits ? "outputs" : "features", dim, emoti_task_name(h->task), h->sizes[0]);
    *x = logits ? s->outs : s->feat;
    return EMOTI_OK;
}

void emoti_labelled_free(emoti_labelled *l) {
    free(l->rows), free(l->cls), free(l->y);
    memset(l, 0, sizeof *l);
}

emoti_status emoti_join_labels(const emoti_features *s, const emoti_annot *a, emoti_labelled *out) {
    memset(out, 0, sizeof *out);
    int cols = emoti_annot_cols(a->task);
    size_t cap = (size_t)s->idx.n + 1;
    out->rows = malloc(cap * sizeof *out->rows);
    out->cls = malloc(cap * sizeof *out->cls);
    out->y = malloc(cap * (size_t)cols * sizeof *out->y);
    if (!out->rows || !out->cls || !out->y) {
        emoti_labelled_free(out);
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    for (long r = 0; r < s->idx.n; r++) {
        const emoti_annot_video *v = emoti_annot_find(a, s->idx.video[r]);
        if (!v) {
            out->unannotated++;
            continue;
        }
        long f = s->idx.frame[r];
        if (f > v->n_frames) {
            emoti_labelled_free(out);
            return emoti_fail(EMOTI_ERR_FORMAT, "%s.index.csv:%ld: frame %ld of '%s' (%s) is beyond the %d frame "
                              "lines of %s", s->prefix, r + 2, f, v->video, s->idx.key[r], v->n_frames, v->path);
        }
        if (!v->valid[f - 1]) {
            out->invalid++;
            continue;
        }
        const float *val = v->values + (size_t)(f - 1) * (size_t)cols;
        out->rows[out->n] = r;
        out->cls[out->n] = (int)val[0];
        memcpy(out->y + out->n * (size_t)cols, val, (size_t)cols * sizeof *val);
        out->n++;
    }
    return EMOTI_OK;
}

void emoti_videos_free(emoti_video_seq *v, int n) {
    for (int i = 0; i < n; i++) free(v[i].name), free(v[i].row);
    free(v);
}

static const emoti_features *sort_set;
static int cmp_rows(const void *x, const void *y) {
    long a = *(const long *)x, b = *(const long *)y;
    int c = strcmp(sort_set->idx.video[a], sort_set->idx.video[b]);
    if (c) return c;
    long fa = sort_set->idx.frame[a], fb = sort_set->idx.frame[b];
    return fa < fb ? -1 : fa > fb ? 1 : a < b ? -1 : a > b;
}

emoti_status emoti_videos_build(const emoti_features *s, const emoti_annot *a, emoti_video_seq **out, int *n_out) {
    *out = NULL, *n_out = 0;
    long n = s->idx.n;
    long *order = malloc(((size_t)n + 1) * sizeof *order);
    if (!order) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_status st = EMOTI_OK;
    for (long i = 0; i < n; i++) order[i] = i;
    sort_set = s;
    qsort(order, (size_t)n, sizeof *order, cmp_rows);
    /* Distinct videos of the index, in name order. */
    int nv = 0;
    for (long i = 0; i < n; i++)
        nv += i == 0 || strcmp(s->idx.video[order[i]], s->idx.video[order[i - 1]]);
    int total = a ? a->n : nv;
    emoti_video_seq *v = calloc((size_t)total + 1, sizeof *v);
    int ok = v != NULL;
    for (int i = 0; ok && a && i < a->n; i++) {
        v[i].name = cat2(a->v[i].video, "");
        v[i].annot = &a->v[i];
        v[i].n_frames = a->v[i].n_frames;
    }
    /* Walk the index video by video. */
    for (long i = 0, vi = -1; ok && i < n;) {
        long j = i;
        const char *name = s->idx.video[order[i]];
        while (j < n && !strcmp(s->idx.video[order[j]], name)) j++;
        emoti_video_seq *seq = NULL;
        if (a) {
            const emoti_annot_video *av = emoti_annot_find(a, name);
            if (av) seq = &v[av - a->v];
        } else {
            seq = &v[++vi];
            seq->name = cat2(name, "");
            seq->n_frames = (int)s->idx.frame[order[j - 1]];
            ok = seq->name != NULL;
        }
        if (seq && ok) {
            long last = s->idx.frame[order[j - 1]];
            if (last > seq->n_frames) {
                long r = order[j - 1];
                st = emoti_fail(EMOTI_ERR_FORMAT, "%s.index.csv:%ld: frame %ld of '%s' is beyond the %d frame "
                                "lines of %s", s->prefix, r + 2, last, name, seq->n_frames, seq->annot->path);
                ok = 0;
                break;
            }
            seq->row = malloc(((size_t)seq->n_frames + 1) * sizeof *seq->row);
            ok = seq->row != NULL;
            for (int f = 0; ok && f < seq->n_frames; f++) seq->row[f] = -1;
            for (long q = i; ok && q < j; q++) {
                long r = order[q], f = s->idx.frame[r] - 1;
                if (seq->row[f] >= 0) {
                    st = emoti_fail(EMOTI_ERR_FORMAT, "%s.index.csv:%ld: frame %ld of '%s' repeats line %ld",
                                    s->prefix, r + 2, f + 1, name, seq->row[f] + 2);
                    ok = 0;
                }
                seq->row[f] = r;
            }
        }
        i = j;
    }
    for (int i = 0; ok && i < total; i++) {
        if (v[i].row) continue;
        v[i].row = malloc(((size_t)v[i].n_frames + 1) * sizeof *v[i].row);
        ok = v[i].row != NULL;
        for (int f = 0; ok && f < v[i].n_frames; f++) v[i].row[f] = -1;
    }
    free(order);
    if (!ok) {
        if (v) emoti_videos_free(v, total);
        return st ? st : emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    *out = v, *n_out = total;
    return EMOTI_OK;
}

size_t emoti_video_fill(const emoti_video_seq *v, const float *rowvals, int k, int paper, double *seq) {
    unsigned char *valid = malloc((size_t)v->n_frames + 1);
    if (!valid) return 0;
    for (int f = 0; f < v->n_frames; f++) {
        valid[f] = v->row[f] >= 0;
        for (int c = 0; c < k; c++)
            seq[(size_t)f * (size_t)k + (size_t)c] = valid[f] ? rowvals[(size_t)v->row[f] * (size_t)k + (size_t)c] : 0;
    }
    size_t got = emoti_fill_gaps(seq, valid, (size_t)v->n_frames, k, paper);
    free(valid);
    return got;
}

emoti_status emoti_head_rows(const emoti_head *h, emoti_features *s, float **out) {
    const float *x;
    *out = NULL;
    emoti_status st = emoti_features_input(s, h, &x);
    if (st) return st;
    float *y = malloc(((size_t)s->idx.n + 1) * (size_t)emoti_head_outputs(h) * sizeof *y);
    if (!y) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    if ((st = emoti_head_forward(h, x, (size_t)s->idx.n, y))) {
        free(y);
        return st;
    }
    *out = y;
    return EMOTI_OK;
}

void emoti_abaw_header(FILE *f, int task, char *const *labels, int k) {
    const char *const *names;
    int n = emoti_task_labels(task, &names);
    fprintf(f, "image_location");
    for (int i = 0; i < k; i++) fprintf(f, ",%s", labels ? labels[i] : i < n ? names[i] : "?");
    fprintf(f, "\n");
}
