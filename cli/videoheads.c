/* emoti video --heads (videoheads.h): frames -> backbone -> one timeline (emoti.h: heads, gap
 * filling, blends, pre-trained modes, smoothing, decisions) -> rows on stdout and the plot.
 * `emoti predict` runs the same timeline over extracted features, so the numbers agree. */
#include "videoheads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


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
        cli_say("out of memory");
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
    /* see vh_opts_check */
    int heads_only = IS("-w") || IS("--weights") || IS("--threshold") || IS("--values") || IS("--pretrained-logits");
    if (heads_only && !v->needs_heads) v->needs_heads = a;
    else if (!heads && !heads_only && !IS("--pretrained-va") && !IS("-k") && !IS("--smooth") && !v->needs_mode)
        v->needs_mode = a;
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

int vh_active(const vh_opts *v) { return v->n_heads > 0 || v->pre_va || v->k >= 0 || v->faces.on; }

void vh_opts_check(vh_opts *v, const infer_opts *o) {
    face_opts_check(&v->faces, "video");
    if (v->faces.on && !v->n_heads && !v->pre_va && v->k < 0) v->k = 0;
    if (v->needs_heads && !v->n_heads && !v->pre_va)
        cli_usage_error("video", "%s needs --heads (or --pretrained-va)", v->needs_heads);
    if (!vh_active(v)) {
        if (v->needs_mode)
            cli_usage_error("video", "%s needs --heads, --pretrained-va or -k K (the model's own outputs "
                            "smoothed)", v->needs_mode);
        return;
    }
    if (o->format == EMOTI_FORMAT_TEXT) cli_usage_error("video", "--heads writes csv or jsonl");
    if (o->embeddings) cli_usage_error("video", "-e does not go with --heads");
    if (v->plot && !*v->plot) cli_usage_error("video", "--plot needs a file name");
    for (int i = 0; i < VH_MAX_HEADS; i++) v->weights[i] = 1;
    if (v->weights_s) parse_weights("video", v->weights_s, v->weights, v->n_heads);
}

/* ---- the run ---- */

typedef struct {
    const vh_opts *v;
    const char *input, *model;
    int format;
    emoti_info in;
    emoti_head *heads[VH_MAX_HEADS];
    emoti_timeline *tl;        /* one timeline, or NULL with faces */
    const emoti_timeline *info; /* tl, or the face tracks' template */
    emoti_detector *det;
    emoti_faces *fp;
    emoti_plot *plots;         /* faces: one per track id (from 1) */
    long *first;               /* faces: each track's first frame */
    int64_t n_plots;
    long no_face;
    emoti_frames *src;
    float *emb;
    size_t written;
    long filled;
    int header_done, live, flags; /* flags: EMOTI_ROWS_* */
    emoti_plot plot;
    char title[512], subtitle[512];
} vh_ctx;

static int load_heads(vh_ctx *c) {
    for (int i = 0; i < c->v->n_heads; i++)
        if (emoti_head_load(c->v->heads[i], &c->heads[i])) {
            cli_say("%s", emoti_last_error());
            return 0;
        }
    return 1;
}

static int open_timeline(vh_ctx *c) {
    const vh_opts *v = c->v;
    emoti_timeline_config cfg;
    emoti_timeline_config_init(&cfg);
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) cfg.k[task] = v->k;
    cfg.lag = v->lag;
    cfg.paper_interp = v->paper;
    cfg.threshold = v->threshold;
    cfg.pretrained_logits = v->pre_w;
    cfg.pretrained_va = v->pre_va;
    cfg.backbone = !v->n_heads && !v->pre_va;
    cfg.weights = v->weights;
    cfg.head_names = v->heads;
    cfg.model_name = c->model;
    const emoti_head *const *heads = (const emoti_head *const *)c->heads;
    if (c->fp ? emoti_faces_timelines(c->fp, heads, v->n_heads, &cfg)
              : emoti_timeline_create(heads, v->n_heads, &c->in, &cfg, &c->tl)) {
        cli_say("%s", emoti_last_error());
        return 0;
    }
    c->info = c->fp ? emoti_faces_template(c->fp) : c->tl;
    c->live = emoti_timeline_latency(c->info) >= 0;
    c->emb = malloc((size_t)c->in.features * sizeof *c->emb);
    if (!c->emb) cli_say("out of memory");
    return c->emb != NULL;
}

/* "va k 50, expr k 50 lag 5, ..." */
static void describe_tasks(const vh_ctx *c, char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (int task = 0; task < EMOTI_TASK_COUNT && at < size; task++) {
        emoti_timeline_task t;
        emoti_timeline_task_info(c->info, task, &t);
        if (!t.on) continue;
        int n = snprintf(buf + at, size - at, "%s%s k %d", at ? ", " : "", emoti_task_name(task), t.k);
        at += n > 0 ? (size_t)n : 0;
        if (c->live && at < size) {
            n = snprintf(buf + at, size - at, " lag %d", t.lag);
            at += n > 0 ? (size_t)n : 0;
        }
    }
}

static void plan_plot(vh_ctx *c) {
    emoti_plot *p = &c->plot;
    char tasks[256];
    emoti_timeline_task va, ex, au;
    describe_tasks(c, tasks, sizeof tasks);
    snprintf(c->title, sizeof c->title, "emoti video %s", c->input);
    snprintf(c->subtitle, sizeof c->subtitle, "model %s; smoothing %s (%s)", c->model, tasks,
             c->live ? "causal" : "centred box");
    p->title = c->title, p->subtitle = c->subtitle;
    emoti_timeline_task_info(c->info, EMOTI_TASK_VA, &va);
    emoti_timeline_task_info(c->info, EMOTI_TASK_EXPR, &ex);
    emoti_timeline_task_info(c->info, EMOTI_TASK_AU, &au);
    p->has_va = va.on;
    if (ex.on) p->n_classes = ex.dim, p->class_labels = ex.labels;
    if (au.on) p->n_aus = au.dim, p->au_labels = au.labels;
}

/* The row of frame `frame`: the frame's file in a folder, the input's name for a stream. */
static emoti_row_key row_key_of(const vh_ctx *c, long frame) {
    const char *file = emoti_frames_file(c->src, frame);
    return (emoti_row_key){frame, file ? file : c->input, emoti_frames_time(c->src, frame)};
}

/* Every row the timeline has made final: on stdout (flushed in live mode), into the plot. */
static int write_rows(vh_ctx *c) {
    emoti_timeline_row r;
    while (emoti_timeline_next(c->tl, &r)) {
        if (!c->header_done) emoti_timeline_write_header(stdout, c->tl, c->format, c->flags);
        c->header_done = 1;
        emoti_timeline_write_row(stdout, &r, row_key_of(c, r.frame), c->format, c->flags);
        if (c->live) fflush(stdout);
        c->written++;
        c->filled += r.filled;
        double va[2] = {r.valence, r.arousal};
        if (c->v->plot && emoti_plot_add(&c->plot, r.has_va ? va : NULL, r.expression, r.au_active, r.filled)) {
            cli_say("%s", emoti_last_error());
            return 0;
        }
    }
    return 1;
}

/* Faces: the rows of every track that became final; each track's plot. */
static int write_face_rows(vh_ctx *c) {
    emoti_face_row fr;
    while (emoti_faces_next(c->fp, &fr)) {
        const emoti_timeline_row *r = &fr.row;
        emoti_face_row_write(stdout, &fr, emoti_frames_time(c->src, fr.frame), c->format, c->flags);
        if (c->live) fflush(stdout);
        c->written++;
        c->filled += r->filled;
        if (!c->v->plot) continue;
        if (fr.track > c->n_plots) {
            int64_t n = fr.track + 16;
            emoti_plot *p = realloc(c->plots, (size_t)n * sizeof *p);
            long *first = p ? realloc(c->first, (size_t)n * sizeof *first) : NULL;
            if (p) c->plots = p;
            if (!first) return cli_say("out of memory"), 0;
            c->first = first;
            for (int64_t i = c->n_plots; i < n; i++) c->plots[i] = c->plot, c->first[i] = -1;
            c->n_plots = n;
        }
        double va[2] = {r->valence, r->arousal};
        if (c->first[fr.track - 1] < 0) c->first[fr.track - 1] = fr.frame;
        if (emoti_plot_add(&c->plots[fr.track - 1], r->has_va ? va : NULL, r->expression, r->au_active, r->filled)) {
            cli_say("%s", emoti_last_error());
            return 0;
        }
    }
    return 1;
}

/* OUT.svg -> OUT-trackN.svg */
static void track_plot_name(char *buf, size_t size, const char *plot, int64_t id) {
    size_t n = strlen(plot);
    int svg = n > 4 && !strcmp(plot + n - 4, ".svg");
    snprintf(buf, size, "%.*s-track%lld.svg", (int)(svg ? n - 4 : n), plot, (long long)id);
}

static int write_track_plots(vh_ctx *c) {
    char name[4096];
    for (int64_t i = 0; i < c->n_plots; i++) {
        if (!c->plots[i].n) continue;
        track_plot_name(name, sizeof name, c->v->plot, i + 1);
        snprintf(c->title, sizeof c->title, "emoti video --faces %s: track %lld from frame %ld", c->input,
                 (long long)(i + 1), c->first[i]);
        c->plots[i].title = c->title;
        if (emoti_plot_write(name, &c->plots[i])) return cli_say("%s", emoti_last_error()), 0;
    }
    return 1;
}

/* Fails before reading the video when the plot could not be written. */
static int plot_probe(const char *path) {
    if (!emoti_outfile_probe(path)) return 1;
    cli_say("%s", emoti_last_error());
    return 0;
}

static int take_frame(vh_ctx *c, const emoti_result *r) {
    if (emoti_timeline_push(c->tl, r, c->emb)) {
        cli_say("%s", emoti_last_error());
        return 0;
    }
    return write_rows(c);
}

static int read_frames(vh_ctx *c, emoti_model *m, emoti_frames *s, int *bad, int *broken) {
    int tty = isatty(STDERR_FILENO), done = 0, got;
    double start = seconds(), last = 0;
    long total = emoti_frames_count(s);
    emoti_image frame;
    emoti_frame_info info;
    emoti_row_key key;
    while ((got = cli_frames_next(s, c->input, &frame, &info, &key)) != 0) {
        emoti_result r;
        if (got < 0 && !emoti_frames_skippable(s)) { /* reported; a broken stream cannot resync */
            *broken = 1;
            break;
        }
        int good = got > 0;
        if (c->fp) {
            const emoti_face_result *faces;
            int n;
            if (emoti_faces_frame(c->fp, good ? frame.rgb : NULL, frame.width, frame.height,
                                  (size_t)frame.width * 3, &faces, &n)) {
                cli_say("%s: frame %ld: %s", c->input, key.frame, emoti_last_error());
                return 0;
            }
            *bad += !good;
            c->no_face += good && !n;
            if (!write_face_rows(c)) return 0;
        } else if (good && emoti_run_rgb(m, frame.rgb, frame.width, frame.height, (size_t)frame.width * 3, &r, c->emb)) {
            cli_say("%s: frame %ld: %s", c->input, key.frame, emoti_last_error());
            good = 0;
        }
        if (!c->fp) {
            *bad += !good;
            if (!take_frame(c, good ? &r : NULL)) return 0;
        }
        done++;
        if (tty) progress(done, total, start, &last, 0);
    }
    if (tty) progress(done, total, start, &last, 1);
    return 1;
}

static int finish(vh_ctx *c) {
    if (c->fp) {
        if (!cli_ok(emoti_faces_finish(c->fp)) || !write_face_rows(c)) return 0;
        if (!emoti_faces_tracks(c->fp))
            cli_say("%s: no face in %ld frames", c->input, emoti_faces_frames(c->fp));
        return 1;
    }
    if (!emoti_timeline_faces(c->tl)) {
        cli_say("%s: no frame could be decoded", c->input);
        return 0;
    }
    if (emoti_timeline_finish(c->tl)) {
        cli_say("%s", emoti_last_error());
        return 0;
    }
    return write_rows(c);
}

static int run(vh_ctx *c, emoti_model *m, emoti_frames *s) {
    int bad = 0, broken = 0;
    char tasks[256];
    describe_tasks(c, tasks, sizeof tasks);
    int latency = emoti_timeline_latency(c->info);
    if (c->live)
        cli_say("causal smoothing: each row is written %d frame%s after its frame "
                "arrives (%s)", latency, latency == 1 ? "" : "s", tasks);
    int ok = read_frames(c, m, s, &bad, &broken) && finish(c);
    if (fflush(stdout) || ferror(stdout)) ok = 0; /* main reports it */
    if (ok && !broken && c->v->plot && c->fp) ok = write_track_plots(c);
    else if (ok && !broken && c->v->plot && emoti_plot_write(c->v->plot, &c->plot)) {
        cli_say("%s", emoti_last_error());
        ok = 0;
    }
    if (ok && c->fp)
        cli_say("%ld frames, %lld tracks, %zu rows (%ld filled), %ld frames without a face", emoti_faces_frames(c->fp),
                (long long)emoti_faces_tracks(c->fp), c->written, c->filled, c->no_face);
    else if (ok)
        cli_say("%zu frames (%ld undecodable, filled), smoothing %s (%s)%s%s",
                c->written, c->filled, tasks, c->live ? "causal" : "centred box",
                c->v->plot && !broken ? " -> " : "", c->v->plot && !broken ? c->v->plot : "");
    return ok && !bad && !broken ? EXIT_OK : EXIT_RUNTIME;
}

static void ctx_free(vh_ctx *c) {
    emoti_timeline_free(c->tl);
    cli_close_faces(c->det, c->fp);
    for (int64_t i = 0; i < c->n_plots; i++) c->plots[i].title = NULL, emoti_plot_free(&c->plots[i]);
    free(c->plots), free(c->first);
    for (int i = 0; i < VH_MAX_HEADS; i++) emoti_head_free(c->heads[i]);
    free(c->emb);
    emoti_plot_free(&c->plot);
}

int video_heads(const infer_opts *o, const vh_opts *v, const char *input) {
    vh_ctx c;
    memset(&c, 0, sizeof c);
    c.v = v, c.input = input, c.model = o->model, c.format = o->format;
    emoti_model *m = NULL;
    int rc = EXIT_RUNTIME;
    if (load_heads(&c) && cli_open_model(o, &m)) {
        emoti_model_info(m, &c.in);
        char probe[4096];
        if (v->plot) track_plot_name(probe, sizeof probe, v->plot, 1);
        if ((!v->faces.on || cli_open_faces(&v->faces, m, cli_threads(o), 1, 0, &c.det, &c.fp)) && open_timeline(&c) &&
            (!v->plot || plot_probe(v->faces.on ? probe : v->plot))) {
            plan_plot(&c);
            if (cli_frames_open(input, "emoti video -", &o->decode, &c.src)) {
                c.plot.fps = cli_frames_rate(c.src, o);
                c.flags = (v->values ? EMOTI_ROWS_AU_VALUES : 0) | (c.plot.fps > 0 && !c.fp ? EMOTI_ROWS_TIME : 0);
                if (c.fp) emoti_face_rows_header(stdout, c.info, c.format, c.flags);
                rc = run(&c, m, c.src);
            }
        }
        emoti_model_close(m);
    }
    emoti_frames_close(c.src);
    ctx_free(&c);
    return rc;
}
