/* y4m_compare FILE.y4m FILE.rgb [MAX]: decodes every frame of FILE.y4m and compares it with
 * ffmpeg's rgb24 conversion of the same frames; prints the largest channel difference and the
 * range the header gave, exits 1 above MAX (default 2).
 * y4m_compare --every-colour 420|422|444 limited|full OUT.y4m: writes one 4096x4096 frame in
 * which every (Y, Cb, Cr) triple occurs, for the comparison to cover them all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "y4m.h"

#define SIDE 4096

/* Chroma sample c of a plane cw wide holds (Cb, Cr) = (c & 255, (c >> 8) & 255) and the lumas
 * it covers (per samples of them) run through the 256 values as c >> 16 grows, so that every
 * triple occurs once. */
static int write_every_colour(const char *cs, const char *range, const char *path) {
    int sx = strcmp(cs, "444") != 0, sy = !strcmp(cs, "420");
    if ((!sx && strcmp(cs, "444")) || (sx && !sy && strcmp(cs, "422")) ||
        (strcmp(range, "limited") && strcmp(range, "full")))
        return 2;
    int cw = SIDE >> sx, ch = SIDE >> sy, per = 1 << (sx + sy);
    unsigned char *y = malloc((size_t)SIDE * SIDE), *cb = malloc((size_t)cw * ch), *cr = malloc((size_t)cw * ch);
    FILE *f = fopen(path, "wb");
    if (!y || !cb || !cr || !f) return 1;
    for (int r = 0; r < ch; r++)
        for (int c = 0; c < cw; c++) {
            long i = (long)r * cw + c;
            cb[i] = (unsigned char)(i & 255), cr[i] = (unsigned char)((i >> 8) & 255);
            for (int k = 0; k < per; k++) {
                int dy = k >> sx, dx = k & sx;
                y[(size_t)((r << sy) + dy) * SIDE + (size_t)(c << sx) + dx] = (unsigned char)(per * (i >> 16) + k);
            }
        }
    fprintf(f, "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C%s%s\nFRAME\n", SIDE, SIDE,
            !strcmp(cs, "420") ? "420jpeg" : cs, !strcmp(range, "full") ? " XCOLORRANGE=FULL" : "");
    fwrite(y, 1, (size_t)SIDE * SIDE, f);
    fwrite(cb, 1, (size_t)cw * ch, f);
    fwrite(cr, 1, (size_t)cw * ch, f);
    int bad = ferror(f) | fclose(f);
    free(y), free(cb), free(cr);
    return bad ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "--every-colour")) return write_every_colour(argv[2], argv[3], argv[4]);
    if (argc != 3 && argc != 4) return 2;
    int max = argc == 4 ? atoi(argv[3]) : 2;
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
        if (!want || fread(want, 1, n, ref) != n) {
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
    printf("%s: %d frames, %s range, max channel difference %d\n", argv[1], frames,
           emoti_y4m_full_range(y) ? "full" : "limited", worst);
    emoti_y4m_close(y);
    fclose(f);
    fclose(ref);
    return frames > 0 && worst <= max ? 0 : 1;
}
