/* emoti eval: ABAW metrics of a submission-format prediction file against annotations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *EVAL_HELP =
    "usage: emoti eval [-t TASK] PRED DIR [PRED DIR...]\n"
    "Score predictions in the ABAW submission format (`emoti predict` output: a header, then\n"
    "`video/00001.jpg,<values>`) against an Aff-Wild2 annotation folder: VA CCC_V, CCC_A and\n"
    "P_VA = their mean; EXPR macro F1 over the 8 classes; AU mean F1 over the 12 AUs. Frames\n"
    "annotated invalid are left out; every valid frame needs a prediction.\n"
    "  -t, --task TASK   va, expr or au (default: from the number of values per line)\n"
    "  -h, --help        this help\n";

static char *read_line(FILE *f, char **buf, size_t *cap) {
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (n + 2 > *cap) {
            size_t c = *cap ? 2 * *cap : 256;
            char *p = realloc(*buf, c);
            if (!p) return NULL;
            *buf = p, *cap = c;
        }
        (*buf)[n++] = (char)ch;
    }
    if (ch == EOF && n == 0) return NULL;
    if (!*buf && !(*buf = malloc(*cap = 1))) return NULL;
    if (n && (*buf)[n - 1] == '\r') n--;
    (*buf)[n] = 0;
    return *buf;
}

static int count_fields(const char *s) {
    int n = 1;
    for (; *s; s++) n += *s == ',';
    return n;
}

/* One prediction file against one folder; prints a line; returns 0 on error (reported). */
static int eval_one(const char *pred, const char *dir, int task) {
    FILE *f;
    if (!cli_ok(emoti_file_open(pred, 0, &f, NULL))) return 0;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 1;
    int ok = 0, vals = 0;
    emoti_annot an = {0};
    float **pv = NULL; /* per annotation video: [n_frames][vals], NaN = none */
    if (!read_line(f, &line, &cap)) {
        cli_say("%s:1: empty file (no header)", pred);
        goto done;
    }
    if (task < 0) { /* peek at the first data line */
        long pos = ftell(f);
        if (!read_line(f, &line, &cap)) {
            cli_say("%s:2: no predictions", pred);
            goto done;
        }
        int n = count_fields(line) - 1;
        task = n == 2 ? EMOTI_TASK_VA : n == 1 ? EMOTI_TASK_EXPR : n == 12 ? EMOTI_TASK_AU : -1;
        if (task < 0) {
            cli_say("%s:2: %d values per frame: not VA (2), EXPR (1) or AU (12)", pred, n);
            goto done;
        }
        fseek(f, pos, SEEK_SET);
    }
    vals = task == EMOTI_TASK_VA ? 2 : task == EMOTI_TASK_EXPR ? 1 : 12;
    if (emoti_annot_read_dir(dir, task, &an)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    if (!(pv = calloc((size_t)an.n + 1, sizeof *pv))) goto done;
    for (int v = 0; v < an.n; v++) {
        size_t n = ((size_t)an.v[v].n_frames + 1) * (size_t)vals;
        if (!(pv[v] = malloc(n * sizeof **pv))) goto done;
        for (size_t i = 0; i < n; i++) pv[v][i] = NAN;
    }
    long unused = 0;
    while (read_line(f, &line, &cap)) {
        lineno++;
        if (!*line) continue;
        int n = count_fields(line) - 1;
        char *comma = strchr(line, ',');
        if (n != vals || !comma) {
            cli_say("%s:%ld: %d values, expected %d for %s", pred, lineno, n, vals,
                    emoti_task_name(task));
            goto done;
        }
        *comma = 0;
        char *slash = strrchr(line, '/');
        long frame = emoti_key_frame(line);
        if (!slash || frame < 0) {
            cli_say("%s:%ld: '%s' is not video/00001.jpg", pred, lineno, line);
            goto done;
        }
        *slash = 0;
        const emoti_annot_video *av = emoti_annot_find(&an, line);
        float row[12];
        char *p = comma + 1;
        for (int c = 0; c < vals; c++) {
            char *end;
            double x = strtod(p, &end);
            if (end == p || (*end && *end != ',') || !isfinite(x)) {
                cli_say("%s:%ld: value %d is not a number", pred, lineno, c + 1);
                goto done;
            }
            row[c] = (float)x;
            p = *end ? end + 1 : end;
        }
        if (!av || frame > av->n_frames) {
            unused++;
            continue;
        }
        memcpy(pv[av - an.v] + (size_t)(frame - 1) * (size_t)vals, row, (size_t)vals * sizeof *row);
    }
    /* Collect the valid frames. */
    size_t n = 0, missing = 0;
    for (int v = 0; v < an.n; v++)
        for (int fr = 0; fr < an.v[v].n_frames; fr++) n += an.v[v].valid[fr];
    double *x = malloc((n + 1) * 2 * sizeof *x), *y = malloc((n + 1) * 2 * sizeof *y);
    int *ti = malloc((n + 1) * (size_t)vals * sizeof *ti), *pi = malloc((n + 1) * (size_t)vals * sizeof *pi);
    size_t at = 0;
    for (int v = 0; x && y && ti && pi && v < an.n; v++)
        for (int fr = 0; fr < an.v[v].n_frames; fr++) {
            if (!an.v[v].valid[fr]) continue;
            const float *pr = pv[v] + (size_t)fr * (size_t)vals, *tr = an.v[v].values + (size_t)fr * (size_t)vals;
            if (isnan(pr[0])) {
                if (!missing++)
                    cli_say("%s: no prediction for %s/%05d.jpg (%s:%d)", pred,
                            an.v[v].video, fr + 1, an.v[v].path, fr + 2);
                continue;
            }
            for (int c = 0; c < vals; c++) {
                if (task == EMOTI_TASK_VA) x[at * 2 + (size_t)c] = pr[c], y[at * 2 + (size_t)c] = tr[c];
                else pi[at * (size_t)vals + (size_t)c] = (int)pr[c], ti[at * (size_t)vals + (size_t)c] = (int)tr[c];
            }
            at++;
        }
    if (!x || !y || !ti || !pi) cli_say("out of memory");
    else if (missing) cli_say("%s: %zu labelled frames have no prediction", pred, missing);
    else {
        ok = 1;
        printf("%-4s %-28s %7zu frames  ", emoti_task_name(task), pred, n);
        if (task == EMOTI_TASK_VA) {
            double *xv = malloc((n + 1) * sizeof *xv), *yv = malloc((n + 1) * sizeof *yv), c2[2] = {0, 0};
            for (int c = 0; xv && yv && c < 2; c++) {
                for (size_t i = 0; i < n; i++) xv[i] = x[2 * i + (size_t)c], yv[i] = y[2 * i + (size_t)c];
                c2[c] = emoti_ccc(xv, yv, n);
            }
            free(xv), free(yv);
            printf("CCC_V %.4f  CCC_A %.4f  P_VA %.4f\n", c2[0], c2[1], (c2[0] + c2[1]) / 2);
        } else if (task == EMOTI_TASK_EXPR) {
            double per[8];
            printf("macro F1 %.4f  (", emoti_f1_macro(ti, pi, n, 8, per));
            for (int c = 0; c < 8; c++) printf(c ? " %.2f" : "%.2f", per[c]);
            printf(")\n");
        } else {
            double per[12];
            printf("AU mean F1 %.4f  (", emoti_f1_au_mean(ti, pi, n, 12, per));
            for (int c = 0; c < 12; c++) printf(c ? " %.2f" : "%.2f", per[c]);
            printf(")\n");
        }
        if (unused) cli_say("%s: %ld predictions for frames not in %s", pred, unused, dir);
    }
    free(x), free(y), free(ti), free(pi);
done:
    if (pv)
        for (int v = 0; v < an.n; v++) free(pv[v]);
    free(pv);
    emoti_annot_free(&an);
    free(line);
    fclose(f);
    return ok;
}

int cmd_eval(int argc, char **argv) {
    int task = -1, n = 0;
    const char **args = malloc((size_t)argc * sizeof *args);
    if (!args) return EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(EVAL_HELP, stdout);
            free(args);
            return EXIT_OK;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--task")) {
            if (i + 1 >= argc) cli_usage_error("eval", "%s needs a value", a);
            task = parse_task("eval", argv[++i]);
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("eval", "unknown option '%s'", a);
        } else {
            args[n++] = a;
        }
    }
    if (n == 0 || n % 2) cli_usage_error("eval", "expects PRED DIR pairs");
    int ok = 1;
    for (int i = 0; i < n; i += 2) ok = eval_one(args[i], args[i + 1], task) && ok;
    free(args);
    return ok ? EXIT_OK : EXIT_RUNTIME;
}
