/* Parity against the float64 goldens of ../shared/fixtures (made with timm, torch, ORT):
 * outputs and embeddings from the golden input tensors and end to end from the PPM files,
 * and per-stage activations of image 0 so a regression names its stage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "testutil.h"

#define OUT_TOL 3e-5  /* ONNX Runtime reaches 2.6e-5 on these outputs */
#define EMB_TOL 1e-4
#define STAGE_TOL 2e-4 /* relative to the stage's largest magnitude */

static const char *images[6] = {"face_tight", "face_wide", "face_small",
                                "coffee", "chelsea", "noise"};

typedef struct {
    const char *model;  /* converted container in $MODELS */
    const char *golden; /* golden folder in $FIXTURES */
    const char *input;  /* folder holding input.f32 */
    int has_stages;
} model_case;

static const model_case cases[] = {
    {"b0_8_pt", "b0_8", "b0_8", 1},
    {"b0_8_onnx", "b0_8", "b0_8", 1},
    {"b0_va_mtl_pt", "b0_va_mtl", "b0_8", 0},
    {"b2_8_onnx", "b2_8", "b2_8", 1},
};

typedef struct {
    const char *golden;
    double worst_rel;
    const char *worst_stage;
    int checked, failures;
} stage_check;

/* Observer: compares an NHWC activation against the golden CHW float64 one. */
static void compare_stage(void *user, const char *stage, const float *nhwc, int h, int w, int c) {
    stage_check *sc = user;
    if (!strcmp(stage, "input")) return; /* checked bit for bit by compare_input */
    char path[512];
    snprintf(path, sizeof path, "%s/%s/act_%s.f32", fixtures_dir(), sc->golden, stage);
    size_t n;
    float *ref = read_f32(path, &n);
    if (!ref || n != (size_t)h * w * c) {
        printf("  %-8s golden missing or wrong size (%s)\n", stage, path);
        sc->failures++;
        free(ref);
        return;
    }
    double maxref = 0, maxdiff = 0;
    for (int ch = 0; ch < c; ch++)
        for (int p = 0; p < h * w; p++) {
            double r = ref[(size_t)ch * h * w + p], v = nhwc[(size_t)p * c + ch];
            maxref = fmax(maxref, fabs(r));
            maxdiff = fmax(maxdiff, fabs(r - v));
        }
    double rel = maxdiff / fmax(maxref, 1.0);
    printf("  %-8s %4dx%-4d x%-5d max|diff| %.2e (rel %.2e)%s\n", stage, h, w, c, maxdiff, rel,
           rel > STAGE_TOL ? "  <-- FAIL" : "");
    if (rel > STAGE_TOL) sc->failures++;
    if (rel > sc->worst_rel) sc->worst_rel = rel, sc->worst_stage = stage;
    sc->checked++;
    free(ref);
}

/* Observer: the input tensor made from the PPM must equal the golden input bit for bit
 * (Pillow-exact resize, normalisation in double like the reference). */
typedef struct {
    const float *golden; /* CHW */
    size_t mismatches;
} input_check;

static void compare_input(void *user, const char *stage, const float *nhwc, int h, int w, int c) {
    input_check *ic = user;
    if (strcmp(stage, "input")) return;
    for (int ch = 0; ch < c; ch++)
        for (int p = 0; p < h * w; p++)
            ic->mismatches += memcmp(&ic->golden[(size_t)ch * h * w + p], &nhwc[(size_t)p * c + ch],
                                     sizeof(float)) != 0;
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* PARITY_IMAGES=N (1..6) checks the first N of the six golden images: under qemu an inference
 * of a big-endian or RISC-V host costs ~30 s (tests/cross.sh); everywhere else all six. */
static int parity_images(void) {
    const char *e = getenv("PARITY_IMAGES");
    const int n = e && *e ? atoi(e) : 6;
    return n >= 1 && n <= 6 ? n : 6;
}

static int check_model(const model_case *mc) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.emoti", models_dir(), mc->model);
    emoti_model *m;
    if (emoti_model_open(path, &m)) {
        printf("FAIL %s: %s\n", mc->model, emoti_last_error());
        return 1;
    }
    emoti_info in;
    emoti_model_info(m, &in);
    size_t s = (size_t)in.input_size, n_in, n_out, n_feat;
    snprintf(path, sizeof path, "%s/%s/input.f32", fixtures_dir(), mc->input);
    float *input = read_f32(path, &n_in);
    snprintf(path, sizeof path, "%s/%s/output_f64.f32", fixtures_dir(), mc->golden);
    float *gold = read_f32(path, &n_out);
    snprintf(path, sizeof path, "%s/%s/features_f64.f32", fixtures_dir(), mc->golden);
    float *gfeat = read_f32(path, &n_feat);
    int fails = 0;
    if (!input || !gold || !gfeat || n_in != 6 * 3 * s * s || n_out != 6 * (size_t)in.n_outputs ||
        n_feat != 6 * (size_t)in.features) {
        printf("FAIL %s: golden files missing or of the wrong size\n", mc->model);
        fails = 1;
        goto done;
    }
    float *emb = malloc((size_t)in.features * sizeof *emb);
    double worst_out = 0, worst_emb = 0, worst_e2e_out = 0, worst_e2e_emb = 0;
    const int n_img = parity_images();
    for (int i = 0; i < n_img; i++) {
        stage_check sc = {mc->golden, 0, "", 0, 0};
        if (i == 0 && mc->has_stages) emoti_set_stage_observer(m, compare_stage, &sc);
        emoti_result r;
        emoti_run_tensor(m, input + (size_t)i * 3 * s * s, &r, emb);
        emoti_set_stage_observer(m, NULL, NULL);
        fails += sc.failures;
        double dout = max_abs_diff(r.outputs, gold + i * in.n_outputs, (size_t)in.n_outputs);
        double demb = max_abs_diff(emb, gfeat + (size_t)i * in.features, (size_t)in.features);
        worst_out = fmax(worst_out, dout), worst_emb = fmax(worst_emb, demb);
        /* End to end: the PPM through the Pillow-exact resize. */
        snprintf(path, sizeof path, "%s/img/%s.ppm", fixtures_dir(), images[i]);
        emoti_image img = {0, 0, NULL};
        input_check ic = {input + (size_t)i * 3 * s * s, 0};
        emoti_set_stage_observer(m, compare_input, &ic);
        if (emoti_image_load(path, &img) ||
            emoti_run_rgb(m, img.rgb, img.width, img.height, (size_t)img.width * 3, &r, emb)) {
            printf("FAIL %s: %s\n", images[i], emoti_last_error());
            fails++;
        } else {
            if (ic.mismatches) {
                printf("FAIL %s: %zu input values differ from the golden input tensor\n",
                       images[i], ic.mismatches);
                fails++;
            }
            worst_e2e_out = fmax(worst_e2e_out, max_abs_diff(r.outputs, gold + i * in.n_outputs,
                                                             (size_t)in.n_outputs));
            worst_e2e_emb = fmax(worst_e2e_emb, max_abs_diff(emb, gfeat + (size_t)i * in.features,
                                                             (size_t)in.features));
        }
        emoti_image_free(&img);
        emoti_set_stage_observer(m, NULL, NULL);
    }
    int bad = worst_out > OUT_TOL || worst_emb > EMB_TOL || worst_e2e_out > OUT_TOL ||
              worst_e2e_emb > EMB_TOL;
    printf("%s %-13s tensor: out %.2e emb %.2e | ppm: out %.2e emb %.2e (bounds %.0e / %.0e)%s\n",
           bad ? "FAIL" : "ok  ", mc->model, worst_out, worst_emb, worst_e2e_out, worst_e2e_emb,
           OUT_TOL, EMB_TOL, n_img < 6 ? " ONLY THE FIRST IMAGES (PARITY_IMAGES)" : "");
    fails += bad;
    free(emb);
done:
    free(input);
    free(gold);
    free(gfeat);
    emoti_model_close(m);
    return fails;
}

int main(void) {
    require_fixtures();
    const char *isa = getenv("EMOTI_ISA");
    printf("kernels: %s\n", isa && *isa ? isa : "default");
    int fails = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) fails += check_model(&cases[i]);
    printf("%s\n", fails ? "PARITY FAILED" : "parity ok");
    return fails ? 1 : 0;
}
