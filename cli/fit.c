/* emoti fit: train a head on `emoti extract` output against an Aff-Wild2 annotation folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *FIT_HELP =
    "usage: emoti fit -t TASK -i PREFIX -a DIR -o HEAD [options]\n"
    "Train a head on frozen features, as in the EmotiEffNet paper: VA Dense(2, tanh) on the\n"
    "backbone outputs with the CCC loss + L2 1/1024 (batch 1024, 20 epochs); EXPR\n"
    "1280 -> 128 ReLU -> 8 softmax with class-weighted cross-entropy (256, 10); AU\n"
    "1280 -> 128 ReLU -> 12 sigmoid with per-AU weighted BCE (512, 5). Adam, lr 1e-3,\n"
    "Keras' glorot-uniform init; seeded and deterministic.\n"
    "  -t, --task TASK        va, expr or au\n"
    "  -i, --input PREFIX     `emoti extract` output (PREFIX.index.csv, .features.npy, .outputs.npy)\n"
    "  -a, --annot DIR        annotation folder (<Task>/Train_Set: <video>.txt, header + a line per\n"
    "                         frame); given the task folder, its Train_Set and Validation_Set are used\n"
    "  -v, --val-annot DIR    validation annotations: keeps the best epoch\n"
    "      --val-input PREFIX features of the validation videos (default: the -i ones)\n"
    "  -o, --output HEAD      the head container to write\n"
    "      --input-kind KIND  embedding or logits (default: logits for va, else embedding)\n"
    "      --hidden LIST      hidden widths, e.g. 128 or 256,64; 0 for none (default 128; va none)\n"
    "      --epochs N  --batch N  --lr X  --l2 X  --seed N   (defaults: the paper's)\n"
    "  -q, --quiet            no per-epoch lines\n"
    "  -h, --help             this help\n";

static int is_dir(const char *p) {
    struct stat sb;
    return !stat(p, &sb) && S_ISDIR(sb.st_mode);
}

/* A task folder holding Train_Set/Validation_Set, or a plain folder. */
static char *sub(const char *dir, const char *name) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    if (p) sprintf(p, "%s/%s", dir, name);
    return p;
}

static int load_labels(int task, const char *dir, emoti_annot *a) {
    if (emoti_annot_read_dir(dir, task, a)) {
        cli_say("%s", emoti_last_error());
        return 0;
    }
    return 1;
}

int cmd_fit(int argc, char **argv) {
    const char *input = NULL, *annot = NULL, *val_annot = NULL, *val_input = NULL, *output = NULL,
               *hidden = NULL;
    int task = -1, kind = -1, quiet = 0;
    emoti_train_opts o;
    int epochs = 0, batch = 0, seed = -1;
    double lr = -1, l2 = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
#define VAL() (has ? argv[++i] : (cli_usage_error("fit", "%s needs a value", a), ""))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(FIT_HELP, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--task")) task = parse_task("fit", VAL());
        else if (!strcmp(a, "-i") || !strcmp(a, "--input")) input = VAL();
        else if (!strcmp(a, "-a") || !strcmp(a, "--annot")) annot = VAL();
        else if (!strcmp(a, "-v") || !strcmp(a, "--val-annot")) val_annot = VAL();
        else if (!strcmp(a, "--val-input")) val_input = VAL();
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) output = VAL();
        else if (!strcmp(a, "--hidden")) hidden = VAL();
        else if (!strcmp(a, "--input-kind")) {
            const char *v = VAL();
            kind = !strcmp(v, "embedding") ? EMOTI_INPUT_EMBEDDING : !strcmp(v, "logits") ? EMOTI_INPUT_LOGITS : -1;
            if (kind < 0) cli_usage_error("fit", "--input-kind is embedding or logits, not '%s'", v);
        } else if (!strcmp(a, "--epochs")) epochs = parse_int_arg("fit", a, VAL(), 1, 100000);
        else if (!strcmp(a, "--batch")) batch = parse_int_arg("fit", a, VAL(), 1, 1 << 24);
        else if (!strcmp(a, "--seed")) seed = parse_int_arg("fit", a, VAL(), 0, 2147483647);
        else if (!strcmp(a, "--lr")) lr = parse_double_arg("fit", a, VAL(), 1e-12, 10);
        else if (!strcmp(a, "--l2")) l2 = parse_double_arg("fit", a, VAL(), 0, 1e6);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else cli_usage_error("fit", "unknown option or argument '%s'", a);
#undef VAL
    }
    if (task < 0) cli_usage_error("fit", "-t TASK is required");
    if (!input || !annot || !output) cli_usage_error("fit", "-i PREFIX, -a DIR and -o HEAD are required");
    if (kind < 0) kind = task == EMOTI_TASK_VA ? EMOTI_INPUT_LOGITS : EMOTI_INPUT_EMBEDDING;
    int sizes[EMOTI_HEAD_MAX_LAYERS + 1], acts[EMOTI_HEAD_MAX_LAYERS], n_layers = 0;
    const char *spec = hidden ? hidden : task == EMOTI_TASK_VA ? "0" : "128";
    for (const char *p = spec; *p;) {
        char *end;
        long w = strtol(p, &end, 10);
        if (end == p || w < 0 || w > EMOTI_HEAD_MAX_WIDTH || (*end && *end != ','))
            cli_usage_error("fit", "--hidden expects widths like 128 or 256,64, not '%s'", spec);
        if (w > 0) {
            if (n_layers == EMOTI_HEAD_MAX_LAYERS - 1) cli_usage_error("fit", "too many hidden layers");
            sizes[++n_layers] = (int)w, acts[n_layers - 1] = EMOTI_ACT_RELU;
        }
        p = *end ? end + 1 : end;
    }
    int n_out = task == EMOTI_TASK_VA ? 2 : task == EMOTI_TASK_EXPR ? 8 : 12;
    sizes[++n_layers] = n_out;
    acts[n_layers - 1] = task == EMOTI_TASK_VA ? EMOTI_ACT_TANH : task == EMOTI_TASK_EXPR ? EMOTI_ACT_SOFTMAX
                                                                                         : EMOTI_ACT_SIGMOID;
    emoti_train_defaults(&o, task);
    if (epochs) o.epochs = epochs;
    if (batch) o.batch = batch;
    if (seed >= 0) o.seed = (uint64_t)seed;
    if (lr > 0) o.lr = lr;
    if (l2 >= 0) o.l2 = l2;
    o.log = quiet ? NULL : stderr;

    /* A task folder with Train_Set / Validation_Set inside. */
    char *train_dir = NULL, *val_dir = NULL;
    char *t = sub(annot, "Train_Set");
    if (t && is_dir(t)) {
        train_dir = t;
        char *v = sub(annot, "Validation_Set");
        if (!val_annot && v && is_dir(v)) val_dir = v;
        else free(v);
    } else {
        free(t);
    }
    const char *tdir = train_dir ? train_dir : annot, *vdir = val_annot ? val_annot : val_dir;
    int rc = EXIT_RUNTIME;
    emoti_features fs = {0}, vfs = {0};
    emoti_annot ta = {0}, va = {0};
    emoti_labelled tl = {0}, vl = {0};
    emoti_head *h = NULL;
    int logits = kind == EMOTI_INPUT_LOGITS;
    if (!load_labels(task, tdir, &ta) || (vdir && !load_labels(task, vdir, &va))) goto done;
    if (!cli_ok(emoti_features_load(&fs, input, !logits, logits))) goto done;
    const emoti_features *vset = &fs;
    if (vdir && val_input && strcmp(val_input, input)) {
        if (!cli_ok(emoti_features_load(&vfs, val_input, !logits, logits))) goto done;
        vset = &vfs;
    }
    sizes[0] = logits ? fs.out_dim : fs.feat_dim;
    if (!cli_ok(emoti_join_labels(&fs, &ta, &tl)) || (vdir && !cli_ok(emoti_join_labels(vset, &va, &vl)))) goto done;
    char val[64] = "";
    if (vdir) snprintf(val, sizeof val, "; validation %zu frames from ", vl.n);
    cli_say("%s head on %s: %zu labelled frames (%ld invalid, %ld not in %s)%s%s", emoti_task_name(task),
            input, tl.n, tl.invalid, tl.unannotated, tdir, val, vdir ? vdir : "");
    if (tl.n == 0) {
        cli_say("no labelled frames: do the index's video names match %s/*.txt?", tdir);
        goto done;
    }
    if (emoti_head_create(&h, task, kind, n_layers, sizes, acts)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    emoti_head_init(h, o.seed);
    const float *x = logits ? fs.outs : fs.feat;
    emoti_train_set tr = {x, sizes[0], tl.rows, tl.n, tl.cls, tl.y};
    emoti_train_set vs = {logits ? vset->outs : vset->feat, sizes[0], vl.rows, vl.n, vl.cls, vl.y};
    emoti_train_report rep;
    if (emoti_train(h, &tr, vdir ? &vs : NULL, &o, &rep)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    snprintf(h->source, sizeof h->source, "%s", input);
    snprintf(h->note, sizeof h->note,
             "fit: %zu frames, epochs %d, batch %d, lr %g, l2 %g, seed %llu, best epoch %d, "
             "val %s %.4f, final loss %.6f", tl.n, o.epochs, o.batch, o.lr, o.l2,
             (unsigned long long)o.seed, rep.best_epoch, task == EMOTI_TASK_VA ? "ccc" : "f1",
             rep.best_metric, rep.final_loss);
    if (emoti_head_save(h, output)) {
        cli_say("%s", emoti_last_error());
        goto done;
    }
    printf("%s head -> %s: layers", emoti_task_name(task), output);
    for (int l = 0; l <= n_layers; l++) printf("%s%d", l ? "-" : " ", sizes[l]);
    printf(", best epoch %d/%d", rep.best_epoch, o.epochs);
    if (vdir) printf(", validation %s %.4f", task == EMOTI_TASK_VA ? "CCC" : "F1", rep.best_metric);
    printf(", final loss %.5f\n", rep.final_loss);
    rc = EXIT_OK;
done:
    emoti_head_free(h);
    emoti_labelled_free(&tl), emoti_labelled_free(&vl);
    emoti_annot_free(&ta), emoti_annot_free(&va);
    emoti_features_free(&fs), emoti_features_free(&vfs);
    free(train_dir), free(val_dir);
    return rc;
}
