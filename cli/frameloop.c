/* The frame loop of `video` and `extract`: opening an input and reading its frames with the
 * library's messages on stderr, and the progress bar. */
#include <stdio.h>
#include <time.h>

#include "cli.h"

int cli_frames_open(const char *input, const char *reader, const emoti_decode_opts *decode,
                    emoti_frames **s) {
    emoti_status st = emoti_frames_open_opts(input, decode, s);
    if (!st) return 1;
    /* The message ends with the ffmpeg command that makes a Y4M stream: pipe it into reader. */
    if (st == EMOTI_ERR_UNSUPPORTED) cli_say("%s | %s", emoti_last_error(), reader);
    else cli_say("%s", emoti_last_error());
    return 0;
}

int cli_frames_next(emoti_frames *s, const char *input, emoti_image *frame, emoti_frame_info *info,
                    emoti_row_key *key) {
    int done;
    emoti_status st = emoti_frames_next(s, frame, info, &done);
    if (!st && done) return 0;
    *key = (emoti_row_key){info->index, info->file ? info->file : input, info->time};
    if (st) cli_say("%s", emoti_last_error());
    return st ? -1 : 1;
}

double cli_frames_rate(emoti_frames *s, const infer_opts *o) {
    int num, den;
    if (o->fps_num) emoti_frames_set_rate(s, o->fps_num, o->fps_den);
    emoti_frames_rate(s, &num, &den);
    return num > 0 && den > 0 ? (double)num / den : 0;
}

double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress(int done, long total, double start, double *last, int final) {
    double now = seconds();
    if (!final && now - *last < 0.2) return;
    *last = now;
    double fps = done / (now - start > 1e-9 ? now - start : 1e-9);
    fprintf(stderr, "\remoti: frames %d", done);
    if (total > 0) fprintf(stderr, "/%ld", total);
    fprintf(stderr, "  %.1f fps", fps);
    if (total > done && fps > 0) {
        long eta = (long)((total - done) / fps);
        fprintf(stderr, "  ETA %ld:%02ld", eta / 60, eta % 60);
    }
    fprintf(stderr, final ? "\n" : "   ");
}
