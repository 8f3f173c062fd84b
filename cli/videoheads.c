/* emoti video --heads (videoheads.h). A frame's way through:
 *   backbone -> raw values (each head's outputs, the mapped AffectNet logits, the backbone's VA)
 *   -> gap filling (a frame that failed to decode waits for the next good one)
 *   -> combine (blends, pre-trained logits) -> smoothing per task -> decisions -> row.
 * The per-frame steps are predict's own functions (dataset.c, temporal.c) in predict's order, so
 * the numbers equal extract + predict's. Centred mode keeps every frame until the input ends
 * (the box needs the future); causal mode streams through emoti_smoother, each task with its
 * lag, and writes a row as soon as every task's window for it is complete. */
#include "videoheads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "heads.h"
#include "plot.h"
#include "temporal.h"

#define VH_MAX_OUT 64 /* outputs of one EXPR or AU head */

static const char *const VA_LABELS[2] = {"valence", "arousal"};

/* ---- options ---- */

void vh_opts_init(vh_opts *v) {
    memset(v, 0, sizeof *v);
    v->k = v->lag = -1;
    v->pre_w = v->threshold = -1;
}

void vh_opts_free(vh_opts *v) {
    for (int i = 0; i < v->n_lists; i++) free(v->lists[i]);
    v->n_lists = 0;
}

/* -H A,B: a copy of the value, split in place. */
static void add_heads(vh_opts *v, const char *list) {
    if (v->n_lists == VH_MAX_HEADS) cli_usage_error("video", "at most %d heads", VH_MAX_HEADS);
    char *copy = malloc(strlen(list) + 1);
    if (!copy) {
        fprintf(stderr, "emoti: out of memory\n");
        exit(EXIT_RUNTIME);
    }
    strcpy(copy, list);
    v->lists[v->n_lists++] = copy;
    for (char *p = copy;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!*p) cli_usage_error("video", "--heads '%s' has an empty file name", list);
        if (v->n_heads == VH_MAX_HEADS) cli_usage_error("video", "at most %d heads", VH_MAX_HEADS);
        v->heads[v->n_heads++] = p;
        if (!comma) break;
        p = comma + 1;
    }
}

int vh_opts_parse(vh_opts *v, int argc, char **argv, int *i) {
    const char *a = argv[*i];
#define IS(name) (!strcmp(a, name))
    int heads = IS("-H") || IS("--heads") || IS("--head");
    int valued = heads || IS("-w") || IS("--weights") || IS("-k") || IS("--smooth") || IS("--causal") ||
                 IS("--threshold") || IS("--pretrained-logits") || IS("--plot");
    if (!valued && !IS("--paper-interp") && !IS("--values") && !IS("--pretrained-va")) return 0;
    if (valued && *i + 1 >= argc) cli_usage_error("video", "%s needs a value", a);
    const char *val = valued ? argv[++*i] : NULL;
    if (!heads && !IS("--pretrained-va") && !v->needs_heads) v->needs_heads = a; /* see vh_opts_check */
    if (heads) add_heads(v, val);
    else if (IS("-w") || IS("--weights")) v->weights_s = val;
    else if (IS("-k") || IS("--smooth")) v->k = parse_int_arg("video", a, val, 0, 100000);
    else if (IS("--causal")) v->lag = parse_int_arg("video", a, val, 0, 100000);
    else if (IS("--threshold")) v->threshold = parse_double_arg("video", a, val, 0, 1);
    else if (IS("--pretrained-logits")) v->pre_w = parse_double_arg("video", a, val, 0, 1);
    else if (IS("--plot")) v->plot = val;
    else if (IS("--paper-interp")) v->paper = 1;
    else if (IS("--values")) v->values = 1;
    else v->pre_va = 1;
#undef IS
    return 1;
}

int vh_active(const vh_opts *v) { return v->n_heads > 0 || v->pre_va; }

void vh_opts_check(vh_opts *v, const infer_opts *o) {
    if (!vh_active(v)) {
        if (v->needs_heads) cli_usage_error("video", "%s needs --heads (or --pretrained-va)", v->needs_heads);
        return;
    }
    if (o->format == FMT_TEXT) cli_usage_error("video", "--heads writes csv or jsonl");
    if (o->embeddings) cli_usage_error("video", "-e does not go with --heads");
    if (v->plot && !*v->plot) cli_usage_error("video", "--plot needs a file name");
    for (int i = 0; i < VH_MAX_HEADS; i++) v->weights[i] = 1;
    if (v->weights_s) parse_weights("video", v->weights_s, v->weights, v->n_heads);
}

/* ---- state ---- */

/* One task's values: its heads blended, then smoothed and decided. */
typedef struct {
    int on, dim, k, lag; /* lag: causal mode's, min(LAG, k) */
    int off;             /* offset in a frame's task values */
    const char *const *labels;
    double thr[VH_MAX_OUT]; /* AU */
    emoti_smoother sm;      /* causal mode */
    double *seq;            /* centred mode: [frames][dim] */
} task_out;

typedef struct {
    row_key key;
    int filled; /* the frame failed to decode: its values are gap-filled */
} frame_tag;

typedef struct {
    const vh_opts *v;
    const char *input, *model;
    int format;
    emoti_info in;
    emoti_head *heads[VH_MAX_HEADS];
    /* One frame's raw values: head i's outputs at raw_off[i], the Aff-Wild2-ordered logits at
     * logits_off (--pretrained-logits), the backbone's VA at va_off (--pretrained-va). */
    int raw_off[VH_MAX_HEADS], logits_off, va_off, raw_dim;
    task_out t[EMOTI_TASK_COUNT];
    int width;   /* task values per frame (VA, EXPR, AU in that order) */
    int latency; /* causal mode: a row is written this many frames after its own; -1: centred */
    /* Gap filling: the last good frame (once there is one), then the undecodable frames since. */
    double *held;
    frame_tag *held_tags;
    unsigned char *held_valid;
    size_t n_held, cap_held;
    int have_good;
    /* Frames passed on: every tag (centred mode) or a ring of latency + 1 tags and rows. */
    frame_tag *tags;
    double *ring;
    size_t n_frames, cap_frames, written;
    long filled;
    int header_done;
    plot_data plot;
    char title[512], subtitle[512];
    float *emb, *hout;
    double *raw, *vals;
} vh_ctx;

static int out_of_memory(void) {
    fprintf(stderr, "emoti: out of memory\n");
    return 0;
}

/* ---- set-up: heads, model, tasks ---- */

static int load_heads(vh_ctx *c) {
    const vh_opts *v = c->v;
    for (int i = 0; i < v->n_heads; i++) {
        if (emoti_head_load(v->heads[i], &c->heads[i])) {
            fprintf(stderr, "emoti: %s\n", emoti_last_error());
            return 0;
        }
        const emoti_head *h = c->heads[i];
        int dim = emoti_head_outputs(h);
        if (h->task == EMOTI_TASK_VA ? dim != 2 : dim > VH_MAX_OUT) {
            fprintf(stderr, "emoti: %s: a %s head with %d outputs (va heads have 2, the others at most %d)\n",
                    v->heads[i], emoti_task_name(h->task), dim, VH_MAX_OUT);
            return 0;
        }
        if (v->pre_va && h->task == EMOTI_TASK_VA) {
            fprintf(stderr, "emoti: %s: a va head; --pretrained-va takes VA from the model instead\n",
                    v->heads[i]);
            return 0;
        }
        for (int j = 0; j < i; j++)
            if (c->heads[j]->task == h->task) {
                if (!blend_compatible("emoti", v->heads[i], h, v->heads[j], c->heads[j])) return 0;
                break;
            }
    }
    return 1;
}

/* Every head reads the model's embedding or its outputs: the widths must agree. */
static int fits_model(const vh_ctx *c) {
    const vh_opts *v = c->v;
    for (int i = 0; i < v->n_heads; i++) {
        const emoti_head *h = c->heads[i];
        int logits = h->input == EMOTI_INPUT_LOGITS, has = logits ? c->in.n_outputs : c->in.features;
        if (h->sizes[0] != has) {
            fprintf(stderr, "emoti: %s: the %s head reads %d values, but the %s of %s has %d\n",
                    v->heads[i], emoti_task_name(h->task), h->sizes[0], logits ? "outputs" : "embedding",
                    c->model, has);
            return 0;
        }
        if (v->pre_w >= 0 && h->task == EMOTI_TASK_EXPR && emoti_head_outputs(h) != 8) {
            fprintf(stderr, "emoti: %s: --pretrained-logits needs 8-class expr heads\n", v->heads[i]);
            return 0;
        }
    }
    if (v->pre_va && c->in.valence_index < 0) {
        fprintf(stderr, "emoti: %s: --pretrained-va needs a multi-task model (valence and arousal "
                "outputs)\n", c->model);
        return 0;
    }
    if (v->pre_w >= 0 && c->in.n_logits != 8) {
        fprintf(stderr, "emoti: %s: --pretrained-logits needs the 8 AffectNet logits, this model has %d\n",
                c->model, c->in.n_logits);
        return 0;
    }
    return 1;
}

static void task_on(task_out *t, int dim, int k, const char *const *labels) {
    t->on = 1, t->dim = dim, t->k = k, t->labels = labels;
}

/* Raw layout, the tasks' values, k, lag and thresholds; the causal smoothers. */
static int plan_tasks(vh_ctx *c) {
    const vh_opts *v = c->v;
    int raw = 0;
    for (int i = 0; i < v->n_heads; i++) {
        const emoti_head *h = c->heads[i];
        task_out *t = &c->t[h->task];
        c->raw_off[i] = raw, raw += emoti_head_outputs(h);
        if (t->on) continue; /* the first head of a task sets its k, labels and thresholds */
        task_on(t, emoti_head_outputs(h), v->k >= 0 ? v->k : h->smooth_k, (const char *const *)h->labels);
        if (h->task == EMOTI_TASK_AU) au_thresholds(h, t->dim, v->threshold, t->thr);
    }
    if (v->pre_w >= 0 && !c->t[EMOTI_TASK_EXPR].on) {
        fprintf(stderr, "emoti: --pretrained-logits needs an expr head\n");
        return 0;
    }
    if (v->pre_w >= 0) c->logits_off = raw, raw += 8;
    if (v->pre_va) {
        c->va_off = raw, raw += 2;
        task_on(&c->t[EMOTI_TASK_VA], 2, v->k >= 0 ? v->k : emoti_task_default_k(EMOTI_TASK_VA), VA_LABELS);
    }
    c->raw_dim = raw;
    c->latency = -1;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_out *t = &c->t[task];
        if (!t->on) continue;
        t->off = c->width, c->width += t->dim;
        if (v->lag < 0) continue;
        t->lag = v->lag < t->k ? v->lag : t->k;
        c->latency = t->lag > c->latency ? t->lag : c->latency;
        if (!emoti_smoother_init(&t->sm, t->dim, t->k, t->lag)) return out_of_memory();
    }
    return 1;
}

static int alloc_buffers(vh_ctx *c) {
    c->emb = malloc((size_t)c->in.features * sizeof *c->emb);
    c->hout = malloc(VH_MAX_OUT * sizeof *c->hout);
    c->raw = malloc((size_t)c->raw_dim * sizeof *c->raw);
    c->vals = malloc((size_t)c->width * sizeof *c->vals);
    int ok = c->emb && c->hout && c->raw && c->vals;
    if (ok && c->latency >= 0) {
        size_t slots = (size_t)c->latency + 1;
        c->tags = malloc(slots * sizeof *c->tags);
        c->ring = malloc(slots * (size_t)c->width * sizeof *c->ring);
        ok = c->tags && c->ring;
    }
    return ok ? 1 : out_of_memory();
}

/* "va k 50, expr k 50 lag 5, ..." */
static void describe_tasks(const vh_ctx *c, char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (int task = 0; task < EMOTI_TASK_COUNT && at < size; task++) {
        const task_out *t = &c->t[task];
        if (!t->on) continue;
        int n = snprintf(buf + at, size - at, "%s%s k %d", at ? ", " : "", emoti_task_name(task), t->k);
        at += n > 0 ? (size_t)n : 0;
        if (c->latency >= 0 && at < size) {
            n = snprintf(buf + at, size - at, " lag %d", t->lag);
            at += n > 0 ? (size_t)n : 0;
        }
    }
}

static void plan_plot(vh_ctx *c) {
    plot_data *p = &c->plot;
    char tasks[256];
    describe_tasks(c, tasks, sizeof tasks);
    snprintf(c->title, sizeof c->title, "emoti video %s", c->input);
    snprintf(c->subtitle, sizeof c->subtitle, "model %s; smoothing %s (%s)", c->model, tasks,
             c->latency >= 0 ? "causal" : "centred box");
    p->title = c->title, p->subtitle = c->subtitle;
    p->has_va = c->t[EMOTI_TASK_VA].on;
    if (c->t[EMOTI_TASK_EXPR].on)
        p->n_classes = c->t[EMOTI_TASK_EXPR].dim, p->class_labels = c->t[EMOTI_TASK_EXPR].labels;
    if (c->t[EMOTI_TASK_AU].on) p->n_aus = c->t[EMOTI_TASK_AU].dim, p->au_labels = c->t[EMOTI_TASK_AU].labels;
}

/* ---- rows ---- */

/* A CSV column named prefix + label. */
static void csv_name(const char *prefix, const char *label) {
    char *s = malloc(strlen(prefix) + strlen(label) + 1);
    if (!s) return;
    sprintf(s, "%s%s", prefix, label);
    putchar(',');
    csv_field(s);
    free(s);
}

static void csv_header(const vh_ctx *c) {
    const task_out *ex = &c->t[EMOTI_TASK_EXPR], *au = &c->t[EMOTI_TASK_AU];
    fputs("frame,file,filled", stdout);
    if (c->t[EMOTI_TASK_VA].on) fputs(",valence,arousal", stdout);
    if (ex->on) fputs(",expression", stdout);
    for (int q = 0; ex->on && q < ex->dim; q++) csv_name("p_", ex->labels[q]);
    for (int q = 0; au->on && q < au->dim; q++) csv_name(c->v->values ? "p_" : "", au->labels[q]);
    putchar('\n');
}

static void csv_row(const vh_ctx *c, frame_tag tag, const double *vals, int cls, const int *aus) {
    const task_out *va = &c->t[EMOTI_TASK_VA], *ex = &c->t[EMOTI_TASK_EXPR], *au = &c->t[EMOTI_TASK_AU];
    printf("%d,", tag.key.frame);
    csv_field(tag.key.file);
    printf(",%d", tag.filled);
    if (va->on) printf(",%.6f,%.6f", vals[va->off], vals[va->off + 1]);
    if (ex->on) {
        putchar(',');
        csv_field(ex->labels[cls]);
        for (int q = 0; q < ex->dim; q++) printf(",%.6f", vals[ex->off + q]);
    }
    for (int q = 0; au->on && q < au->dim; q++) {
        if (c->v->values) printf(",%.6f", vals[au->off + q]);
        else printf(",%d", aus[q]);
    }
    putchar('\n');
}

static void json_row(const vh_ctx *c, frame_tag tag, const double *vals, int cls, const int *aus) {
    const task_out *va = &c->t[EMOTI_TASK_VA], *ex = &c->t[EMOTI_TASK_EXPR], *au = &c->t[EMOTI_TASK_AU];
    printf("{\"frame\":%d,\"file\":", tag.key.frame);
    json_string(tag.key.file);
    printf(",\"filled\":%s", tag.filled ? "true" : "false");
    if (va->on) printf(",\"valence\":%.6f,\"arousal\":%.6f", vals[va->off], vals[va->off + 1]);
    if (ex->on) {
        fputs(",\"expression\":", stdout);
        json_string(ex->labels[cls]);
        fputs(",\"probs\":{", stdout);
        for (int q = 0; q < ex->dim; q++) {
            if (q) putchar(',');
            json_string(ex->labels[q]);
            printf(":%.6f", vals[ex->off + q]);
        }
        putchar('}');
    }
    if (au->on) {
        fputs(",\"au\":{", stdout);
        for (int q = 0; q < au->dim; q++) {
            if (q) putchar(',');
            json_string(au->labels[q]);
            if (c->v->values) printf(":%.6f", vals[au->off + q]);
            else printf(":%d", aus[q]);
        }
        putchar('}');
    }
    fputs("}\n", stdout);
}

/* One finished row: decisions, the row on stdout (flushed in live mode), the plot's record. */
static int write_frame(vh_ctx *c, frame_tag tag, const double *vals) {
    const task_out *ex = &c->t[EMOTI_TASK_EXPR], *au = &c->t[EMOTI_TASK_AU];
    int cls = 0, aus[VH_MAX_OUT] = {0};
    if (ex->on) decide(EMOTI_TASK_EXPR, vals + ex->off, ex->dim, NULL, &cls);
    if (au->on) decide(EMOTI_TASK_AU, vals + au->off, au->dim, au->thr, aus);
    if (!c->header_done && c->format == FMT_CSV) csv_header(c);
    c->header_done = 1;
    if (c->format == FMT_JSONL) json_row(c, tag, vals, cls, aus);
    else csv_row(c, tag, vals, cls, aus);
    if (c->latency >= 0) fflush(stdout);
    c->written++;
    c->filled += tag.filled;
    const double *va = c->t[EMOTI_TASK_VA].on ? vals + c->t[EMOTI_TASK_VA].off : NULL;
    if (c->v->plot && !plot_add(&c->plot, va, cls, aus, tag.filled)) return out_of_memory();
    return 1;
}

/* ---- smoothing: causal (streaming) and centred (at the end) ---- */

/* Frame i's smoothed values for task t come out of its smoother t->lag frames later and wait
 * in the ring until the slowest task has its own; then the row is written. */
static int causal_push(vh_ctx *c, frame_tag tag, const double *vals) {
    size_t i = c->n_frames++, slots = (size_t)c->latency + 1, w = (size_t)c->width;
    c->tags[i % slots] = tag;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_out *t = &c->t[task];
        if (!t->on) continue;
        /* Nothing comes out (and out is not touched) before the lag-th push. */
        double *out = i >= (size_t)t->lag ? c->ring + (i - (size_t)t->lag) % slots * w + t->off : NULL;
        emoti_smoother_push(&t->sm, vals + t->off, out);
    }
    if (i < (size_t)c->latency) return 1;
    size_t j = i - (size_t)c->latency;
    return write_frame(c, c->tags[j % slots], c->ring + j % slots * w);
}

static int causal_finish(vh_ctx *c) {
    size_t n = c->n_frames, slots = (size_t)c->latency + 1, w = (size_t)c->width;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_out *t = &c->t[task];
        if (!t->on) continue;
        size_t j = n - (n < (size_t)t->lag ? n : (size_t)t->lag);
        while (emoti_smoother_flush(&t->sm, c->ring + j % slots * w + t->off)) j++;
    }
    for (size_t j = c->written; j < n; j++)
        if (!write_frame(c, c->tags[j % slots], c->ring + j % slots * w)) return 0;
    return 1;
}

static int centred_keep(vh_ctx *c, frame_tag tag, const double *vals) {
    if (c->n_frames == c->cap_frames) {
        size_t cap = c->cap_frames ? 2 * c->cap_frames : 1024;
        frame_tag *tags = realloc(c->tags, cap * sizeof *tags);
        if (!tags) return out_of_memory();
        c->tags = tags;
        for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
            task_out *t = &c->t[task];
            if (!t->on) continue;
            double *seq = realloc(t->seq, cap * (size_t)t->dim * sizeof *seq);
            if (!seq) return out_of_memory();
            t->seq = seq;
        }
        c->cap_frames = cap;
    }
    size_t i = c->n_frames++;
    c->tags[i] = tag;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_out *t = &c->t[task];
        if (t->on) memcpy(t->seq + i * (size_t)t->dim, vals + t->off, (size_t)t->dim * sizeof *vals);
    }
    return 1;
}

static int centred_finish(vh_ctx *c) {
    size_t n = c->n_frames;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        task_out *t = &c->t[task];
        if (t->on && !emoti_smooth_box(t->seq, t->seq, n, t->dim, t->k)) return out_of_memory();
    }
    for (size_t j = 0; j < n; j++) {
        for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
            const task_out *t = &c->t[task];
            if (t->on) memcpy(c->vals + t->off, t->seq + j * (size_t)t->dim, (size_t)t->dim * sizeof *c->vals);
        }
        if (!write_frame(c, c->tags[j], c->vals)) return 0;
    }
    return 1;
}

/* ---- per frame ---- */

/* The heads' outputs and the backbone values the options use, in the raw layout. */
static int frame_raw(vh_ctx *c, const emoti_result *r) {
    for (int i = 0; i < c->v->n_heads; i++) {
        const emoti_head *h = c->heads[i];
        if (emoti_head_forward(h, h->input == EMOTI_INPUT_LOGITS ? r->outputs : c->emb, 1, c->hout)) {
            fprintf(stderr, "emoti: %s: %s\n", c->v->heads[i], emoti_last_error());
            return 0;
        }
        for (int q = 0; q < emoti_head_outputs(h); q++) c->raw[c->raw_off[i] + q] = c->hout[q];
    }
    if (c->v->pre_w >= 0) {
        float mapped[8];
        affwild_logits(r->outputs, mapped);
        for (int q = 0; q < 8; q++) c->raw[c->logits_off + q] = mapped[q];
    }
    if (c->v->pre_va) {
        c->raw[c->va_off] = r->outputs[c->in.valence_index];
        c->raw[c->va_off + 1] = r->outputs[c->in.arousal_index];
    }
    return 1;
}

/* Blends per task, then the pre-trained logits, as predict combines filled sequences. */
static void combine(const vh_ctx *c, const double *raw, double *vals) {
    double wsum[EMOTI_TASK_COUNT] = {0, 0, 0};
    memset(vals, 0, (size_t)c->width * sizeof *vals);
    for (int i = 0; i < c->v->n_heads; i++) {
        const task_out *t = &c->t[c->heads[i]->task];
        blend_add(vals + t->off, raw + c->raw_off[i], (size_t)t->dim, c->v->weights[i]);
        wsum[c->heads[i]->task] += c->v->weights[i];
    }
    if (c->v->pre_va) {
        blend_add(vals + c->t[EMOTI_TASK_VA].off, raw + c->va_off, 2, 1);
        wsum[EMOTI_TASK_VA] += 1;
    }
    for (int task = 0; task < EMOTI_TASK_COUNT; task++)
        if (c->t[task].on) blend_finish(vals + c->t[task].off, (size_t)c->t[task].dim, wsum[task]);
    if (c->v->pre_w >= 0) mix_pretrained_logits(vals + c->t[EMOTI_TASK_EXPR].off, raw + c->logits_off, c->v->pre_w);
}

static int pass_on(vh_ctx *c, frame_tag tag, const double *raw) {
    combine(c, raw, c->vals);
    return c->latency >= 0 ? causal_push(c, tag, c->vals) : centred_keep(c, tag, c->vals);
}

static int hold(vh_ctx *c, row_key key, const double *raw) {
    size_t d = (size_t)c->raw_dim;
    if (c->n_held == c->cap_held) {
        size_t cap = c->cap_held ? 2 * c->cap_held : 16;
        double *held = realloc(c->held, cap * d * sizeof *held);
        if (held) c->held = held;
        frame_tag *tags = realloc(c->held_tags, cap * sizeof *tags);
        if (tags) c->held_tags = tags;
        unsigned char *valid = realloc(c->held_valid, cap);
        if (valid) c->held_valid = valid;
        if (!held || !tags || !valid) return out_of_memory();
        c->cap_held = cap;
    }
    size_t i = c->n_held++;
    if (raw) memcpy(c->held + i * d, raw, d * sizeof *raw);
    else memset(c->held + i * d, 0, d * sizeof *raw);
    c->held_tags[i] = (frame_tag){key, raw == NULL};
    c->held_valid[i] = raw != NULL;
    return 1;
}

/* The held frames are [the last good frame, once there is one], then undecodable frames, and
 * the newest is good (or the input ended): fill the gap as predict does (emoti_fill_gaps on
 * this stretch gives the same weights as on the whole video), pass the new frames on and keep
 * the newest as the next gap's left end. */
static int release(vh_ctx *c) {
    size_t d = (size_t)c->raw_dim, n = c->n_held;
    if (!emoti_fill_gaps(c->held, c->held_valid, n, c->raw_dim, c->v->paper)) return 1; /* none good yet */
    for (size_t i = (size_t)c->have_good; i < n; i++)
        if (!pass_on(c, c->held_tags[i], c->held + i * d)) return 0;
    memmove(c->held, c->held + (n - 1) * d, d * sizeof *c->held);
    c->held_tags[0] = c->held_tags[n - 1];
    c->held_valid[0] = 1;
    c->n_held = 1, c->have_good = 1;
    return 1;
}

/* raw NULL: the frame could not be decoded; it waits for the next good one. */
static int take_frame(vh_ctx *c, row_key key, const double *raw) {
    if (!hold(c, key, raw)) return 0;
    return raw ? release(c) : 1;
}

/* ---- the run ---- */

static int read_frames(vh_ctx *c, emoti_model *m, emoti_frames *s, int *bad, int *broken) {
    int tty = isatty(STDERR_FILENO), done = 0, got;
    double start = seconds(), last = 0;
    long total = emoti_frames_count(s);
    emoti_image frame;
    emoti_frame_info info;
    row_key key;
    while ((got = cli_frames_next(s, c->input, &frame, &info, &key)) != 0) {
        emoti_result r;
        if (got < 0 && !emoti_frames_skippable(s)) { /* reported; a broken stream cannot resync */
            *broken = 1;
            break;
        }
        int good = got > 0;
        if (good && emoti_run_rgb(m, frame.rgb, frame.width, frame.height, (size_t)frame.width * 3, &r, c->emb)) {
            fprintf(stderr, "emoti: %s: frame %d: %s\n", c->input, key.frame, emoti_last_error());
            good = 0;
        }
        *bad += !good;
        if ((good && !frame_raw(c, &r)) || !take_frame(c, key, good ? c->raw : NULL)) return 0;
        done++;
        if (tty) progress(done, total, start, &last, 0);
    }
    if (tty) progress(done, total, start, &last, 1);
    return 1;
}

static int finish(vh_ctx *c) {
    if (c->n_held > (size_t)c->have_good && !release(c)) return 0; /* a trailing gap */
    if (!c->have_good) {
        fprintf(stderr, "emoti: %s: no frame could be decoded\n", c->input);
        return 0;
    }
    return c->latency >= 0 ? causal_finish(c) : centred_finish(c);
}

static int run(vh_ctx *c, emoti_model *m, emoti_frames *s) {
    int bad = 0, broken = 0;
    char tasks[256];
    describe_tasks(c, tasks, sizeof tasks);
    if (c->latency >= 0)
        fprintf(stderr, "emoti video: causal smoothing: each row is written %d frame%s after its frame "
                "arrives (%s)\n", c->latency, c->latency == 1 ? "" : "s", tasks);
    int ok = read_frames(c, m, s, &bad, &broken) && finish(c);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "emoti: stdout: write error\n");
        ok = 0;
    }
    if (ok && !broken && c->v->plot) ok = plot_write(c->v->plot, &c->plot);
    if (ok)
        fprintf(stderr, "emoti video: %zu frames (%ld undecodable, filled), smoothing %s (%s)%s%s\n",
                c->written, c->filled, tasks, c->latency >= 0 ? "causal" : "centred box",
                c->v->plot && !broken ? " -> " : "", c->v->plot && !broken ? c->v->plot : "");
    return ok && !bad && !broken ? EXIT_OK : EXIT_RUNTIME;
}

static void ctx_free(vh_ctx *c) {
    for (int i = 0; i < VH_MAX_HEADS; i++) emoti_head_free(c->heads[i]);
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        emoti_smoother_free(&c->t[task].sm);
        free(c->t[task].seq);
    }
    free(c->held), free(c->held_tags), free(c->held_valid);
    free(c->tags), free(c->ring);
    free(c->emb), free(c->hout), free(c->raw), free(c->vals);
    plot_free(&c->plot);
}

int video_heads(const infer_opts *o, const vh_opts *v, const char *input) {
    vh_ctx c;
    memset(&c, 0, sizeof c);
    c.v = v, c.input = input, c.model = o->model, c.format = o->format;
    emoti_model *m = NULL;
    emoti_frames *s = NULL;
    int rc = EXIT_RUNTIME;
    if (load_heads(&c) && cli_open_model(o, &m)) {
        emoti_model_info(m, &c.in);
        if (fits_model(&c) && plan_tasks(&c) && alloc_buffers(&c) && (!v->plot || plot_probe(v->plot))) {
            plan_plot(&c);
            if (cli_frames_open(input, "emoti video -", &s)) rc = run(&c, m, s);
        }
        emoti_model_close(m);
    }
    emoti_frames_close(s);
    ctx_free(&c);
    return rc;
}
