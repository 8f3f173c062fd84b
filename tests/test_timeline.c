/* The timeline (emoti.h) against the whole-sequence functions it streams: random heads on random
 * frames with random gaps, per frame through emoti_timeline_push, must equal the heads run in
 * bulk, emoti_fill_gaps per head, the weighted blend and emoti_smooth_box / emoti_smooth_causal
 * (centred bitwise; causal within 1e-12, a ring sum against prefix sums). Also: timelines
 * interleaved frame by frame equal each alone; reset; fixed memory over a long causal video
 * with long gaps; heads with faces on different frames (push_outputs); misuse is refused. */
#include <math.h>

#include "emoti.h"
#include "heads.h"
#include "testutil.h"

static uint64_t rs = 7;
static double urand(void) { return (double)(emoti_rng_next(&rs) >> 11) * 0x1.0p-53; }

enum { FEAT = 24, OUTS = 10, NF = 97 };
static int failures;

static emoti_head *random_head(int task, int input, int hidden, int n_out) {
    int sizes[3] = {input == EMOTI_INPUT_LOGITS ? OUTS : FEAT, hidden, n_out};
    int acts[2] = {EMOTI_ACT_RELU, task == EMOTI_TASK_VA ? EMOTI_ACT_TANH
                                   : task == EMOTI_TASK_EXPR ? EMOTI_ACT_SOFTMAX : EMOTI_ACT_SIGMOID};
    emoti_head *h;
    if (emoti_head_create(&h, task, input, 2, sizes, acts)) return NULL;
    for (int l = 0; l < 2; l++) {
        for (int j = 0; j < sizes[l] * sizes[l + 1]; j++) h->w[l][j] = (float)(urand() - 0.5);
        for (int j = 0; j < sizes[l + 1]; j++) h->b[l][j] = (float)(0.2 * urand() - 0.1);
    }
    h->smooth_k = 1 + (int)(urand() * 6);
    for (int j = 0; task == EMOTI_TASK_AU && j < n_out; j++) h->thresholds[j] = 0.3 + 0.4 * urand();
    return h;
}

/* One video: the backbone's values per frame and which frames have a face. */
typedef struct {
    float emb[NF][FEAT];
    emoti_result res[NF];
    unsigned char face[NF];
} video;

static void make_video(video *v, double p_face) {
    for (int f = 0; f < NF; f++) {
        for (int j = 0; j < FEAT; j++) v->emb[f][j] = (float)(2 * urand() - 1);
        memset(&v->res[f], 0, sizeof v->res[f]);
        for (int j = 0; j < OUTS; j++) v->res[f].outputs[j] = (float)(2 * urand() - 1);
        v->face[f] = urand() < p_face;
    }
    v->face[NF / 2] = 1;
    for (int f = 10; f < 30; f++) v->face[f] = 0; /* one long gap */
}

/* The expected [NF][width] task values (VA, EXPR, AU in that order), whole-sequence style. */
static void expected(emoti_head *const *heads, const double *w, int n, const video *v, int lag,
                     int paper, double *out, int width) {
    int off = 0;
    for (int task = 0; task < EMOTI_TASK_COUNT; task++) {
        int dim = 0, k = 0;
        double *acc = calloc((size_t)NF * 64, sizeof *acc), wsum = 0;
        double *seq = malloc((size_t)NF * 64 * sizeof *seq);
        for (int i = 0; i < n; i++) {
            const emoti_head *h = heads[i];
            if (h->task != task) continue;
            if (!dim) dim = emoti_head_outputs(h), k = h->smooth_k;
            float y[64];
            for (int f = 0; f < NF; f++) {
                emoti_head_forward(h, h->input == EMOTI_INPUT_LOGITS ? v->res[f].outputs : v->emb[f], 1, y);
                for (int c = 0; c < dim; c++) seq[f * dim + c] = v->face[f] ? y[c] : 0;
            }
            emoti_fill_gaps(seq, v->face, NF, dim, paper);
            emoti_blend_add(acc, seq, (size_t)NF * (size_t)dim, w[i]);
            wsum += w[i];
        }
        if (dim) {
            emoti_blend_finish(acc, (size_t)NF * (size_t)dim, wsum);
            int l = lag < k ? lag : k;
            if (lag < 0) emoti_smooth_box(acc, acc, NF, dim, k);
            else emoti_smooth_causal(acc, acc, NF, dim, k, l);
            for (int f = 0; f < NF; f++) memcpy(out + f * width + off, acc + f * dim, (size_t)dim * sizeof *acc);
        }
        off += dim;
        free(acc), free(seq);
    }
}

/* A row's task values in the same layout. */
static void row_values(const emoti_timeline_row *r, double *out) {
    int at = 0;
    if (r->has_va) out[at++] = r->valence, out[at++] = r->arousal;
    for (int c = 0; c < r->n_classes; c++) out[at++] = r->probs[c];
    for (int c = 0; c < r->n_aus; c++) out[at++] = r->au_probs[c];
}

static int width_of(emoti_head *const *heads, int n) {
    int seen[EMOTI_TASK_COUNT] = {0}, w = 0;
    for (int i = 0; i < n; i++)
        if (!seen[heads[i]->task]++) w += emoti_head_outputs(heads[i]);
    return w;
}

/* Runs the video through t, checking each row's order, flag, values and decisions. */
static double run_and_compare(emoti_timeline *t, const video *v, const double *want, int width,
                              const char *what) {
    double worst = 0, got[256];
    long next = 0;
    int latency = emoti_timeline_latency(t);
    emoti_timeline_row r;
    for (int f = 0; f <= NF; f++) {
        if (f < NF && emoti_timeline_push(t, v->face[f] ? &v->res[f] : NULL, v->emb[f])) {
            printf("FAIL %s: push: %s\n", what, emoti_last_error());
            failures++;
            return INFINITY;
        }
        if (f == NF) emoti_timeline_finish(t);
        while (emoti_timeline_next(t, &r)) {
            CHECK(r.frame == next, "%s: row %ld, expected %ld", what, r.frame, next);
            CHECK(r.filled == !v->face[r.frame], "%s: frame %ld filled %d", what, r.frame, r.filled);
            row_values(&r, got);
            for (int c = 0; c < width; c++) {
                double d = fabs(got[c] - want[r.frame * width + c]);
                worst = d > worst ? d : worst;
            }
            if (r.n_classes) {
                int best;
                emoti_decide(EMOTI_TASK_EXPR, r.probs, r.n_classes, NULL, &best);
                CHECK(r.expression == best, "%s: expression", what);
            }
            next++;
        }
        /* causal: rows come out `latency` frames after their frame, once the gap before is closed */
        if (latency >= 0 && f < NF && v->face[f]) CHECK(next >= f - latency + 1 || next > 0 || f < latency, "%s: frame %d: %ld rows out", what, f, next);
    }
    CHECK(next == NF, "%s: %ld rows, expected %d", what, next, NF);
    return worst;
}

static void test_against_whole_sequences(void) {
    emoti_head *heads[5] = {
        random_head(EMOTI_TASK_VA, EMOTI_INPUT_EMBEDDING, 7, 2),
        random_head(EMOTI_TASK_EXPR, EMOTI_INPUT_EMBEDDING, 9, 8),
        random_head(EMOTI_TASK_EXPR, EMOTI_INPUT_LOGITS, 5, 8),
        random_head(EMOTI_TASK_AU, EMOTI_INPUT_EMBEDDING, 11, 12),
        random_head(EMOTI_TASK_AU, EMOTI_INPUT_EMBEDDING, 6, 12),
    };
    double w[5] = {1, 0.7, 0.3, 2, 0.5};
    emoti_info m = {.features = FEAT, .n_outputs = OUTS, .n_logits = 8, .valence_index = 8, .arousal_index = 9};
    video *v = malloc(sizeof *v);
    make_video(v, 0.6);
    int width = width_of(heads, 5);
    double *want = malloc((size_t)NF * (size_t)width * sizeof *want);
    for (int lag = -1; lag <= 6; lag++)
        for (int paper = 0; paper < 2; paper++) {
            char what[64];
            snprintf(what, sizeof what, "lag %d paper %d", lag, paper);
            emoti_timeline_config c;
            emoti_timeline_config_init(&c);
            c.lag = lag, c.paper_interp = paper, c.weights = w;
            emoti_timeline *t;
            if (emoti_timeline_create((const emoti_head *const *)heads, 5, &m, &c, &t)) {
                printf("FAIL create: %s\n", emoti_last_error());
                failures++;
                continue;
            }
            expected(heads, w, 5, v, lag, paper, want, width);
            double err = run_and_compare(t, v, want, width, what);
            CHECK(lag < 0 ? err == 0 : err < 1e-12, "%s: max |difference| %.3g", what, err);
            emoti_timeline_reset(t); /* the same again after a reset */
            double again = run_and_compare(t, v, want, width, what);
            CHECK(again == err, "%s after reset: %.3g vs %.3g", what, again, err);
            if (lag == 2 && !paper) printf("heads vs whole sequences: centred bitwise, causal max %.2g\n", err);
            emoti_timeline_free(t);
        }
    free(want);
    free(v);
    for (int i = 0; i < 5; i++) emoti_head_free(heads[i]);
}

/* Two timelines fed alternately give what each gives alone, bitwise. */
static void test_independent(void) {
    emoti_head *h = random_head(EMOTI_TASK_EXPR, EMOTI_INPUT_EMBEDDING, 8, 8);
    emoti_info m = {.features = FEAT, .n_outputs = OUTS, .n_logits = 8, .valence_index = -1, .arousal_index = -1};
    video *v[2] = {malloc(sizeof(video)), malloc(sizeof(video))};
    make_video(v[0], 0.5), make_video(v[1], 0.8);
    emoti_timeline_config c;
    emoti_timeline_config_init(&c);
    c.lag = 2;
    emoti_timeline *t[2], *solo;
    emoti_timeline_create((const emoti_head *const *)&h, 1, &m, &c, &t[0]);
    emoti_timeline_create((const emoti_head *const *)&h, 1, &m, &c, &t[1]);
    emoti_timeline_create((const emoti_head *const *)&h, 1, &m, &c, &solo);
    static double inter[2][NF][8], alone[NF][8];
    for (int f = 0; f <= NF; f++)
        for (int i = 0; i < 2; i++) {
            if (f < NF) emoti_timeline_push(t[i], v[i]->face[f] ? &v[i]->res[f] : NULL, v[i]->emb[f]);
            else emoti_timeline_finish(t[i]);
            emoti_timeline_row r;
            while (emoti_timeline_next(t[i], &r)) memcpy(inter[i][r.frame], r.probs, sizeof inter[i][0]);
        }
    for (int i = 0; i < 2; i++) {
        emoti_timeline_reset(solo);
        for (int f = 0; f <= NF; f++) {
            if (f < NF) emoti_timeline_push(solo, v[i]->face[f] ? &v[i]->res[f] : NULL, v[i]->emb[f]);
            else emoti_timeline_finish(solo);
            emoti_timeline_row r;
            while (emoti_timeline_next(solo, &r)) memcpy(alone[r.frame], r.probs, sizeof alone[0]);
        }
        CHECK(!memcmp(alone, inter[i], sizeof alone), "interleaved timeline %d differs from alone", i);
    }
    emoti_timeline_free(t[0]), emoti_timeline_free(t[1]), emoti_timeline_free(solo);
    free(v[0]), free(v[1]);
    emoti_head_free(h);
}

/* Causal memory does not grow with the video or its gaps: 300 000 frames, gaps up to 60 000. */
static void test_fixed_memory(void) {
    emoti_head *h = random_head(EMOTI_TASK_AU, EMOTI_INPUT_EMBEDDING, 8, 12);
    emoti_info m = {.features = FEAT, .n_outputs = OUTS, .n_logits = 8, .valence_index = 8, .arousal_index = 9};
    emoti_timeline_config c;
    emoti_timeline_config_init(&c);
    c.lag = 3, c.k[EMOTI_TASK_AU] = 5, c.pretrained_va = 1;
    emoti_timeline *t;
    if (emoti_timeline_create((const emoti_head *const *)&h, 1, &m, &c, &t)) {
        printf("FAIL create: %s\n", emoti_last_error());
        failures++;
        return;
    }
    video *v = malloc(sizeof *v);
    make_video(v, 0.9);
    size_t start = emoti_timeline_memory(t), most = start;
    long rows = 0;
    for (long f = 0; f < 300000; f++) {
        int face = (f / 60000) % 2 == 0 ? v->face[f % NF] : 0; /* 60 000-frame gaps */
        emoti_timeline_push(t, face ? &v->res[f % NF] : NULL, v->emb[f % NF]);
        emoti_timeline_row r;
        while (emoti_timeline_next(t, &r)) rows++;
        size_t now = emoti_timeline_memory(t);
        most = now > most ? now : most;
    }
    emoti_timeline_finish(t);
    emoti_timeline_row r;
    while (emoti_timeline_next(t, &r)) rows++;
    CHECK(rows == 300000, "%ld rows", rows);
    CHECK(most == start, "memory grew from %zu to %zu bytes", start, most);
    printf("causal, 300000 frames with 60000-frame gaps: %zu bytes throughout\n", most);
    emoti_timeline_free(t);
    free(v);
    emoti_head_free(h);
}

/* Heads whose faces come on different frames (two backbones): each is filled on its own. */
static void test_separate_faces(void) {
    emoti_head *h[2] = {random_head(EMOTI_TASK_VA, EMOTI_INPUT_EMBEDDING, 5, 2),
                        random_head(EMOTI_TASK_VA, EMOTI_INPUT_EMBEDDING, 6, 2)};
    emoti_timeline_config c;
    emoti_timeline_config_init(&c);
    c.k[EMOTI_TASK_VA] = 2;
    emoti_timeline *t;
    emoti_timeline_create((const emoti_head *const *)h, 2, NULL, &c, &t);
    video *v[2] = {malloc(sizeof(video)), malloc(sizeof(video))};
    make_video(v[0], 0.5), make_video(v[1], 0.5);
    static float y[2][NF][2];
    static double seq[2][NF][2], want[NF][2];
    for (int i = 0; i < 2; i++) {
        emoti_head_forward(h[i], &v[i]->emb[0][0], NF, &y[i][0][0]);
        for (int f = 0; f < NF; f++) seq[i][f][0] = y[i][f][0], seq[i][f][1] = y[i][f][1];
        emoti_fill_gaps(&seq[i][0][0], v[i]->face, NF, 2, 0);
    }
    for (int f = 0; f < NF; f++)
        for (int c2 = 0; c2 < 2; c2++) want[f][c2] = (seq[0][f][c2] + seq[1][f][c2]) / 2;
    emoti_smooth_box(&want[0][0], &want[0][0], NF, 2, 2);
    double worst = 0;
    for (int f = 0; f < NF; f++) {
        const float *outs[2] = {v[0]->face[f] ? y[0][f] : NULL, v[1]->face[f] ? y[1][f] : NULL};
        emoti_timeline_push_outputs(t, outs, NULL);
    }
    emoti_timeline_finish(t);
    emoti_timeline_row r;
    while (emoti_timeline_next(t, &r)) {
        double d = fmax(fabs(r.valence - want[r.frame][0]), fabs(r.arousal - want[r.frame][1]));
        worst = d > worst ? d : worst;
    }
    CHECK(worst == 0, "separate faces: max |difference| %.3g", worst);
    emoti_timeline_free(t);
    free(v[0]), free(v[1]);
    emoti_head_free(h[0]), emoti_head_free(h[1]);
}

static void test_misuse(void) {
    emoti_head *e8 = random_head(EMOTI_TASK_EXPR, EMOTI_INPUT_EMBEDDING, 4, 8);
    emoti_head *e7 = random_head(EMOTI_TASK_EXPR, EMOTI_INPUT_EMBEDDING, 4, 7);
    emoti_info m = {.features = FEAT, .n_outputs = OUTS, .n_logits = 8, .valence_index = -1, .arousal_index = -1};
    emoti_timeline *t = NULL;
    emoti_head *pair[2] = {e8, e7};
    const char *names[2] = {"a.emoti", "b.emoti"};
    emoti_timeline_config c;
    emoti_timeline_config_init(&c);
    c.head_names = names;
    CHECK(emoti_timeline_create((const emoti_head *const *)pair, 2, &m, &c, &t) == EMOTI_ERR_ARG &&
              strstr(emoti_last_error(), "b.emoti is a expr head with 7 outputs; blended heads must match a.emoti"),
          "blend of 8 and 7 classes: %s", emoti_last_error());
    emoti_info wide = m;
    wide.features = FEAT + 1;
    CHECK(emoti_timeline_create((const emoti_head *const *)&e8, 1, &wide, &c, &t) == EMOTI_ERR_ARG &&
              strstr(emoti_last_error(), "a.emoti: the expr head reads 24 values, but the embedding of the model has 25"),
          "width: %s", emoti_last_error());
    CHECK(emoti_timeline_create(NULL, 0, &m, NULL, &t) == EMOTI_ERR_ARG, "nothing to do accepted");
    c.pretrained_va = 1;
    CHECK(emoti_timeline_create((const emoti_head *const *)&e8, 1, &m, &c, &t) == EMOTI_ERR_ARG &&
              strstr(emoti_last_error(), "needs a multi-task model"), "VA without VA: %s", emoti_last_error());
    emoti_timeline_config_init(&c);
    c.lag = 0, c.k[EMOTI_TASK_EXPR] = 2;
    if (emoti_timeline_create((const emoti_head *const *)&e8, 1, &m, &c, &t)) {
        printf("FAIL create: %s\n", emoti_last_error());
        failures++;
    } else {
        emoti_result r = {0};
        float emb[FEAT] = {0};
        emoti_timeline_push(t, &r, emb);
        CHECK(emoti_timeline_push(t, &r, emb) == EMOTI_ERR_ARG, "push with a row waiting accepted");
        CHECK(emoti_timeline_push(t, &r, NULL) == EMOTI_ERR_ARG, "an embedding head without the embedding");
        emoti_timeline_row row;
        CHECK(emoti_timeline_next(t, &row) == 1 && emoti_timeline_next(t, &row) == 0, "one row after one frame");
        emoti_timeline_finish(t);
        CHECK(emoti_timeline_push(t, &r, emb) == EMOTI_ERR_ARG, "push after finish accepted");
        emoti_timeline_free(t);
    }
    emoti_head_free(e8), emoti_head_free(e7);
}

int main(void) {
    test_against_whole_sequences();
    test_independent();
    test_fixed_memory();
    test_separate_faces();
    test_misuse();
    if (failures) {
        printf("%d timeline failures\n", failures);
        return 1;
    }
    printf("timeline ok\n");
    return 0;
}
