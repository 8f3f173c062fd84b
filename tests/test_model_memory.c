/* A model in caller memory (emoti_model_memory / emoti_model_init, the firmware path) against
 * the hosted one (emoti_model_open): bitwise the same outputs and embedding; and the bad
 * inputs firmware meets, each a status and nothing written outside the memory given: a blob
 * with one flipped byte, a blob of the wrong kind, memory one byte too small or misaligned, an
 * image larger than planned, an image of 0 x 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "emoti.h"
#include "testutil.h"

static int failures;

/* A 64-byte aligned copy of a file, or NULL. */
static uint8_t *aligned_file(const char *path, size_t *size) {
    uint8_t *raw = read_file(path, size);
    if (!raw) return NULL;
    uint8_t *p = aligned_alloc(64, (*size + 63) & ~(size_t)63);
    if (p) memcpy(p, raw, *size);
    free(raw);
    return p;
}

/* Runs img through m; 0 on success. */
static int run(emoti_model *m, const emoti_image *img, emoti_result *r, float *emb) {
    return emoti_run_rgb(m, img->rgb, img->width, img->height, (size_t)img->width * 3, r, emb);
}

/* The same model built in caller memory must compute the same bits. */
static void same_as_hosted(const char *path, const uint8_t *blob, size_t size,
                           const emoti_image *img) {
    emoti_model *hosted, *m;
    CHECK(emoti_model_open(path, &hosted) == EMOTI_OK, "open %s: %s", path, emoti_last_error());
    if (failures) return;
    emoti_info in;
    emoti_model_info(hosted, &in);
    size_t bytes;
    CHECK(emoti_model_memory(blob, size, img->width, img->height, &bytes) == EMOTI_OK, "memory: %s",
          emoti_last_error());
    uint8_t *mem = aligned_alloc(64, bytes);
    CHECK(emoti_model_init(blob, size, img->width, img->height, mem, bytes, &m) == EMOTI_OK,
          "init in %zu bytes: %s", bytes, emoti_last_error());
    if (failures) return;
    float *e1 = malloc(sizeof(float) * (size_t)in.features), *e2 = malloc(sizeof(float) * (size_t)in.features);
    emoti_result r1, r2;
    CHECK(run(hosted, img, &r1, e1) == EMOTI_OK && run(m, img, &r2, e2) == EMOTI_OK, "run: %s",
          emoti_last_error());
    CHECK(!memcmp(r1.outputs, r2.outputs, sizeof r1.outputs) &&
              !memcmp(e1, e2, sizeof(float) * (size_t)in.features),
          "caller-memory model differs from the hosted one");
    printf("ok   %s in %zu bytes of caller memory (images up to %dx%d): outputs and embedding "
           "bitwise the hosted model's\n", in.name, bytes, img->width, img->height);

    /* larger than planned: refused, not grown */
    const int w = 4 * img->width, h = 4 * img->height; /* needs more scratch to shrink */
    uint8_t *wider = calloc((size_t)w * h * 3, 1);
    CHECK(emoti_run_rgb(m, wider, w, h, (size_t)w * 3, &r2, NULL) == EMOTI_ERR_ARG,
          "an image wider than planned was not refused");
    free(wider);
    printf("ok   image %dx%d in memory planned for %dx%d -> %s\n", w, h,
           img->width, img->height, emoti_last_error());
    CHECK(emoti_run_rgb(m, img->rgb, 0, 0, 0, &r2, NULL) == EMOTI_ERR_ARG, "0x0 image accepted");
    printf("ok   image 0x0 -> %s\n", emoti_last_error());
    emoti_model_close(m); /* owns nothing: mem is ours (ASan would see a double free) */
    free(mem);
    free(e1), free(e2);
    emoti_model_close(hosted);
}

static void memory_refusals(const uint8_t *blob, size_t size) {
    size_t bytes;
    CHECK(emoti_model_memory(blob, size, 0, 0, &bytes) == EMOTI_OK, "memory: %s", emoti_last_error());
    uint8_t *mem = aligned_alloc(64, bytes + 64);
    emoti_model *m = (emoti_model *)(void *)mem;
    memset(mem, 0xA5, bytes + 64);
    CHECK(emoti_model_init(blob, size, 0, 0, mem, bytes - 1, &m) == EMOTI_ERR_NOMEM && !m,
          "memory one byte too small was not refused");
    printf("ok   %zu bytes, one too few -> %s\n", bytes - 1, emoti_last_error());
    CHECK(emoti_model_init(blob, size, 0, 0, mem + 8, bytes, &m) == EMOTI_ERR_ARG && !m,
          "misaligned memory was not refused");
    printf("ok   memory 8 bytes off alignment -> %s\n", emoti_last_error());
    CHECK(emoti_model_init(blob, size, 0, 0, mem, bytes, &m) == EMOTI_OK, "init: %s",
          emoti_last_error());
    for (size_t i = bytes; i < bytes + 64; i++)
        CHECK(mem[i] == 0xA5, "init wrote past its %zu bytes (at %zu)", bytes, i);
    CHECK(emoti_model_memory(blob, size, -1, 5, &bytes) == EMOTI_ERR_ARG, "max -1 x 5 accepted");
    free(mem);
}

/* A bad blob is a status from both calls, naming the problem. */
static void bad_blob(const char *what, const uint8_t *blob, size_t size, emoti_status want,
                     const char *msg) {
    size_t bytes = 1;
    uint8_t *mem = aligned_alloc(64, 1 << 20);
    emoti_model *m;
    emoti_status st = emoti_model_memory(blob, size, 0, 0, &bytes);
    CHECK(st == want && strstr(emoti_last_error(), msg), "%s: memory gave %d '%s'", what, st,
          emoti_last_error());
    st = emoti_model_init(blob, size, 0, 0, mem, 1 << 20, &m);
    CHECK(st == want && !m && strstr(emoti_last_error(), msg), "%s: init gave %d '%s'", what, st,
          emoti_last_error());
    printf("ok   %-24s -> %s\n", what, emoti_last_error());
    free(mem);
}

static void bad_blobs(const uint8_t *good, size_t size) {
    uint8_t *b = aligned_alloc(64, size);
    memcpy(b, good, size);
    b[size / 2] ^= 0x40; /* a weight byte */
    bad_blob("one flipped byte", b, size, EMOTI_ERR_FORMAT, "checksum mismatch");
    memcpy(b, good, size);
    const char *arch = "efficientnet";
    uint8_t *at = NULL;
    for (size_t i = 0; i + 12 <= size && !at; i++)
        if (!memcmp(b + i, arch, 12) && i >= 4 && emoti_le32(b + i - 4) == 12) at = b + i;
    CHECK(at != NULL, "general.arch not found in the blob");
    if (at) {
        memcpy(at, "mobilenetv3s", 12); /* a network of another kind, resealed */
        emoti_put_le64(b + 56, emoti_container_checksum(b, size));
        bad_blob("a blob of another kind", b, size, EMOTI_ERR_UNSUPPORTED, "not efficientnet");
    }
    memcpy(b, "\x89PNG\r\n\x1a\n", 8);
    bad_blob("not a container", b, size, EMOTI_ERR_FORMAT, "bad magic");
    bad_blob("NULL blob", NULL, size, EMOTI_ERR_ARG, "NULL");
    free(b);
}

/* The memory each fixture model takes for images of its input size (the README's table). */
static void report(void) {
    static const char *const names[] = {"b0_8_pt", "b0_va_mtl_pt", "b2_8_onnx"};
    for (int i = 0; i < 3; i++) {
        char path[512];
        size_t size, bytes;
        snprintf(path, sizeof path, "%s/%s.emoti", models_dir(), names[i]);
        uint8_t *blob = aligned_file(path, &size);
        if (!blob) continue;
        CHECK(emoti_model_memory(blob, size, 0, 0, &bytes) == EMOTI_OK, "%s: %s", names[i],
              emoti_last_error());
        printf("ok   %s: %zu bytes of memory for images of its input size (weights %zu, in place)\n",
               names[i], bytes, size);
        free(blob);
    }
}

int main(void) {
    char path[512], image[512];
    snprintf(path, sizeof path, "%s/b0_8_pt.emoti", models_dir());
    snprintf(image, sizeof image, "%s/img/face_small.ppm", fixtures_dir());
    size_t size;
    uint8_t *blob = aligned_file(path, &size);
    emoti_image img;
    if (!blob || emoti_image_load(image, &img)) {
        printf("SKIPPED: %s or %s missing (make check converts the fixtures)\n", path, image);
        return SKIP_EXIT;
    }
    same_as_hosted(path, blob, size, &img);
    memory_refusals(blob, size);
    bad_blobs(blob, size);
    report();
    emoti_image_free(&img);
    free(blob);
    if (failures) printf("%d failures\n", failures);
    else printf("model memory ok\n");
    return failures != 0;
}
