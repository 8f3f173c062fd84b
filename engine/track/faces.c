/* The face pipeline (emoti.h, "Face pipeline"): per frame detect -> scene cut -> track ->
 * crop -> backbone, then optionally per-track timelines whose rows come out in (frame, track)
 * order through a buffer of the (frame, track) pairs still waiting for their row. */
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "error.h"

enum { WAITING, READY, DROPPED };

/* One (frame, track) pair of the output: its box now, its timeline values once final. */
typedef struct {
    long frame;
    int64_t id;
    float box[5];
    int state, miss, filled, expression;
} pending;

struct emoti_faces {
    emoti_faces_params p;
    emoti_detector *det;
    emoti_model *model;
    emoti_tracker *tracker;
    emoti_scene scene;
    int features, n_dets;
    long frames;
    emoti_face *dets;      /* [EMOTI_DETECT_MAX_ONET] */
    emoti_track_det *tdets;
    int64_t *ids;
    emoti_face_result *res; /* [max_faces] */
    float *emb;             /* [max_faces][features] or NULL */
    /* per-track timelines and their output buffer (entries head..n of cap) */
    emoti_track_timelines *tt;
    int has_va, n_classes, n_aus, dim;
    const char *const *class_labels, *const *au_labels;
    pending *q;
    double *vals; /* [cap][dim]: va, class probabilities, AU probabilities, AU decisions */
    size_t head, n, cap;
    int au_active[EMOTI_TIMELINE_MAX_OUTPUTS];
};

void emoti_faces_params_init(emoti_faces_params *p) {
    memset(p, 0, sizeof *p);
    emoti_detector_params_init(&p->detect);
    emoti_tracker_params_init(&p->track);
    p->tracking = 1;
    p->scene_threshold = 0.5;
    p->max_faces = 64;
}

emoti_status emoti_faces_create(emoti_detector *det, emoti_model *model, const emoti_faces_params *params,
                                emoti_faces **out) {
    *out = NULL;
    emoti_faces_params p;
    if (params) p = *params;
    else emoti_faces_params_init(&p);
    if (!det || !model || p.max_faces < 1 || p.max_faces > EMOTI_DETECT_MAX_ONET)
        return emoti_fail(EMOTI_ERR_ARG, "face pipeline: detector and model needed, max_faces 1..%d",
                          EMOTI_DETECT_MAX_ONET);
    emoti_faces *f = calloc(1, sizeof *f);
    if (!f) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_info in;
    emoti_model_info(model, &in);
    f->p = p, f->det = det, f->model = model, f->features = in.features;
    /* A face the tracker's second pass could keep must come out of the detector. */
    if (p.tracking && p.track.low_score < f->p.detect.keep) f->p.detect.keep = p.track.low_score;
    emoti_scene_init(&f->scene);
    if (p.scene_threshold > 0) f->scene.threshold = p.scene_threshold;
    f->dets = malloc(EMOTI_DETECT_MAX_ONET * sizeof *f->dets);
    f->tdets = malloc(EMOTI_DETECT_MAX_ONET * sizeof *f->tdets);
    f->ids = calloc(EMOTI_DETECT_MAX_ONET, sizeof *f->ids);
    f->res = malloc((size_t)p.max_faces * sizeof *f->res);
    f->emb = p.embeddings ? malloc((size_t)p.max_faces * (size_t)in.features * sizeof *f->emb) : NULL;
    emoti_status st = EMOTI_OK;
    if (!f->dets || !f->tdets || !f->ids || !f->res || (p.embeddings && !f->emb))
        st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    else if (p.tracking)
        st = emoti_tracker_create(&p.track, &f->tracker);
    if (st) return emoti_faces_free(f), st;
    *out = f;
    return EMOTI_OK;
}

void emoti_faces_free(emoti_faces *f) {
    if (!f) return;
    emoti_tracker_free(f->tracker);
    emoti_track_timelines_free(f->tt);
    free(f->dets), free(f->tdets), free(f->ids), free(f->res), free(f->emb);
    free(f->q), free(f->vals);
    free(f);
}

emoti_status emoti_faces_timelines(emoti_faces *f, const emoti_head *const *heads, int n_heads,
                                   const emoti_timeline_config *config) {
    if (!f->tracker || f->tt) return emoti_fail(EMOTI_ERR_ARG, "face pipeline: timelines need tracking, once");
    emoti_info in;
    emoti_model_info(f->model, &in);
    emoti_status st = emoti_track_timelines_create(heads, n_heads, &in, config, f->p.track.max_tracks, &f->tt);
    if (st) return st;
    emoti_timeline_task t[EMOTI_TASK_COUNT];
    for (int k = 0; k < EMOTI_TASK_COUNT; k++) emoti_timeline_task_info(emoti_faces_template(f), k, &t[k]);
    f->has_va = t[EMOTI_TASK_VA].on;
    f->n_classes = t[EMOTI_TASK_EXPR].on ? t[EMOTI_TASK_EXPR].dim : 0;
    f->n_aus = t[EMOTI_TASK_AU].on ? t[EMOTI_TASK_AU].dim : 0;
    f->class_labels = t[EMOTI_TASK_EXPR].labels, f->au_labels = t[EMOTI_TASK_AU].labels;
    f->dim = 2 + f->n_classes + 2 * f->n_aus;
    /* A head on the embedding needs it; kept for every pipeline with timelines (setup time). */
    if (!f->emb) {
        f->emb = malloc((size_t)f->p.max_faces * (size_t)f->features * sizeof *f->emb);
        if (!f->emb) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    return EMOTI_OK;
}

const emoti_timeline *emoti_faces_template(const emoti_faces *f) {
    return f->tt ? emoti_track_timelines_template(f->tt) : NULL;
}

/* ---- the output buffer ---- */

static emoti_status reserve(emoti_faces *f, size_t more) {
    if (f->head == f->n) f->head = f->n = 0;
    if (f->n + more <= f->cap) return EMOTI_OK;
    if (f->head) { /* slide the waiting entries down before growing */
        memmove(f->q, f->q + f->head, (f->n - f->head) * sizeof *f->q);
        memmove(f->vals, f->vals + f->head * (size_t)f->dim, (f->n - f->head) * (size_t)f->dim * sizeof *f->vals);
        f->n -= f->head, f->head = 0;
        if (f->n + more <= f->cap) return EMOTI_OK;
    }
    size_t cap = f->cap ? f->cap : 64;
    while (cap < f->n + more) cap *= 2;
    pending *q = realloc(f->q, cap * sizeof *q);
    if (q) f->q = q;
    double *v = q ? realloc(f->vals, cap * (size_t)f->dim * sizeof *v) : NULL;
    if (!v) return emoti_fail(EMOTI_ERR_NOMEM, "face pipeline: out of memory");
    f->vals = v, f->cap = cap;
    return EMOTI_OK;
}

/* The entry of (frame, id): entries are sorted by frame, then id. */
static pending *lookup(emoti_faces *f, long frame, int64_t id) {
    size_t lo = f->head, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const pending *e = &f->q[mid];
        if (e->frame < frame || (e->frame == frame && e->id < id)) lo = mid + 1;
        else hi = mid;
    }
    return lo < f->n && f->q[lo].frame == frame && f->q[lo].id == id ? &f->q[lo] : NULL;
}

/* A track ended: its frames after its last face get no row (the timeline has none for them). */
static void drop_tail(emoti_faces *f, int64_t id) {
    long oldest = f->frames - 2 - f->p.track.max_missed;
    for (size_t i = f->n; i > f->head && f->q[i - 1].frame >= oldest; i--) {
        pending *e = &f->q[i - 1];
        if (e->id != id) continue;
        if (!e->miss) break;
        e->state = DROPPED;
    }
}

static void take_rows(emoti_faces *f) {
    int64_t id;
    emoti_timeline_row r;
    while (emoti_track_timelines_next(f->tt, &id, &r)) {
        pending *e = lookup(f, r.frame, id);
        if (!e) continue; /* frames of a track before it was confirmed */
        double *v = f->vals + (size_t)(e - f->q) * (size_t)f->dim;
        e->state = READY, e->filled = r.filled, e->expression = r.expression;
        v[0] = r.valence, v[1] = r.arousal;
        for (int k = 0; k < f->n_classes; k++) v[2 + k] = r.probs[k];
        for (int k = 0; k < f->n_aus; k++)
            v[2 + f->n_classes + k] = r.au_probs[k], v[2 + f->n_classes + f->n_aus + k] = r.au_active[k];
    }
}

static int by_id(const void *a, const void *b) {
    int64_t x = ((const pending *)a)->id, y = ((const pending *)b)->id;
    return (x > y) - (x < y);
}

/* This frame's entries: its tracked faces and the confirmed tracks it missed, by id. */
static emoti_status queue_frame(emoti_faces *f, long frame, int n_res) {
    const emoti_track *tr;
    int n_tr = emoti_tracker_tracks(f->tracker, &tr);
    emoti_status st = reserve(f, (size_t)n_res + (size_t)n_tr);
    if (st) return st;
    size_t start = f->n;
    for (int i = 0; i < n_res; i++) {
        const emoti_face *d = &f->res[i].face;
        f->q[f->n++] = (pending){frame, f->res[i].track, {d->x1, d->y1, d->x2, d->y2, d->score}, WAITING, 0, 0, 0};
    }
    for (int i = 0; i < n_tr; i++)
        if (tr[i].id > 0 && tr[i].missed > 0)
            f->q[f->n++] = (pending){frame, tr[i].id, {tr[i].x1, tr[i].y1, tr[i].x2, tr[i].y2, 0}, WAITING, 1, 0, 0};
    if (f->n - start > 1) qsort(f->q + start, f->n - start, sizeof *f->q, by_id);
    return EMOTI_OK;
}

/* ---- the frame ---- */

static int by_track(const void *a, const void *b) {
    int64_t x = ((const emoti_face_result *)a)->track, y = ((const emoti_face_result *)b)->track;
    return (x > y) - (x < y);
}

/* The tracks that ended in the last update or cut: their timelines finish. */
static void end_tracks(emoti_faces *f) {
    const int64_t *ended;
    int n_ended = emoti_tracker_ended(f->tracker, &ended);
    for (int i = 0; f->tt && i < n_ended; i++) {
        drop_tail(f, ended[i]);
        emoti_track_timelines_end(f->tt, ended[i]);
    }
}

/* Detections -> tracker; ids of this frame's detections in f->ids. */
static emoti_status track(emoti_faces *f, const uint8_t *rgb, int w, int h, size_t stride) {
    if (rgb && emoti_scene_cut(&f->scene, rgb, w, h, stride) == 1) {
        emoti_tracker_cut(f->tracker);
        end_tracks(f); /* the update forgets them */
    }
    for (int i = 0; i < f->n_dets; i++) {
        const emoti_face *d = &f->dets[i];
        f->tdets[i] = (emoti_track_det){d->x1, d->y1, d->x2, d->y2, d->score};
    }
    emoti_status st = emoti_tracker_update(f->tracker, f->tdets, f->n_dets, f->ids);
    if (st) return st;
    end_tracks(f);
    return EMOTI_OK;
}

emoti_status emoti_faces_frame(emoti_faces *f, const uint8_t *rgb, int width, int height,
                               size_t stride, const emoti_face_result **faces, int *n) {
    *faces = f->res, *n = 0;
    long frame = f->frames++;
    f->n_dets = 0;
    emoti_status st = EMOTI_OK;
    if (rgb) {
        st = emoti_detect(f->det, &f->p.detect, rgb, width, height, stride, f->dets,
                          EMOTI_DETECT_MAX_ONET, &f->n_dets);
        if (f->n_dets > EMOTI_DETECT_MAX_ONET) f->n_dets = EMOTI_DETECT_MAX_ONET;
        if (st) return st;
    }
    if (f->tracker && (st = track(f, rgb, width, height, stride))) return st;
    int k = 0;
    for (int i = 0; i < f->n_dets && k < f->p.max_faces; i++) {
        if (f->tracker && f->ids[i] <= 0) continue; /* tentative, or a low score with no track */
        emoti_face_result *r = &f->res[k];
        float *emb = f->emb ? f->emb + (size_t)k * (size_t)f->features : NULL;
        r->track = f->tracker ? f->ids[i] : 0, r->index = i + 1, r->face = f->dets[i], r->embedding = emb;
        if ((st = emoti_run_face(f->model, rgb, width, height, stride, &r->face, &r->result, emb))) return st;
        k++;
    }
    if (f->tracker && k > 1) qsort(f->res, (size_t)k, sizeof *f->res, by_track);
    *n = k;
    if (!f->tt) return EMOTI_OK;
    if ((st = queue_frame(f, frame, k))) return st;
    for (int i = 0; i < k; i++)
        if ((st = emoti_track_timelines_push(f->tt, f->res[i].track, frame, &f->res[i].result,
                                             f->res[i].embedding)))
            return st;
    take_rows(f);
    return EMOTI_OK;
}

emoti_status emoti_faces_finish(emoti_faces *f) {
    if (!f->tt) return EMOTI_OK;
    const emoti_track *tr;
    int n_tr = emoti_tracker_tracks(f->tracker, &tr);
    for (int i = 0; i < n_tr; i++)
        if (tr[i].id > 0) drop_tail(f, tr[i].id);
    emoti_status st = emoti_track_timelines_finish(f->tt);
    take_rows(f);
    return st;
}

int emoti_faces_next(emoti_faces *f, emoti_face_row *out) {
    while (f->head < f->n && f->q[f->head].state == DROPPED) f->head++;
    if (f->head == f->n || f->q[f->head].state != READY) return 0;
    const pending *e = &f->q[f->head];
    const double *v = f->vals + f->head * (size_t)f->dim;
    f->head++;
    emoti_timeline_row *r = &out->row;
    out->frame = e->frame, out->track = e->id;
    out->x1 = e->box[0], out->y1 = e->box[1], out->x2 = e->box[2], out->y2 = e->box[3], out->score = e->box[4];
    for (int k = 0; k < f->n_aus; k++) f->au_active[k] = (int)v[2 + f->n_classes + f->n_aus + k];
    *r = (emoti_timeline_row){e->frame, e->filled, f->has_va, v[0], v[1], f->n_classes, v + 2, e->expression,
                              f->class_labels, f->n_aus, v + 2 + f->n_classes, f->au_active, f->au_labels};
    return 1;
}

long emoti_faces_frames(const emoti_faces *f) { return f->frames; }
int64_t emoti_faces_tracks(const emoti_faces *f) { return f->tracker ? emoti_tracker_last_id(f->tracker) : 0; }
