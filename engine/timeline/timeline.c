/* The timeline (emoti.h): one face track's frames -> finished rows.
 *
 * A frame's values are laid out in sources: each head's outputs, then the backbone values the
 * modes read (Aff-Wild2-ordered logits, valence/arousal, class probabilities). A frame waits in
 * a queue until every source has a value at or after it; it is then gap-filled per source
 * (docs/PIPELINE.md 4.1), combined into task values (blends 4.6, pre-trained logits 4.4) and
 * smoothed per task (4.2): causal frames go through a streaming smoother, centred ones are kept
 * until the end. Runs of frames without any value are one queue entry, so a gap costs nothing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "error.h"
#include "heads.h"

enum { SRC_HEAD, SRC_LOGITS, SRC_VA, SRC_PROBS };
#define MAX_SOURCES (EMOTI_TIMELINE_MAX_HEADS + 3)

typedef struct {
    int kind, head, task; /* head: index for SRC_HEAD; task: the task it feeds */
    int dim, off;         /* its values in a frame's raw layout */
    double weight;
    long last_valid;      /* newest frame with a value, -1 if none */
    long left;            /* newest passed frame with a value (the gap's left end), -1 if none */
    int excluded;         /* no value on any frame of a finished video: left out of the blend */
} source;

typedef struct {
    int on, dim, k, lag, off; /* lag: min(LAG, k) in causal mode */
    const char *const *labels;
    double thr[EMOTI_TIMELINE_MAX_OUTPUTS]; /* AU */
    emoti_smoother sm;                      /* causal */
    double *seq;                            /* centred: [frames][dim] */
} task_state;

/* Queued frames: `count` consecutive frames from `first`, all with the same sources given;
 * count > 1 only for runs of frames with no value at all. */
typedef struct {
    long first, count;
    uint32_t mask;
    double *raw; /* raw_dim values (those of the sources in mask) */
} entry;

struct emoti_timeline {
    const emoti_head *heads[EMOTI_TIMELINE_MAX_HEADS];
    int n_heads;
    emoti_timeline_config cfg;
    source src[MAX_SOURCES];
    int n_src, raw_dim, width, latency;
    uint32_t all_mask;
    int va_index, ar_index; /* the model's valence / arousal outputs (SRC_VA) */
    task_state t[EMOTI_TASK_COUNT];
    entry *q;             /* queue of frames not yet passed on: q[q_head .. q_head + q_len) */
    double *q_raw;        /* q_cap * raw_dim */
    size_t q_head, q_len, q_cap;
    long pushed, passed, emitted, faces, cap_frames;
    int finished, flushed;
    double *left_raw;     /* per source, the values of its gap's left end */
    double *frame_raw, *vals, *ring; /* one frame; one frame's task values; causal rows */
    unsigned char *ring_filled, *seq_filled;
    float *hout, *scratch; /* head outputs and scratch for one frame */
    size_t scratch_floats;
    const float *head_in[EMOTI_TIMELINE_MAX_HEADS];
    int row_ready;        /* a row is copied into row_vals, waiting for emoti_timeline_next */
    double *row_vals;
    emoti_timeline_row row;
    int row_cls, row_au[EMOTI_TIMELINE_MAX_OUTPUTS];
};

static const char *const VA_LABELS[2] = {"valence", "arousal"};

void emoti_timeline_config_init(emoti_timeline_config *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < EMOTI_TASK_COUNT; i++) c->k[i] = -1;
    c->lag = -1;
    c->threshold = -1;
    c->pretrained_logits = -1;
}

/* ---- creation: checks, layout, buffers ---- */

static const char *head_name(const emoti_timeline_config *c, int i, char *buf, size_t size) {
    if (c->head_names && c->head_names[i]) return c->head_names[i];
    snprintf(buf, size, "head %d", i + 1);
    return buf;
}

static const char *model_name(const emoti_timeline_config *c) {
    return c->model_name ? c->model_name : "the model";
}

static emoti_status check_heads(const emoti_head *const *heads, int n, const emoti_timeline_config *c) {
    char a[32], b[32];
    if (n < 0 || n > EMOTI_TIMELINE_MAX_HEADS)
        return emoti_fail(EMOTI_ERR_ARG, "a timeline takes 0 to %d heads, not %d", EMOTI_TIMELINE_MAX_HEADS, n);
    for (int i = 0; i < n; i++) {
        const emoti_head *h = heads[i];
        int dim = emoti_head_outputs(h);
        if (h->task == EMOTI_TASK_VA ? dim != 2 : dim > EMOTI_TIMELINE_MAX_OUTPUTS)
            return emoti_fail(EMOTI_ERR_ARG, "%s: a %s head with %d outputs (va heads have 2, the others at most %d)",
                              head_name(c, i, a, sizeof a), emoti_task_name(h->task), dim,
                              EMOTI_TIMELINE_MAX_OUTPUTS);
        if (c->pretrained_va && h->task == EMOTI_TASK_VA)
            return emoti_fail(EMOTI_ERR_ARG, "%s: a va head; --pretrained-va takes VA from the model instead",
                              head_name(c, i, a, sizeof a));
        if (c->weights && !(c->weights[i] >= 0))
            return emoti_fail(EMOTI_ERR_ARG, "%s: blend weight %g is not >= 0", head_name(c, i, a, sizeof a),
                              c->weights[i]);
        for (int j = 0; j < i; j++) {
            if (heads[j]->task != h->task) continue;
            if (emoti_head_outputs(heads[j]) != dim)
                return emoti_fail(EMOTI_ERR_ARG, "%s is a %s head with %d outputs; blended heads must match %s (%s, %d)",
                                  head_name(c, i, a, sizeof a), emoti_task_name(h->task), dim,
                                  head_name(c, j, b, sizeof b), emoti_task_name(heads[j]->task),
                                  emoti_head_outputs(heads[j]));
            break;
        }
    }
    return EMOTI_OK;
}

/* What the heads and modes read must be in the model's outputs. */
static emoti_status check_model(const emoti_head *const *heads, int n, const emoti_info *m,
                                const emoti_timeline_config *c) {
    char a[32];
    if (!m) /* the heads' inputs are the caller's to check */
        return c->pretrained_logits >= 0 || c->pretrained_va || c->backbone
                   ? emoti_fail(EMOTI_ERR_ARG, "the pre-trained and backbone modes need the model's info")
                   : EMOTI_OK;
    for (int i = 0; i < n; i++) {
        const emoti_head *h = heads[i];
        int logits = h->input == EMOTI_INPUT_LOGITS, has = logits ? m->n_outputs : m->features;
        if (has > 0 && h->sizes[0] != has)
            return emoti_fail(EMOTI_ERR_ARG, "%s: the %s head reads %d values, but the %s of %s has %d",
                              head_name(c, i, a, sizeof a), emoti_task_name(h->task), h->sizes[0],
                              logits ? "outputs" : "embedding", model_name(c), has);
        if (c->pretrained_logits >= 0 && h->task == EMOTI_TASK_EXPR && emoti_head_outputs(h) != 8)
            return emoti_fail(EMOTI_ERR_ARG, "%s: --pretrained-logits needs 8-class expr heads",
                              head_name(c, i, a, sizeof a));
    }
    if (c->pretrained_va && m->valence_index < 0)
        return emoti_fail(EMOTI_ERR_ARG, "%s: --pretrained-va needs a multi-task model (valence and arousal outputs)",
                          model_name(c));
    if (c->pretrained_logits >= 0 && m->n_logits != 8)
        return emoti_fail(EMOTI_ERR_ARG, "%s: --pretrained-logits needs the 8 AffectNet logits, this model has %d",
                          model_name(c), m->n_logits);
    if (c->backbone && (m->n_logits < 1 || m->n_logits > EMOTI_TIMELINE_MAX_OUTPUTS))
        return emoti_fail(EMOTI_ERR_ARG, "%s: %d class logits (1 to %d)", model_name(c), m->n_logits,
                          EMOTI_TIMELINE_MAX_OUTPUTS);
    return EMOTI_OK;
}

static void add_source(emoti_timeline *t, int kind, int head, int task, int dim, double weight) {
    source *s = &t->src[t->n_src++];
    s->kind = kind, s->head = head, s->task = task, s->dim = dim, s->off = t->raw_dim;
    s->weight = weight;
    t->raw_dim += dim;
}

static void task_on(task_state *ts, int dim, int k, const char *const *labels) {
    ts->on = 1, ts->dim = dim, ts->k = k, ts->labels = labels;
}

static int chosen_k(const emoti_timeline_config *c, int task, int tuned) {
    return c->k[task] >= 0 ? c->k[task] : tuned;
}

/* Sources in raw order (heads, logits, VA, probabilities) and the tasks they feed. */
static emoti_status plan(emoti_timeline *t, const emoti_info *m) {
    const emoti_timeline_config *c = &t->cfg;
    for (int i = 0; i < t->n_heads; i++) {
        const emoti_head *h = t->heads[i];
        task_state *ts = &t->t[h->task];
        add_source(t, SRC_HEAD, i, h->task, emoti_head_outputs(h), c->weights ? c->weights[i] : 1);
        if (ts->on) continue; /* the first head of a task sets its k, labels and thresholds */
        task_on(ts, emoti_head_outputs(h), chosen_k(c, h->task, h->smooth_k), (const char *const *)h->labels);
        if (h->task == EMOTI_TASK_AU) emoti_au_thresholds(h, ts->dim, c->threshold, ts->thr);
    }
    if (c->pretrained_logits >= 0 && !t->t[EMOTI_TASK_EXPR].on)
        return emoti_fail(EMOTI_ERR_ARG, "--pretrained-logits needs an expr head");
    if (c->backbone && t->t[EMOTI_TASK_EXPR].on)
        return emoti_fail(EMOTI_ERR_ARG, "the backbone's probabilities and an expr head are two expressions: give one");
    if (c->pretrained_logits >= 0) add_source(t, SRC_LOGITS, -1, EMOTI_TASK_EXPR, 8, 1);
    if (c->pretrained_va || (c->backbone && m->valence_index >= 0)) {
        if (t->t[EMOTI_TASK_VA].on)
            return emoti_fail(EMOTI_ERR_ARG, "a va head and the model's own valence/arousal: give one");
        add_source(t, SRC_VA, -1, EMOTI_TASK_VA, 2, 1);
        task_on(&t->t[EMOTI_TASK_VA], 2, chosen_k(c, EMOTI_TASK_VA, emoti_task_default_k(EMOTI_TASK_VA)), VA_LABELS);
    }
    if (c->backbone) {
        add_source(t, SRC_PROBS, -1, EMOTI_TASK_EXPR, m->n_logits, 1);
        task_on(&t->t[EMOTI_TASK_EXPR], m->n_logits,
                chosen_k(c, EMOTI_TASK_EXPR, emoti_task_default_k(EMOTI_TASK_EXPR)), m->labels);
    }
    if (m) t->va_index = m->valence_index, t->ar_index = m->arousal_index;
    t->all_mask = t->n_src ? (uint32_t)((1ull << t->n_src) - 1) : 0;
    t->latency = -1;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_state *ts = &t->t[task];
        if (!ts->on) continue;
        ts->off = t->width, t->width += ts->dim;
        if (c->lag < 0) continue;
        ts->lag = c->lag < ts->k ? c->lag : ts->k;
        t->latency = ts->lag > t->latency ? ts->lag : t->latency;
        if (!emoti_smoother_init(&ts->sm, ts->dim, ts->k, ts->lag)) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    if (!t->width) return emoti_fail(EMOTI_ERR_ARG, "a timeline needs a head, a pre-trained mode or the backbone mode");
    return EMOTI_OK;
}

static emoti_status alloc_buffers(emoti_timeline *t) {
    size_t rd = (size_t)t->raw_dim, w = (size_t)t->width, slots = t->latency >= 0 ? (size_t)t->latency + 1 : 0;
    size_t scratch = 0;
    for (int i = 0; i < t->n_heads; i++) {
        size_t s = emoti_head_scratch_floats(t->heads[i], 1);
        scratch = s > scratch ? s : scratch;
    }
    t->q_cap = 4;
    t->q = malloc(t->q_cap * sizeof *t->q);
    t->q_raw = malloc(t->q_cap * rd * sizeof *t->q_raw);
    t->left_raw = malloc(rd * sizeof *t->left_raw);
    t->frame_raw = malloc(rd * sizeof *t->frame_raw);
    t->vals = malloc(w * sizeof *t->vals);
    t->row_vals = malloc(w * sizeof *t->row_vals);
    t->hout = malloc((size_t)(t->raw_dim + 1) * sizeof *t->hout);
    t->scratch_floats = scratch;
    t->scratch = malloc((scratch + 1) * sizeof *t->scratch);
    int ok = t->q && t->q_raw && t->left_raw && t->frame_raw && t->vals && t->row_vals && t->hout && t->scratch;
    if (ok && slots) {
        t->ring = malloc(slots * w * sizeof *t->ring);
        t->ring_filled = malloc(slots);
        ok = t->ring && t->ring_filled;
    }
    return ok ? EMOTI_OK : emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
}

emoti_status emoti_timeline_create(const emoti_head *const *heads, int n_heads, const emoti_info *model,
                                   const emoti_timeline_config *config, emoti_timeline **out) {
    *out = NULL;
    emoti_timeline_config c;
    if (config) c = *config;
    else emoti_timeline_config_init(&c);
    if (c.lag > 100000 || c.pretrained_logits > 1 || c.threshold > 1)
        return emoti_fail(EMOTI_ERR_ARG, "timeline settings out of range (lag <= 100000, weights and thresholds <= 1)");
    for (int task = 0; task < EMOTI_TASK_COUNT; task++)
        if (c.k[task] > 100000) return emoti_fail(EMOTI_ERR_ARG, "k %d out of range (0 to 100000)", c.k[task]);
    emoti_status st = check_heads(heads, n_heads, &c);
    if (!st) st = check_model(heads, n_heads, model, &c);
    if (st) return st;
    emoti_timeline *t = calloc(1, sizeof *t);
    if (!t) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    t->cfg = c;
    t->n_heads = n_heads;
    for (int i = 0; i < n_heads; i++) t->heads[i] = heads[i];
    st = plan(t, model);
    t->cfg.weights = NULL, t->cfg.head_names = NULL, t->cfg.model_name = NULL; /* the caller's */
    if (!st) st = alloc_buffers(t);
    if (st) {
        emoti_timeline_free(t);
        return st;
    }
    emoti_timeline_reset(t);
    *out = t;
    return EMOTI_OK;
}

void emoti_timeline_free(emoti_timeline *t) {
    if (!t) return;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        emoti_smoother_free(&t->t[task].sm);
        free(t->t[task].seq);
    }
    free(t->q), free(t->q_raw), free(t->left_raw), free(t->frame_raw), free(t->vals), free(t->row_vals);
    free(t->ring), free(t->ring_filled), free(t->seq_filled), free(t->hout), free(t->scratch);
    free(t);
}

void emoti_timeline_reset(emoti_timeline *t) {
    for (int i = 0; i < t->n_src; i++) t->src[i].last_valid = t->src[i].left = -1, t->src[i].excluded = 0;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_state *ts = &t->t[task];
        if (ts->on && t->latency >= 0) ts->sm.pushed = ts->sm.flushed = 0;
    }
    t->q_head = t->q_len = 0;
    t->pushed = t->passed = t->emitted = t->faces = 0;
    t->finished = t->flushed = t->row_ready = 0;
}

/* ---- the queue ---- */

static entry *queue_at(emoti_timeline *t, size_t i) { return &t->q[t->q_head + i]; }

static emoti_status queue_append(emoti_timeline *t, uint32_t mask, const double *raw) {
    if (!mask && t->q_len && !queue_at(t, t->q_len - 1)->mask) {
        queue_at(t, t->q_len - 1)->count++;
        return EMOTI_OK;
    }
    size_t rd = (size_t)t->raw_dim;
    if (t->q_head + t->q_len == t->q_cap) {
        if (t->q_head) { /* slide the live entries down */
            memmove(t->q, t->q + t->q_head, t->q_len * sizeof *t->q);
            memmove(t->q_raw, t->q_raw + t->q_head * rd, t->q_len * rd * sizeof *t->q_raw);
            t->q_head = 0;
        } else {
            size_t cap = 2 * t->q_cap;
            entry *q = realloc(t->q, cap * sizeof *q);
            if (q) t->q = q;
            double *qr = realloc(t->q_raw, cap * rd * sizeof *qr);
            if (qr) t->q_raw = qr;
            if (!q || !qr) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
            t->q_cap = cap;
        }
    }
    size_t at = t->q_head + t->q_len++;
    entry *e = &t->q[at];
    e->first = t->pushed, e->count = 1, e->mask = mask;
    if (mask) memcpy(t->q_raw + at * rd, raw, rd * sizeof *raw);
    return EMOTI_OK;
}

/* The first queued frame after entry i with a value for source s, or NULL. */
static const entry *next_with(emoti_timeline *t, size_t i, int s, const double **raw) {
    for (size_t j = i + 1; j < t->q_len; j++) {
        const entry *e = queue_at(t, j);
        if (e->mask >> s & 1) {
            *raw = t->q_raw + (t->q_head + j) * (size_t)t->raw_dim;
            return e;
        }
    }
    return NULL;
}

/* A frame can be passed on once every source has a value at or after it (or the video ended). */
static int passable(const emoti_timeline *t) {
    if (t->passed >= t->pushed) return 0;
    if (t->finished) return 1;
    for (int s = 0; s < t->n_src; s++)
        if (t->src[s].last_valid < t->passed) return 0;
    return 1;
}

/* ---- passing a frame on: gap filling, combining, smoothing ---- */

/* Source s's values on frame f: its own, or interpolated between the gap's ends (copied at the
 * ends of the video), as emoti_fill_gaps computes them over a whole sequence. */
static void fill_source(emoti_timeline *t, int s, long f, const entry *e, size_t qi, double *out) {
    source *src = &t->src[s];
    size_t d = (size_t)src->dim, rd = (size_t)t->raw_dim;
    if (e->mask >> s & 1) {
        memcpy(out, t->q_raw + (t->q_head + qi) * rd + src->off, d * sizeof *out);
        memcpy(t->left_raw + src->off, out, d * sizeof *out);
        src->left = f;
        return;
    }
    const double *rraw = NULL;
    const entry *r = next_with(t, qi, s, &rraw);
    const double *left = t->left_raw + src->off, *right = r ? rraw + src->off : NULL;
    if (src->left >= 0 && r) {
        double w = (double)(f - src->left) / (double)(r->first - src->left);
        double wp = t->cfg.paper_interp ? w : 1 - w, wn = t->cfg.paper_interp ? 1 - w : w;
        for (size_t c = 0; c < d; c++) out[c] = wp * left[c] + wn * right[c];
    } else if (r) {
        memcpy(out, right, d * sizeof *out);
    } else if (src->left >= 0) {
        memcpy(out, left, d * sizeof *out);
    } else {
        src->excluded = 1; /* finished without any value: out of the blend */
    }
}

/* Blends per task, then the pre-trained logits (docs/PIPELINE.md 4.6, 4.4). */
static void combine(const emoti_timeline *t, const double *raw, double *vals) {
    double wsum[EMOTI_TASK_COUNT] = {0, 0, 0};
    const source *logits = NULL;
    memset(vals, 0, (size_t)t->width * sizeof *vals);
    for (int s = 0; s < t->n_src; s++) {
        const source *src = &t->src[s];
        if (src->excluded) continue;
        if (src->kind == SRC_LOGITS) {
            logits = src;
            continue;
        }
        const task_state *ts = &t->t[src->task];
        emoti_blend_add(vals + ts->off, raw + src->off, (size_t)ts->dim, src->weight);
        wsum[src->task] += src->weight;
    }
    for (int task = 0; task < EMOTI_TASK_COUNT; task++)
        if (t->t[task].on) emoti_blend_finish(vals + t->t[task].off, (size_t)t->t[task].dim, wsum[task]);
    if (logits && wsum[EMOTI_TASK_EXPR] > 0)
        emoti_mix_pretrained_logits(vals + t->t[EMOTI_TASK_EXPR].off, raw + logits->off, t->cfg.pretrained_logits);
}

static int grow_centred(emoti_timeline *t) {
    long cap = t->cap_frames ? 2 * t->cap_frames : 1024;
    unsigned char *f = realloc(t->seq_filled, (size_t)cap);
    if (!f) return 0;
    t->seq_filled = f;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_state *ts = &t->t[task];
        if (!ts->on) continue;
        double *seq = realloc(ts->seq, (size_t)cap * (size_t)ts->dim * sizeof *seq);
        if (!seq) return 0;
        ts->seq = seq;
    }
    t->cap_frames = cap;
    return 1;
}

static void copy_row(emoti_timeline *t, long frame, const double *vals, int filled) {
    memcpy(t->row_vals, vals, (size_t)t->width * sizeof *vals);
    t->row.frame = frame;
    t->row.filled = filled;
    t->row_ready = 1;
    t->emitted++;
}

/* Causal: frame i's smoothed values come out of each task's smoother lag frames later and wait
 * in the ring until the slowest task has its own; frame i - latency's row is then final. */
static void causal_push(emoti_timeline *t, long i, const double *vals, int filled) {
    size_t slots = (size_t)t->latency + 1, w = (size_t)t->width;
    t->ring_filled[(size_t)i % slots] = (unsigned char)filled;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_state *ts = &t->t[task];
        if (!ts->on) continue;
        double *out = i >= ts->lag ? t->ring + (size_t)(i - ts->lag) % slots * w + ts->off : NULL;
        emoti_smoother_push(&ts->sm, vals + ts->off, out);
    }
    if (i >= t->latency) {
        size_t j = (size_t)(i - t->latency);
        copy_row(t, (long)j, t->ring + j % slots * w, t->ring_filled[j % slots]);
    }
}

static emoti_status pass_one(emoti_timeline *t) {
    entry *e = queue_at(t, 0);
    long f = t->passed;
    int filled = e->mask != t->all_mask;
    for (int s = 0; s < t->n_src; s++)
        fill_source(t, s, f, e, 0, t->frame_raw + t->src[s].off);
    if (e->count > 1) e->first++, e->count--;
    else t->q_head++, t->q_len--;
    if (!t->q_len) t->q_head = 0;
    t->passed++;
    combine(t, t->frame_raw, t->vals);
    if (t->latency >= 0) {
        causal_push(t, f, t->vals, filled);
        return EMOTI_OK;
    }
    if (f == t->cap_frames && !grow_centred(t)) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    t->seq_filled[f] = (unsigned char)filled;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_state *ts = &t->t[task];
        if (ts->on) memcpy(ts->seq + (size_t)f * (size_t)ts->dim, t->vals + ts->off, (size_t)ts->dim * sizeof *t->vals);
    }
    return EMOTI_OK;
}

/* ---- feeding ---- */

static void backbone_values(emoti_timeline *t, const emoti_result *r, double *raw) {
    for (int s = 0; s < t->n_src; s++) {
        const source *src = &t->src[s];
        double *o = raw + src->off;
        if (src->kind == SRC_LOGITS) {
            float mapped[8];
            emoti_affwild_logits(r->outputs, mapped);
            for (int q = 0; q < 8; q++) o[q] = mapped[q];
        } else if (src->kind == SRC_VA) {
            o[0] = r->outputs[t->va_index], o[1] = r->outputs[t->ar_index];
        } else if (src->kind == SRC_PROBS) {
            for (int q = 0; q < src->dim; q++) o[q] = r->probs[q];
        }
    }
}

emoti_status emoti_timeline_push_outputs(emoti_timeline *t, const float *const *head_outputs,
                                         const emoti_result *backbone) {
    if (t->row_ready || t->finished)
        return emoti_fail(EMOTI_ERR_ARG, t->finished ? "push after emoti_timeline_finish (reset first)"
                                                     : "push with a row waiting: take it with emoti_timeline_next first");
    uint32_t mask = 0;
    double *raw = t->frame_raw;
    for (int s = 0; s < t->n_src; s++) {
        const source *src = &t->src[s];
        if (src->kind != SRC_HEAD) { /* a backbone value: backbone_values fills it below */
            if (backbone) mask |= 1u << s;
            continue;
        }
        const float *h = head_outputs ? head_outputs[src->head] : NULL;
        if (!h) continue;
        mask |= 1u << s;
        for (int q = 0; q < src->dim; q++) raw[src->off + q] = h[q];
    }
    if (backbone) backbone_values(t, backbone, raw);
    emoti_status st = queue_append(t, mask, raw);
    if (st) return st;
    for (int s = 0; s < t->n_src; s++)
        if (mask >> s & 1) t->src[s].last_valid = t->pushed;
    t->faces += mask != 0;
    t->pushed++;
    while (!t->row_ready && passable(t)) /* up to the first final row (causal) */
        if (pass_one(t)) return EMOTI_ERR_NOMEM;
    return EMOTI_OK;
}

emoti_status emoti_timeline_push(emoti_timeline *t, const emoti_result *r, const float *embedding) {
    const float *outs[EMOTI_TIMELINE_MAX_HEADS] = {0};
    int at = 0;
    for (int i = 0; r && i < t->n_heads; i++) {
        const emoti_head *h = t->heads[i];
        const float *x = h->input == EMOTI_INPUT_LOGITS ? r->outputs : embedding;
        if (!x) return emoti_fail(EMOTI_ERR_ARG, "head %d reads the embedding: pass it", i + 1);
        emoti_head_forward_scratch(h, x, 1, t->hout + at, t->scratch);
        outs[i] = t->hout + at;
        at += emoti_head_outputs(h);
    }
    return emoti_timeline_push_outputs(t, outs, r);
}

emoti_status emoti_timeline_finish(emoti_timeline *t) {
    if (t->finished) return EMOTI_OK;
    if (t->row_ready) return emoti_fail(EMOTI_ERR_ARG, "finish with a row waiting: take it with emoti_timeline_next first");
    t->finished = 1;
    if (t->latency >= 0) return EMOTI_OK;
    while (passable(t))
        if (pass_one(t)) return EMOTI_ERR_NOMEM;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_state *ts = &t->t[task];
        if (ts->on && !emoti_smooth_box(ts->seq, ts->seq, (size_t)t->passed, ts->dim, ts->k))
            return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    return EMOTI_OK;
}

/* ---- rows ---- */

/* Causal, after the last frame: the smoothers' pending rows into the ring. */
static void causal_flush(emoti_timeline *t) {
    size_t n = (size_t)t->passed, slots = (size_t)t->latency + 1, w = (size_t)t->width;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_state *ts = &t->t[task];
        if (!ts->on) continue;
        size_t j = n - (n < (size_t)ts->lag ? n : (size_t)ts->lag);
        while (emoti_smoother_flush(&ts->sm, t->ring + j % slots * w + ts->off)) j++;
    }
    t->flushed = 1;
}

/* The next final row into t->row_vals, if there is one. */
static emoti_status advance(emoti_timeline *t) {
    if (t->latency >= 0) {
        while (!t->row_ready && passable(t))
            if (pass_one(t)) return EMOTI_ERR_NOMEM;
        if (t->row_ready || !t->finished || t->emitted >= t->passed) return EMOTI_OK;
        if (!t->flushed) causal_flush(t);
        size_t j = (size_t)t->emitted, slots = (size_t)t->latency + 1, w = (size_t)t->width;
        copy_row(t, (long)j, t->ring + j % slots * w, t->ring_filled[j % slots]);
        return EMOTI_OK;
    }
    if (!t->finished || t->emitted >= t->passed) return EMOTI_OK;
    long j = t->emitted;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        const task_state *ts = &t->t[task];
        if (ts->on) memcpy(t->vals + ts->off, ts->seq + (size_t)j * (size_t)ts->dim, (size_t)ts->dim * sizeof *t->vals);
    }
    copy_row(t, j, t->vals, t->seq_filled[j]);
    return EMOTI_OK;
}

/* The row's views of row_vals, and its decisions. */
static void describe_row(emoti_timeline *t) {
    emoti_timeline_row *r = &t->row;
    const task_state *va = &t->t[EMOTI_TASK_VA], *ex = &t->t[EMOTI_TASK_EXPR], *au = &t->t[EMOTI_TASK_AU];
    r->has_va = va->on;
    r->valence = va->on ? t->row_vals[va->off] : 0;
    r->arousal = va->on ? t->row_vals[va->off + 1] : 0;
    r->n_classes = ex->on ? ex->dim : 0;
    r->probs = ex->on ? t->row_vals + ex->off : NULL;
    r->class_labels = ex->on ? ex->labels : NULL;
    t->row_cls = 0;
    if (ex->on) emoti_decide(EMOTI_TASK_EXPR, r->probs, ex->dim, NULL, &t->row_cls);
    r->expression = t->row_cls;
    r->n_aus = au->on ? au->dim : 0;
    r->au_probs = au->on ? t->row_vals + au->off : NULL;
    r->au_labels = au->on ? au->labels : NULL;
    if (au->on) emoti_decide(EMOTI_TASK_AU, r->au_probs, au->dim, au->thr, t->row_au);
    r->au_active = au->on ? t->row_au : NULL;
}

int emoti_timeline_next(emoti_timeline *t, emoti_timeline_row *row) {
    if (!t->row_ready && advance(t)) return 0;
    if (!t->row_ready) return 0;
    t->row_ready = 0;
    describe_row(t);
    *row = t->row;
    return 1;
}

/* ---- about ---- */

void emoti_timeline_task_info(const emoti_timeline *t, int task, emoti_timeline_task *info) {
    memset(info, 0, sizeof *info);
    info->lag = -1;
    if (task < 0 || task >= EMOTI_TASK_COUNT || !t->t[task].on) return;
    const task_state *ts = &t->t[task];
    info->on = 1, info->dim = ts->dim, info->k = ts->k, info->labels = ts->labels;
    info->lag = t->latency >= 0 ? ts->lag : -1;
    info->thresholds = task == EMOTI_TASK_AU ? ts->thr : NULL;
}

int emoti_timeline_latency(const emoti_timeline *t) { return t->latency; }
long emoti_timeline_frames(const emoti_timeline *t) { return t->pushed; }
long emoti_timeline_faces(const emoti_timeline *t) { return t->faces; }

size_t emoti_timeline_memory(const emoti_timeline *t) {
    size_t rd = (size_t)t->raw_dim, w = (size_t)t->width, slots = t->latency >= 0 ? (size_t)t->latency + 1 : 0;
    size_t cap = (size_t)t->cap_frames;
    size_t bytes = sizeof *t + t->q_cap * (sizeof *t->q + rd * sizeof *t->q_raw) + 2 * rd * sizeof(double) +
                   2 * w * sizeof(double) + (rd + 1 + t->scratch_floats + 1) * sizeof(float) +
                   slots * (w * sizeof(double) + 1) + cap;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        const task_state *ts = &t->t[task];
        if (!ts->on) continue;
        bytes += cap * (size_t)ts->dim * sizeof(double);
        if (t->latency >= 0) bytes += (size_t)ts->sm.width * (size_t)ts->dim * sizeof(double);
    }
    return bytes;
}
