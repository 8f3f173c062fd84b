/* emoti as firmware: B0, an action-unit head and a face image linked in (tools/embed.py), the
 * model and the head each in a static block of memory (emoti_model_memory / emoti_model_init,
 * emoti_head_memory / emoti_head_parse_in: no allocation, no file), one inference of both, then
 * the refusals firmware must survive. Prints with printf, which newlib's
 * semihosting (rdimon) carries to the host on a board and stdio carries on a POSIX box: the
 * same source runs on the Cortex-M55 board (firmware/m55, `make firmware`) and on the host
 * (tests/firmware.sh compares the two).
 *
 * Output: "key value..." lines; floats as their IEEE bits in hex, so that the comparison sees
 * every bit (newlib's printf of floats allocates; sizes as unsigned long: it has no %zu). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "emoti.h"

extern const unsigned char fw_model[], fw_head[], fw_image[];
extern const size_t fw_model_size, fw_head_size, fw_image_size;

#ifndef FW_MEMORY_BYTES
#define FW_MEMORY_BYTES (12u << 20) /* B0 takes 9.1 MB for this image */
#endif
#ifdef FW_DDR /* a board: the big buffers in its external RAM */
#define BIG __attribute__((section(".ddr_bss")))
#else
#define BIG
#endif
static _Alignas(64) unsigned char memory[FW_MEMORY_BYTES] BIG;
static _Alignas(64) unsigned char flipped[24u << 20] BIG; /* a copy of the model, one byte off */
#define FW_MAX_FEATURES 2048 /* B0 1280, B2 1408 */
static float embedding[FW_MAX_FEATURES];
static _Alignas(64) unsigned char head_memory[128u << 10]; /* an AU head on the embedding */

static unsigned bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (unsigned)u;
}

/* The binary PPM (P6, maxval 255) header: width, height and where the pixels start. */
static const unsigned char *ppm_pixels(const unsigned char *p, size_t n, int *w, int *h) {
    int v[3] = {0, 0, 0};
    size_t i = 2;
    if (n < 2 || p[0] != 'P' || p[1] != '6') return NULL;
    for (int k = 0; k < 3; k++) {
        while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')) i++;
        while (i < n && p[i] >= '0' && p[i] <= '9' && v[k] < 100000) v[k] = v[k] * 10 + (p[i++] - '0');
    }
    *w = v[0], *h = v[1];
    if (i >= n || v[2] != 255 || *w < 1 || *h < 1 || (size_t)*w * (size_t)*h * 3 > n - i - 1)
        return NULL;
    return p + i + 1;
}

/* One refusal: the call's status must be want. */
static int refused(const char *what, emoti_status got, emoti_status want) {
    printf("refusal %s status %d %s\n", what, (int)got, got == want ? "ok" : "WRONG");
    return got == want ? 0 : 1;
}

int main(void) {
    int w, h, bad = 0;
    const unsigned char *rgb = ppm_pixels(fw_image, fw_image_size, &w, &h);
    size_t need;
    emoti_model *m;
    if (!rgb) {
        printf("FAIL the embedded image is not a binary PPM\n");
        return 1;
    }
    emoti_status st = emoti_model_memory(fw_model, fw_model_size, w, h, &need);
    if (!st && need > sizeof memory) st = EMOTI_ERR_NOMEM;
    if (!st) st = emoti_model_init(fw_model, fw_model_size, w, h, memory, sizeof memory, &m);
    if (st) {
        printf("FAIL model: status %d, %lu bytes needed, %lu given\n", (int)st, (unsigned long)need,
               (unsigned long)sizeof memory);
        return 1;
    }
    emoti_info in;
    emoti_model_info(m, &in);
    if (in.features > FW_MAX_FEATURES) {
        printf("FAIL %d features, room for %d\n", in.features, FW_MAX_FEATURES);
        return 1;
    }
    printf("model %s blob %lu memory %lu image %dx%d\n", in.name, (unsigned long)fw_model_size,
           (unsigned long)need, w, h);
    emoti_result r;
    if ((st = emoti_run_rgb(m, rgb, w, h, (size_t)w * 3, &r, embedding))) {
        printf("FAIL run: status %d\n", (int)st);
        return 1;
    }
    printf("top %d %s\n", r.top, in.labels[r.top]);
    for (int i = 0; i < in.n_outputs; i++) printf("out %d %08x\n", i, bits(r.outputs[i]));
    for (int i = 0; i < in.features; i++) printf("emb %d %08x\n", i, bits(embedding[i]));

    /* The head on the embedding: probabilities, and the decisions at its thresholds. */
    emoti_head *head;
    size_t head_need;
    float probs[64];
    st = emoti_head_memory(fw_head, fw_head_size, &head_need);
    if (!st && head_need > sizeof head_memory) st = EMOTI_ERR_NOMEM;
    if (!st) st = emoti_head_parse_in(fw_head, fw_head_size, head_memory, sizeof head_memory, &head);
    if (!st && (head->sizes[0] != in.features || emoti_head_outputs(head) > 64)) st = EMOTI_ERR_FORMAT;
    if (st) {
        printf("FAIL head: status %d\n", (int)st);
        return 1;
    }
    emoti_head_forward_scratch(head, embedding, 1, probs, NULL); /* one layer: no scratch */
    printf("head %s memory %lu outputs %d\n", emoti_task_name(head->task), (unsigned long)head_need,
           emoti_head_outputs(head));
    for (int i = 0; i < emoti_head_outputs(head); i++)
        printf("prob %d %08x %s %d\n", i, bits(probs[i]), head->labels[i],
               head->thresholds ? probs[i] >= head->thresholds[i] : -1);

    /* What firmware meets: each a status, no crash. */
    emoti_model *none;
    bad |= refused("memory-one-byte-short", emoti_model_init(fw_model, fw_model_size, w, h, memory,
                                                             need - 1, &none), EMOTI_ERR_NOMEM);
    bad |= refused("image-0x0", emoti_run_rgb(m, rgb, 0, 0, 0, &r, NULL), EMOTI_ERR_ARG);
    bad |= refused("blob-of-another-kind",
                   emoti_model_memory(fw_image, fw_image_size, 0, 0, &need), EMOTI_ERR_FORMAT);
    if (fw_model_size <= sizeof flipped) {
        memcpy(flipped, fw_model, fw_model_size);
        flipped[fw_model_size / 2] ^= 0x40;
        bad |= refused("one-flipped-byte", emoti_model_memory(flipped, fw_model_size, 0, 0, &need),
                       EMOTI_ERR_FORMAT);
    }
    printf(bad ? "FAIL refusals\n" : "firmware ok\n");
    return bad;
}
