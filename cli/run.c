/* emoti run IMAGE...: one result per image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *RUN_HELP =
    "usage: emoti run [options] IMAGE...\n"
    "Classify the facial expression in each image (a face crop): JPEG, PNG, PPM/PGM (P2, P3,\n"
    "P5, P6); '-' reads one image from stdin (at most 256 MiB).\n"
    INFER_OPTS_HELP
    FACE_OPTS_HELP
    "  -h, --help           this help\n"
    "Per image: the top label, the class probabilities, and valence/arousal for multi-task\n"
    "models. An unreadable image is reported on stderr and skipped; the exit status is then 1.\n"
    "With --faces, one row per face found (largest first, numbered from 1 as emoti detect\n"
    "numbers them): file,face,x1,y1,x2,y2,score, then the columns above for its crop (the box\n"
    "truncated to integers, no margin, as EmotiEffLib crops). An image without a face has one\n"
    "row with face 0 and the other fields empty (jsonl: file and face only; text: 'no face').\n";

/* --faces: every face of every image through the pipeline, without tracking. */
static int run_faces(const infer_opts *o, const face_opts *fo, emoti_model *m, char **files, int n) {
    emoti_info in;
    emoti_model_info(m, &in);
    emoti_detector *det;
    emoti_faces *fp;
    if (!cli_open_faces(fo, m, cli_threads(o), 0, o->embeddings, &det, &fp)) {
        cli_close_faces(det, fp);
        return EXIT_RUNTIME;
    }
    write_face_result_header(o, &in);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        emoti_image img = {0, 0, NULL};
        const emoti_face_result *fr;
        int k = 0;
        if (emoti_image_load_opts(files[i], &o->decode, &img) ||
            emoti_faces_frame(fp, img.rgb, img.width, img.height, (size_t)img.width * 3, &fr, &k)) {
            cli_say("%s", emoti_last_error()); /* reported; the other images go on */
            failed = 1;
        } else if (!k) {
            write_noface_row(o, &in, files[i]);
        }
        for (int j = 0; j < k; j++) write_face_result(o, &in, files[i], &fr[j]);
        emoti_image_free(&img);
    }
    cli_close_faces(det, fp);
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

/* Runs every image; a bad image is reported and skipped so the others' results stand. */
static int run_images(const infer_opts *o, emoti_model *m, char **files, int n) {
    emoti_info in;
    emoti_model_info(m, &in);
    float *emb = o->embeddings ? malloc((size_t)in.features * sizeof *emb) : NULL;
    if (o->embeddings && !emb) {
        cli_say("out of memory");
        return EXIT_RUNTIME;
    }
    write_header(o, &in, 0);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        emoti_image img = {0, 0, NULL};
        emoti_result r;
        if (emoti_image_load_opts(files[i], &o->decode, &img) ||
            emoti_run_rgb(m, img.rgb, img.width, img.height, (size_t)img.width * 3, &r, emb)) {
            cli_say("%s", emoti_last_error());
            failed = 1;
        } else {
            write_row(o, &in, (emoti_row_key){-1, files[i], -1}, &r, emb);
        }
        emoti_image_free(&img);
    }
    free(emb);
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_run(int argc, char **argv) {
    infer_opts o;
    infer_opts_init(&o);
    face_opts fo = {0};
    char **files = malloc((size_t)argc * sizeof *files);
    int n = 0;
    if (!files) return EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(RUN_HELP, stdout);
            free(files);
            return EXIT_OK;
        } else if (infer_opts_parse(&o, "run", argc, argv, &i) || face_opts_parse(&fo, "run", argc, argv, &i)) {
            continue;
        } else if (!strcmp(a, "--")) {
            while (++i < argc) files[n++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("run", "unknown option '%s'", a);
        } else {
            files[n++] = argv[i];
        }
    }
    if (n == 0) cli_usage_error("run", "no images given");
    face_opts_check(&fo, "run");
    emoti_model *m;
    int rc = EXIT_RUNTIME;
    if (cli_open_model(&o, &m)) {
        rc = fo.on ? run_faces(&o, &fo, m, files, n) : run_images(&o, m, files, n);
        emoti_model_close(m);
    }
    free(files);
    return rc;
}
