/* Driver of tests/test_mtcnn_nets.sh: runs the C MTCNN nets (engine/detect/mtcnn.c) with every
 * kernel table on the inputs of a reference file written by tests/mtcnn_ref.py and checks each
 * output within 1e-4 of the float64 reference.
 *   mtcnn_nets MTCNN.emoti REF.bin
 * REF.bin: records of i32 net, h, w; f32 x[h][w][3]; i32 n; f64 ref[n]. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "kernels.h"
#include "mtcnn.h"

static void *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) || (*size = (size_t)ftell(f)) == 0 || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return NULL;
    }
    void *buf = aligned_alloc(64, (*size + 63) / 64 * 64);
    if (buf && fread(buf, 1, *size, f) != *size) free(buf), buf = NULL;
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    size_t size, rsize;
    void *blob = argc == 3 ? slurp(argv[1], &size) : NULL;
    unsigned char *ref = argc == 3 ? slurp(argv[2], &rsize) : NULL;
    emoti_container c;
    emoti_mtcnn m;
    const int parsed = blob && ref && !emoti_container_parse(&c, blob, size);
    if (!parsed || emoti_mtcnn_init(&m, &c)) {
        fprintf(stderr, "usage: mtcnn_nets MTCNN.emoti REF.bin (cannot load them: %s)\n",
                emoti_last_error());
        if (parsed) emoti_container_free(&c);
        free(blob), free(ref);
        return 2;
    }
    const emoti_kernels *tables[4];
    const int n_tables = emoti_kernels_available(tables, 4);
    int fails = 0, records = 0;
    double worst[MTCNN_NETS] = {0};
    for (size_t pos = 0; pos + 12 <= rsize; records++) {
        int32_t hdr[3], n;
        memcpy(hdr, ref + pos, 12), pos += 12;
        const size_t nx = (size_t)hdr[1] * hdr[2] * 3;
        float *x = malloc(nx * sizeof *x);
        memcpy(x, ref + pos, nx * sizeof *x), pos += nx * sizeof *x;
        memcpy(&n, ref + pos, 4), pos += 4;
        double *want = malloc((size_t)n * sizeof *want);
        float *got = malloc((size_t)n * sizeof *got);
        memcpy(want, ref + pos, (size_t)n * sizeof *want), pos += (size_t)n * sizeof *want;
        const size_t ns = emoti_mtcnn_scratch(&m, hdr[0], 1, hdr[1], hdr[2]);
        float *scratch = malloc(ns * sizeof *scratch);
        if (emoti_mtcnn_run(&m, tables[0], hdr[0], x, 1, hdr[1], hdr[2], scratch, ns - 1, got) !=
            EMOTI_ERR_ARG) {
            fprintf(stderr, "FAIL record %d: a scratch one float short is not refused\n", records);
            fails++;
        }
        for (int t = 0; t < n_tables; t++) {
            if (emoti_mtcnn_run(&m, tables[t], hdr[0], x, 1, hdr[1], hdr[2], scratch, ns, got)) {
                fprintf(stderr, "FAIL run: %s\n", emoti_last_error());
                return 1;
            }
            double err = 0;
            for (int i = 0; i < n; i++) err = fmax(err, fabs(got[i] - want[i]));
            worst[hdr[0]] = fmax(worst[hdr[0]], err);
            if (!(err <= 1e-4)) {
                fprintf(stderr, "FAIL record %d net %d %dx%d (%s): max error %.3g\n", records,
                        hdr[0], hdr[1], hdr[2], tables[t]->isa, err);
                fails++;
            }
        }
        free(x), free(want), free(got), free(scratch);
    }
    printf("mtcnn_nets: %d records x %d kernel tables, max |C - float64| P %.2g R %.2g O %.2g\n",
           records, n_tables, worst[0], worst[1], worst[2]);
    emoti_mtcnn_free(&m);
    emoti_container_free(&c);
    free(blob), free(ref);
    return fails != 0 || records == 0;
}
