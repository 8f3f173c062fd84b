/* emoti tune: the smoothing half-width and the AU thresholds, chosen on a validation set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *TUNE_HELP =
    "usage: emoti tune HEAD -i PREFIX -a DIR [-o OUT] [options]\n"
    "Choose, on validation videos, the smoothing half-width k (box of 2k+1 frames) that gives\n"
    "the best metric (VA mean CCC, EXPR macro F1, AU mean F1 at 0.5) and then, for AU heads,\n"
    "each AU's threshold from 0.1, 0.2 .. 0.9 (first best F1 wins), as the paper did; they are\n"
    "stored in the head (rewritten in place unless -o).\n"
    "  -i, --input PREFIX     `emoti extract` output of the validation videos\n"
    "  -a, --annot DIR        their annotation folder (e.g. AU_Set/Validation_Set)\n"
    "  -o, --output HEAD      write the tuned head here instead\n"
    "      --k-grid LIST      half-widths to try (default 0,1,2,3,5,8,10,15,25,35,50,75,100,150,200)\n"
    "      --paper-interp     the notebook's reversed gap-filling weights\n"
    "      --no-thresholds    keep the AU thresholds as they are\n"
    "  -h, --help             this help\n";

typedef struct {
    int task, k_out;
    size_t n;        /* labelled frames over all videos */
    double *truth_v; /* VA [n][2] */
    int *truth_i;    /* EXPR [n], AU [n][12] */
} targets;

/* Metric of smoothed sequences (raw: per video gap-filled values) at half-width k. */
static double evaluate(const targets *t, const emoti_video_seq *vids, int nv, double **raw, int k,
                       const double *thr, double *vals, int *pred) {
    size_t at = 0;
    int kd = t->k_out;
    for (int v = 0; v < nv; v++) {
        const emoti_video_seq *s = &vids[v];
        size_t nf = (size_t)s->n_frames;
        double *sm = malloc((nf + 1) * (size_t)kd * sizeof *sm);
        if (!sm || !emoti_smooth_box(raw[v], sm, nf, kd, k)) {
            free(sm);
            return NAN;
        }
        for (size_t f = 0; f < nf; f++) {
            if (!s->annot->valid[f]) continue;
            memcpy(vals + at * (size_t)kd, sm + f * (size_t)kd, (size_t)kd * sizeof *vals);
            if (t->task != EMOTI_TASK_VA) emoti_decide(t->task, sm + f * (size_t)kd, kd, thr, pred + at * (size_t)kd);
            at++;
        }
        free(sm);
    }
    if (t->task == EMOTI_TASK_EXPR) {
        int *p = malloc((t->n + 1) * sizeof *p);
        if (!p) return NAN;
        for (size_t i = 0; i < t->n; i++) p[i] = pred[i * (size_t)kd];
        double f1 = emoti_f1_macro(t->truth_i, p, t->n, kd, NULL);
        free(p);
        return f1;
    }
    if (t->task == EMOTI_TASK_AU) return emoti_f1_au_mean(t->truth_i, pred, t->n, kd, NULL);
    double *x = malloc((t->n + 1) * sizeof *x), *y = malloc((t->n + 1) * sizeof *y), m = 0;
    for (int c = 0; x && y && c < 2; c++) {
        for (size_t i = 0; i < t->n; i++) x[i] = vals[i * 2 + (size_t)c], y[i] = t->truth_v[i * 2 + (size_t)c];
        m += emoti_ccc(x, y, t->n) / 2;
    }
    free(x), free(y);
    return m;
}

int cmd_tune(int argc, char **argv) {
    const char *head_p = NULL, *input = NULL, *annot_dir = NULL, *output = NULL,
               *grid_s = "0,1,2,3,5,8,10,15,25,35,50,75,100,150,200";
    int paper = 0, no_thr = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
#define VAL() (has ? argv[++i] : (cli_usage_error("tune", "%s needs a value", a), ""))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(TUNE_HELP, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "-i") || !strcmp(a, "--input")) input = VAL();
        else if (!strcmp(a, "-a") || !strcmp(a, "--annot")) annot_dir = VAL();
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) output = VAL();
        else if (!strcmp(a, "--k-grid")) grid_s = VAL();
        else if (!strcmp(a, "--paper-interp")) paper = 1;
        else if (!strcmp(a, "--no-thresholds")) no_thr = 1;
        else if (a[0] == '-' && a[1]) cli_usage_error("tune", "unknown option '%s'", a);
        else if (head_p) cli_usage_error("tune", "one HEAD only ('%s')", a);
        else head_p = a;
#undef VAL
    }
    if (!head_p || !input || !annot_dir) cli_usage_error("tune", "HEAD, -i PREFIX and -a DIR are required");
    int grid[256], n_grid = 0;
    for (const char *p = grid_s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 100000 || (*end && *end != ',') || n_grid == 256)
            cli_usage_error("tune", "--k-grid expects half-widths like 0,5,50, not '%s'", grid_s);
        grid[n_grid++] = (int)v;
        p = *end ? end + 1 : end;
    }
    int rc = EXIT_RUNTIME, nv = 0;
    emoti_head *h = NULL;
    emoti_features fs = {0};
    emoti_annot an = {0};
    emoti_video_seq *vids = NULL;
    float *rows = NULL;
    double **raw = NULL, *vals = NULL;
    int *pred = NULL;
    targets t = {0};
    if (emoti_head_load(head_p, &h)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    int kd = emoti_head_outputs(h);
    t.task = h->task, t.k_out = kd;
    if (emoti_annot_read_dir(annot_dir, h->task, &an)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    if (emoti_annot_cols(h->task) != (h->task == EMOTI_TASK_EXPR ? 1 : kd)) {
        cli_say("the head has %d outputs, the %s annotations %d values", kd,
                emoti_task_name(h->task), emoti_annot_cols(h->task));
        goto done;
    }
    if (!cli_ok(emoti_features_load(&fs, input, 0, 0)) || !cli_ok(emoti_videos_build(&fs, &an, &vids, &nv)) ||
        !cli_ok(emoti_head_rows(h, &fs, &rows)))
        goto done;
    raw = calloc((size_t)nv + 1, sizeof *raw);
    if (!raw) goto done;
    int used = 0;
    for (int v = 0; v < nv; v++) {
        size_t faces = 0;
        for (int f = 0; f < vids[v].n_frames; f++) faces += vids[v].row[f] >= 0;
        if (!faces) continue; /* no features for this annotated video: left out */
        raw[used] = malloc(((size_t)vids[v].n_frames + 1) * (size_t)kd * sizeof **raw);
        if (!raw[used]) goto done;
        emoti_video_fill(&vids[v], rows, kd, paper, raw[used]);
        if (used != v) { /* compact the list to the videos with features */
            emoti_video_seq tmp = vids[used];
            vids[used] = vids[v], vids[v] = tmp;
        }
        for (int f = 0; f < vids[used].n_frames; f++) t.n += vids[used].annot->valid[f];
        used++;
    }
    if (t.n == 0) {
        cli_say("no labelled frames of %s have features in %s", annot_dir, input);
        goto done;
    }
    int cols = emoti_annot_cols(h->task);
    vals = malloc(t.n * (size_t)kd * sizeof *vals);
    pred = malloc(t.n * (size_t)kd * sizeof *pred);
    t.truth_v = malloc(t.n * 2 * sizeof *t.truth_v);
    t.truth_i = malloc(t.n * (size_t)kd * sizeof *t.truth_i);
    if (!vals || !pred || !t.truth_v || !t.truth_i) goto done;
    size_t at = 0;
    for (int v = 0; v < used; v++)
        for (int f = 0; f < vids[v].n_frames; f++) {
            const emoti_annot_video *av = vids[v].annot;
            if (!av->valid[f]) continue;
            for (int c = 0; c < cols; c++) {
                float y = av->values[(size_t)f * (size_t)cols + (size_t)c];
                if (h->task == EMOTI_TASK_VA) t.truth_v[at * 2 + (size_t)c] = y;
                else t.truth_i[at * (size_t)cols + (size_t)c] = (int)y;
            }
            at++;
        }
    double half[64];
    for (int c = 0; c < 64; c++) half[c] = 0.5;
    const char *metric = h->task == EMOTI_TASK_VA ? "P_VA (mean CCC)" : h->task == EMOTI_TASK_EXPR ? "macro F1" : "mean F1 (t=0.5)";
    printf("%s head %s on %d videos, %zu labelled frames\n  k    %s\n", emoti_task_name(h->task), head_p,
           used, t.n, metric);
    int best_k = grid[0];
    double best = -INFINITY;
    for (int g = 0; g < n_grid; g++) {
        double m = evaluate(&t, vids, used, raw, grid[g], half, vals, pred);
        printf("  %-4d %.4f%s\n", grid[g], m, m > best ? " *" : "");
        if (m > best) best = m, best_k = grid[g];
    }
    h->smooth_k = best_k;
    char extra[256];
    int len = snprintf(extra, sizeof extra, "tune: k %d, %s %.4f", best_k, metric, best);
    if (h->task == EMOTI_TASK_AU && !no_thr && kd <= 64) {
        evaluate(&t, vids, used, raw, best_k, half, vals, pred);
        double sum = 0;
        printf("thresholds (grid 0.1..0.9) at k %d:\n", best_k);
        for (int c = 0; c < kd; c++) {
            double bt = 0.5, bf = -1;
            for (int s = 1; s <= 9; s++) {
                double thr = s / 10.0;
                for (size_t i = 0; i < t.n; i++) pred[i * (size_t)kd + (size_t)c] = vals[i * (size_t)kd + (size_t)c] >= thr;
                double f = emoti_f1_binary_strided(t.truth_i + c, pred + c, t.n, (size_t)kd);
                if (f > bf) bf = f, bt = thr;
            }
            h->thresholds[c] = bt;
            sum += bf;
            printf("  %-5s %.1f  F1 %.4f\n", h->labels[c], bt, bf);
        }
        printf("mean F1 with tuned thresholds: %.4f\n", sum / kd);
        len += snprintf(extra + len, sizeof extra - (size_t)len, ", tuned thresholds mean F1 %.4f", sum / kd);
    }
    size_t nl = strlen(h->note);
    snprintf(h->note + nl, sizeof h->note - nl, "%s%s", nl ? "; " : "", extra);
    const char *dest = output ? output : head_p;
    if (emoti_head_save(h, dest)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    printf("best k %d (%s %.4f) -> %s\n", best_k, metric, best, dest);
    rc = EXIT_OK;
done:
    if (raw)
        for (int v = 0; v < nv; v++) free(raw[v]);
    free(raw), free(vals), free(pred), free(rows), free(t.truth_v), free(t.truth_i);
    if (vids) emoti_videos_free(vids, nv);
    emoti_features_free(&fs);
    emoti_annot_free(&an);
    emoti_head_free(h);
    return rc;
}
