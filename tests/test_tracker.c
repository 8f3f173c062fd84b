/* The tracker (emoti.h, "Tracking") on generated clips of boxes: faces moving, crossing,
 * leaving and entering, missed frames, low-score frames, cuts, crowds, none; the Hungarian
 * assignment against brute force; scene cuts on synthetic RGB frames; per-track timelines
 * against a timeline fed the track's frames alone. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emoti.h"
#include "testutil.h"
#include "tracker.h"

static int failures;
static uint64_t rng = 12345;

static double uniform(void) { return (double)(emoti_rng_next(&rng) >> 11) / 9007199254740992.0; }

/* ---- the assignment ---- */

/* The best summed IoU over pairs >= thr of any matching of rows r.. (used: columns taken). */
static double brute(const float *iou, int nr, int nc, float thr, int r, unsigned used) {
    if (r == nr) return 0;
    double best = brute(iou, nr, nc, thr, r + 1, used);
    for (int c = 0; c < nc; c++) {
        float v = iou[r * nc + c];
        if (used >> c & 1 || v < thr) continue;
        double s = v + brute(iou, nr, nc, thr, r + 1, used | 1u << c);
        if (s > best) best = s;
    }
    return best;
}

static void test_assign(void) {
    static unsigned char work[4096];
    int rows[8], cols[8], match[8], worst_cases = 0;
    for (int i = 0; i < 8; i++) rows[i] = cols[i] = i;
    CHECK(emoti_track_assign_work(8) <= sizeof work, "work size");
    for (int trial = 0; trial < 3000; trial++) {
        int nr = 1 + (int)(uniform() * 7), nc = 1 + (int)(uniform() * 7);
        float iou[64], thr = 0.3f;
        for (int k = 0; k < nr * nc; k++) iou[k] = uniform() < 0.4 ? 0 : (float)uniform();
        int pairs = emoti_track_assign(iou, (size_t)nc, rows, nr, cols, nc, thr, match, work);
        double got = 0;
        unsigned used = 0;
        int n = 0, ok = 1;
        for (int r = 0; r < nr; r++) {
            if (match[r] < 0) continue;
            ok &= match[r] < nc && !(used >> match[r] & 1) && iou[r * nc + match[r]] >= thr;
            used |= 1u << match[r], got += iou[r * nc + match[r]], n++;
        }
        double want = brute(iou, nr, nc, thr, 0, 0);
        if (!ok || n != pairs || fabs(got - want) > 1e-5) worst_cases++;
    }
    CHECK(!worst_cases, "Hungarian: %d of 3000 random matrices not the best matching", worst_cases);
}

/* ---- clips ---- */

#define MAX_FACES 8
typedef struct {
    int n;                      /* faces */
    emoti_track_det box[MAX_FACES];
    int present[MAX_FACES];
} frame_faces;

typedef struct {
    emoti_tracker *t;
    int64_t id[MAX_FACES];      /* each face's id on the last frame (0: none / absent) */
} run_state;

/* Feeds one frame's present faces in a shuffled order; id[] gets each face's id. */
static void feed(run_state *rs, const frame_faces *f) {
    emoti_track_det d[MAX_FACES];
    int who[MAX_FACES], n = 0;
    for (int i = 0; i < f->n; i++)
        if (f->present[i]) who[n++] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(uniform() * (i + 1)), x = who[i];
        who[i] = who[j], who[j] = x;
    }
    for (int i = 0; i < n; i++) d[i] = f->box[who[i]];
    int64_t ids[MAX_FACES];
    CHECK(!emoti_tracker_update(rs->t, d, n, ids), "update: %s", emoti_last_error());
    for (int i = 0; i < f->n; i++) rs->id[i] = 0;
    for (int i = 0; i < n; i++) rs->id[who[i]] = ids[i];
}

static emoti_track_det box_at(double cx, double cy, double size, float score) {
    double nx = (uniform() - 0.5) * 2, ny = (uniform() - 0.5) * 2; /* +-1 px of detector jitter */
    return (emoti_track_det){(float)(cx - size / 2 + nx), (float)(cy - size / 2 + ny),
                             (float)(cx + size / 2 + nx), (float)(cy + size / 2 + ny), score};
}

static emoti_tracker *new_tracker(const emoti_tracker_params *p) {
    emoti_tracker *t = NULL;
    if (emoti_tracker_create(p, &t)) printf("FAIL create: %s\n", emoti_last_error()), exit(1);
    return t;
}

static int ended_has(const emoti_tracker *t, int64_t id) {
    const int64_t *e;
    int n = emoti_tracker_ended(t, &e);
    for (int i = 0; i < n; i++)
        if (e[i] == id) return 1;
    return 0;
}

/* Two faces crossing (boxes fully overlapping mid-clip), a third moving down, a fourth
 * leaving at frame 20 and a fifth entering at frame 40: each keeps one id for the shot,
 * the five ids distinct; the leaver's track ends max_missed + 1 frames after it left. */
static void test_crossing_leaving_entering(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    run_state rs = {new_tracker(&p), {0}};
    int64_t first[5] = {0};
    int unstable = 0, ended_at = -1;
    for (int f = 0; f < 60; f++) {
        frame_faces ff = {.n = 5, .present = {1, 1, 1, f < 20, f >= 40}};
        ff.box[0] = box_at(60 + 9 * f, 200 + 0.1 * f, 70, 0.99f);  /* left to right */
        ff.box[1] = box_at(560 - 7 * f, 203 - 0.1 * f, 70, 0.98f); /* right to left: cross at 31 */
        ff.box[2] = box_at(600, 40 + 3 * f, 50, 0.95f);
        ff.box[3] = box_at(100 - 2 * f, 400, 60, 0.97f);
        ff.box[4] = box_at(80, 420, 60, 0.97f);                   /* enters where the leaver was */
        feed(&rs, &ff);
        for (int i = 0; i < 5; i++) {
            if (!ff.present[i]) continue;
            if (!first[i]) first[i] = rs.id[i];
            if (rs.id[i] != first[i] || rs.id[i] <= 0) unstable++;
        }
        if (ended_at < 0 && first[3] && ended_has(rs.t, first[3])) ended_at = f;
    }
    CHECK(!unstable, "crossing clip: %d face-frames changed id", unstable);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < i; j++) CHECK(first[i] != first[j], "faces %d and %d share id %lld", i, j, (long long)first[i]);
    CHECK(first[4] > first[3], "the entering face reused an id (%lld after %lld)", (long long)first[4], (long long)first[3]);
    CHECK(ended_at == 20 + p.max_missed, "the leaver's track ended at frame %d, expected %d", ended_at, 20 + p.max_missed);
    emoti_tracker_free(rs.t);
}

/* A face missed for 1 and for max_missed frames (moving meanwhile) keeps its id; missed for
 * max_missed + 1 frames it gets a new one. */
static void test_missed(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    int gaps[3] = {1, p.max_missed, p.max_missed + 1};
    for (int g = 0; g < 3; g++) {
        run_state rs = {new_tracker(&p), {0}};
        int64_t before = 0, after = 0;
        for (int f = 0; f < 30; f++) {
            frame_faces ff = {1, {box_at(100 + 10 * f, 100, 60, 0.99f)}, {!(f >= 10 && f < 10 + gaps[g])}};
            feed(&rs, &ff);
            if (f == 9) before = rs.id[0];
            if (f == 10 + gaps[g]) after = rs.id[0];
        }
        if (g < 2) CHECK(before > 0 && after == before, "missed %d frames: id %lld -> %lld", gaps[g], (long long)before, (long long)after);
        else CHECK(before > 0 && after > before, "missed %d frames: id %lld -> %lld (want a new one)", gaps[g], (long long)before, (long long)after);
        emoti_tracker_free(rs.t);
    }
}

/* A blurred frame (score 0.6, the box a little off) is matched by the second pass: with
 * max_missed 0 the track would end on a missed frame, so only that pass keeps the id.
 * A low-score detection alone starts no track. */
static void test_low_score(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    p.max_missed = 0;
    run_state rs = {new_tracker(&p), {0}};
    int64_t id0 = 0;
    for (int f = 0; f < 20; f++) {
        frame_faces ff = {2, {box_at(100 + 5 * f, 100, 60, f == 8 ? 0.6f : 0.99f),
                              box_at(400, 300, 60, 0.6f)}, {1, 1}};
        if (f == 8) ff.box[0].x1 += 6, ff.box[0].y2 -= 5;
        feed(&rs, &ff);
        if (!f) id0 = rs.id[0];
        CHECK(rs.id[0] == id0 && id0 > 0, "frame %d: id %lld, expected %lld", f, (long long)rs.id[0], (long long)id0);
        CHECK(rs.id[1] == 0, "frame %d: a low-score detection got id %lld", f, (long long)rs.id[1]);
        if (f == 8) {
            const emoti_track *tr;
            int n = emoti_tracker_tracks(rs.t, &tr);
            CHECK(n == 1 && tr[0].missed == 0 && tr[0].score == 0.6f, "blurred frame: %d tracks, missed %d", n, n ? tr[0].missed : -1);
        }
    }
    CHECK(emoti_tracker_last_id(rs.t) == 1, "%lld ids given, expected 1", (long long)emoti_tracker_last_id(rs.t));
    emoti_tracker_free(rs.t);
}

/* A cut ends every track (listed as ended) and the same faces get new ids after it. */
static void test_cut(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    run_state rs = {new_tracker(&p), {0}};
    int64_t a[2] = {0}, b[2] = {0};
    for (int f = 0; f < 20; f++) {
        frame_faces ff = {2, {box_at(100 + f, 100, 60, 0.99f), box_at(300, 100 + f, 60, 0.99f)}, {1, 1}};
        if (f == 10) {
            emoti_tracker_cut(rs.t);
            CHECK(ended_has(rs.t, a[0]) && ended_has(rs.t, a[1]), "the cut did not list both tracks as ended");
            const emoti_track *tr;
            CHECK(emoti_tracker_tracks(rs.t, &tr) == 0, "tracks live after the cut");
        }
        feed(&rs, &ff);
        for (int i = 0; i < 2; i++) {
            int64_t *want = f < 10 ? a : b;
            if (!want[i]) want[i] = rs.id[i];
            CHECK(rs.id[i] == want[i], "frame %d face %d: id %lld, expected %lld", f, i, (long long)rs.id[i], (long long)want[i]);
        }
    }
    CHECK(b[0] > a[0] && b[0] > a[1] && b[1] > a[0] && b[1] > a[1], "ids after the cut %lld %lld, before %lld %lld",
          (long long)b[0], (long long)b[1], (long long)a[0], (long long)a[1]);
    emoti_tracker_free(rs.t);
}

/* min_hits 2: ids come on the second frame; a one-frame detection never gets one. */
static void test_min_hits(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    p.min_hits = 2;
    run_state rs = {new_tracker(&p), {0}};
    for (int f = 0; f < 6; f++) {
        frame_faces ff = {2, {box_at(100, 100, 60, 0.99f), box_at(300, 300, 60, 0.99f)}, {1, f == 3}};
        feed(&rs, &ff);
        CHECK(rs.id[0] == (f ? 1 : 0), "frame %d: id %lld", f, (long long)rs.id[0]);
        CHECK(rs.id[1] == 0, "frame %d: a one-frame detection got id %lld", f, (long long)rs.id[1]);
    }
    CHECK(emoti_tracker_last_id(rs.t) == 1, "%lld ids given", (long long)emoti_tracker_last_id(rs.t));
    emoti_tracker_free(rs.t);
}

/* min_hits 2: a low-score detection does not confirm a tentative track (which then ends at
 * its miss): scores 0.99, 0.6, 0.99, 0.99 give ids 0, 0, 0, 1. */
static void test_min_hits_low(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    p.min_hits = 2;
    run_state rs = {new_tracker(&p), {0}};
    float score[4] = {0.99f, 0.6f, 0.99f, 0.99f};
    int64_t want[4] = {0, 0, 0, 1};
    for (int f = 0; f < 4; f++) {
        frame_faces ff = {1, {box_at(100, 100, 60, score[f])}, {1}};
        feed(&rs, &ff);
        CHECK(rs.id[0] == want[f], "frame %d: id %lld, expected %lld", f, (long long)rs.id[0], (long long)want[f]);
    }
    emoti_tracker_free(rs.t);
}

/* 200 faces on a grid, drifting, for 50 frames: at most max_tracks tracks, the tracked ones
 * keep their ids, the rest get 0; 5000 detections in a frame: only max_dets are read; no
 * detections at all: tracks age out. */
static void test_crowd_and_none(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    emoti_tracker *t = new_tracker(&p);
    enum { N = 200, BIG = 5000 };
    emoti_track_det *d = malloc(BIG * sizeof *d);
    int64_t *ids = malloc(BIG * sizeof *ids), first[N] = {0};
    int changed = 0, over = 0;
    clock_t c0 = clock();
    for (int f = 0; f < 50; f++) {
        for (int i = 0; i < N; i++) d[i] = box_at(30 + 40 * (i % 20) + f * 0.5, 30 + 40 * (i / 20), 30, 0.95f);
        CHECK(!emoti_tracker_update(t, d, N, ids), "crowd update");
        int tracked = 0;
        for (int i = 0; i < N; i++) {
            if (ids[i]) tracked++;
            if (!first[i]) first[i] = ids[i];
            else if (ids[i] != first[i]) changed++;
        }
        if (tracked != p.max_tracks) over++;
    }
    double ms = 1e3 * (double)(clock() - c0) / CLOCKS_PER_SEC / 50;
    printf("crowd: 200 detections per frame, %.3f ms per update\n", ms);
    CHECK(!changed && !over, "crowd: %d ids changed, %d frames not at max_tracks", changed, over);
    CHECK(emoti_tracker_last_id(t) == p.max_tracks, "crowd: %lld ids", (long long)emoti_tracker_last_id(t));
    const emoti_track *tr;
    for (int i = 0; i < BIG; i++) d[i] = box_at(10 + (i % 100) * 12, 10 + (i / 100) * 12, 10, 0.99f);
    CHECK(!emoti_tracker_update(t, d, BIG, ids), "5000 detections");
    int beyond = 0;
    for (int i = p.max_dets; i < BIG; i++) beyond += ids[i] != 0;
    CHECK(!beyond && emoti_tracker_tracks(t, &tr) <= p.max_tracks, "5000 detections: %d beyond max_dets tracked", beyond);
    /* invalid boxes are ignored */
    emoti_track_det bad[3] = {{10, 10, 5, 20, 0.99f}, {NAN, 0, 10, 10, 0.99f}, {0, 0, 10, 10, NAN}};
    emoti_tracker_cut(t);
    CHECK(!emoti_tracker_update(t, bad, 3, ids) && !ids[0] && !ids[1] && !ids[2] && emoti_tracker_tracks(t, &tr) == 0,
          "invalid boxes tracked");
    /* zero detections: a face's track survives max_missed empty frames, then ends */
    emoti_track_det one = box_at(100, 100, 60, 0.99f);
    CHECK(!emoti_tracker_update(t, &one, 1, ids) && ids[0] > 0, "one face");
    int64_t id = ids[0];
    for (int f = 1; f <= p.max_missed + 1; f++) {
        CHECK(!emoti_tracker_update(t, NULL, 0, NULL), "empty frame");
        int live = emoti_tracker_tracks(t, &tr);
        CHECK(live == (f <= p.max_missed), "empty frame %d: %d tracks", f, live);
        CHECK(ended_has(t, id) == (f == p.max_missed + 1), "empty frame %d: ended list", f);
    }
    CHECK(emoti_tracker_update(t, d, -1, ids) == EMOTI_ERR_ARG, "n = -1 accepted");
    emoti_tracker_free(t);
    free(d), free(ids);
}

/* Random frames (0..300 detections, boxes anywhere, huge, inverted, infinite): no crash, at
 * most max_tracks live, no id given to two detections of one frame, ids never above last_id. */
static void test_random(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    p.max_tracks = 16, p.max_dets = 100, p.min_hits = 2;
    emoti_tracker *t = new_tracker(&p);
    static emoti_track_det d[300];
    static int64_t ids[300];
    int bad = 0;
    for (int f = 0; f < 2000; f++) {
        int n = (int)(uniform() * 301);
        for (int i = 0; i < n; i++) {
            float v[5];
            for (int k = 0; k < 5; k++) {
                double u = uniform();
                v[k] = u < 0.02 ? INFINITY : u < 0.04 ? -1e30f : u < 0.06 ? 1e30f : (float)(uniform() * 400);
            }
            d[i] = (emoti_track_det){v[0], v[1], v[0] + v[2] / 4, v[1] + v[3] / 4, (float)uniform()};
        }
        if (emoti_tracker_update(t, d, n, ids)) bad++;
        const emoti_track *tr;
        if (emoti_tracker_tracks(t, &tr) > p.max_tracks) bad++;
        for (int i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] > emoti_tracker_last_id(t)) bad++;
            for (int j = 0; j < i; j++) bad += ids[i] && ids[i] == ids[j];
        }
        if (uniform() < 0.01) emoti_tracker_cut(t);
    }
    CHECK(!bad, "random frames: %d broken invariants", bad);
    emoti_tracker_free(t);
}

/* Sizes first, caller memory; bad parameters refused. */
static void test_memory(void) {
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    size_t size = emoti_tracker_size(&p);
    void *mem = malloc(size);
    emoti_tracker *t = NULL;
    if (!size || emoti_tracker_init(mem, size, &p, &t)) {
        printf("FAIL init in caller memory: %s\n", emoti_last_error());
        exit(1);
    }
    emoti_track_det d = {0, 0, 50, 50, 0.99f};
    int64_t id;
    CHECK(!emoti_tracker_update(t, &d, 1, &id) && id == 1, "update in caller memory");
    CHECK(emoti_tracker_init(mem, size - 1, &p, &t) == EMOTI_ERR_ARG, "a short block accepted");
    free(mem);
    emoti_tracker_params q = p;
    q.max_tracks = 0;
    CHECK(!emoti_tracker_size(&q) && emoti_tracker_create(&q, &t) == EMOTI_ERR_ARG, "max_tracks 0 accepted");
    q = p, q.low_score = 0.95f;
    CHECK(!emoti_tracker_size(&q), "low_score above high_score accepted");
    q = p, q.max_dets = 100000;
    CHECK(!emoti_tracker_size(&q), "max_dets 100000 accepted");
    printf("tracker: %zu bytes with the defaults\n", size);
}

/* ---- scene cuts ---- */

/* A synthetic shot: sky gradient, ground, a wall, a face-coloured ellipse at (fx, fy), the
 * camera panned by pan px, noise +-noise. palette 1 is another place (indoor, warm). */
static void scene(uint8_t *rgb, int w, int h, int palette, double fx, double fy, int pan, int noise) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int X = x + pan, r, g, b;
            if (!palette) {
                if (y < h / 2) r = 90 + y / 4, g = 150 + y / 6, b = 230;
                else r = 60, g = 140 - (y - h / 2) / 5, b = 50;
                if (X > w * 3 / 5 && X < w * 4 / 5 && y > h / 4) r = 180, g = 180, b = 175;
            } else {
                r = 120 + (X % 64) / 4, g = 60, b = 40;
                if (y > h * 2 / 3) r = 70, g = 40, b = 30;
                if (X < w / 3 && y < h / 2) r = 230, g = 200, b = 90;
            }
            double ex = (X - fx) / 40.0, ey = (y - fy) / 55.0;
            if (ex * ex + ey * ey < 1) r = 225, g = 180, b = 150;
            int n = noise ? (int)(uniform() * (2 * noise + 1)) - noise : 0;
            uint8_t *px = rgb + ((size_t)y * w + x) * 3;
            px[0] = (uint8_t)(r + n < 0 ? 0 : r + n > 255 ? 255 : r + n);
            px[1] = (uint8_t)(g + n < 0 ? 0 : g + n > 255 ? 255 : g + n);
            px[2] = (uint8_t)(b + n < 0 ? 0 : b + n > 255 ? 255 : b + n);
        }
}

static void test_scene_cut(void) {
    enum { W = 320, H = 240 };
    uint8_t *rgb = malloc(W * H * 3);
    emoti_scene s;
    emoti_scene_init(&s);
    double worst_same = 0, least_cut = 1;
    int false_cuts = 0, missed_cuts = 0;
    for (int f = 0; f < 40; f++) {
        int shot = f >= 20, start = f == 20;
        scene(rgb, W, H, shot, 100 + 3 * (f % 20), 120 + (f % 20), 2 * (f % 20), 8);
        int cut = emoti_scene_cut(&s, rgb, W, H, W * 3);
        if (!f) CHECK(cut == 0 && s.distance == 0, "first frame: cut %d", cut);
        else if (start) least_cut = fmin(least_cut, s.distance), missed_cuts += cut != 1;
        else worst_same = fmax(worst_same, s.distance), false_cuts += cut != 0;
    }
    /* back to the first place: a cut again; and a frame of another size */
    scene(rgb, W, H, 0, 100, 120, 0, 8);
    missed_cuts += emoti_scene_cut(&s, rgb, W, H, W * 3) != 1;
    least_cut = fmin(least_cut, s.distance);
    scene(rgb, W, H, 0, 104, 121, 2, 8);
    for (int y = 0; y < H / 2; y++) /* the same frame at half size: 2 x 2 means */
        for (int x = 0; x < W / 2 * 3; x++) {
            const uint8_t *p = rgb + (size_t)2 * y * W * 3 + (size_t)(x / 3 * 6 + x % 3);
            rgb[(size_t)y * (W / 2) * 3 + (size_t)x] = (uint8_t)((p[0] + p[3] + p[W * 3] + p[W * 3 + 3] + 2) / 4);
        }
    CHECK(emoti_scene_cut(&s, rgb, W / 2, H / 2, W / 2 * 3) == 0, "a smaller frame of the same place is a cut (%.3f)", s.distance);
    worst_same = fmax(worst_same, s.distance);
    printf("scene cuts: within a shot distance <= %.3f, at cuts >= %.3f (threshold %.2f)\n", worst_same, least_cut, s.threshold);
    CHECK(!false_cuts && worst_same < 0.2, "%d false cuts, distance %.3f within a shot", false_cuts, worst_same);
    CHECK(!missed_cuts && least_cut > 0.6, "%d cuts missed, distance %.3f at a cut", missed_cuts, least_cut);
    CHECK(emoti_scene_cut(&s, rgb, 0, H, W * 3) == -1 && emoti_scene_cut(&s, rgb, W, H, W) == -1, "bad frames accepted");
    uint8_t one[3] = {1, 2, 3};
    CHECK(emoti_scene_cut(&s, one, 1, 1, 3) >= 0, "1x1 frame");
    free(rgb);
}

/* ---- per-track timelines ---- */

#define TL_FRAMES 80
static emoti_result result_at(int track, int f) {
    emoti_result r = {0};
    for (int c = 0; c < 8; c++) r.outputs[c] = (float)sin(0.1 * f * (c + 1) + track) * 3;
    return r;
}

/* Two tracks: A on frames 3..60 missing 10, 11, 30; B on frames 20..79 missing 50..54. The
 * rows from emoti_track_timelines equal those of a lone timeline fed each track's frames
 * (NULL where missed), frame numbers offset by the track's first frame. */
static void test_track_timelines(int lag) {
    int sizes[2] = {8, 8}, acts[1] = {EMOTI_ACT_SOFTMAX};
    emoti_head *h;
    CHECK(!emoti_head_create(&h, EMOTI_TASK_EXPR, EMOTI_INPUT_LOGITS, 1, sizes, acts), "head");
    emoti_head_init(h, 7);
    h->smooth_k = 3;
    emoti_info m = {.features = 16, .n_outputs = 8, .n_logits = 8, .valence_index = -1, .arousal_index = -1};
    emoti_timeline_config c;
    emoti_timeline_config_init(&c);
    c.lag = lag;
    const emoti_head *const heads[1] = {h};
    emoti_track_timelines *tt;
    CHECK(!emoti_track_timelines_create(heads, 1, &m, &c, 2, &tt), "create: %s", emoti_last_error());
    static double got[2][TL_FRAMES][8], want[2][TL_FRAMES][8];
    static int got_n[2][TL_FRAMES];
    memset(got_n, 0, sizeof got_n);
    int lo[2] = {3, 20}, hi[2] = {60, 79}, bad = 0;
#define PRESENT(k, f) ((f) >= lo[k] && (f) <= hi[k] && ((k) ? !((f) >= 50 && (f) <= 54) : ((f) != 10 && (f) != 11 && (f) != 30)))
    for (int f = 0; f < TL_FRAMES; f++) {
        if (f == 61) CHECK(!emoti_track_timelines_end(tt, 1), "end");
        for (int k = 0; k < 2; k++) {
            if (!PRESENT(k, f)) continue;
            emoti_result r = result_at(k, f);
            if (emoti_track_timelines_push(tt, k + 1, f, &r, NULL)) bad++, printf("push: %s\n", emoti_last_error());
        }
        if (f == TL_FRAMES - 1) CHECK(!emoti_track_timelines_finish(tt), "finish: %s", emoti_last_error());
        int64_t id;
        emoti_timeline_row row;
        while (emoti_track_timelines_next(tt, &id, &row)) {
            if (id < 1 || id > 2 || row.frame < 0 || row.frame >= TL_FRAMES || row.n_classes != 8) { bad++; continue; }
            memcpy(got[id - 1][row.frame], row.probs, sizeof got[0][0]);
            got_n[id - 1][row.frame]++;
            if (row.filled != !PRESENT(id - 1, row.frame)) bad++;
        }
    }
    CHECK(!bad, "lag %d: %d bad pushes or rows", lag, bad);
    for (int k = 0; k < 2; k++) {
        emoti_timeline *t;
        emoti_timeline_create(heads, 1, &m, &c, &t);
        emoti_timeline_row row;
        for (int f = lo[k]; f <= hi[k] + 1; f++) {
            emoti_result r = result_at(k, f);
            if (f <= hi[k]) emoti_timeline_push(t, PRESENT(k, f) ? &r : NULL, NULL);
            else emoti_timeline_finish(t);
            while (emoti_timeline_next(t, &row)) memcpy(want[k][lo[k] + row.frame], row.probs, sizeof want[0][0]);
        }
        emoti_timeline_free(t);
        int rows_wrong = 0;
        for (int f = 0; f < TL_FRAMES; f++) rows_wrong += got_n[k][f] != (f >= lo[k] && f <= hi[k]);
        CHECK(!rows_wrong, "lag %d track %d: %d frames without exactly one row", lag, k + 1, rows_wrong);
        CHECK(!memcmp(got[k][lo[k]], want[k][lo[k]], (size_t)(hi[k] - lo[k] + 1) * sizeof got[0][0]),
              "lag %d track %d: rows differ from a lone timeline", lag, k + 1);
    }
    /* 100 short tracks one after the other through 2 * 2 slots: timelines recycled */
    int recycled = 0;
    for (int k = 0; k < 100; k++) {
        int64_t id;
        emoti_timeline_row row;
        int rows = 0;
        for (int f = 0; f < 5; f++) {
            emoti_result r = result_at(k, f);
            recycled += emoti_track_timelines_push(tt, 10 + k, 100 + 5 * k + f, &r, NULL) != EMOTI_OK;
            while (emoti_track_timelines_next(tt, &id, &row)) rows += id == 10 + k && row.frame >= 100 + 5 * k;
        }
        recycled += emoti_track_timelines_end(tt, 10 + k) != EMOTI_OK;
        while (emoti_track_timelines_next(tt, &id, &row)) rows += id == 10 + k && row.frame >= 100 + 5 * k;
        recycled += rows != 5;
    }
    CHECK(!recycled, "lag %d: %d failures over 100 tracks in turn", lag, recycled);
    emoti_result r = result_at(0, 0);
    CHECK(emoti_track_timelines_push(tt, 0, 1, &r, NULL) == EMOTI_ERR_ARG, "id 0 accepted");
    emoti_track_timelines_free(tt);
    emoti_head_free(h);
}

/* The whole loop as the README shows it: tracker ids -> per-track timelines. Face 0 on frames
 * 0..29 (missed on 10 and 11), face 1 on 5..44: two tracks whose rows cover exactly their
 * first to last face, the missed frames filled. */
static void test_tracked_timelines(void) {
    int sizes[2] = {8, 8}, acts[1] = {EMOTI_ACT_SOFTMAX};
    emoti_head *h;
    CHECK(!emoti_head_create(&h, EMOTI_TASK_EXPR, EMOTI_INPUT_LOGITS, 1, sizes, acts), "head");
    emoti_head_init(h, 3);
    h->smooth_k = 2;
    emoti_info m = {.features = 16, .n_outputs = 8, .n_logits = 8, .valence_index = -1, .arousal_index = -1};
    const emoti_head *const heads[1] = {h};
    emoti_tracker_params p;
    emoti_tracker_params_init(&p);
    run_state rs = {new_tracker(&p), {0}};
    emoti_track_timelines *tt;
    CHECK(!emoti_track_timelines_create(heads, 1, &m, NULL, p.max_tracks, &tt), "create");
    int rows[3][50] = {{0}}, filled[3][50] = {{0}}, bad = 0;
    for (int f = 0; f <= 50; f++) {
        if (f == 50) CHECK(!emoti_track_timelines_finish(tt), "finish");
        else {
            frame_faces ff = {2, {box_at(100 + 4 * f, 100, 60, 0.99f), box_at(400, 300 - 2 * f, 80, 0.97f)},
                              {f < 30 && f != 10 && f != 11, f >= 5 && f < 45}};
            feed(&rs, &ff);
            const int64_t *ended;
            int n_ended = emoti_tracker_ended(rs.t, &ended);
            for (int i = 0; i < n_ended; i++) bad += emoti_track_timelines_end(tt, ended[i]) != EMOTI_OK;
            for (int i = 0; i < 2; i++) {
                if (!rs.id[i]) continue;
                emoti_result r = result_at(i, f);
                bad += emoti_track_timelines_push(tt, rs.id[i], f, &r, NULL) != EMOTI_OK;
            }
        }
        int64_t id;
        emoti_timeline_row row;
        while (emoti_track_timelines_next(tt, &id, &row)) {
            if (id < 1 || id > 2 || row.frame < 0 || row.frame >= 50) { bad++; continue; }
            rows[id][row.frame]++, filled[id][row.frame] = row.filled;
        }
    }
    int wrong = 0;
    for (int f = 0; f < 50; f++) {
        wrong += rows[1][f] != (f < 30) || filled[1][f] != (f == 10 || f == 11);
        wrong += rows[2][f] != (f >= 5 && f < 45) || filled[2][f];
    }
    CHECK(!bad && !wrong, "tracked timelines: %d failures, %d frames with wrong rows", bad, wrong);
    emoti_track_timelines_free(tt);
    emoti_tracker_free(rs.t);
    emoti_head_free(h);
}

int main(void) {
    test_assign();
    test_crossing_leaving_entering();
    test_missed();
    test_low_score();
    test_cut();
    test_min_hits();
    test_min_hits_low();
    test_crowd_and_none();
    test_random();
    test_memory();
    test_scene_cut();
    test_track_timelines(-1);
    test_track_timelines(0);
    test_track_timelines(2);
    test_tracked_timelines();
    if (failures) {
        printf("%d tracker failures\n", failures);
        return 1;
    }
    printf("tracker: all passed\n");
    return 0;
}
