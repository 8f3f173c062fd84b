/* emoti detect IMAGE...: the faces MTCNN finds in each image, one row per face. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *DETECT_HELP =
    "usage: emoti detect [options] IMAGE...\n"
    "Find the faces in each image (JPEG, PNG, PPM/PGM; '-' reads one from stdin) with MTCNN.\n"
    "  -d, --detector FILE  converted detector (tools/export.py --mtcnn; default:\n"
    "                       $EMOTI_DETECTOR, else ./" DEFAULT_DETECTOR ",\n"
    "                       else " INSTALLED_DETECTOR ")\n"
    "  -f, --format FMT     csv (default) or jsonl\n"
    "      --min-face N     smallest face side in pixels, >= 12 (default 40)\n"
    "      --draw DIR       also write each image with its faces drawn (boxes and landmarks,\n"
    "                       face k in the k-th of 6 colours) as DIR/NAME.ppm, NAME the image's\n"
    "                       file name less its extension ('-': stdin; a NAME seen before\n"
    "                       gets the suffix -N, N the image's position; DIR is created\n"
    "                       if missing)\n"
    "  -t, --threads N      threads (default $EMOTI_THREADS, else 1; needs make OPENMP=1);\n"
    "                       the faces are the same for any count\n"
    MAX_PIXELS_HELP
    "  -h, --help           this help\n"
    "One row per face, largest box first, faces numbered from 1: csv columns\n"
    "file,face,x1,y1,x2,y2,score,lx1,ly1,...,lx5,ly5 (box corners in pixels, the O-Net score,\n"
    "landmarks: left eye, right eye, nose, left and right mouth corner as seen in the image);\n"
    "jsonl {\"file\",\"face\",\"box\":[x1,y1,x2,y2],\"score\",\"landmarks\":[[x,y],...]}. An image\n"
    "without a face has one row with face 0 and the other fields empty (jsonl: file and face\n"
    "only), so every image read appears. An unreadable image is reported on stderr and skipped;\n"
    "the exit status is then 1.\n";

/* The file name of path without its folder and extension ("-": stdin), as *len bytes at the
 * returned pointer. */
static const char *stem(const char *path, int *len) {
    const char *slash = strrchr(path, '/'), *name = !strcmp(path, "-") ? "stdin" : slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    *len = (int)(dot && dot > name ? dot - name : (ptrdiff_t)strlen(name));
    return name;
}

/* DIR/STEM.ppm for image i, with -(i+1) after STEM when an earlier image had that stem too. */
static char *drawn_name(const char *dir, char **files, int i) {
    int len, other;
    const char *name = stem(files[i], &len);
    int again = 0;
    for (int j = 0; j < i && !again; j++) {
        const char *o = stem(files[j], &other);
        again = other == len && !memcmp(o, name, (size_t)len);
    }
    size_t size = strlen(dir) + (size_t)len + 32;
    char *path = malloc(size);
    if (path && again) snprintf(path, size, "%s/%.*s-%d.ppm", dir, len, name, i + 1);
    else if (path) snprintf(path, size, "%s/%.*s.ppm", dir, len, name);
    return path;
}

static int draw_image(const char *dir, char **files, int i, emoti_image *img,
                      const emoti_face *faces, int n) {
    char *path = drawn_name(dir, files, i);
    if (!path) return cli_say("out of memory"), 1;
    emoti_draw_faces(img->rgb, img->width, img->height, (size_t)img->width * 3, faces, n);
    int bad = emoti_ppm_write(path, img->rgb, img->width, img->height, (size_t)img->width * 3) != 0;
    if (bad) cli_say("%s", emoti_last_error());
    free(path);
    return bad;
}

static int detect_images(emoti_detector *det, const emoti_detector_params *p, const infer_opts *o,
                         const char *draw, char **files, int n) {
    emoti_face faces[EMOTI_DETECT_MAX_ONET];
    if (o->format == EMOTI_FORMAT_CSV) write_face_header();
    int failed = 0;
    for (int i = 0; i < n; i++) {
        emoti_image img = {0, 0, NULL};
        int found = 0;
        if (emoti_image_load_opts(files[i], &o->decode, &img) ||
            emoti_detect(det, p, img.rgb, img.width, img.height, (size_t)img.width * 3, faces,
                         EMOTI_DETECT_MAX_ONET, &found)) {
            cli_say("%s", emoti_last_error());
            failed = 1;
        } else {
            if (found > EMOTI_DETECT_MAX_ONET) found = EMOTI_DETECT_MAX_ONET; /* the API's bound */
            for (int k = 0; k < found; k++) write_face_row(o->format, files[i], k + 1, &faces[k]);
            if (!found) write_face_row(o->format, files[i], 0, NULL);
            if (draw && draw_image(draw, files, i, &img, faces, found)) failed = 1;
        }
        emoti_image_free(&img);
    }
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_detect(int argc, char **argv) {
    infer_opts o;
    infer_opts_init(&o);
    o.format = EMOTI_FORMAT_CSV;
    const char *detector = NULL, *draw = NULL;
    emoti_detector_params p;
    emoti_detector_params_init(&p);
    char **files = malloc((size_t)argc * sizeof *files);
    int n = 0;
    if (!files) return EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int value = !strcmp(a, "-d") || !strcmp(a, "--detector") || !strcmp(a, "--min-face") ||
                    !strcmp(a, "--draw");
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(DETECT_HELP, stdout);
            free(files);
            return EXIT_OK;
        } else if (value && i + 1 >= argc) {
            cli_usage_error("detect", "%s needs a value", a);
        } else if (value && a[1] == '-' && a[2] == 'm') {
            p.min_face = parse_double_arg("detect", a, argv[++i], 12, 65536);
        } else if (value && a[1] == '-' && a[2] == 'd' && a[3] == 'r') {
            draw = argv[++i];
        } else if (value) {
            detector = argv[++i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--format") || !strcmp(a, "--max-pixels") ||
                   !strcmp(a, "-t") || !strcmp(a, "--threads")) {
            infer_opts_parse(&o, "detect", argc, argv, &i);
            if (o.format == EMOTI_FORMAT_TEXT) cli_usage_error("detect", "writes csv or jsonl, not text");
        } else if (!strcmp(a, "--")) {
            while (++i < argc) files[n++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("detect", "unknown option '%s'", a);
        } else {
            files[n++] = argv[i];
        }
    }
    if (n == 0) cli_usage_error("detect", "no images given");
    if (draw && mkdir(draw, 0777) && errno != EEXIST) {
        cli_say("%s: cannot create the folder (%s)", draw, strerror(errno));
        free(files);
        return EXIT_RUNTIME;
    }
    emoti_detector *det = NULL;
    int rc = EXIT_RUNTIME;
    if (cli_open_detector(detector, cli_threads(&o), &det)) {
        rc = detect_images(det, &p, &o, draw, files, n);
        emoti_detector_close(det);
    }
    free(files);
    return rc;
}
