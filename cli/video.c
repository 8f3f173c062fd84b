/* emoti video INPUT: one row per frame of a Y4M stream (file or '-') or a frame folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "videoheads.h"

static const char *VIDEO_HELP =
    "usage: emoti video [options] INPUT\n"
    "Classify every frame of INPUT: a YUV4MPEG2 file, '-' for a Y4M stream on stdin\n"
    "(e.g. ffmpeg -i talk.mp4 -f yuv4mpegpipe - | emoti video -), or a folder of frame\n"
    "images taken in natural order (00001.ppm, 00002.ppm, ..., 00010.ppm).\n"
    INFER_OPTS_HELP
    FACE_OPTS_HELP
    "      --fps RATE       frame rate (25, 29.97, 30000/1001) of a folder's frames, or to\n"
    "                       replace a Y4M stream's: with a rate, rows end with a time column\n"
    "                       (seconds: a folder's frame numbers over the rate, so gaps in the\n"
    "                       numbering keep their times) and the plot's axis is in seconds\n"
    "  -h, --help           this help\n"
    "Output (csv by default): frame index, file, label, probabilities, valence/arousal: the\n"
    "model's own labels (AffectNet-8, or 7 for enet_b2_7), per frame, unsmoothed.\n"
    "A progress bar goes to stderr when it is a terminal. A bad frame in a folder is\n"
    "reported and skipped (filled with --heads or -k); a truncated stream stops with its frame\n"
    "index; the rows already written stand and the exit status is 1.\n"
    "Smoothing without heads (-k K, no -H): the model's class probabilities (softmax, then the\n"
    "box of 2K+1 frames) and a multi-task model's valence and arousal, the expression being the\n"
    "most probable smoothed class, in the model's label set (AffectNet-8); rows and options as\n"
    "with heads below (--causal, --plot, --paper-interp).\n"
    VIDEO_HEADS_HELP;


static int run_video(const infer_opts *o, emoti_model *m, emoti_frames *s, const char *input) {
    emoti_info in;
    emoti_model_info(m, &in);
    float *emb = o->embeddings ? malloc((size_t)in.features * sizeof *emb) : NULL;
    int tty = isatty(STDERR_FILENO), failed = 0, done = 0, got;
    double start = seconds(), last = 0;
    long total = emoti_frames_count(s);
    emoti_image frame;
    emoti_frame_info info;
    emoti_row_key key;
    write_header(o, &in, 1);
    while ((got = cli_frames_next(s, input, &frame, &info, &key)) != 0) {
        emoti_result r;
        if (got < 0) {
            failed = 1;
            if (!emoti_frames_skippable(s)) break; /* a broken stream cannot be resynchronised */
            continue;
        }
        if (emoti_run_rgb(m, frame.rgb, frame.width, frame.height, (size_t)frame.width * 3, &r,
                          emb)) {
            cli_say("%s: frame %ld: %s", input, key.frame, emoti_last_error());
            failed = 1;
            continue;
        }
        write_row(o, &in, key, &r, emb);
        done++;
        if (tty) progress(done, total, start, &last, 0);
    }
    if (tty) progress(done, total, start, &last, 1);
    free(emb);
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_video(int argc, char **argv) {
    infer_opts o;
    infer_opts_init(&o);
    o.format = EMOTI_FORMAT_CSV;
    vh_opts v;
    vh_opts_init(&v);
    const char *input = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(VIDEO_HELP, stdout);
            vh_opts_free(&v);
            return EXIT_OK;
        } else if (!strcmp(a, "--fps")) {
            if (i + 1 >= argc) cli_usage_error("video", "--fps needs a value");
            parse_rate("video", argv[++i], &o.fps_num, &o.fps_den);
        } else if (infer_opts_parse(&o, "video", argc, argv, &i) || vh_opts_parse(&v, argc, argv, &i) ||
                   face_opts_parse(&v.faces, "video", argc, argv, &i)) {
            continue;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("video", "unknown option '%s'", a);
        } else if (input) {
            cli_usage_error("video", "expects one INPUT, not '%s' too (several heads: -H A -H B or "
                            "--heads A,B)", a);
        } else {
            input = a;
        }
    }
    if (!input) cli_usage_error("video", "no INPUT given");
    vh_opts_check(&v, &o);
    if (vh_active(&v)) {
        int rc = video_heads(&o, &v, input);
        vh_opts_free(&v);
        return rc;
    }
    emoti_model *m;
    if (!cli_open_model(&o, &m)) return EXIT_RUNTIME;
    emoti_frames *s;
    int rc = EXIT_RUNTIME;
    if (cli_frames_open(input, "emoti video -", &o.decode, &s)) {
        o.time = cli_frames_rate(s, &o) > 0;
        rc = run_video(&o, m, s, input);
    }
    emoti_frames_close(s);
    emoti_model_close(m);
    return rc;
}
