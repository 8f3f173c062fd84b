/* --faces, -d and --min-face of run, video and extract: opening the detector and the face
 * pipeline (emoti.h, "Face pipeline"); the commands only print what it gives. */
#include <string.h>

#include "cli.h"

int face_opts_parse(face_opts *f, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--faces")) return f->on = 1;
    int det = !strcmp(a, "-d") || !strcmp(a, "--detector");
    if (!det && strcmp(a, "--min-face")) return 0;
    if (*i + 1 >= argc) cli_usage_error(cmd, "%s needs a value", a);
    const char *v = argv[++*i];
    if (det) f->detector = v;
    else f->min_face = parse_double_arg(cmd, a, v, 12, 65536);
    if (!f->first) f->first = a;
    return 1;
}

void face_opts_check(const face_opts *f, const char *cmd) {
    if (f->first && !f->on) cli_usage_error(cmd, "%s needs --faces", f->first);
}

int cli_open_detector(const char *path, int threads, emoti_detector **det) {
    if (!path) path = default_detector();
    *det = NULL;
    if (default_detector_missing(path) || !cli_ok(emoti_detector_open(path, det))) return 0;
    if (cli_ok(emoti_detector_set_threads(*det, threads))) return 1;
    emoti_detector_close(*det);
    *det = NULL;
    return 0;
}

int cli_open_faces(const face_opts *f, emoti_model *m, int threads, int tracking, int embeddings,
                   emoti_detector **det, emoti_faces **fp) {
    *fp = NULL;
    if (!cli_open_detector(f->detector, threads, det)) return 0;
    emoti_faces_params p;
    emoti_faces_params_init(&p);
    if (f->min_face) p.detect.min_face = f->min_face;
    p.tracking = tracking, p.embeddings = embeddings;
    if (!tracking) p.max_faces = EMOTI_DETECT_MAX_ONET;
    return cli_ok(emoti_faces_create(*det, m, &p, fp));
}

void cli_close_faces(emoti_detector *det, emoti_faces *fp) {
    emoti_faces_free(fp);
    emoti_detector_close(det);
}
