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
    "  -h, --help           this help\n"
    "Per image: the top label, the class probabilities, and valence/arousal for multi-task\n"
    "models. An unreadable image is reported on stderr and skipped; the exit status is then 1.\n";

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
    char **files = malloc((size_t)argc * sizeof *files);
    int n = 0;
    if (!files) return EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(RUN_HELP, stdout);
            free(files);
            return EXIT_OK;
        } else if (infer_opts_parse(&o, "run", argc, argv, &i)) {
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
    emoti_model *m;
    int rc = EXIT_RUNTIME;
    if (cli_open_model(&o, &m)) {
        rc = run_images(&o, m, files, n);
        emoti_model_close(m);
    }
    free(files);
    return rc;
}
