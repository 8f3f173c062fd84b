/* Heads, losses, training, post-processing, annotations.
 *
 * Without arguments: unit tests (finite-difference gradients of every loss and of the whole
 * dense stack, container round trips, determinism, streaming == batch smoothing, annotation
 * errors with file:line). With arguments it is the driver tests/test_metrics.py compares
 * against scikit-learn and numpy:
 *   test_heads ccc X.npy Y.npy | f1macro T.npy P.npy C | f1bin T.npy P.npy | f1au T.npy P.npy
 *   test_heads fill IN.npy VALID.npy PAPER | smooth IN.npy K | causal IN.npy K LAG
 * printing the results with 17 significant digits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "emoti.h"
#include "heads.h"
#include "testutil.h"

static int failures;

/* ---- oracle driver ---- */

static double *load_d(const char *path, long *rows, int *cols) {
    float *f;
    if (emoti_npy_read(path, &f, rows, cols)) {
        fprintf(stderr, "%s\n", emoti_last_error());
        exit(2);
    }
    size_t n = (size_t)*rows * (size_t)*cols;
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    free(f);
    return d;
}
static int *to_int(const double *d, size_t n) {
    int *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (int)d[i];
    return v;
}
static void print_all(const double *v, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%.17g\n", v[i]);
}

static int driver(int argc, char **argv) {
    const char *cmd = argv[1];
    long r1, r2 = 0;
    int c1, c2 = 0;
    if (argc < 3) return 2;
    double *a = load_d(argv[2], &r1, &c1), *b = NULL;
    size_t n = (size_t)r1 * (size_t)c1;
    int rc = 0;
    if (!strcmp(cmd, "ccc")) {
        b = load_d(argv[3], &r2, &c2);
        printf("%.17g\n", emoti_ccc(a, b, n));
    } else if (!strcmp(cmd, "f1macro") || !strcmp(cmd, "f1bin") || !strcmp(cmd, "f1au")) {
        b = load_d(argv[3], &r2, &c2);
        int *t = to_int(a, n), *p = to_int(b, n);
        if (!strcmp(cmd, "f1macro")) printf("%.17g\n", emoti_f1_macro(t, p, n, atoi(argv[4]), NULL));
        else if (!strcmp(cmd, "f1bin")) printf("%.17g\n", emoti_f1_binary(t, p, n));
        else printf("%.17g\n", emoti_f1_au_mean(t, p, (size_t)r1, c1, NULL));
        free(t), free(p);
    } else if (!strcmp(cmd, "fill")) {
        b = load_d(argv[3], &r2, &c2);
        unsigned char *valid = malloc((size_t)r1 + 1);
        for (long i = 0; i < r1; i++) valid[i] = b[i] != 0;
        emoti_fill_gaps(a, valid, (size_t)r1, c1, atoi(argv[4]));
        print_all(a, n);
        free(valid);
    } else if (!strcmp(cmd, "smooth")) {
        emoti_smooth_box(a, a, (size_t)r1, c1, atoi(argv[3]));
        print_all(a, n);
    } else if (!strcmp(cmd, "causal")) {
        emoti_smooth_causal(a, a, (size_t)r1, c1, atoi(argv[3]), atoi(argv[4]));
        print_all(a, n);
    } else {
        rc = 2;
    }
    free(a), free(b);
    return rc;
}

/* ---- finite differences ---- */

static uint64_t rs = 12345;
static double urand(void) { return (double)(emoti_rng_next(&rs) >> 11) * 0x1.0p-53; }

typedef double (*loss_fn)(const double *z, double *dz, const void *ctx);

static double max_rel_err(loss_fn f, double *z, size_t nz, const void *ctx) {
    double *dz = malloc(nz * sizeof *dz), worst = 0;
    f(z, dz, ctx);
    for (size_t i = 0; i < nz; i++) {
        double keep = z[i], h = 1e-5;
        z[i] = keep + h;
        double up = f(z, NULL, ctx);
        z[i] = keep - h;
        double down = f(z, NULL, ctx);
        z[i] = keep;
        double fd = (up - down) / (2 * h), err = fabs(fd - dz[i]) / fmax(1e-4, fabs(fd) + fabs(dz[i]));
        worst = fmax(worst, err);
    }
    free(dz);
    return worst;
}

typedef struct {
    size_t n;
    int k;
    const int *cls;
    const double *y, *w, *w0, *w1;
    int tanh_out;
} loss_ctx;

static double ce(const double *z, double *dz, const void *c) {
    const loss_ctx *x = c;
    return emoti_loss_ce(z, x->cls, x->n, x->k, x->w, dz);
}
static double bce(const double *z, double *dz, const void *c) {
    const loss_ctx *x = c;
    return emoti_loss_bce(z, x->y, x->n, x->k, x->w0, x->w1, dz);
}
static double ccc(const double *z, double *dz, const void *c) {
    const loss_ctx *x = c;
    return emoti_loss_ccc(z, x->y, x->n, x->k, 1e-7, x->tanh_out, dz);
}

static void test_loss_gradients(void) {
    enum { N = 37, K = 12 };
    double z[N * K], y[N * K], w[8], w0[K], w1[K];
    int cls[N];
    for (int i = 0; i < N * K; i++) z[i] = 4 * urand() - 2, y[i] = urand() < 0.3;
    for (int i = 0; i < N; i++) cls[i] = (int)(urand() * 8);
    for (int c = 0; c < 8; c++) w[c] = 0.5 + 3 * urand();
    for (int j = 0; j < K; j++) w0[j] = 0.5 + urand(), w1[j] = 1 + 4 * urand();
    loss_ctx cx = {N, 8, cls, y, w, w0, w1, 1};
    double e = max_rel_err(ce, z, N * 8, &cx);
    CHECK(e < 1e-6, "CE gradient rel err %g", e);
    printf("gradient check: weighted CE       max rel err %.2e\n", e);
    cx.k = K;
    e = max_rel_err(bce, z, N * K, &cx);
    CHECK(e < 1e-6, "BCE gradient rel err %g", e);
    printf("gradient check: weighted BCE      max rel err %.2e\n", e);
    double yv[N * 2];
    for (int i = 0; i < N * 2; i++) yv[i] = 2 * urand() - 1;
    cx.k = 2, cx.y = yv;
    for (int t = 0; t <= 1; t++) {
        cx.tanh_out = t;
        e = max_rel_err(ccc, z, N * 2, &cx);
        CHECK(e < 1e-6, "CCC (%s) gradient rel err %g", t ? "tanh" : "linear", e);
        printf("gradient check: CCC loss (%s)   max rel err %.2e\n", t ? "tanh" : "lin ", e);
    }
    /* Edge: constant predictions in the batch (var x = 0) still give a finite gradient. */
    double zc[N * 2];
    for (int i = 0; i < N * 2; i++) zc[i] = 0.25;
    e = max_rel_err(ccc, zc, N * 2, &cx);
    CHECK(e < 1e-5, "CCC constant-batch gradient rel err %g", e);
}

/* The whole stack: loss_grad against central differences on every parameter (float weights, so
 * a looser tolerance and a larger step). */
static void test_stack_gradient(int task, int n_layers, const int *sizes, const int *acts, double l2) {
    emoti_head *h;
    if (emoti_head_create(&h, task, EMOTI_INPUT_EMBEDDING, n_layers, sizes, acts)) {
        CHECK(0, "create: %s", emoti_last_error());
        return;
    }
    emoti_head_init(h, 7);
    for (int l = 0; l < n_layers; l++)
        for (int j = 0; j < sizes[l + 1]; j++) h->b[l][j] = (float)(0.2 * urand() - 0.1);
    enum { N = 24 };
    int dim = sizes[0], k = sizes[n_layers];
    float *x = malloc((size_t)N * (size_t)dim * sizeof *x), *y = malloc((size_t)N * (size_t)k * sizeof *y);
    long rows[N];
    int cls[N];
    size_t idx[N];
    for (int i = 0; i < N * dim; i++) x[i] = (float)(2 * urand() - 1);
    for (int i = 0; i < N; i++) rows[i] = i, idx[i] = (size_t)i, cls[i] = i % k;
    for (int i = 0; i < N * k; i++)
        y[i] = task == EMOTI_TASK_AU ? (float)(urand() < 0.4) : (float)(2 * urand() - 1);
    emoti_train_set t = {x, dim, rows, N, cls, y};
    emoti_loss_spec spec;
    emoti_loss_spec_init(&spec, h, &t, l2, 1e-7);
    float *grads[2 * EMOTI_HEAD_MAX_LAYERS];
    for (int l = 0; l < n_layers; l++) {
        grads[2 * l] = malloc((size_t)sizes[l] * (size_t)sizes[l + 1] * sizeof(float));
        grads[2 * l + 1] = malloc((size_t)sizes[l + 1] * sizeof(float));
    }
    double loss;
    emoti_head_loss_grad(h, &spec, &t, idx, N, &loss, grads);
    double worst = 0;
    int checked = 0;
    for (int l = 0; l < n_layers; l++)
        for (int p = 0; p < 2; p++) {
            float *param = p ? h->b[l] : h->w[l];
            int len = p ? sizes[l + 1] : sizes[l] * sizes[l + 1];
            for (int i = 0; i < len; i += 1 + len / 40) {
                float keep = param[i], step = 1e-2f;
                double up, down;
                float *dummy[2 * EMOTI_HEAD_MAX_LAYERS];
                for (int q = 0; q < 2 * n_layers; q++) dummy[q] = malloc(((size_t)(q % 2 ? sizes[q / 2 + 1] : sizes[q / 2] * sizes[q / 2 + 1])) * sizeof(float));
                param[i] = keep + step;
                emoti_head_loss_grad(h, &spec, &t, idx, N, &up, dummy);
                param[i] = keep - step;
                emoti_head_loss_grad(h, &spec, &t, idx, N, &down, dummy);
                param[i] = keep;
                for (int q = 0; q < 2 * n_layers; q++) free(dummy[q]);
                double fd = (up - down) / (2.0 * step), an = grads[2 * l + p][i];
                double err = fabs(fd - an) / fmax(1e-3, fabs(fd) + fabs(an));
                worst = fmax(worst, err);
                checked++;
            }
        }
    CHECK(worst < 2e-2, "%s stack gradient rel err %g", emoti_task_name(task), worst);
    printf("gradient check: %-4s head, %d layers, %3d params checked, max rel err %.2e\n",
           emoti_task_name(task), n_layers, checked, worst);
    for (int q = 0; q < 2 * n_layers; q++) free(grads[q]);
    emoti_loss_spec_free(&spec);
    free(x), free(y);
    emoti_head_free(h);
}

static void test_roundtrip(void) {
    int sizes[] = {20, 16, 12}, acts[] = {EMOTI_ACT_RELU, EMOTI_ACT_SIGMOID};
    emoti_head *h, *g;
    CHECK(!emoti_head_create(&h, EMOTI_TASK_AU, EMOTI_INPUT_EMBEDDING, 2, sizes, acts), "create");
    emoti_head_init(h, 3);
    h->b[1][3] = 0.25f;
    h->thresholds[4] = 0.7;
    h->smooth_k = 9;
    snprintf(h->note, sizeof h->note, "unit test");
    char path[] = "/tmp/emoti_head_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(!emoti_head_save(h, path), "save: %s", emoti_last_error());
    CHECK(!emoti_head_load(path, &g), "load: %s", emoti_last_error());
    if (g) {
        CHECK(g->task == EMOTI_TASK_AU && g->n_layers == 2 && g->sizes[2] == 12 && g->smooth_k == 9,
              "shape/task/k");
        CHECK(g->thresholds[4] == (double)0.7 && g->thresholds[0] == 0.5, "thresholds"); /* (double): no x87 excess precision */
        CHECK(!strcmp(g->labels[6], "AU12") && !strcmp(g->note, "unit test"), "labels/note");
        float x[3 * 20], o1[36], o2[36];
        for (int i = 0; i < 60; i++) x[i] = (float)(urand() - 0.5);
        emoti_head_forward(h, x, 3, o1);
        emoti_head_forward(g, x, 3, o2);
        CHECK(!memcmp(o1, o2, sizeof o1), "forward after reload differs");
        /* Reference forward in double. */
        double worst = 0;
        for (int r = 0; r < 3; r++) {
            double hid[16];
            for (int j = 0; j < 16; j++) {
                double s = h->b[0][j];
                for (int i = 0; i < 20; i++) s += (double)x[r * 20 + i] * h->w[0][i * 16 + j];
                hid[j] = s > 0 ? s : 0;
            }
            for (int j = 0; j < 12; j++) {
                double s = h->b[1][j];
                for (int i = 0; i < 16; i++) s += hid[i] * h->w[1][i * 12 + j];
                worst = fmax(worst, fabs(1 / (1 + exp(-s)) - o1[r * 12 + j]));
            }
        }
        CHECK(worst < 1e-6, "forward vs double reference %g", worst);
        emoti_head_free(g);
    }
    /* A damaged file is an error, not a crash. */
    size_t size = 0;
    uint8_t *buf = read_file(path, &size);
    if (!buf || size < 128) {
        CHECK(0, "reading back %s", path);
        free(buf);
        return;
    }
    buf[size / 2] ^= 0x40;
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, size, f);
    fclose(f);
    free(buf);
    CHECK(emoti_head_load(path, &g) && strstr(emoti_last_error(), "checksum"), "corrupt head: %s",
          emoti_last_error());
    remove(path);
    /* The softmax rows sum to 1. */
    int s2[] = {5, 8}, a2[] = {EMOTI_ACT_SOFTMAX};
    emoti_head *e;
    emoti_head_create(&e, EMOTI_TASK_EXPR, EMOTI_INPUT_LOGITS, 1, s2, a2);
    emoti_head_init(e, 1);
    float xi[5] = {1, -2, 3, 0.5f, 0}, p[8];
    emoti_head_forward(e, xi, 1, p);
    double sum = 0;
    for (int i = 0; i < 8; i++) sum += p[i];
    CHECK(fabs(sum - 1) < 1e-6, "softmax sum %g", sum);
    emoti_head_free(e);
    emoti_head_free(h);
}

/* A head in caller memory (emoti_head_memory / emoti_head_parse_in, the firmware path): the
 * same outputs as the parsed one, labels and thresholds from the container; one byte short is
 * refused, nothing is written past the memory, emoti_head_free leaves it alone. */
static void test_in_memory(void) {
    int sizes[] = {20, 16, 12}, acts[] = {EMOTI_ACT_RELU, EMOTI_ACT_SIGMOID};
    emoti_head *h, *g;
    CHECK(!emoti_head_create(&h, EMOTI_TASK_AU, EMOTI_INPUT_EMBEDDING, 2, sizes, acts), "create");
    emoti_head_init(h, 5);
    h->thresholds[2] = 0.3;
    unsigned char *raw, *img;
    size_t size, bytes = 0;
    CHECK(!emoti_head_serialize(h, &raw, &size), "serialize: %s", emoti_last_error());
    img = aligned_alloc(64, size); /* a container is read in place, 64-byte aligned */
    memcpy(img, raw, size);
    free(raw);
    CHECK(!emoti_head_memory(img, size, &bytes), "memory: %s", emoti_last_error());
    if (!bytes) return;
    unsigned char *mem = aligned_alloc(64, bytes + 64);
    memset(mem, 0x5A, bytes + 64);
    CHECK(emoti_head_parse_in(img, size, mem, bytes - 1, &g) == EMOTI_ERR_NOMEM && !g,
          "one byte short was not refused");
    CHECK(!emoti_head_parse_in(img, size, mem, bytes, &g), "parse_in: %s", emoti_last_error());
    for (size_t i = bytes; i < bytes + 64; i++) CHECK(mem[i] == 0x5A, "wrote past its memory");
    float x[2 * 20], o1[24], o2[24];
    for (int i = 0; i < 40; i++) x[i] = (float)(urand() - 0.5);
    float scratch[2 * 2 * 16];
    emoti_head_forward_scratch(h, x, 2, o1, scratch);
    emoti_head_forward_scratch(g, x, 2, o2, scratch);
    CHECK(!memcmp(o1, o2, sizeof o1), "head in caller memory computes differently");
    CHECK(!strcmp(g->labels[6], "AU12") && g->thresholds[2] == (double)0.3 && !g->owned,
          "labels / thresholds / owner");
    printf("ok   AU head in %zu bytes of caller memory: outputs bitwise the parsed head's\n", bytes);
    emoti_head_free(g); /* owns nothing */
    free(mem);
    free(img);
    emoti_head_free(h);
}

/* A head whose file holds a NaN weight is refused at load, naming the file and tensor
 * (emoti_head_serialize refuses to write one; the checksum is no protection). */
static void test_nonfinite_load(void) {
    int sizes[] = {3, 2}, acts[] = {EMOTI_ACT_TANH};
    emoti_head *h, *g = NULL;
    CHECK(!emoti_head_create(&h, EMOTI_TASK_VA, EMOTI_INPUT_EMBEDDING, 1, sizes, acts), "create");
    h->w[0][3] = 1.5f;
    unsigned char *img;
    size_t size;
    CHECK(!emoti_head_serialize(h, &img, &size), "serialize: %s", emoti_last_error());
    emoti_head_free(h);
    float one_half = 1.5f, nan = NAN; /* as the file stores them: little-endian */
    emoti_le_copy32(&one_half, &one_half, 1), emoti_le_copy32(&nan, &nan, 1);
    for (size_t i = 64; i + 4 <= size; i += 4)
        if (!memcmp(img + i, &one_half, 4)) memcpy(img + i, &nan, 4);
    emoti_put_le64(img + 56, emoti_container_checksum(img, size));
    char path[] = "/tmp/emoti_nanhead_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    FILE *f = fopen(path, "wb");
    fwrite(img, 1, size, f);
    fclose(f);
    free(img);
    CHECK(emoti_head_load(path, &g) == EMOTI_ERR_FORMAT && !g && strstr(emoti_last_error(), path) &&
          strstr(emoti_last_error(), "dense0.w has a NaN or infinite value"), "NaN head: '%s'",
          emoti_last_error());
    emoti_head_free(g);
    remove(path);
}

static void test_smoother_stream(void) {
    enum { N = 57, D = 3 };
    double in[N * D], batch[N * D], out[D];
    for (int i = 0; i < N * D; i++) in[i] = urand();
    int ks[] = {0, 1, 4, 30, 80};
    for (int a = 0; a < 5; a++) {
        int k = ks[a];
        for (int lag = 0; lag <= k; lag += k > 3 ? k / 3 : 1) {
            emoti_smooth_causal(in, batch, N, D, k, lag);
            emoti_smoother s;
            CHECK(emoti_smoother_init(&s, D, k, lag), "smoother init");
            int row = 0;
            double worst = 0;
            for (int i = 0; i < N; i++)
                if (emoti_smoother_push(&s, in + i * D, out)) {
                    CHECK(row == i - lag, "row %d emitted at frame %d, lag %d", row, i, lag);
                    for (int c = 0; c < D; c++) worst = fmax(worst, fabs(out[c] - batch[row * D + c]));
                    row++;
                }
            while (emoti_smoother_flush(&s, out)) {
                for (int c = 0; c < D; c++) worst = fmax(worst, fabs(out[c] - batch[row * D + c]));
                row++;
            }
            CHECK(row == N && worst < 1e-12, "stream k %d lag %d: %d rows, err %g", k, lag, row, worst);
            emoti_smoother_free(&s);
            if (k == 0) break;
        }
        /* lag = k is the centred box. */
        double box[N * D];
        emoti_smooth_box(in, box, N, D, k);
        emoti_smooth_causal(in, batch, N, D, k, k);
        double worst = 0;
        for (int i = 0; i < N * D; i++) worst = fmax(worst, fabs(box[i] - batch[i]));
        CHECK(worst < 1e-12, "causal lag k != box (k %d): %g", k, worst);
    }
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_annotations(void) {
    char dir[] = "/tmp/emoti_annot_XXXXXX";
    if (!mkdtemp(dir)) return;
    char path[256];
    snprintf(path, sizeof path, "%s/v.txt", dir);
    struct {
        int task;
        const char *text, *want;
    } cases[] = {
        {EMOTI_TASK_AU, "AU1,AU2\n1,0\n", ":1: header has 2 columns"},
        {EMOTI_TASK_VA, "valence,arousal\n0.1,0.2\n0.3\n", "v.txt:3: 1 comma-separated values, expected 2"},
        {EMOTI_TASK_EXPR, "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n1\nx\n", "v.txt:3: value 1 'x' is not a number"},
        {EMOTI_TASK_EXPR, "h\n1\n9\n", "v.txt:3: value 1 (9) is not an expression class"},
        {EMOTI_TASK_VA, "v,a\n0.1,0.2\n0.5,1.5\n", "v.txt:3: value 2 (1.5)"},
        {EMOTI_TASK_AU, "a,b,c,d,e,f,g,h,i,j,k,l\n1,0,0,0,0,0,0,0,0,0,0,2\n", "v.txt:2: value 12 (2) is not an AU label"},
        {EMOTI_TASK_VA, "", "v.txt:1: empty file"},
        {EMOTI_TASK_EXPR, "h\n1\n\n2\n", "v.txt:3: blank line"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_text(path, cases[c].text);
        emoti_annot_video v;
        emoti_status st = emoti_annot_read_file(path, cases[c].task, &v);
        CHECK(st && strstr(emoti_last_error(), cases[c].want), "case %zu: '%s' lacks '%s'", c,
              emoti_last_error(), cases[c].want);
        if (!st) emoti_annot_video_free(&v);
    }
    write_text(path, "valence,arousal\r\n0.1, -0.2\r\n-5,-5\r\n1,-1\r\n\n");
    emoti_annot a;
    CHECK(!emoti_annot_read_dir(dir, EMOTI_TASK_VA, &a), "good VA: %s", emoti_last_error());
    if (a.n == 1) {
        CHECK(a.v[0].n_frames == 3 && a.v[0].valid[0] && !a.v[0].valid[1] && a.v[0].valid[2], "VA valid");
        CHECK(fabsf(a.v[0].values[1] + 0.2f) < 1e-7f && !strcmp(a.v[0].video, "v"), "VA values");
        CHECK(emoti_annot_find(&a, "v") && !emoti_annot_find(&a, "w"), "find");
        emoti_annot_free(&a);
    }
    CHECK(emoti_key_frame("vid/00012.jpg") == 12 && emoti_key_frame("a/b/7.png") == 7 &&
          emoti_key_frame("v/x1.jpg") == -1 && emoti_key_frame("v/00000.jpg") == -1, "key frames");
    remove(path);
    rmdir(dir);
}

/* Training: same seed -> identical weights; planted structure is learnt. */
static void test_training(void) {
    enum { N = 600, D = 16, C = 4 };
    float *x = malloc(N * D * sizeof *x), y[N * 2];
    int cls[N];
    long rows[N];
    for (int i = 0; i < N; i++) {
        rows[i] = i, cls[i] = i % C;
        for (int d = 0; d < D; d++) x[i * D + d] = (float)(urand() - 0.5 + (d == cls[i] ? 1.5 : 0));
        y[2 * i] = (float)tanh(x[i * D] - x[i * D + 1]);
        y[2 * i + 1] = (float)tanh(0.5 * x[i * D + 2]);
    }
    emoti_train_set t = {x, D, rows, N, cls, y};
    int sizes[] = {D, 8, C}, acts[] = {EMOTI_ACT_RELU, EMOTI_ACT_SOFTMAX};
    emoti_head *a, *b;
    emoti_head_create(&a, EMOTI_TASK_EXPR, EMOTI_INPUT_EMBEDDING, 2, sizes, acts);
    emoti_head_create(&b, EMOTI_TASK_EXPR, EMOTI_INPUT_EMBEDDING, 2, sizes, acts);
    emoti_train_opts o;
    emoti_train_defaults(&o, EMOTI_TASK_EXPR);
    o.batch = 32, o.epochs = 8, o.seed = 5, o.lr = 1e-2;
    emoti_train_report ra, rb;
    emoti_head_init(a, 5);
    emoti_head_init(b, 5);
    CHECK(!emoti_train(a, &t, &t, &o, &ra), "train: %s", emoti_last_error());
    CHECK(!emoti_train(b, &t, &t, &o, &rb), "train 2");
    CHECK(!memcmp(a->w[0], b->w[0], D * 8 * sizeof(float)) && !memcmp(a->w[1], b->w[1], 8 * C * sizeof(float)),
          "training is not deterministic");
    printf("training: expr toy F1 %.3f (best epoch %d, loss %.4f -> %.4f)\n", ra.best_metric,
           ra.best_epoch, ra.loss[0], ra.loss[o.epochs - 1]);
    CHECK(ra.best_metric > 0.9, "expr toy F1 %g", ra.best_metric);
    CHECK(ra.loss[o.epochs - 1] < ra.loss[0], "loss did not decrease");
    emoti_head_free(a), emoti_head_free(b);
    int vs[] = {D, 2}, va[] = {EMOTI_ACT_TANH};
    emoti_head_create(&a, EMOTI_TASK_VA, EMOTI_INPUT_LOGITS, 1, vs, va);
    emoti_head_init(a, 2);
    emoti_train_defaults(&o, EMOTI_TASK_VA);
    o.batch = 64, o.epochs = 30, o.lr = 1e-2;
    CHECK(!emoti_train(a, &t, &t, &o, &ra), "train va");
    printf("training: va toy CCC %.3f\n", ra.best_metric);
    CHECK(ra.best_metric > 0.8, "va toy CCC %g", ra.best_metric);
    emoti_head_free(a);
    free(x);
}

static void test_npy(void) {
    char path[] = "/tmp/emoti_npy_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    float v[6] = {1, 2, 3, 4, 5, -6.5f}, *r;
    long rows;
    int cols;
    CHECK(!emoti_npy_write(path, v, 2, 3), "npy write");
    CHECK(!emoti_npy_read(path, &r, &rows, &cols) && rows == 2 && cols == 3 && !memcmp(r, v, sizeof v),
          "npy round trip");
    free(r);
    write_text(path, "not numpy");
    CHECK(emoti_npy_read(path, &r, &rows, &cols) == EMOTI_ERR_FORMAT, "bad npy accepted");
    /* A shape of 2^40 floats in a 128-byte file fails on the file, allocating nothing. */
    unsigned char head[EMOTI_NPY_HEADER];
    emoti_npy_header(head, 1L << 30, 1024);
    FILE *f = fopen(path, "wb");
    fwrite(head, 1, sizeof head, f);
    fclose(f);
    CHECK(emoti_npy_read(path, &r, &rows, &cols) == EMOTI_ERR_FORMAT &&
          strstr(emoti_last_error(), "truncated data"), "npy shape beyond the file: '%s'",
          emoti_last_error());
    remove(path);
}

int main(int argc, char **argv) {
    if (argc > 1) return driver(argc, argv);
    test_loss_gradients();
    int s1[] = {10, 7, 8}, a1[] = {EMOTI_ACT_RELU, EMOTI_ACT_SOFTMAX};
    test_stack_gradient(EMOTI_TASK_EXPR, 2, s1, a1, 0);
    int s2[] = {10, 6, 12}, a2[] = {EMOTI_ACT_TANH, EMOTI_ACT_SIGMOID};
    test_stack_gradient(EMOTI_TASK_AU, 2, s2, a2, 0);
    int s3[] = {10, 2}, a3[] = {EMOTI_ACT_TANH};
    test_stack_gradient(EMOTI_TASK_VA, 1, s3, a3, 1.0 / 1024);
    int s4[] = {10, 5, 4, 2}, a4[] = {EMOTI_ACT_RELU, EMOTI_ACT_SIGMOID, EMOTI_ACT_NONE};
    test_stack_gradient(EMOTI_TASK_VA, 3, s4, a4, 0.01);
    test_roundtrip();
    test_in_memory();
    test_nonfinite_load();
    test_smoother_stream();
    test_annotations();
    test_training();
    test_npy();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("heads ok\n");
    return 0;
}
