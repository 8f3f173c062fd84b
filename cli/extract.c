/* emoti extract INPUT... -o OUT: per-frame embeddings and outputs of many videos, for training
 * heads. Writes OUT.features.npy (float32 [N, features]), OUT.outputs.npy (float32 [N, outputs]:
 * the logits, then valence and arousal for multi-task models) and OUT.index.csv (row, key,
 * video, frame, source), key being "<video>/<frame file>" as in Aff-Wild2 ("clip1/00001.jpg";
 * Y4M frame i is keyed "%05d.jpg" with i + 1) and frame the number in it. Files appear only
 * when complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *EXTRACT_HELP =
    "usage: emoti extract [options] INPUT... -o OUT\n"
    "Run the backbone on every frame of each INPUT (frame folder, Y4M file or '-') and save\n"
    "  OUT.features.npy  float32 [N, features]   the pooled embeddings\n"
    "  OUT.outputs.npy   float32 [N, outputs]    logits (+ valence, arousal)\n"
    "  OUT.index.csv     row,key,video,frame,source  (key = <video>/<frame>.jpg)\n"
    "numpy reads them with np.load; the video name is the folder or file name without\n"
    "extension, frame the number in the frame's file name: folder frames must be named by\n"
    "their number from 1 (00001.jpg, ...), Y4M frames are numbered from 1. Bad frames are\n"
    "reported and skipped (exit status 1).\n"
    "With --faces, a row per tracked face of every frame (emoti video --faces tracks them):\n"
    "key <video>/<track>/<frame>.jpg, video <video>/<track>, so that fit and predict take\n"
    "each track as a video of its own; the features are those of the face's crop. A video\n"
    "without any face adds no row (a note on stderr).\n"
    MODEL_OPT_HELP
    FACE_OPTS_HELP
    "  -o, --output OUT     output prefix (required)\n"
    "  -t, --threads N      threads (default $EMOTI_THREADS, else 1; needs make OPENMP=1)\n"
    MAX_PIXELS_HELP
    "  -h, --help           this help\n";

static int npy_header_at_start(FILE *f, long rows, int cols) {
    unsigned char head[EMOTI_NPY_HEADER];
    size_t n = emoti_npy_header(head, rows, cols);
    return fseek(f, 0, SEEK_SET) == 0 && fwrite(head, 1, n, f) == n;
}

static char *concat(const char *a, const char *b) {
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (s) sprintf(s, "%s%s", a, b);
    return s;
}

static int open_output(emoti_outfile *o, const char *out, const char *suffix) {
    char *path = concat(out, suffix);
    int ok = path ? cli_ok(emoti_outfile_open(o, path)) : (cli_say("out of memory"), 0);
    free(path);
    return ok;
}

static const char *video_name(const char *input, char *buf, size_t size) {
    if (!strcmp(input, "-")) return "stdin";
    size_t len = strlen(input);
    while (len > 1 && input[len - 1] == '/') len--;
    const char *start = input + len;
    while (start > input && start[-1] != '/') start--;
    size_t n = (size_t)(input + len - start);
    const char *dot = memchr(start, '.', n);
    if (dot && dot != start) n = (size_t)(dot - start);
    snprintf(buf, size, "%.*s", (int)n, start);
    return buf;
}

/* The three files (features, outputs, index), committed as one set: whole or not at all. */
typedef struct {
    emoti_outfile files[3];
    long rows;
    int failed;
    const emoti_decode_opts *decode;
    const face_opts *faces;
    emoti_detector *det; /* --faces: opened once, a pipeline per input */
} extract_out;

/* A full disk or a size limit stops the run: the features, the largest file, fail first (the
 * commit checks all three). */
static int write_failed(const extract_out *x) { return ferror(x->files[0].f); }

static void put_row(extract_out *x, const emoti_info *in, const char *video, int64_t track,
                    const char *fname, long number, const char *input, const emoti_result *r,
                    const float *emb) {
    char tr[32] = "";
    if (track) snprintf(tr, sizeof tr, "/%lld", (long long)track);
    emoti_npy_fwrite(x->files[0].f, emb, (size_t)in->features);
    emoti_npy_fwrite(x->files[1].f, r->outputs, (size_t)in->n_outputs);
    fprintf(x->files[2].f, "%ld,%s%s/%s,%s%s,%ld,%s\n", x->rows++, video, tr, fname, video, tr, number, input);
}

static void extract_input(emoti_model *m, const emoti_info *in, const char *input, extract_out *x,
                          float *emb) {
    emoti_frames *s;
    emoti_faces *fp = NULL;
    char buf[256];
    const char *video = video_name(input, buf, sizeof buf);
    emoti_faces_params fpar;
    emoti_faces_params_init(&fpar);
    fpar.embeddings = 1;
    if (x->faces->min_face) fpar.detect.min_face = x->faces->min_face;
    if (x->det && !cli_ok(emoti_faces_create(x->det, m, &fpar, &fp))) {
        x->failed = 1;
        return;
    }
    if (!cli_frames_open(input, "emoti extract -o OUT -", x->decode, &s)) {
        emoti_faces_free(fp);
        x->failed = 1;
        return;
    }
    emoti_image frame;
    emoti_frame_info info;
    emoti_row_key key;
    int got;
    long rows = x->rows;
    while ((got = cli_frames_next(s, input, &frame, &info, &key)) != 0) {
        emoti_result r;
        const emoti_face_result *fr = NULL;
        int n = 1;
        emoti_status st = got < 0 ? EMOTI_OK
                          : fp ? emoti_faces_frame(fp, frame.rgb, frame.width, frame.height,
                                                   (size_t)frame.width * 3, &fr, &n)
                               : emoti_run_rgb(m, frame.rgb, frame.width, frame.height,
                                               (size_t)frame.width * 3, &r, emb);
        if (got < 0 || st) {
            if (got > 0) cli_say("%s: frame %ld: %s", input, key.frame, emoti_last_error());
            x->failed = 1;
            if (got < 0 && !emoti_frames_skippable(s)) break;
            if (fp && got < 0) emoti_faces_frame(fp, NULL, 0, 0, 0, &fr, &n); /* tracks age */
            continue;
        }
        char name[32];
        const char *fname = info.file;
        if (!fname) snprintf(name, sizeof name, "%05ld.jpg", info.number), fname = name;
        for (int i = 0; i < n; i++)
            put_row(x, in, video, fr ? fr[i].track : 0, fname, info.number, input, fr ? &fr[i].result : &r,
                    fr ? fr[i].embedding : emb);
        if (write_failed(x)) break; /* the commit reports it */
    }
    if (fp && x->rows == rows) cli_say("%s: no face in %ld frames", input, emoti_faces_frames(fp));
    emoti_faces_free(fp);
    emoti_frames_close(s);
}

/* Checked before any work, so that a bad input leaves no output: every input opens, and the
 * frames of folders are named by their number from 1, the index's key and frame (annotations
 * are matched by it). Pipes ('-', a FIFO) can be read only once, so they are not opened here. */
static int input_ok(const char *input, const emoti_decode_opts *decode) {
    struct stat sb;
    if (!strcmp(input, "-") || (!stat(input, &sb) && !S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)))
        return 1;
    emoti_frames *s;
    if (!cli_frames_open(input, "emoti extract -o OUT -", decode, &s)) return 0;
    const char *name = NULL;
    for (long i = 0; (name = emoti_frames_file(s, i)) && emoti_key_frame(name) > 0; i++) continue;
    size_t len = strlen(input);
    if (name)
        cli_say("%s%s%s: extract needs frame files named by their number from 1 "
                "(00001.jpg, 00002.jpg, ...: annotations are matched by it)", input,
                len && input[len - 1] == '/' ? "" : "/", name);
    emoti_frames_close(s);
    return name == NULL;
}

int cmd_extract(int argc, char **argv) {
    infer_opts o;
    infer_opts_init(&o);
    face_opts fo = {0};
    const char *out = NULL;
    char **inputs = malloc((size_t)argc * sizeof *inputs);
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(EXTRACT_HELP, stdout);
            free(inputs);
            return EXIT_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc) cli_usage_error("extract", "%s needs a value", a);
            out = argv[++i];
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-t") ||
                    !strcmp(a, "--threads") || !strcmp(a, "--max-pixels")) &&
                   infer_opts_parse(&o, "extract", argc, argv, &i)) {
            continue;
        } else if (face_opts_parse(&fo, "extract", argc, argv, &i)) {
            continue;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("extract", "unknown option '%s'", a);
        } else {
            inputs[n++] = argv[i];
        }
    }
    if (!out) cli_usage_error("extract", "-o OUT is required");
    if (n == 0) cli_usage_error("extract", "no INPUT given");
    face_opts_check(&fo, "extract");
    for (int i = 0; i < n; i++)
        if (!input_ok(inputs[i], &o.decode)) {
            free(inputs);
            return EXIT_RUNTIME;
        }
    emoti_model *m;
    if (!cli_open_model(&o, &m)) {
        free(inputs);
        return EXIT_RUNTIME;
    }
    emoti_info in;
    emoti_model_info(m, &in);
    extract_out x = {0};
    x.decode = &o.decode, x.faces = &fo;
    if (fo.on && !cli_open_detector(fo.detector, cli_threads(&o), &x.det)) {
        free(inputs);
        emoti_model_close(m);
        return EXIT_RUNTIME;
    }
    float *emb = malloc((size_t)in.features * sizeof *emb);
    emoti_outfile *f = x.files;
    int ok = (emb || (cli_say("out of memory"), 0)) && open_output(&f[0], out, ".features.npy") &&
             open_output(&f[1], out, ".outputs.npy") && open_output(&f[2], out, ".index.csv");
    if (ok) {
        npy_header_at_start(f[0].f, 0, in.features);
        npy_header_at_start(f[1].f, 0, in.n_outputs);
        fprintf(f[2].f, "row,key,video,frame,source\n");
        for (int i = 0; i < n && !write_failed(&x); i++) extract_input(m, &in, inputs[i], &x, emb);
    }
    if (ok && (x.failed || x.det) && !x.rows) { /* an empty set would replace earlier results */
        cli_say("%s: no frame extracted; the outputs are left as they were", out);
        ok = 0;
    }
    if (ok) { /* the row counts in; a failed write shows in the stream's error flag */
        npy_header_at_start(f[0].f, x.rows, in.features);
        npy_header_at_start(f[1].f, x.rows, in.n_outputs);
        ok = cli_ok(emoti_outfile_commit_set(f, 3));
    }
    for (int i = 0; i < 3; i++) emoti_outfile_abort(&f[i]);
    if (ok) cli_say("%ld %s -> %s.{features,outputs}.npy, %s.index.csv", x.rows, fo.on ? "faces" : "frames", out, out);
    free(emb);
    free(inputs);
    emoti_detector_close(x.det);
    emoti_model_close(m);
    return !ok ? EXIT_RUNTIME : x.failed ? EXIT_RUNTIME : EXIT_OK;
}
