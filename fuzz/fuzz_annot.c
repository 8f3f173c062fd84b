/* libFuzzer target: the Aff-Wild2 annotation reader (emoti_annot_fread) for each task (VA,
 * EXPR, AU) and the `emoti extract` index reader (emoti_index_fread), engine/train/annot.c,
 * over in-memory streams. What reads is checked against its task's value ranges.
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

static void fuzz_annot_task(const uint8_t *data, size_t size, int task) {
    uint8_t *copy;
    FILE *f = fuzz_stream(data, size, &copy);
    if (!f) return;
    emoti_annot_video a;
    fuzz_clear_error();
    emoti_status st = emoti_annot_fread(f, "dir/fuzz.txt", task, &a);
    fclose(f);
    free(copy);
    if (st != EMOTI_OK) {
        FUZZ_CHECK(a.values == NULL && a.valid == NULL && a.video == NULL);
        fuzz_check_failure(st);
        return;
    }
    FUZZ_CHECK(a.cols == emoti_annot_cols(task) && a.n_frames >= 0);
    FUZZ_CHECK(!strcmp(a.video, "fuzz") && !strcmp(a.path, "dir/fuzz.txt"));
    FUZZ_CHECK((size_t)a.n_frames * 2 <= size); /* a frame line is at least "v\n" */
    for (int i = 0; i < a.n_frames; i++) {
        int valid = 1;
        for (int c = 0; c < a.cols; c++) {
            float v = a.values[(size_t)i * (size_t)a.cols + (size_t)c];
            if (task == EMOTI_TASK_VA) {
                FUZZ_CHECK(v == -5 || (v >= -1 && v <= 1));
                valid = valid && v != -5;
            } else {
                FUZZ_CHECK(v == (float)(int)v && v >= -1 && v <= (task == EMOTI_TASK_AU ? 1 : 7));
                valid = valid && v != -1;
            }
        }
        FUZZ_CHECK(a.valid[i] == valid);
    }
    emoti_annot_video_free(&a);
}

static void fuzz_annot_index(const uint8_t *data, size_t size) {
    uint8_t *copy;
    FILE *f = fuzz_stream(data, size, &copy);
    if (!f) return;
    emoti_index x;
    fuzz_clear_error();
    emoti_status st = emoti_index_fread(f, "fuzz.index.csv", &x);
    fclose(f);
    free(copy);
    if (st != EMOTI_OK) {
        FUZZ_CHECK(x.n == 0 && x.key == NULL && x.video == NULL && x.frame == NULL);
        fuzz_check_failure(st);
        return;
    }
    for (long i = 0; i < x.n; i++) {
        FUZZ_CHECK(x.frame[i] >= 1 && x.frame[i] == emoti_key_frame(x.key[i]));
        fuzz_sink += (uint32_t)strlen(x.video[i]);
    }
    emoti_index_free(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) fuzz_annot_task(data, size, task);
    fuzz_annot_index(data, size);
    return 0;
}
