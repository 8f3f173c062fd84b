/* A live timeline through emoti.h alone: read a Y4M stream of face crops, run the backbone and
 * the heads on every frame, and print each row as soon as it is final (causal smoothing), the
 * same rows as `emoti video -m MODEL -H HEAD,... --causal LAG INPUT`.
 *
 *   cc -Iinclude examples/timeline.c build/libemoti.a -lm -o timeline
 *   ffmpeg -i talk.mp4 -f yuv4mpegpipe -pix_fmt yuv420p - | ./timeline MODEL 5 - va.emoti expr.emoti
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"

static int fail(const char *what) {
    fprintf(stderr, "timeline: %s: %s\n", what, emoti_last_error());
    return 1;
}

/* Every row that is final now, on stdout, flushed: a live consumer sees it at once. With the
 * stream's frame rate (num/den) the rows end with the frame's time in seconds. */
static void print_rows(emoti_timeline *t, const char *input, int num, int den, int *header) {
    int flags = num > 0 && den > 0 ? EMOTI_ROWS_TIME : 0;
    emoti_timeline_row row;
    while (emoti_timeline_next(t, &row)) {
        if (!*header) emoti_timeline_write_header(stdout, t, EMOTI_FORMAT_CSV, flags);
        *header = 1;
        emoti_row_key key = {row.frame, input, flags ? (double)row.frame * den / num : -1};
        emoti_timeline_write_row(stdout, &row, key, EMOTI_FORMAT_CSV, flags);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: timeline MODEL LAG INPUT.y4m|- HEAD...\n");
        return 2;
    }
    const char *input = argv[3];
    int n_heads = argc - 4, rc = 1, header = 0, num = 0, den = 0;
    if (n_heads > EMOTI_TIMELINE_MAX_HEADS) return fail("too many heads");
    emoti_model *model = NULL;
    emoti_head *heads[EMOTI_TIMELINE_MAX_HEADS] = {0};
    emoti_timeline *t = NULL;
    emoti_y4m *video = NULL;
    FILE *f = strcmp(input, "-") ? fopen(input, "rb") : stdin;
    float *embedding = NULL;
    if (!f) {
        perror(input);
        return 1;
    }
    if (emoti_model_open(argv[1], &model)) {
        fail(argv[1]);
        goto done;
    }
    for (int i = 0; i < n_heads; i++)
        if (emoti_head_load(argv[4 + i], &heads[i])) {
            fail(argv[4 + i]);
            goto done;
        }
    emoti_info info;
    emoti_model_info(model, &info);
    emoti_timeline_config config;
    emoti_timeline_config_init(&config);
    config.lag = atoi(argv[2]);
    if (emoti_timeline_create((const emoti_head *const *)heads, n_heads, &info, &config, &t)) {
        fail("timeline");
        goto done;
    }
    embedding = malloc((size_t)info.features * sizeof *embedding);
    if (!embedding || emoti_y4m_open(f, strcmp(input, "-") ? input : "stdin", &video)) {
        fail(input);
        goto done;
    }
    emoti_y4m_rate(video, &num, &den);
    for (;;) {
        emoti_image frame;
        emoti_result result;
        int done;
        if (emoti_y4m_next(video, &frame, &done)) {
            fail(input);
            goto done;
        }
        if (done) break;
        /* A frame the model cannot take still gets its row, filled from its neighbours. */
        int ok = !emoti_run_rgb(model, frame.rgb, frame.width, frame.height, (size_t)frame.width * 3,
                                &result, embedding);
        if (emoti_timeline_push(t, ok ? &result : NULL, embedding)) {
            fail("push");
            goto done;
        }
        print_rows(t, input, num, den, &header);
    }
    if (emoti_timeline_finish(t)) {
        fail("finish");
        goto done;
    }
    print_rows(t, input, num, den, &header);
    rc = 0;
done:
    emoti_y4m_close(video);
    if (f != stdin) fclose(f);
    free(embedding);
    emoti_timeline_free(t);
    for (int i = 0; i < n_heads; i++) emoti_head_free(heads[i]);
    emoti_model_close(model);
    return rc;
}
