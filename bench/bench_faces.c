/* Face detection time per frame, for bench/faces.py (make bench-faces).
 *   bench_faces DETECTOR THREADS IMAGE...
 * Loads the detector and the images, detects once in each (warm-up: the buffers are sized),
 * prints "ready", then for each line "INDEX MIN_FACE" read from stdin detects the faces of
 * image INDEX and prints "MS FACES". bench/faces.py alternates these runs with OpenCV's Haar
 * cascade on the same frames, so that both see the same state of a noisy box. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "emoti.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_faces DETECTOR THREADS IMAGE...\n");
        return 2;
    }
    emoti_detector *d;
    const int n = argc - 3;
    emoti_image *img = calloc((size_t)n, sizeof *img);
    if (!img || emoti_detector_open(argv[1], &d) || emoti_detector_set_threads(d, atoi(argv[2]))) {
        fprintf(stderr, "bench_faces: %s\n", img ? emoti_last_error() : "out of memory");
        return 1;
    }
    emoti_face faces[64];
    emoti_detector_params p;
    emoti_detector_params_init(&p);
    p.min_face = 20;
    int found;
    for (int i = 0; i < n; i++)
        if (emoti_image_load(argv[3 + i], &img[i]) ||
            emoti_detect(d, &p, img[i].rgb, img[i].width, img[i].height, (size_t)img[i].width * 3,
                         faces, 64, &found)) {
            fprintf(stderr, "bench_faces: %s\n", emoti_last_error());
            return 1;
        }
    printf("ready\n");
    fflush(stdout);
    char line[64];
    int i;
    while (fgets(line, sizeof line, stdin) && sscanf(line, "%d %lf", &i, &p.min_face) == 2 &&
           i >= 0 && i < n) {
        const double t = now_ms();
        if (emoti_detect(d, &p, img[i].rgb, img[i].width, img[i].height, (size_t)img[i].width * 3,
                         faces, 64, &found)) {
            fprintf(stderr, "bench_faces: %s\n", emoti_last_error());
            return 1;
        }
        printf("%.4f %d\n", now_ms() - t, found);
        fflush(stdout);
    }
    for (i = 0; i < n; i++) emoti_image_free(&img[i]);
    free(img);
    emoti_detector_close(d);
    return 0;
}
