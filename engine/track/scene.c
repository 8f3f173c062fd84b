/* Scene cuts (emoti.h, "Tracking"): colour histograms of cell means, total variation distance.
 * The 4 levels per channel are soft: a cell mean votes into the two nearest levels of each
 * channel with linear weights (8 bins in all), so a colour near a level boundary does not
 * jump between bins with noise. */
#include <stdint.h>
#include <string.h>

#include "emoti.h"
#include "error.h"

#define GRID 64
#define LEVELS 4

void emoti_scene_init(emoti_scene *s) {
    memset(s, 0, sizeof *s);
    s->threshold = 0.5;
}

/* One channel's mean (0..255) -> the lower level and the upper level's weight. */
static int level(double mean, float *w) {
    double x = (mean - 32) / 64; /* level centres at 32, 96, 160, 224 */
    if (x <= 0) return *w = 0, 0;
    if (x >= LEVELS - 1) return *w = 0, LEVELS - 1;
    int lo = (int)x;
    *w = (float)(x - lo);
    return lo;
}

static void vote(float *hist, const uint64_t sum[3], uint64_t count, float weight) {
    int lo[3];
    float up[3];
    for (int c = 0; c < 3; c++) lo[c] = level((double)sum[c] / (double)count, &up[c]);
    for (int k = 0; k < 8; k++) {
        int bin = 0;
        float w = weight;
        for (int c = 0; c < 3; c++) {
            int hi = k >> c & 1, l = lo[c] + hi;
            w *= hi ? up[c] : 1 - up[c];
            bin = bin * LEVELS + (l < LEVELS ? l : LEVELS - 1);
        }
        hist[bin] += w;
    }
}

/* The histogram of the frame's gw x gh cell means. */
static void histogram(const uint8_t *rgb, int width, int height, size_t stride, float *hist) {
    int gw = width < GRID ? width : GRID, gh = height < GRID ? height : GRID;
    float weight = 1.0f / (float)(gw * gh);
    uint64_t sum[GRID][3];
    memset(hist, 0, EMOTI_SCENE_BINS * sizeof *hist);
    for (int r = 0; r < gh; r++) {
        int y0 = (int)((int64_t)r * height / gh), y1 = (int)((int64_t)(r + 1) * height / gh);
        memset(sum, 0, sizeof sum);
        for (int y = y0; y < y1; y++) {
            const uint8_t *row = rgb + (size_t)y * stride;
            for (int c = 0; c < gw; c++) {
                int x0 = (int)((int64_t)c * width / gw), x1 = (int)((int64_t)(c + 1) * width / gw);
                for (const uint8_t *px = row + 3 * (size_t)x0; px < row + 3 * (size_t)x1; px += 3)
                    sum[c][0] += px[0], sum[c][1] += px[1], sum[c][2] += px[2];
            }
        }
        for (int c = 0; c < gw; c++) {
            uint64_t cells = (uint64_t)(y1 - y0) * (uint64_t)((int64_t)(c + 1) * width / gw - (int64_t)c * width / gw);
            vote(hist, sum[c], cells, weight);
        }
    }
}

int emoti_scene_cut(emoti_scene *s, const uint8_t *rgb, int width, int height, size_t stride) {
    if (!s || !rgb || width <= 0 || height <= 0 || stride / 3 < (size_t)width) {
        emoti_fail(EMOTI_ERR_ARG, "scene cut: bad frame (%d x %d, stride %zu)", width, height, stride);
        return -1;
    }
    float h[EMOTI_SCENE_BINS];
    histogram(rgb, width, height, stride, h);
    double d = 0;
    for (int i = 0; i < EMOTI_SCENE_BINS; i++) d += h[i] > s->hist[i] ? h[i] - s->hist[i] : s->hist[i] - h[i];
    s->distance = s->have ? d / 2 : 0;
    memcpy(s->hist, h, sizeof h);
    int first = !s->have;
    s->have = 1;
    return !first && s->distance >= s->threshold;
}
