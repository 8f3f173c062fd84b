/* emoti predict: heads -> per-video gap filling -> smoothing -> decisions, in ABAW's format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *PREDICT_HELP =
    "usage: emoti predict -H HEAD [-H HEAD...] -i PREFIX [-i PREFIX...] [-o OUT.csv] [options]\n"
    "Per-frame valence-arousal, expression or action units for every video of `emoti extract`\n"
    "output, post-processed per video as in the EmotiEffNet paper: frames without a face are\n"
    "filled (copied at the ends, interpolated linearly between faces), the head outputs are\n"
    "averaged over a box of 2k+1 frames (truncated at the ends), then AU probabilities are\n"
    "thresholded and the expression is the most probable class. Writes the ABAW submission\n"
    "format: a header line, then `video/00001.jpg,<values>` (VA `v,a`; EXPR one class 0..7;\n"
    "AU twelve 0/1).\n"
    "  -H, --head FILE        head container (`emoti fit`/`tune`, tools/export_head.py); several\n"
    "                         heads of one task are blended (weighted mean of their outputs)\n"
    "  -i, --input PREFIX     extract output; one for all heads, or one per head (in order:\n"
    "                         heads on different backbones)\n"
    "  -w, --weights LIST     blend weights, e.g. 0.6,0.4 (default equal)\n"
    "  -o, --output FILE      where to write (default stdout); written whole or not at all\n"
    "  -a, --frames DIR       annotation folder listing the frames to write (one line per frame\n"
    "                         after the header, as ABAW's test lists); default: frames 1 to the\n"
    "                         last extracted one of each video\n"
    "  -k, --smooth K         half-width of the box (default: the head's, as tuned; 0 = none)\n"
    "      --causal LAG       live-stream window: the 2k+1 frames ending LAG frames after each\n"
    "                         frame (0 <= LAG <= k; latency LAG frames; LAG = k is the box)\n"
    "      --paper-interp     the authors' notebook's (reversed) interpolation weights\n"
    "      --threshold T      one AU threshold for all AUs (default: the head's, as tuned)\n"
    "      --pretrained-logits W  EXPR: frames the heads do not call Other get\n"
    "                         W * AffectNet logits (mapped to Aff-Wild2 order) + (1-W) * probs\n"
    "                         (the paper used 0.1); logits from the first input's outputs\n"
    "      --pretrained-va    VA straight from a multi-task backbone's valence/arousal outputs\n"
    "                         (no head needed; outputs.npy with 10 columns)\n"
    "      --values           write the smoothed values (probabilities) instead of decisions\n"
    "  -h, --help             this help\n";

#define MAX_HEADS 16

/* Rows of video `name` of set s re-indexed onto the frames of ref (missing = no face). */
static void align_rows(const emoti_video_seq *ref, const emoti_video_seq *vs, int nv, long *row) {
    const emoti_video_seq *m = NULL;
    for (int i = 0; i < nv && !m; i++)
        if (!strcmp(vs[i].name, ref->name)) m = &vs[i];
    for (int f = 0; f < ref->n_frames; f++) row[f] = m && f < m->n_frames ? m->row[f] : -1;
}

/* Frame f of the video: each head's outputs where its input has the frame, and the first input's
 * backbone outputs where it has the frame (the pre-trained modes read them). */
static int push_frame(emoti_timeline *tl, emoti_head *const *heads, float *const *rows, int n_heads,
                      int n_inputs, const emoti_features *sets, const long *arow, size_t nf, size_t f) {
    const float *outs[MAX_HEADS] = {0};
    for (int i = 0; i < n_heads; i++) {
        long r = arow[(size_t)(n_inputs == 1 ? 0 : i) * nf + f];
        outs[i] = r >= 0 ? rows[i] + (size_t)r * (size_t)emoti_head_outputs(heads[i]) : NULL;
    }
    emoti_result bb;
    long r0 = arow[f];
    if (r0 >= 0 && sets[0].outs)
        memcpy(bb.outputs, sets[0].outs + (size_t)r0 * (size_t)sets[0].out_dim, (size_t)sets[0].out_dim * sizeof(float));
    if (!emoti_timeline_push_outputs(tl, outs, r0 >= 0 && sets[0].outs ? &bb : NULL)) return 1;
    cli_say("%s", emoti_last_error());
    return 0;
}

/* `video/00001.jpg,<values>`: VA v,a; EXPR the class (--values: its probabilities); AU 0/1 each
 * (--values: probabilities). */
static void write_abaw_row(FILE *out, const char *video, const emoti_timeline_row *r, int task, int values) {
    fprintf(out, "%s/%05ld.jpg", video, r->frame + 1);
    if (task == EMOTI_TASK_VA) fprintf(out, ",%.6f,%.6f", r->valence, r->arousal);
    else if (task == EMOTI_TASK_EXPR && values)
        for (int c = 0; c < r->n_classes; c++) fprintf(out, ",%.6f", r->probs[c]);
    else if (task == EMOTI_TASK_EXPR) fprintf(out, ",%d", r->expression);
    else
        for (int c = 0; c < r->n_aus; c++)
            if (values) fprintf(out, ",%.6f", r->au_probs[c]);
            else fprintf(out, ",%d", r->au_active[c]);
    fprintf(out, "\n");
}

int cmd_predict(int argc, char **argv) {
    const char *heads_p[MAX_HEADS], *inputs[MAX_HEADS], *output = NULL, *frames = NULL, *weights_s = NULL;
    int n_heads = 0, n_inputs = 0, k = -1, lag = -1, paper = 0, pre_va = 0, values = 0;
    double threshold = -1, pre_w = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
#define VAL() (has ? argv[++i] : (cli_usage_error("predict", "%s needs a value", a), ""))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(PREDICT_HELP, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "-H") || !strcmp(a, "--head")) {
            if (n_heads == MAX_HEADS) cli_usage_error("predict", "at most %d heads", MAX_HEADS);
            heads_p[n_heads++] = VAL();
        } else if (!strcmp(a, "-i") || !strcmp(a, "--input")) {
            if (n_inputs == MAX_HEADS) cli_usage_error("predict", "at most %d inputs", MAX_HEADS);
            inputs[n_inputs++] = VAL();
        } else if (!strcmp(a, "-w") || !strcmp(a, "--weights")) weights_s = VAL();
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) output = VAL();
        else if (!strcmp(a, "-a") || !strcmp(a, "--frames")) frames = VAL();
        else if (!strcmp(a, "-k") || !strcmp(a, "--smooth")) k = parse_int_arg("predict", a, VAL(), 0, 100000);
        else if (!strcmp(a, "--causal")) lag = parse_int_arg("predict", a, VAL(), 0, 100000);
        else if (!strcmp(a, "--paper-interp")) paper = 1;
        else if (!strcmp(a, "--threshold")) threshold = parse_double_arg("predict", a, VAL(), 0, 1);
        else if (!strcmp(a, "--pretrained-logits")) pre_w = parse_double_arg("predict", a, VAL(), 0, 1);
        else if (!strcmp(a, "--pretrained-va")) pre_va = 1;
        else if (!strcmp(a, "--values")) values = 1;
        else cli_usage_error("predict", "unknown option or argument '%s'", a);
#undef VAL
    }
    if (n_inputs == 0) cli_usage_error("predict", "-i PREFIX is required");
    if (pre_va && n_heads) cli_usage_error("predict", "--pretrained-va takes no heads");
    if (!pre_va && n_heads == 0) cli_usage_error("predict", "-H HEAD is required");
    if (n_inputs != 1 && n_inputs != (pre_va ? 1 : n_heads))
        cli_usage_error("predict", "give one -i for all heads or one per head (%d heads, %d inputs)",
                        n_heads, n_inputs);
    double weights[MAX_HEADS];
    for (int i = 0; i < MAX_HEADS; i++) weights[i] = 1;
    if (weights_s) parse_weights("predict", weights_s, weights, n_heads);

    int rc = EXIT_RUNTIME, task = pre_va ? EMOTI_TASK_VA : -1, kdim = 2, nv = 0;
    emoti_head *heads[MAX_HEADS] = {0};
    emoti_features sets[MAX_HEADS] = {{0}};
    float *rows[MAX_HEADS] = {0};
    emoti_video_seq *vids[MAX_HEADS] = {0};
    int nvs[MAX_HEADS] = {0};
    emoti_annot annot = {0};
    emoti_timeline *tl = NULL;
    long *arow = NULL;
    FILE *out = NULL;
    emoti_outfile of = {0};
    for (int i = 0; i < n_heads; i++) {
        if (emoti_head_load(heads_p[i], &heads[i])) {
            cli_say("%s", emoti_last_error());
            goto done;
        }
    }
    if (n_heads) task = heads[0]->task, kdim = emoti_head_outputs(heads[0]);
    if (frames && emoti_annot_read_dir(frames, task, &annot)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    for (int i = 0; i < n_inputs; i++) {
        if (!cli_ok(emoti_features_load(&sets[i], inputs[i], 0, pre_va || (i == 0 && pre_w >= 0))) ||
            !cli_ok(emoti_videos_build(&sets[i], frames ? &annot : NULL, &vids[i], &nvs[i])))
            goto done;
    }
    if (pre_va && sets[0].out_dim != 10) {
        cli_say("--pretrained-va needs a multi-task backbone's outputs (10 "
                "columns: 8 logits, valence, arousal); %s.outputs.npy has %d", inputs[0], sets[0].out_dim);
        goto done;
    }
    for (int i = 0; i < n_heads; i++)
        if (!cli_ok(emoti_head_rows(heads[i], &sets[n_inputs == 1 ? 0 : i], &rows[i]))) goto done;
    if (k < 0) k = n_heads ? heads[0]->smooth_k : emoti_task_default_k(task);
    if (lag > k) cli_usage_error("predict", "--causal LAG must be at most k (%d)", k);
    emoti_timeline_config cfg;
    emoti_timeline_config_init(&cfg);
    for (int t = 0; t < EMOTI_TASK_COUNT; t++) cfg.k[t] = k;
    cfg.lag = lag;
    cfg.paper_interp = paper;
    cfg.threshold = threshold;
    cfg.pretrained_logits = pre_w;
    cfg.pretrained_va = pre_va;
    cfg.weights = weights;
    cfg.head_names = heads_p;
    /* The backbone values the pre-trained modes read come from the first input's outputs; the
     * heads' inputs were checked against their sets above. */
    emoti_info bb = {.n_outputs = 0, .n_logits = sets[0].out_dim < 8 ? sets[0].out_dim : 8,
                     .valence_index = sets[0].out_dim == 10 ? 8 : -1,
                     .arousal_index = sets[0].out_dim == 10 ? 9 : -1};
    if (sets[0].out_dim > EMOTI_MAX_OUTPUTS) {
        cli_say("%s.outputs.npy has %d columns (at most %d)", inputs[0],
                sets[0].out_dim, EMOTI_MAX_OUTPUTS);
        goto done;
    }
    if (emoti_timeline_create((const emoti_head *const *)heads, n_heads, &bb, &cfg, &tl)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }

    if (output && emoti_outfile_open(&of, output)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    out = output ? of.f : stdout;
    emoti_abaw_header(out, task, n_heads ? heads[0]->labels : NULL, kdim);
    nv = nvs[0];
    long frames_out = 0;
    int faceless = 0;
    for (int v = 0; v < nv; v++) {
        const emoti_video_seq *ref = &vids[0][v];
        size_t nf = (size_t)ref->n_frames;
        free(arow);
        if (!(arow = malloc((nf + 1) * (size_t)n_inputs * sizeof *arow))) goto done;
        for (int si = 0; si < n_inputs; si++) /* each input's rows on the frames of the first */
            align_rows(ref, vids[si], nvs[si], arow + (size_t)si * nf);
        emoti_timeline_reset(tl);
        for (size_t f = 0; f <= nf; f++) {
            if (f < nf && !push_frame(tl, heads, rows, n_heads, n_inputs, sets, arow, nf, f)) goto done;
            if (f == nf && emoti_timeline_finish(tl)) {
                cli_say("%s", emoti_last_error());
                goto done;
            }
            emoti_timeline_row r;
            while (emoti_timeline_next(tl, &r)) {
                write_abaw_row(out, ref->name, &r, task, values);
                frames_out++;
            }
        }
        if (!emoti_timeline_faces(tl) && nf) faceless++;
    }
    if (output ? emoti_outfile_commit(&of) : fflush(stdout) != 0) {
        if (output) cli_say("%s", emoti_last_error());
        goto done;
    }
    cli_say("%s, %d videos, %ld frames, smoothing k %d%s%s -> %s",
            emoti_task_name(task), nv, frames_out, k, lag >= 0 ? " (causal)" : "",
            paper ? ", paper interpolation" : "", output ? output : "stdout");
    if (faceless)
        cli_say("warning: %d videos have no face at all (written as 0)", faceless);
    rc = EXIT_OK;
done:
    emoti_outfile_abort(&of);
    free(arow);
    emoti_timeline_free(tl);
    for (int i = 0; i < MAX_HEADS; i++) {
        emoti_head_free(heads[i]);
        free(rows[i]);
        emoti_features_free(&sets[i]);
        if (vids[i]) emoti_videos_free(vids[i], nvs[i]);
    }
    emoti_annot_free(&annot);
    return rc;
}
