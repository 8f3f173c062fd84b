/* MTCNN face detection, facenet-pytorch 2.5's algorithm (docs/MTCNN.md "The algorithm"):
 * image pyramid with area resampling, P-Net cells, NMS per level and over all levels, R-Net
 * and O-Net on area-resampled crops, box regression and squaring, the final "Min" NMS. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "emoti.h"
#include "error.h"
#include "infile.h"
#include "mtcnn.h"
#include "pyramid.h"

#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    double b[4], score, reg[4];
    float pts[10];
    int seq; /* order of discovery: ties in score keep it */
} cand;

/* What one thread needs to run a net: its input, output and scratch, and room to sort a
 * level's cells. */
typedef struct {
    float *in, *out, *scratch;
    size_t in_n, out_n, scratch_n;
    cand *tmp;
} worker;

/* A unit of P-Net work: level `level` (scale s) for its output cells i0 <= i < i1 along the
 * first grid axis (one band of the level; the whole level on one thread). Its best cells
 * (cand[MAX_LEVEL] in `levels`), n of them, and how many passed the threshold: the order of
 * discovery over all levels counts them. */
typedef struct {
    double s;
    int level, i0, i1, n, cells;
} band;

/* At most this many bands per level: a level's bands' best cells, merged, fit in d->tmp. */
#define MAX_BANDS 4

struct emoti_detector {
    void *map;
    size_t map_size;
    emoti_container c;
    emoti_mtcnn m;
    const emoti_kernels *kern;
    uint32_t *sat; /* summed-area table [h + 1][w + 1][3], modulo 2^32 (exact for 2^24 px) */
    size_t sat_n, levels_n, bands_n, idx_n, res_n;
    worker *wk;    /* one per thread */
    cand *levels;  /* [levels_n][EMOTI_DETECT_MAX_LEVEL], one per band */
    band *bands;   /* [bands_n] */
    int *idx;      /* R-Net / O-Net: the candidates they run on, [idx_n] */
    float *res;    /* and their outputs, [res_n] */
    cand *all, *tmp;
    int n_all, threads, n_wk;
};

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

enum { CAP_ALL = EMOTI_DETECT_MAX_PNET + EMOTI_DETECT_MAX_LEVEL };

void emoti_detector_params_init(emoti_detector_params *p) {
    p->min_face = 40;
    p->threshold[0] = 0.6, p->threshold[1] = 0.7, p->threshold[2] = 0.7;
    p->factor = 0.709;
    p->keep = 0.9;
}

static emoti_status build(emoti_detector *d, const void *buf, size_t size) {
    emoti_status st = emoti_container_parse(&d->c, buf, size);
    if (st) return st;
    st = emoti_mtcnn_init(&d->m, &d->c);
    if (st) return st;
    d->kern = emoti_kernels_get();
    if (!d->kern) return emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s", emoti_kernels_error());
    d->all = malloc(sizeof(cand) * CAP_ALL);
    d->tmp = malloc(sizeof(cand) * CAP_ALL);
    if (!d->all || !d->tmp) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    return emoti_detector_set_threads(d, 1);
}

static void free_workers(emoti_detector *d) {
    for (int t = 0; t < d->n_wk; t++)
        free(d->wk[t].in), free(d->wk[t].out), free(d->wk[t].scratch), free(d->wk[t].tmp);
    free(d->wk);
    d->wk = NULL, d->n_wk = 0;
}

emoti_status emoti_detector_from_memory(const void *buf, size_t size, emoti_detector **out) {
    *out = NULL;
    if (!buf) return emoti_fail(EMOTI_ERR_ARG, "detector buffer is NULL");
    emoti_detector *d = calloc(1, sizeof *d);
    if (!d) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_status st = build(d, buf, size);
    if (st) emoti_detector_close(d);
    else *out = d;
    return st;
}

emoti_status emoti_detector_open(const char *path, emoti_detector **out) {
    *out = NULL;
    if (!path) return emoti_fail(EMOTI_ERR_ARG, "detector path is NULL");
    emoti_detector *d = calloc(1, sizeof *d);
    if (!d) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    emoti_status st = emoti_file_map(path, &d->map, &d->map_size);
    if (!st && (st = build(d, d->map, d->map_size))) emoti_error_prefix(path);
    if (st) emoti_detector_close(d);
    else *out = d;
    return st;
}

void emoti_detector_close(emoti_detector *d) {
    if (!d) return;
    emoti_mtcnn_free(&d->m);
    emoti_container_free(&d->c);
    if (d->map) munmap(d->map, d->map_size);
    free_workers(d);
    free(d->sat), free(d->levels), free(d->bands), free(d->idx), free(d->res), free(d->all), free(d->tmp);
    free(d);
}

emoti_status emoti_detector_set_threads(emoti_detector *d, int threads) {
    if (!d || threads < 1 || threads > 256)
        return emoti_fail(EMOTI_ERR_ARG, "thread count %d out of range 1..256", threads);
#ifndef _OPENMP
    if (threads > 1)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED,
                          "%d threads asked for, but this build has no OpenMP (make OPENMP=1)",
                          threads);
#endif
    worker *wk = calloc((size_t)threads, sizeof *wk);
    int ok = wk != NULL;
    for (int t = 0; ok && t < threads; t++)
        ok = (wk[t].tmp = malloc(sizeof(cand) * EMOTI_DETECT_MAX_LEVEL)) != NULL;
    if (!ok) {
        for (int t = 0; wk && t < threads; t++) free(wk[t].tmp);
        free(wk);
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory for %d threads", threads);
    }
    free_workers(d);
    d->wk = wk, d->n_wk = d->threads = threads;
    return EMOTI_OK;
}

static int grow(void **p, size_t *have, size_t need, size_t elem) {
    if (need <= *have) return 1;
    void *q = realloc(*p, need * elem);
    if (!q) return 0;
    *p = q, *have = need;
    return 1;
}

static int by_score(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Merge sort of c[0..n) through t[0..n) (glibc's qsort may malloc a buffer per call; the
 * orders here are total, so any correct sort gives the same result). */
static void sort(cand *c, cand *t, int n, int (*cmp)(const void *, const void *)) {
    if (n < 2) return;
    const int h = n / 2;
    sort(c, t, h, cmp), sort(c + h, t, n - h, cmp);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) t[k++] = cmp(&c[j], &c[i]) < 0 ? c[j++] : c[i++];
    while (i < h) t[k++] = c[i++];
    memcpy(c, t, sizeof *c * (size_t)k);
}

/* Greedy NMS over c[0..n) sorted by score: keeps a box unless it overlaps a kept one by more
 * than thr. IoU with areas (x2 - x1)(y2 - y1) (torchvision), or "Min" (intersection over the
 * smaller area, +1 widths: facenet-pytorch's numpy NMS). Compacts c; returns the count kept. */
static int nms(cand *c, int n, double thr, int min_mode) {
    const double one = min_mode ? 1 : 0;
    int kept = 0;
    for (int i = 0; i < n; i++) {
        const double *a = c[i].b, aa = (a[2] - a[0] + one) * (a[3] - a[1] + one);
        int keep = 1;
        for (int k = 0; k < kept && keep; k++) {
            const double *b = c[k].b, ab = (b[2] - b[0] + one) * (b[3] - b[1] + one);
            const double iw = MIN(a[2], b[2]) - MAX(a[0], b[0]) + one;
            const double ih = MIN(a[3], b[3]) - MAX(a[1], b[1]) + one;
            const double inter = MAX(0, iw) * MAX(0, ih);
            keep = !(inter / (min_mode ? MIN(aa, ab) : aa + ab - inter) > thr);
        }
        if (keep) c[kept++] = c[i];
    }
    return kept;
}

/* Box regression: offsets scaled by the width (plus one unless plain), then squared (rerec). */
static void regress(cand *c, int plain) {
    double *b = c->b;
    const double w = b[2] - b[0] + !plain, h = b[3] - b[1] + !plain;
    b[0] += c->reg[0] * w, b[1] += c->reg[1] * h, b[2] += c->reg[2] * w, b[3] += c->reg[3] * h;
}

static void rerec(cand *c) {
    double *b = c->b;
    const double w = b[2] - b[0], h = b[3] - b[1], l = MAX(w, h);
    b[0] += w * 0.5 - l * 0.5, b[1] += h * 0.5 - l * 0.5;
    b[2] = b[0] + l, b[3] = b[1] + l;
}

/* The calling thread's worker inside a parallel loop over d's threads. */
static worker *my_worker(const emoti_detector *d) {
#ifdef _OPENMP
    return &d->wk[omp_get_thread_num()];
#else
    return &d->wk[0];
#endif
}

/* A worker's buffers for net on n inputs of side h x w (P-Net: its output grid too). */
static int reserve(const emoti_detector *d, worker *k, int net, int n, int h, int w) {
    size_t out = 16 * (size_t)n;
    if (net == MTCNN_PNET) {
        int gx, gy;
        out = (size_t)emoti_mtcnn_pnet_size(h, w, &gx, &gy) * gx * gy;
    }
    return grow((void **)&k->in, &k->in_n, (size_t)n * h * w * 3, sizeof(float)) &&
           grow((void **)&k->out, &k->out_n, out, sizeof(float)) &&
           grow((void **)&k->scratch, &k->scratch_n, emoti_mtcnn_scratch(&d->m, net, n, h, w),
                sizeof(float));
}

/* Band o of a level (gx x gy cells, per floats each) on worker k (reserved for it): the level's
 * input columns that band's cells see, P-Net, the cells with score >= t, the best
 * EMOTI_DETECT_MAX_LEVEL of them sorted into lvl; o->cells counts the cells, their seq numbering
 * them from 0 in order of discovery. Cell i sees input columns 2 i .. 2 i + 11, so the band's
 * outputs are bitwise those of the whole level (P-Net is computed cell by cell: its GEMM rows
 * and pooling windows are each its own). */
static emoti_status pnet_band(const emoti_detector *d, worker *k, int w, int h, double t, band *o,
                              cand *lvl) {
    const double s = o->s;
    const int hs = (int)(h * s + 1), ws = (int)(w * s + 1);
    int gx, gy;
    const int per = emoti_mtcnn_pnet_size(ws, hs, &gx, &gy);
    const int j0 = 2 * o->i0, j1 = o->i1 == gx ? ws : 2 * o->i1 + 10;
    emoti_pyramid_area(d->sat, w, 0, 0, w, h, hs, ws, j0, j1, k->in);
    emoti_status st = emoti_mtcnn_run(&d->m, d->kern, MTCNN_PNET, k->in, 1, j1 - j0, hs,
                                      k->scratch, k->scratch_n, k->out);
    if (st) return st;
    int n = 0, seq = 0;
    for (int i = o->i0; i < o->i1; i++)
        for (int j = 0; j < gy; j++) {
            const float *p = k->out + ((size_t)(i - o->i0) * gy + j) * per;
            if (!(p[1] >= t)) continue;
            cand c = {{floor((2.0 * i + 1) / s), floor((2.0 * j + 1) / s),
                       floor((2.0 * i + 12) / s), floor((2.0 * j + 12) / s)},
                      p[1], {p[2], p[3], p[4], p[5]}, {0}, seq++};
            if (n < EMOTI_DETECT_MAX_LEVEL) {
                lvl[n++] = c;
                if (n == EMOTI_DETECT_MAX_LEVEL) sort(lvl, k->tmp, n, by_score);
            } else if (by_score(&c, &lvl[n - 1]) < 0) { /* better than the worst kept */
                int q = n - 1;
                for (; q > 0 && by_score(&c, &lvl[q - 1]) < 0; q--) lvl[q] = lvl[q - 1];
                lvl[q] = c;
            }
        }
    sort(lvl, k->tmp, n, by_score);
    o->n = n, o->cells = seq;
    return EMOTI_OK;
}

/* The pyramid's P-Net work as bands, in level order, into d->bands; returns their count (0:
 * out of memory). On one thread a band per level; on T, levels larger than 1 / (2 T) of the
 * whole are cut into up to MAX_BANDS bands, so that the largest (about half the work) does not
 * leave the other threads waiting. */
static int plan_bands(emoti_detector *d, const emoti_detector_params *p, int w, int h, int L) {
    double total = 0, s = 12.0 / p->min_face;
    for (int i = 0; i < L; i++, s *= p->factor) total += (w * s + 1) * (h * s + 1);
    if (!grow((void **)&d->bands, &d->bands_n, (size_t)L * MAX_BANDS, sizeof(band))) return 0;
    int nb = 0;
    s = 12.0 / p->min_face;
    for (int l = 0; l < L; l++, s *= p->factor) {
        int gx, gy;
        emoti_mtcnn_pnet_size((int)(w * s + 1), (int)(h * s + 1), &gx, &gy);
        int cut = (int)ceil((w * s + 1) * (h * s + 1) * 2 * d->threads / total);
        cut = d->threads == 1 ? 1 : MIN(MIN(cut, MAX_BANDS), gx);
        for (int b = 0; b < cut; b++)
            d->bands[nb++] = (band){s, l, gx * b / cut, gx * (b + 1) / cut, 0, 0};
    }
    return grow((void **)&d->levels, &d->levels_n, (size_t)nb * EMOTI_DETECT_MAX_LEVEL,
                sizeof(cand)) ? nb : 0;
}

/* The bands b[0..nb) of one level, cells in lvl (MAX_LEVEL per band): their best cells merged
 * into lvl (seq counted over the level), the best EMOTI_DETECT_MAX_LEVEL kept, NMS 0.5; returns
 * how many are left. */
static int merge_level(emoti_detector *d, const band *b, int nb, cand *lvl) {
    int n = b[0].n;
    for (int q = 1, seq = b[0].cells; q < nb; seq += b[q].cells, q++) {
        const cand *c = lvl + (size_t)q * EMOTI_DETECT_MAX_LEVEL;
        for (int j = 0; j < b[q].n; j++) lvl[n] = c[j], lvl[n++].seq += seq;
    }
    if (nb > 1) sort(lvl, d->tmp, n, by_score);
    return nms(lvl, MIN(n, EMOTI_DETECT_MAX_LEVEL), 0.5, 0);
}

/* Every band of the pyramid (on the threads, shared out dynamically: the first is the largest),
 * then each level's cells appended in level order to the candidates over all levels, the best
 * EMOTI_DETECT_MAX_PNET kept after each: the same candidates for any thread count. */
static emoti_status pyramid(emoti_detector *d, const emoti_detector_params *p, int w, int h) {
    int L = 0;
    for (double s = 12.0 / p->min_face, minl = (w < h ? w : h) * s; minl >= 12;
         s *= p->factor, minl *= p->factor)
        L++;
    d->n_all = 0;
    if (!L) return EMOTI_OK;
    const int nb = plan_bands(d, p, w, h, L);
    if (!nb) return emoti_fail(EMOTI_ERR_NOMEM, "detect: out of memory for %d x %d", w, h);
    const int nt = MIN(nb, d->threads);
    const double s0 = d->bands[0].s;
    for (int t = 0; t < nt; t++)
        if (!reserve(d, &d->wk[t], MTCNN_PNET, 1, (int)(w * s0 + 1), (int)(h * s0 + 1)))
            return emoti_fail(EMOTI_ERR_NOMEM, "detect: out of memory for %d x %d", w, h);
    int st = EMOTI_OK; /* the worst of the bands' (each thread's message would be its own) */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1) reduction(max : st)
#endif
    for (int i = 0; i < nb; i++) {
        worker *k = my_worker(d);
        const int e = (int)pnet_band(d, k, w, h, p->threshold[0], &d->bands[i],
                                     d->levels + (size_t)i * EMOTI_DETECT_MAX_LEVEL);
        st = e > st ? e : st;
    }
    if (st) return emoti_fail((emoti_status)st, "detect: P-Net failed on a %d x %d image", w, h);
    for (int i = 0, seq = 0; i < nb;) {
        int q = i + 1, cells = d->bands[i].cells;
        for (; q < nb && d->bands[q].level == d->bands[i].level; q++) cells += d->bands[q].cells;
        cand *c = d->levels + (size_t)i * EMOTI_DETECT_MAX_LEVEL;
        const int n = merge_level(d, d->bands + i, q - i, c);
        for (int j = 0; j < n; j++) c[j].seq += seq, d->all[d->n_all++] = c[j];
        if (d->n_all > EMOTI_DETECT_MAX_PNET) {
            sort(d->all, d->tmp, d->n_all, by_score);
            d->n_all = EMOTI_DETECT_MAX_PNET;
        }
        seq += cells, i = q;
    }
    return EMOTI_OK;
}

/* Candidate i after R-Net / O-Net output p: kept (as c[kept], kept <= i) when its score > t,
 * with the net's score, box regression and, from O-Net, landmarks. Returns the new count. */
static int keep_refined(int net, const float *p, double t, cand *c, int i, int kept) {
    if (!(p[1] > t)) return kept;
    cand k = c[i];
    k.score = p[1], k.seq = i;
    for (int r = 0; r < 4; r++) k.reg[r] = p[2 + r];
    if (net == MTCNN_ONET) {
        const double bw = k.b[2] - k.b[0] + 1, bh = k.b[3] - k.b[1] + 1;
        for (int l = 0; l < 5; l++) {
            k.pts[2 * l] = (float)(bw * p[6 + l] + k.b[0] - 1);
            k.pts[2 * l + 1] = (float)(bh * p[11 + l] + k.b[1] - 1);
        }
    }
    c[kept] = k;
    return kept + 1;
}

/* Candidates per R-Net / O-Net call: enough rows for the GEMMs of the late layers (R-Net's fc
 * gets 16 rows instead of 1), little enough that the activations stay near 1-2 MB. */
static const int BATCH[MTCNN_NETS] = {1, 16, 8};

/* R-Net (net 1, side 24) or O-Net (2, 48) on each candidate's in-image part (its box truncated,
 * clamped to [1, w] x [1, h] 1-based), area-resized to side x side; keeps score > t. */
/* The in-image part of c's box in facenet-pytorch's 1-based convention (coordinates
 * truncated, clamped to [1, w] / [1, h]) as x, y, ex, ey in e; 0 if it is empty. */
static int in_image(const cand *c, int w, int h, int e[4]) {
    e[0] = c->b[0] < 1 ? 1 : (int)c->b[0], e[1] = c->b[1] < 1 ? 1 : (int)c->b[1];
    e[2] = c->b[2] > w ? w : (int)c->b[2], e[3] = c->b[3] > h ? h : (int)c->b[3];
    return e[2] >= e[0] && e[3] >= e[1];
}

static emoti_status refine(emoti_detector *d, int net, int side, int w, int h, double t,
                           cand *c, int *n) {
    const size_t one = (size_t)side * side * 3, no = net == MTCNN_ONET ? 16 : 6;
    /* The candidates with a part inside the image, in order, in batches of up to BATCH on the
     * threads (on T > 1 smaller ones where that gives each thread two: each input's outputs
     * are bitwise those of running it alone), their outputs kept in order: any thread count
     * keeps the same ones. */
    if (!grow((void **)&d->idx, &d->idx_n, (size_t)*n + 1, sizeof(int)) ||
        !grow((void **)&d->res, &d->res_n, ((size_t)*n + 1) * no, sizeof(float)))
        return emoti_fail(EMOTI_ERR_NOMEM, "detect: out of memory");
    int nv = 0, r[4];
    for (int i = 0; i < *n; i++)
        if (in_image(&c[i], w, h, r)) d->idx[nv++] = i;
    const int B = d->threads == 1 ? BATCH[net]
                  : MAX(1, MIN(BATCH[net], (nv + 2 * d->threads - 1) / (2 * d->threads)));
    const int nb = (nv + B - 1) / B, nt = MAX(1, MIN(nb, d->threads));
    for (int q = 0; q < nt; q++)
        if (!reserve(d, &d->wk[q], net, B, side, side))
            return emoti_fail(EMOTI_ERR_NOMEM, "detect: out of memory");
    int st = EMOTI_OK;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1) reduction(max : st)
#endif
    for (int q = 0; q < nb; q++) {
        worker *k = my_worker(d);
        const int v0 = q * B, b = MIN(B, nv - v0);
        for (int j = 0; j < b; j++) {
            int e[4];
            in_image(&c[d->idx[v0 + j]], w, h, e);
            emoti_pyramid_area(d->sat, w, e[0] - 1, e[1] - 1, e[2] - e[0] + 1, e[3] - e[1] + 1,
                               side, side, 0, side, k->in + j * one);
        }
        const int e = (int)emoti_mtcnn_run(&d->m, d->kern, net, k->in, b, side, side, k->scratch,
                                           k->scratch_n, k->out);
        if (!e) memcpy(d->res + (size_t)v0 * no, k->out, sizeof(float) * no * (size_t)b);
        st = e > st ? e : st;
    }
    if (st) return emoti_fail((emoti_status)st, "detect: %s failed", net == MTCNN_RNET ? "R-Net" : "O-Net");
    int kept = 0;
    for (int v = 0; v < nv; v++)
        kept = keep_refined(net, d->res + (size_t)v * no, t, c, d->idx[v], kept);
    *n = kept;
    sort(c, d->tmp, kept, by_score);
    return EMOTI_OK;
}

static int by_area(const void *a, const void *b) {
    const cand *x = a, *y = b;
    const double ax = (x->b[2] - x->b[0]) * (x->b[3] - x->b[1]);
    const double ay = (y->b[2] - y->b[0]) * (y->b[3] - y->b[1]);
    if (ax != ay) return ax > ay ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static emoti_status stages(emoti_detector *d, const emoti_detector_params *p, int w, int h,
                           int *found) {
    int n;
    emoti_status st = pyramid(d, p, w, h);
    if (st) return st;
    cand *c = d->all;
    sort(c, d->tmp, d->n_all, by_score);
    n = nms(c, d->n_all, 0.7, 0);
    if (n > EMOTI_DETECT_MAX_RNET) n = EMOTI_DETECT_MAX_RNET;
    for (int i = 0; i < n; i++) regress(&c[i], 1), rerec(&c[i]);
    if ((st = refine(d, MTCNN_RNET, 24, w, h, p->threshold[1], c, &n))) return st;
    n = nms(c, n, 0.7, 0);
    if (n > EMOTI_DETECT_MAX_ONET) n = EMOTI_DETECT_MAX_ONET;
    for (int i = 0; i < n; i++) regress(&c[i], 0), rerec(&c[i]);
    if ((st = refine(d, MTCNN_ONET, 48, w, h, p->threshold[2], c, &n))) return st;
    for (int i = 0; i < n; i++) regress(&c[i], 0);
    n = nms(c, n, 0.7, 1);
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (c[i].score > p->keep) c[kept] = c[i], c[kept].seq = kept, kept++;
    sort(c, d->tmp, kept, by_area);
    *found = kept;
    return EMOTI_OK;
}

emoti_status emoti_detect(emoti_detector *d, const emoti_detector_params *params,
                          const uint8_t *rgb, int w, int h, size_t stride, emoti_face *out,
                          int max, int *n) {
    emoti_detector_params def;
    if (!params) emoti_detector_params_init(&def), params = &def;
    if (n) *n = 0;
    if (!d || !rgb || !n || (max > 0 && !out))
        return emoti_fail(EMOTI_ERR_ARG, "detect: NULL argument");
    if (w < 1 || h < 1 || (long long)w * h > 1 << 24 || stride < (size_t)w * 3)
        return emoti_fail(EMOTI_ERR_ARG, "detect: bad image geometry %dx%d stride %zu", w, h,
                          stride);
    const emoti_detector_params *p = params;
    if (!(p->min_face >= 12 && p->min_face <= 1e6) || !(p->factor > 0.1 && p->factor <= 0.95) ||
        !(p->keep >= 0 && p->keep <= 1))
        return emoti_fail(EMOTI_ERR_ARG, "detect: bad parameters (min face %g, factor %g, keep %g)",
                          p->min_face, p->factor, p->keep);
    if (!grow((void **)&d->sat, &d->sat_n, (size_t)(w + 1) * (h + 1) * 3, sizeof(uint32_t)))
        return emoti_fail(EMOTI_ERR_NOMEM, "detect: out of memory for %d x %d", w, h);
    emoti_pyramid_sat(d->sat, rgb, w, h, stride);
    int found = 0;
    emoti_status st = stages(d, p, w, h, &found);
    if (st) return st;
    for (int i = 0; i < found && i < max; i++) {
        const cand *c = &d->all[i];
        emoti_face *f = &out[i];
        f->x1 = (float)c->b[0], f->y1 = (float)c->b[1], f->x2 = (float)c->b[2], f->y2 = (float)c->b[3];
        f->score = (float)c->score;
        memcpy(f->landmarks, c->pts, sizeof f->landmarks);
    }
    *n = found;
    return EMOTI_OK;
}

emoti_status emoti_run_face(emoti_model *model, const uint8_t *rgb, int w, int h, size_t stride,
                            const emoti_face *f, emoti_result *result, float *embedding) {
    if (!f || !rgb) return emoti_fail(EMOTI_ERR_ARG, "NULL argument");
    /* (int) truncates toward zero as Python's int(); clipped after truncation. */
    const double lim[4] = {w, h, w, h}, v[4] = {f->x1, f->y1, f->x2, f->y2};
    int b[4];
    for (int i = 0; i < 4; i++)
        b[i] = !(v[i] > 0) ? 0 : v[i] >= lim[i] ? (int)lim[i] : (int)v[i];
    if (b[2] <= b[0] || b[3] <= b[1])
        return emoti_fail(EMOTI_ERR_ARG, "face box (%g, %g, %g, %g) has nothing inside the %dx%d image",
                          v[0], v[1], v[2], v[3], w, h);
    return emoti_run_rgb(model, rgb + (size_t)b[1] * stride + (size_t)b[0] * 3, b[2] - b[0],
                         b[3] - b[1], stride, result, embedding);
}
