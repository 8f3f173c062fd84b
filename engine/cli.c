/* The emoti command line: wires the library's modules together, prints, exits 0/1/2. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };
enum { FMT_TEXT, FMT_CSV, FMT_JSONL };

static const char *DEFAULT_MODEL = "weights/enet_b0_8_best_vgaf.emoti";

static void die_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "emoti%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'emoti %s--help')\n", cmd ? "" : "");
    exit(EXIT_USAGE);
}

static const char *RUN_HELP =
    "usage: emoti run [options] IMAGE...\n"
    "Classify the facial expression in each image (a face crop): PPM/PGM (P2, P3, P5, P6).\n"
    "  -m, --model FILE     converted model (default: $EMOTI_MODEL, else %s)\n"
    "  -f, --format FMT     text (default), csv or jsonl\n"
    "  -e, --embeddings     also print the embedding (csv/jsonl)\n"
    "  -h, --help           this help\n"
    "Per image: the top label, the class probabilities, and valence/arousal for multi-task\n"
    "models. An unreadable image is reported on stderr and skipped; the exit status is then 1.\n";

static const char *INFO_HELP =
    "usage: emoti info MODEL\n"
    "Print a converted model's metadata: architecture, input size, outputs, labels.\n";

static const char *MAIN_HELP =
    "usage: emoti COMMAND [options]\n"
    "Facial emotion recognition with EmotiEffNet models, in plain C.\n"
    "commands:\n"
    "  run IMAGE...   expression probabilities (and valence/arousal) per face image\n"
    "  info MODEL     describe a converted model\n"
    "  version        print the version\n"
    "'emoti COMMAND --help' describes each command. Models are converted from EmotiEffLib's\n"
    ".pt/.onnx files by tools/export.py (see 'make weights').\n";

typedef struct {
    const char *model;
    int format, embeddings;
} run_opts;

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch < 0x20) fprintf(out, "\\u%04x", ch);
        else fputc(ch, out);
    }
    fputc('"', out);
}

static void csv_field(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void print_csv_header(const emoti_info *in, int embeddings) {
    printf("file,label");
    for (int i = 0; i < in->n_logits; i++) {
        putchar(',');
        csv_field(stdout, in->labels[i]);
    }
    if (in->valence_index >= 0) printf(",valence,arousal");
    if (embeddings)
        for (int i = 0; i < in->features; i++) printf(",emb%d", i);
    putchar('\n');
}

static void print_result(const run_opts *o, const emoti_info *in, const char *file,
                         const emoti_result *r, const float *emb) {
    const char *label = in->labels[r->top];
    if (o->format == FMT_TEXT) {
        printf("%s: %s %.4f\n", file, label, r->probs[r->top]);
        for (int i = 0; i < in->n_logits; i++) printf("  %-10s %.4f\n", in->labels[i], r->probs[i]);
        if (r->has_va) printf("  valence    %.4f\n  arousal    %.4f\n", r->valence, r->arousal);
    } else if (o->format == FMT_CSV) {
        csv_field(stdout, file);
        putchar(',');
        csv_field(stdout, label);
        for (int i = 0; i < in->n_logits; i++) printf(",%.9g", r->probs[i]);
        if (r->has_va) printf(",%.9g,%.9g", r->valence, r->arousal);
        if (emb)
            for (int i = 0; i < in->features; i++) printf(",%.9g", emb[i]);
        putchar('\n');
    } else {
        printf("{\"file\":");
        json_string(stdout, file);
        printf(",\"label\":");
        json_string(stdout, label);
        printf(",\"probs\":{");
        for (int i = 0; i < in->n_logits; i++) {
            printf(i ? "," : "");
            json_string(stdout, in->labels[i]);
            printf(":%.9g", r->probs[i]);
        }
        printf("}");
        if (r->has_va) printf(",\"valence\":%.9g,\"arousal\":%.9g", r->valence, r->arousal);
        if (emb) {
            printf(",\"embedding\":[");
            for (int i = 0; i < in->features; i++) printf(i ? ",%.9g" : "%.9g", emb[i]);
            printf("]");
        }
        printf("}\n");
    }
    fflush(stdout);
}

static int parse_format(const char *s) {
    if (!strcmp(s, "text")) return FMT_TEXT;
    if (!strcmp(s, "csv")) return FMT_CSV;
    if (!strcmp(s, "jsonl")) return FMT_JSONL;
    die_usage("run", "unknown format '%s' (text, csv or jsonl)", s);
    return -1;
}

static const char *default_model(void) {
    const char *env = getenv("EMOTI_MODEL");
    return env && *env ? env : DEFAULT_MODEL;
}

static int open_model(const char *path, emoti_model **m) {
    if (emoti_model_open(path, m)) {
        fprintf(stderr, "emoti: %s\n", emoti_last_error());
        return 0;
    }
    return 1;
}

/* Runs every image; a bad image is reported and skipped so the others' results stand. */
static int run_images(const run_opts *o, emoti_model *m, char **files, int n) {
    emoti_info in;
    emoti_model_info(m, &in);
    float *emb = o->embeddings ? malloc((size_t)in.features * sizeof *emb) : NULL;
    if (o->embeddings && !emb) {
        fprintf(stderr, "emoti: out of memory\n");
        return EXIT_RUNTIME;
    }
    if (o->format == FMT_CSV) print_csv_header(&in, o->embeddings);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        emoti_image img = {0, 0, NULL};
        emoti_result r;
        if (emoti_image_load(files[i], &img) ||
            emoti_run_rgb(m, img.rgb, img.width, img.height, (size_t)img.width * 3, &r, emb)) {
            fprintf(stderr, "emoti: %s\n", emoti_last_error());
            failed = 1;
        } else {
            print_result(o, &in, files[i], &r, emb);
        }
        emoti_image_free(&img);
    }
    free(emb);
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

static int cmd_run(int argc, char **argv) {
    run_opts o = {default_model(), FMT_TEXT, 0};
    char **files = malloc((size_t)argc * sizeof *files);
    int n = 0;
    if (!files) return EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf(RUN_HELP, DEFAULT_MODEL);
            free(files);
            return EXIT_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-f") ||
                   !strcmp(a, "--format")) {
            if (i + 1 >= argc) die_usage("run", "%s needs a value", a);
            if (a[1] == 'm' || a[2] == 'm') o.model = argv[++i];
            else o.format = parse_format(argv[++i]);
        } else if (!strcmp(a, "-e") || !strcmp(a, "--embeddings")) {
            o.embeddings = 1;
        } else if (!strcmp(a, "--")) {
            while (++i < argc) files[n++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            die_usage("run", "unknown option '%s'", a);
        } else {
            files[n++] = argv[i];
        }
    }
    if (n == 0) die_usage("run", "no images given");
    emoti_model *m;
    int rc = EXIT_RUNTIME;
    if (open_model(o.model, &m)) {
        rc = run_images(&o, m, files, n);
        emoti_model_close(m);
    }
    free(files);
    return rc;
}

static int cmd_info(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(INFO_HELP, stdout);
        return EXIT_OK;
    }
    if (argc != 2) die_usage("info", "expects exactly one MODEL");
    if (argv[1][0] == '-') die_usage("info", "unknown option '%s'", argv[1]);
    emoti_model *m;
    if (!open_model(argv[1], &m)) return EXIT_RUNTIME;
    emoti_info in;
    emoti_model_info(m, &in);
    printf("file        %s\nname        %s\nsource      %s\n", argv[1], in.name, in.source);
    printf("input       %dx%d RGB, mean %.3f %.3f %.3f, std %.3f %.3f %.3f\n", in.input_size,
           in.input_size, in.mean[0], in.mean[1], in.mean[2], in.std[0], in.std[1], in.std[2]);
    printf("blocks      %d\nembedding   %d\noutputs     %d (%d logits", in.n_blocks, in.features,
           in.n_outputs, in.n_logits);
    if (in.valence_index >= 0)
        printf(", valence at %d, arousal at %d", in.valence_index, in.arousal_index);
    printf(")\nlabels      ");
    for (int i = 0; i < in.n_logits; i++) printf(i ? ", %s" : "%s", in.labels[i]);
    printf("\n");
    emoti_model_close(m);
    return EXIT_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(MAIN_HELP, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(MAIN_HELP, stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("emoti %s\n", EMOTI_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    die_usage(NULL, "unknown command '%s'", cmd);
    return EXIT_USAGE;
}
