/* A program with its model and detector linked in (tools/embed.py; tests/test_embed.sh):
 *   embedded_run MODEL DETECTOR IMAGE
 * runs the embedded B0 and MTCNN on IMAGE, then the same from the files MODEL and DETECTOR,
 * and checks that the results (and the embedding) are bitwise the same; prints the top label and the faces. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "emoti.h"

extern const unsigned char emoti_test_model[], emoti_test_detector[];
extern const size_t emoti_test_model_size, emoti_test_detector_size;

static int fail(const char *what) {
    fprintf(stderr, "embedded_run: %s: %s\n", what, emoti_last_error());
    return 1;
}

static float emb[2][2048]; /* B0 1280, B2 1408 */

static int classify(emoti_model *m, const emoti_image *img, emoti_result *r, float *e) {
    return emoti_run_rgb(m, img->rgb, img->width, img->height, (size_t)img->width * 3, r, e) != 0;
}

static int detect(emoti_detector *d, const emoti_image *img, emoti_face *f, int *n) {
    return emoti_detect(d, NULL, img->rgb, img->width, img->height, (size_t)img->width * 3, f, 16,
                        n) != 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: embedded_run MODEL DETECTOR IMAGE\n");
        return 2;
    }
    if ((uintptr_t)emoti_test_model % 64 || (uintptr_t)emoti_test_detector % 64) {
        fprintf(stderr, "embedded_run: an embedded container is not 64-byte aligned\n");
        return 1;
    }
    emoti_image img = {0, 0, NULL};
    emoti_model *mem, *file;
    emoti_detector *dmem, *dfile;
    emoti_result r[2];
    emoti_face f[2][16];
    int n[2];
    memset(r, 0, sizeof r), memset(f, 0, sizeof f);
    if (emoti_image_load(argv[3], &img)) return fail(argv[3]);
    if (emoti_model_from_memory(emoti_test_model, emoti_test_model_size, &mem) ||
        emoti_model_open(argv[1], &file))
        return fail("model");
    if (emoti_detector_from_memory(emoti_test_detector, emoti_test_detector_size, &dmem) ||
        emoti_detector_open(argv[2], &dfile))
        return fail("detector");
    if (classify(mem, &img, &r[0], emb[0]) || classify(file, &img, &r[1], emb[1])) return fail("run");
    if (detect(dmem, &img, f[0], &n[0]) || detect(dfile, &img, f[1], &n[1])) return fail("detect");
    emoti_info in;
    emoti_model_info(mem, &in);
    int same_model = !memcmp(&r[0], &r[1], sizeof r[0]) && !memcmp(emb[0], emb[1], sizeof emb[0]);
    int same_faces = n[0] == n[1] && !memcmp(f[0], f[1], sizeof f[0]);
    printf("model: %zu bytes embedded, top %s %.6f, %s the file's\n", emoti_test_model_size,
           in.labels[r[0].top], r[0].probs[r[0].top], same_model ? "bitwise" : "NOT");
    printf("detector: %zu bytes embedded, %d faces, %s the file's\n", emoti_test_detector_size,
           n[0], same_faces ? "bitwise" : "NOT");
    emoti_model_close(mem), emoti_model_close(file);
    emoti_detector_close(dmem), emoti_detector_close(dfile);
    emoti_image_free(&img);
    return same_model && same_faces ? 0 : 1;
}
