/* emoti_run_face crops as EmotiEffLib does: frame[int(y1):int(y2), int(x1):int(x2)] (truncation
 * toward zero, no margin), clipped to the image; a box with nothing inside is refused. Each
 * case is checked against emoti_run_rgb on the crop cut by hand (bitwise the same outputs). */
#include <string.h>

#include "emoti.h"
#include "testutil.h"

static int failures;

static void same(emoti_model *m, const uint8_t *rgb, int w, int h, emoti_face f, int x0, int y0,
                 int x1, int y1, const char *what) {
    emoti_result a, b;
    const size_t stride = (size_t)w * 3;
    emoti_status st = emoti_run_face(m, rgb, w, h, stride, &f, &a, NULL);
    CHECK(!st, "%s: emoti_run_face: %s", what, emoti_last_error());
    st = emoti_run_rgb(m, rgb + (size_t)y0 * stride + (size_t)x0 * 3, x1 - x0, y1 - y0, stride, &b,
                       NULL);
    CHECK(!st, "%s: emoti_run_rgb: %s", what, emoti_last_error());
    CHECK(!memcmp(a.outputs, b.outputs, sizeof a.outputs), "%s: outputs differ from the crop "
          "[%d:%d, %d:%d]", what, y0, y1, x0, x1);
}

int main(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/b0_8_pt.emoti", models_dir());
    emoti_model *m;
    if (emoti_model_open(path, &m)) {
        printf("SKIPPED: no model %s (%s)\n", path, emoti_last_error());
        return SKIP_EXIT;
    }
    enum { W = 97, H = 83 };
    static uint8_t rgb[H * W * 3];
    for (int i = 0; i < H * W * 3; i++) rgb[i] = (uint8_t)(i * 7 + i / 300 * 13);
    same(m, rgb, W, H, (emoti_face){.x1 = 10.7f, .y1 = 5.2f, .x2 = 60.9f, .y2 = 70.99f}, 10, 5, 60,
         70, "inside");
    /* int(-0.7) = 0: truncation, not floor */
    same(m, rgb, W, H, (emoti_face){.x1 = -0.7f, .y1 = -0.2f, .x2 = 30.5f, .y2 = 40.f}, 0, 0, 30,
         40, "just past the top-left");
    same(m, rgb, W, H, (emoti_face){.x1 = -15.5f, .y1 = 60.f, .x2 = 120.f, .y2 = 300.f}, 0, 60, W,
         H, "past three edges: clipped");
    emoti_result r;
    const emoti_face out = {.x1 = 100, .y1 = 10, .x2 = 130, .y2 = 50};
    CHECK(emoti_run_face(m, rgb, W, H, (size_t)W * 3, &out, &r, NULL) == EMOTI_ERR_ARG,
          "a box right of the image is not refused");
    const emoti_face flat = {.x1 = 20, .y1 = 30.2f, .x2 = 40, .y2 = 30.9f};
    CHECK(emoti_run_face(m, rgb, W, H, (size_t)W * 3, &flat, &r, NULL) == EMOTI_ERR_ARG,
          "a box under one row high (30.2 .. 30.9 -> 30:30) is not refused");
    CHECK(strstr(emoti_last_error(), "nothing inside") != NULL, "message: %s", emoti_last_error());
    emoti_model_close(m);
    if (!failures) printf("ok   emoti_run_face: crops, clipping, refusals\n");
    return failures != 0;
}
