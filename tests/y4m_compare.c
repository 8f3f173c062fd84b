/* y4m_compare FILE.y4m FILE.rgb: decodes every frame of FILE.y4m and compares it with ffmpeg's
 * rgb24 conversion of the same frames; prints the largest channel difference, exits 1 above 2. */
#include <stdio.h>
#include <stdlib.h>

#include "y4m.h"

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    FILE *f = fopen(argv[1], "rb"), *ref = fopen(argv[2], "rb");
    emoti_y4m *y;
    if (!f || !ref || emoti_y4m_open(f, argv[1], &y)) {
        printf("cannot open inputs: %s\n", emoti_last_error());
        return 1;
    }
    int worst = 0, frames = 0, done = 0;
    emoti_image fr;
    while (!emoti_y4m_next(y, &fr, &done) && !done) {
        size_t n = (size_t)fr.width * fr.height * 3;
        unsigned char *want = malloc(n);
        if (fread(want, 1, n, ref) != n) {
            printf("reference too short at frame %d\n", frames);
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            int d = abs((int)want[i] - fr.rgb[i]);
            if (d > worst) worst = d;
        }
        free(want);
        frames++;
    }
    printf("%s: %d frames, max channel difference %d\n", argv[1], frames, worst);
    emoti_y4m_close(y);
    fclose(f);
    fclose(ref);
    return frames > 0 && worst <= 2 ? 0 : 1;
}
