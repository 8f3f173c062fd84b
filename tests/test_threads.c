/* Thread counts: outputs and embeddings must be bitwise identical for 1, 2, 3 and 4 threads
 * (OpenMP builds); without OpenMP, asking for 2 threads must be refused, not ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "testutil.h"

static const char *images[] = {"face_small", "noise"};

int main(void) {
    require_fixtures();
    int failures = 0;
    const char *models[] = {"b0_8_pt", "b2_8_onnx"};
    for (size_t mi = 0; mi < 2; mi++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.emoti", models_dir(), models[mi]);
        emoti_model *m;
        if (emoti_model_open(path, &m)) {
            printf("FAIL %s\n", emoti_last_error());
            return 1;
        }
#ifndef _OPENMP
        CHECK(emoti_model_set_threads(m, 2) == EMOTI_ERR_UNSUPPORTED, "2 threads accepted");
        CHECK(strstr(emoti_last_error(), "OPENMP=1"), "message: %s", emoti_last_error());
        emoti_model_close(m);
        printf("SKIPPED: not an OpenMP build (make OPENMP=1); refusal of 2 threads checked\n");
        return failures ? 1 : SKIP_EXIT;
#endif
        emoti_info in;
        emoti_model_info(m, &in);
        for (size_t ii = 0; ii < sizeof images / sizeof *images; ii++) {
            snprintf(path, sizeof path, "%s/img/%s.ppm", fixtures_dir(), images[ii]);
            emoti_image img = {0, 0, NULL};
            CHECK(!emoti_image_load(path, &img), "%s", emoti_last_error());
            float *emb1 = malloc((size_t)in.features * sizeof(float)), *emb = malloc((size_t)in.features * sizeof(float));
            emoti_result r1, r;
            for (int t = 1; t <= 4; t++) {
                CHECK(!emoti_model_set_threads(m, t), "%s", emoti_last_error());
                emoti_run_rgb(m, img.rgb, img.width, img.height, (size_t)img.width * 3, &r,
                              t == 1 ? emb1 : emb);
                if (t == 1) {
                    r1 = r;
                    continue;
                }
                int same = !memcmp(r.outputs, r1.outputs, sizeof r.outputs) &&
                           !memcmp(emb, emb1, (size_t)in.features * sizeof(float));
                CHECK(same, "%s %s: %d threads differ from 1", models[mi], images[ii], t);
                if (same) printf("ok   %s %s: %d threads bitwise equal to 1\n", models[mi], images[ii], t);
            }
            free(emb1);
            free(emb);
            emoti_image_free(&img);
        }
        emoti_model_close(m);
    }
    return failures != 0;
}
