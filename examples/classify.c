/* The smallest embedding of emoti: load a model, classify one image, print the top label.
 *   cc -Iinclude examples/classify.c build/libemoti.a -lm -o classify
 *   ./classify weights/enet_b0_8_best_vgaf.emoti face.ppm
 */
#include <stdio.h>

#include "emoti.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: classify MODEL IMAGE\n");
        return 2;
    }
    emoti_model *model;
    emoti_image image = {0, 0, NULL};
    emoti_result r;
    if (emoti_model_open(argv[1], &model)) {
        fprintf(stderr, "classify: %s\n", emoti_last_error());
        return 1;
    }
    int rc = 0;
    if (emoti_image_load(argv[2], &image) ||
        emoti_run_rgb(model, image.rgb, image.width, image.height, (size_t)image.width * 3, &r,
                      NULL)) {
        fprintf(stderr, "classify: %s\n", emoti_last_error());
        rc = 1;
    } else {
        emoti_info info;
        emoti_model_info(model, &info);
        printf("%s %.4f\n", info.labels[r.top], r.probs[r.top]);
        if (r.has_va) printf("valence %.4f arousal %.4f\n", r.valence, r.arousal);
    }
    emoti_image_free(&image);
    emoti_model_close(model);
    return rc;
}
