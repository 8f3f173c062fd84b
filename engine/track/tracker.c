/* The tracker (emoti.h, "Tracking"): ByteTrack-style two-pass association of per-frame
 * detections with predicted track boxes, Hungarian assignment by IoU, in caller memory. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "error.h"
#include "tracker.h"

#define MAX_TRACKS 1024
#define MAX_DETS 4096

typedef struct {
    float cx, cy, w, h;     /* the last matched box, centre and size */
    float vx, vy, vw, vh;   /* velocity per frame */
    float sx, sy, sw, sh;   /* this frame's step of the prediction (damped velocity) */
    float px, py, pw, ph;   /* the prediction */
    int since;              /* frames since the last match */
    int match;              /* the detection matched in this update, -1 */
} track_state;

struct emoti_tracker {
    emoti_tracker_params p;
    int n_tracks, n_ended;
    int64_t last_id;
    void *own;               /* the block to free (emoti_tracker_create), else NULL */
    emoti_track *pub;        /* [max_tracks] */
    track_state *st;         /* [max_tracks] */
    int64_t *ended;          /* [2 * max_tracks]: an update's, then a cut's */
    float *iou;              /* [max_tracks][max_dets] */
    int *rows, *cols, *match, *cand, *det_used; /* max(max_tracks, max_dets) each */
    void *work;              /* emoti_track_assign_work */
};

void emoti_tracker_params_init(emoti_tracker_params *p) {
    *p = (emoti_tracker_params){.high_score = 0.9f, .low_score = 0.5f, .iou_high = 0.3f,
                                .iou_low = 0.5f, .max_missed = 5, .min_hits = 1,
                                .damping = 0.8f, .max_tracks = 64, .max_dets = 256};
}

/* ---- association ---- */

float emoti_track_iou(const emoti_track_det *a, const emoti_track_det *b) {
    float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    if (!(iw > 0 && ih > 0)) return 0;
    float inter = iw * ih;
    float uni = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
    return uni > 0 ? inter / uni : 0;
}

size_t emoti_track_assign_work(int n) {
    size_t m = (size_t)n + 1;
    return m * (3 * sizeof(double) + 2 * sizeof(int) + 1);
}

/* Cost of a pair: 1 - IoU where IoU >= min_iou, else 1 (as good as no pair). Minimising the
 * summed cost over a full assignment of the smaller side maximises the summed IoU of the
 * pairs kept. */
static double pair_cost(const float *iou, size_t stride, int r, int c, float min_iou) {
    float v = iou[(size_t)r * stride + (size_t)c];
    return v >= min_iou ? 1.0 - v : 1.0;
}

/* The Hungarian method by shortest augmenting paths with potentials (O(n^2 m), n <= m),
 * 1-based as in its usual statement; p[j] gets the row of column j (0: none). */
static void hungarian(const float *iou, size_t stride, const int *rows, const int *cols, int n,
                      int m, int transposed, float min_iou, void *work) {
    double *u = work, *v = u + m + 1, *minv = v + m + 1;
    int *p = (int *)(minv + m + 1), *way = p + m + 1;
    unsigned char *used = (unsigned char *)(way + m + 1);
    for (int j = 0; j <= m; j++) u[j] = v[j] = 0, p[j] = way[j] = 0;
    for (int i = 1; i <= n; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= m; j++) minv[j] = HUGE_VAL, used[j] = 0;
        do {
            used[j0] = 1;
            int i0 = p[j0], j1 = 0;
            double delta = HUGE_VAL;
            for (int j = 1; j <= m; j++) {
                if (used[j]) continue;
                double c = transposed ? pair_cost(iou, stride, rows[j - 1], cols[i0 - 1], min_iou)
                                      : pair_cost(iou, stride, rows[i0 - 1], cols[j - 1], min_iou);
                double cur = c - u[i0] - v[j];
                if (cur < minv[j]) minv[j] = cur, way[j] = j0;
                if (minv[j] < delta) delta = minv[j], j1 = j;
            }
            for (int j = 0; j <= m; j++)
                if (used[j]) u[p[j]] += delta, v[j] -= delta;
                else minv[j] -= delta;
            j0 = j1;
        } while (p[j0]);
        do {
            int j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
}

int emoti_track_assign(const float *iou, size_t stride, const int *rows, int nr, const int *cols,
                       int nc, float min_iou, int *match, void *work) {
    for (int r = 0; r < nr; r++) match[r] = -1;
    if (!nr || !nc) return 0;
    int transposed = nr > nc, n = transposed ? nc : nr, m = transposed ? nr : nc, pairs = 0;
    hungarian(iou, stride, rows, cols, n, m, transposed, min_iou, work);
    int *p = (int *)((double *)work + 3 * ((size_t)m + 1));
    for (int j = 1; j <= m; j++) {
        if (!p[j]) continue;
        int r = transposed ? j - 1 : p[j] - 1, c = transposed ? p[j] - 1 : j - 1;
        if (iou[(size_t)rows[r] * stride + (size_t)cols[c]] >= min_iou) match[r] = c, pairs++;
    }
    return pairs;
}

/* ---- memory ---- */

static int params_ok(const emoti_tracker_params *p) {
    return p && p->max_tracks >= 1 && p->max_tracks <= MAX_TRACKS && p->max_dets >= 1 &&
           p->max_dets <= MAX_DETS && p->max_missed >= 0 && p->min_hits >= 1 &&
           p->high_score >= p->low_score && p->iou_high > 0 && p->iou_high <= 1 &&
           p->iou_low > 0 && p->iou_low <= 1 && p->damping >= 0 && p->damping <= 1;
}

#define ALIGN(n) (((n) + 15) & ~(size_t)15)

/* Lays the arrays out after the header; with t NULL only measures. */
static size_t layout(const emoti_tracker_params *p, emoti_tracker *t) {
    size_t nt = (size_t)p->max_tracks, nd = (size_t)p->max_dets, nm = nt > nd ? nt : nd;
    size_t at = ALIGN(sizeof(emoti_tracker));
    char *base = (char *)t;
#define CARVE(field, bytes) \
    do { if (t) t->field = (void *)(base + at); at += ALIGN(bytes); } while (0)
    CARVE(pub, nt * sizeof(emoti_track));
    CARVE(st, nt * sizeof(track_state));
    CARVE(ended, 2 * nt * sizeof(int64_t));
    CARVE(iou, nt * nd * sizeof(float));
    CARVE(rows, nm * sizeof(int));
    CARVE(cols, nm * sizeof(int));
    CARVE(match, nm * sizeof(int));
    CARVE(cand, nm * sizeof(int));
    CARVE(det_used, nm * sizeof(int));
    CARVE(work, emoti_track_assign_work((int)nm));
#undef CARVE
    return at;
}

size_t emoti_tracker_size(const emoti_tracker_params *p) { return params_ok(p) ? layout(p, NULL) : 0; }

emoti_status emoti_tracker_init(void *mem, size_t size, const emoti_tracker_params *p,
                                emoti_tracker **out) {
    *out = NULL;
    if (!params_ok(p))
        return emoti_fail(EMOTI_ERR_ARG, "tracker: parameters out of range (max_tracks 1..%d, "
                          "max_dets 1..%d, min_hits >= 1, max_missed >= 0, high_score >= "
                          "low_score, IoU thresholds in (0, 1], damping in [0, 1])",
                          MAX_TRACKS, MAX_DETS);
    if (!mem || size < layout(p, NULL))
        return emoti_fail(EMOTI_ERR_ARG, "tracker: %zu bytes given, %zu needed", size, layout(p, NULL));
    emoti_tracker *t = mem;
    memset(t, 0, layout(p, NULL));
    t->p = *p;
    layout(p, t);
    *out = t;
    return EMOTI_OK;
}

emoti_status emoti_tracker_create(const emoti_tracker_params *p, emoti_tracker **out) {
    size_t size = emoti_tracker_size(p);
    void *mem = size ? malloc(size) : NULL;
    if (size && !mem) return *out = NULL, emoti_fail(EMOTI_ERR_NOMEM, "tracker: out of memory");
    emoti_status s = emoti_tracker_init(mem, size, p, out);
    if (s) free(mem);
    else (*out)->own = mem;
    return s;
}

void emoti_tracker_free(emoti_tracker *t) {
    if (t) free(t->own);
}

/* ---- the update ---- */

static int det_ok(const emoti_track_det *d) {
    return isfinite(d->x1) && isfinite(d->y1) && isfinite(d->x2) && isfinite(d->y2) &&
           d->x2 > d->x1 && d->y2 > d->y1 && isfinite(d->score);
}

/* One frame on: the prediction moves by this frame's step; the next step is damped. */
static void predict(track_state *s, float g) {
    s->since++;
    s->px += s->sx, s->py += s->sy, s->pw += s->sw, s->ph += s->sh;
    s->pw = fmaxf(s->pw, 1e-3f), s->ph = fmaxf(s->ph, 1e-3f);
    s->sx *= g, s->sy *= g, s->sw *= g, s->sh *= g;
}

/* One pass: the unmatched tracks (with confirmed_only, not the tentative ones) against the
 * candidate detections cand[nc]. */
static void associate(emoti_tracker *t, const emoti_track_det *d, int nc, float min_iou,
                      int confirmed_only) {
    size_t stride = (size_t)t->p.max_dets;
    int nr = 0, ncol = 0;
    for (int i = 0; i < t->n_tracks; i++) {
        const track_state *s = &t->st[i];
        if (s->match >= 0 || (confirmed_only && !t->pub[i].id)) continue;
        emoti_track_det pb = {s->px - s->pw / 2, s->py - s->ph / 2, s->px + s->pw / 2,
                              s->py + s->ph / 2, 0};
        int any = 0;
        for (int c = 0; c < nc; c++) {
            float v = emoti_track_iou(&pb, &d[t->cand[c]]);
            t->iou[(size_t)i * stride + (size_t)c] = v;
            if (v >= min_iou) any = 1, t->det_used[c] = 1;
        }
        if (any) t->rows[nr++] = i;
    }
    for (int c = 0; c < nc; c++)
        if (t->det_used[c]) t->cols[ncol++] = c, t->det_used[c] = 0;
    emoti_track_assign(t->iou, stride, t->rows, nr, t->cols, ncol, min_iou, t->match, t->work);
    for (int r = 0; r < nr; r++)
        if (t->match[r] >= 0) t->st[t->rows[r]].match = t->cand[t->cols[t->match[r]]];
}

/* Track i takes detection d: its box, the velocity's running mean, the next step. */
static void take(emoti_tracker *t, int i, const emoti_track_det *d) {
    track_state *s = &t->st[i];
    emoti_track *k = &t->pub[i];
    float cx = (d->x1 + d->x2) / 2, cy = (d->y1 + d->y2) / 2, w = d->x2 - d->x1, h = d->y2 - d->y1;
    float inv = 1.0f / (float)s->since, a = k->hits > 1 ? 0.5f : 0.0f;
    s->vx = a * s->vx + (1 - a) * (cx - s->cx) * inv, s->vy = a * s->vy + (1 - a) * (cy - s->cy) * inv;
    s->vw = a * s->vw + (1 - a) * (w - s->w) * inv, s->vh = a * s->vh + (1 - a) * (h - s->h) * inv;
    s->cx = s->px = cx, s->cy = s->py = cy, s->w = s->pw = w, s->h = s->ph = h;
    s->sx = s->vx, s->sy = s->vy, s->sw = s->vw, s->sh = s->vh;
    s->since = 0;
    k->x1 = d->x1, k->y1 = d->y1, k->x2 = d->x2, k->y2 = d->y2, k->score = d->score;
    k->hits++, k->missed = 0;
    if (!k->id && k->hits >= t->p.min_hits) k->id = ++t->last_id;
}

static void remove_track(emoti_tracker *t, int i) {
    if (t->pub[i].id) t->ended[t->n_ended++] = t->pub[i].id;
    t->n_tracks--;
    t->pub[i] = t->pub[t->n_tracks];
    t->st[i] = t->st[t->n_tracks];
}

/* Candidates: the readable detections with score in [lo, hi). */
static int candidates(emoti_tracker *t, const emoti_track_det *d, int n, float lo, float hi) {
    int nc = 0;
    for (int i = 0; i < n; i++)
        if (det_ok(&d[i]) && d[i].score >= lo && d[i].score < hi) t->cand[nc++] = i;
    return nc;
}

emoti_status emoti_tracker_update(emoti_tracker *t, const emoti_track_det *dets, int n,
                                  int64_t *ids) {
    if (!t || n < 0 || (n > 0 && (!dets || !ids)))
        return emoti_fail(EMOTI_ERR_ARG, "tracker update: bad arguments");
    int nd = n < t->p.max_dets ? n : t->p.max_dets;
    t->n_ended = 0;
    for (int i = 0; i < n; i++) ids[i] = 0;
    for (int i = 0; i < t->n_tracks; i++) predict(&t->st[i], t->p.damping), t->st[i].match = -1;
    associate(t, dets, candidates(t, dets, nd, t->p.high_score, INFINITY), t->p.iou_high, 0);
    associate(t, dets, candidates(t, dets, nd, t->p.low_score, t->p.high_score), t->p.iou_low, 1);
    int nc = candidates(t, dets, nd, t->p.high_score, INFINITY);
    for (int c = 0; c < nc; c++) t->det_used[c] = 0;
    for (int i = t->n_tracks - 1; i >= 0; i--) {
        track_state *s = &t->st[i];
        if (s->match >= 0) {
            take(t, i, &dets[s->match]);
            continue;
        }
        if (!t->pub[i].id || ++t->pub[i].missed > t->p.max_missed) {
            remove_track(t, i);
            continue;
        }
        emoti_track *k = &t->pub[i];
        k->x1 = s->px - s->pw / 2, k->y1 = s->py - s->ph / 2;
        k->x2 = s->px + s->pw / 2, k->y2 = s->py + s->ph / 2;
    }
    /* The matched detections, then new tracks from the unmatched high-score ones. */
    for (int i = 0; i < t->n_tracks; i++) {
        int m = t->st[i].match;
        if (m < 0) continue;
        ids[m] = t->pub[i].id;
        for (int c = 0; c < nc; c++)
            if (t->cand[c] == m) t->det_used[c] = 1;
    }
    for (int c = 0; c < nc && t->n_tracks < t->p.max_tracks; c++) {
        if (t->det_used[c]) continue;
        int i = t->n_tracks++;
        const emoti_track_det *d = &dets[t->cand[c]];
        t->pub[i] = (emoti_track){0};
        t->st[i] = (track_state){.cx = (d->x1 + d->x2) / 2, .cy = (d->y1 + d->y2) / 2,
                                 .w = d->x2 - d->x1, .h = d->y2 - d->y1, .since = 1};
        take(t, i, d);
        t->st[i].match = t->cand[c];
        ids[t->cand[c]] = t->pub[i].id;
    }
    for (int c = 0; c < nc; c++) t->det_used[c] = 0;
    return EMOTI_OK;
}

void emoti_tracker_cut(emoti_tracker *t) {
    while (t->n_tracks) remove_track(t, t->n_tracks - 1);
}

int emoti_tracker_tracks(const emoti_tracker *t, const emoti_track **tracks) {
    *tracks = t->pub;
    return t->n_tracks;
}

int emoti_tracker_ended(const emoti_tracker *t, const int64_t **ids) {
    *ids = t->ended;
    return t->n_ended;
}

int64_t emoti_tracker_last_id(const emoti_tracker *t) { return t->last_id; }
