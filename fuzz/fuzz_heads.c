/* libFuzzer target: the head container loader (emoti_head_parse, engine/heads/heads.c), the
 * model container with general.arch = mlp.
 *
 * Each input is tried as it is and resealed (file_size and checksum rewritten to match,
 * fuzz/README.md). A head that loads runs a forward pass over two rows and is serialised:
 * every head the loader accepts must serialise (so non-finite weights are refused at load),
 * and the image must load back as the same head.
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

static void fuzz_heads_same(const emoti_head *a, const emoti_head *b) {
    FUZZ_CHECK(a->task == b->task && a->input == b->input && a->n_layers == b->n_layers);
    FUZZ_CHECK(a->smooth_k == b->smooth_k && !strcmp(a->name, b->name));
    FUZZ_CHECK(!strcmp(a->source, b->source) && !strcmp(a->note, b->note));
    for (int l = 0; l < a->n_layers; l++) {
        FUZZ_CHECK(a->sizes[l] == b->sizes[l] && a->act[l] == b->act[l]);
        FUZZ_CHECK(!memcmp(a->w[l], b->w[l], (size_t)a->sizes[l] * (size_t)a->sizes[l + 1] * 4));
        FUZZ_CHECK(!memcmp(a->b[l], b->b[l], (size_t)a->sizes[l + 1] * 4));
    }
    int n_out = emoti_head_outputs(a);
    FUZZ_CHECK(n_out == emoti_head_outputs(b) && !a->thresholds == !b->thresholds);
    if (a->thresholds)
        FUZZ_CHECK(!memcmp(a->thresholds, b->thresholds, (size_t)n_out * sizeof(double)));
}

static void fuzz_heads_try(const uint8_t *buf, size_t size) {
    emoti_head *h = (emoti_head *)1;
    fuzz_clear_error();
    emoti_status st = emoti_head_parse(buf, size, &h);
    if (st != EMOTI_OK) {
        FUZZ_CHECK(h == NULL);
        fuzz_check_failure(st);
        return;
    }
    FUZZ_CHECK(h->task >= 0 && h->task < EMOTI_TASK_COUNT && h->labels && h->owned);
    size_t bytes; /* the same head in caller memory: one byte short is refused */
    FUZZ_CHECK(emoti_head_memory(buf, size, &bytes) == EMOTI_OK && bytes % 64 == 0);
    void *mem = aligned_alloc(64, bytes);
    if (mem) {
        emoti_head *g;
        FUZZ_CHECK(emoti_head_parse_in(buf, size, mem, bytes - 1, &g) == EMOTI_ERR_NOMEM && !g);
        free(mem);
    }
    FUZZ_CHECK(h->n_layers >= 1 && h->n_layers <= EMOTI_HEAD_MAX_LAYERS);
    FUZZ_CHECK(h->smooth_k >= 0 && (h->task == EMOTI_TASK_AU) == (h->thresholds != NULL));
    int n_out = emoti_head_outputs(h);
    for (int i = 0; i < n_out; i++) fuzz_sink += (uint32_t)strlen(h->labels[i]);
    size_t in = (size_t)h->sizes[0];
    float *x = malloc(2 * in * sizeof *x), *y = malloc(2 * (size_t)n_out * sizeof *y);
    if (x && y) {
        for (size_t i = 0; i < 2 * in; i++) x[i] = (float)((int)(i % 7) - 3) * 0.25f;
        FUZZ_CHECK(emoti_head_forward(h, x, 2, y) == EMOTI_OK);
        uint32_t sum = 0;
        for (int i = 0; i < 2 * n_out; i++) {
            uint32_t bits;
            memcpy(&bits, y + i, 4);
            sum += bits;
        }
        fuzz_sink += sum;
    }
    free(x), free(y);
    unsigned char *img;
    size_t n;
    st = emoti_head_serialize(h, &img, &n);
    FUZZ_CHECK(st == EMOTI_OK || st == EMOTI_ERR_NOMEM);
    uint8_t *copy = st == EMOTI_OK ? aligned_alloc(64, n) : NULL; /* n: a multiple of 64 */
    if (copy) {
        emoti_head *back;
        memcpy(copy, img, n);
        FUZZ_CHECK(emoti_head_parse(copy, n, &back) == EMOTI_OK);
        fuzz_heads_same(h, back);
        emoti_head_free(back);
        free(copy);
    }
    if (st == EMOTI_OK) free(img);
    emoti_head_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *raw, *sealed;
    size_t cap;
    if (!fuzz_seal(data, size, &raw, &sealed, &cap)) return 0;
    if (cap != size || memcmp(raw, sealed, 64)) fuzz_heads_try(raw, size);
    fuzz_heads_try(sealed, cap);
    free(raw), free(sealed);
    return 0;
}
