/* The emoti command line: subcommand dispatch, shared options, `emoti info`. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *MAIN_HELP =
    "usage: emoti COMMAND [options]\n"
    "Facial emotion recognition with EmotiEffNet models, in plain C.\n"
    "commands:\n"
    "  run IMAGE...     expression probabilities (and valence/arousal) per face image\n"
    "  detect IMAGE...  the faces in each image: box, score, landmarks (MTCNN)\n"
    "  video INPUT      the same per frame of a Y4M video (file or '-') or a frame folder;\n"
    "                   with -H HEAD...: smoothed VA/EXPR/AU per frame, live (--causal), SVG plot\n"
    "  extract IN... -o OUT  embeddings + outputs of many videos (.npy + index)\n"
    "  fit -t TASK ...  train a VA/EXPR/AU head on extract output + Aff-Wild2 annotations\n"
    "  tune HEAD ...    choose smoothing and AU thresholds on a validation set\n"
    "  predict ...      per-frame VA/EXPR/AU in the ABAW submission format\n"
    "  eval PRED DIR    CCC / F1 of predictions against an annotation folder\n"
    "  info MODEL       describe a converted model\n"
    "  version          print the version\n"
    "'emoti COMMAND --help' describes each command. Models are converted from EmotiEffLib's\n"
    ".pt/.onnx files by tools/export.py (see 'make weights').\n";

static const char *INFO_HELP =
    "usage: emoti info MODEL\n"
    "Print a converted model's metadata: architecture, input size, outputs, labels.\n";

/* "emoti: " and the message, its control characters (from file names, arguments) escaped, so
 * that every message is one line that starts "emoti: ". */
static void say(const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fputs("emoti: ", stderr);
    emoti_text_field(stderr, msg);
}

void cli_say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'emoti %s%s--help')\n", cmd ? cmd : "", cmd ? " " : ""); /* names the command */
    exit(EXIT_USAGE);
}

void infer_opts_init(infer_opts *o) {
    memset(o, 0, sizeof *o);
    o->model = default_model();
    o->format = EMOTI_FORMAT_TEXT;
    o->embeddings = 0;
    o->threads = 0;
}

static int parse_threads(const char *cmd, const char *what, const char *s) {
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == 0 || *end || n < 1 || n > 256)
        cli_usage_error(cmd, "%s must be a thread count from 1 to 256, not '%s'", what, s);
    return (int)n;
}

static int parse_format(const char *cmd, const char *s) {
    if (!strcmp(s, "text")) return EMOTI_FORMAT_TEXT;
    if (!strcmp(s, "csv")) return EMOTI_FORMAT_CSV;
    if (!strcmp(s, "jsonl")) return EMOTI_FORMAT_JSONL;
    cli_usage_error(cmd, "unknown format '%s' (text, csv or jsonl)", s);
}

int infer_opts_parse(infer_opts *o, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    int model = !strcmp(a, "-m") || !strcmp(a, "--model");
    int format = !strcmp(a, "-f") || !strcmp(a, "--format");
    int threads = !strcmp(a, "-t") || !strcmp(a, "--threads");
    if (model || format || threads) {
        if (*i + 1 >= argc) cli_usage_error(cmd, "%s needs a value", a);
        const char *v = argv[++*i];
        if (model) o->model = v;
        else if (format) o->format = parse_format(cmd, v);
        else o->threads = parse_threads(cmd, a, v);
        return 1;
    }
    if (!strcmp(a, "--max-pixels")) {
        if (*i + 1 >= argc) cli_usage_error(cmd, "%s needs a value", a);
        o->decode.max_pixels = (uint64_t)parse_int_arg(cmd, a, argv[++*i], 1, 1 << 28);
        return 1;
    }
    if (!strcmp(a, "-e") || !strcmp(a, "--embeddings")) {
        o->embeddings = 1;
        return 1;
    }
    return 0;
}

int cli_threads(const infer_opts *o) {
    const char *env = getenv("EMOTI_THREADS");
    return o->threads ? o->threads : env && *env ? parse_threads(NULL, "EMOTI_THREADS", env) : 1;
}

int cli_open_model(const infer_opts *o, emoti_model **m) {
    int threads = cli_threads(o);
    if (default_model_missing(o->model)) return 0;
    if (emoti_model_open(o->model, m)) {
        cli_say("%s", emoti_last_error());
        return 0;
    }
    if (emoti_model_set_threads(*m, threads)) {
        cli_say("%s", emoti_last_error());
        emoti_model_close(*m);
        return 0;
    }
    return 1;
}

static int cmd_info(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(INFO_HELP, stdout);
        return EXIT_OK;
    }
    if (argc != 2) cli_usage_error("info", "expects exactly one MODEL");
    if (argv[1][0] == '-') cli_usage_error("info", "unknown option '%s'", argv[1]);
    emoti_model *m;
    infer_opts o;
    infer_opts_init(&o);
    o.model = argv[1];
    if (!cli_open_model(&o, &m)) return EXIT_RUNTIME;
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

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        cli_usage_error(NULL, "no command given");
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
    if (!strcmp(cmd, "video")) return cmd_video(argc - 1, argv + 1);
    if (!strcmp(cmd, "extract")) return cmd_extract(argc - 1, argv + 1);
    if (!strcmp(cmd, "fit")) return cmd_fit(argc - 1, argv + 1);
    if (!strcmp(cmd, "tune")) return cmd_tune(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "detect")) return cmd_detect(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    cli_usage_error(NULL, "unknown command '%s'", cmd);
}

/* An interrupted run leaves no temporaries: they are removed and the signal re-raised, so the
 * exit status still tells it (130 for SIGINT, 143 for SIGTERM). */
static void on_signal(int sig) {
    emoti_outfile_remove_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Signals ignored by the parent (nohup, a background job) stay ignored. A file-size limit
 * (ulimit -f) is a write error (EFBIG) reported in one line, not a kill. */
static void catch_signals(void) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (int i = 0; i < 4; i++)
        if (signal(sigs[i], on_signal) == SIG_IGN) signal(sigs[i], SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    atexit(emoti_outfile_remove_all); /* an exit() between open and commit */
}

/* Every command's results go to stdout: a write that failed there (a full disk, /dev/full, a
 * closed pipe) fails the command with one line, whatever the command. */
int main(int argc, char **argv) {
    catch_signals();
    int rc = dispatch(argc, argv);
    errno = 0;
    int bad = ferror(stdout);
    bad |= fflush(stdout) != 0;
    bad |= fclose(stdout) != 0;
    if (bad) {
        cli_say("stdout: write error%s%s", errno ? ": " : "", errno ? strerror(errno) : "");
        return EXIT_RUNTIME;
    }
    return rc;
}
