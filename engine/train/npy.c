/* .npy reading and writing: only what emoti needs (float32, C order, 1-D or 2-D). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

#include "emoti.h"
#include "error.h"

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    return p;
}

/* Finds 'key': in the header dict and returns the text after the colon. */
static const char *dict_value(const char *dict, const char *key) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *p = strstr(dict, quoted);
    if (!p) return NULL;
    p = skip_ws(p + strlen(quoted));
    return *p == ':' ? skip_ws(p + 1) : NULL;
}

/* The bytes left in a seekable stream, or -1 (a pipe: the read itself finds a short file). */
static long bytes_left(FILE *f) {
    long at = ftell(f), end;
    if (at < 0 || fseek(f, 0, SEEK_END)) return -1;
    end = ftell(f);
    return fseek(f, at, SEEK_SET) || end < at ? -1 : end - at;
}

emoti_status emoti_npy_fread(FILE *f, const char *path, float **data, long *rows, int *cols) {
    *data = NULL;
    unsigned char pre[12];
    emoti_status st = EMOTI_OK;
    char *dict = NULL;
    float *buf = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s: not a .npy file", path);
        goto done;
    }
    unsigned long hlen = pre[8] | (unsigned long)pre[9] << 8;
    if (pre[6] >= 2) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "%s: truncated header", path);
            goto done;
        }
        hlen |= (unsigned long)pre[10] << 16 | (unsigned long)pre[11] << 24;
    }
    if (pre[6] < 1 || pre[6] > 3 || hlen > (1u << 20)) {
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s: unsupported .npy version %d", path, pre[6]);
        goto done;
    }
    dict = malloc(hlen + 1);
    if (!dict || fread(dict, 1, hlen, f) != hlen) {
        st = emoti_fail(dict ? EMOTI_ERR_FORMAT : EMOTI_ERR_NOMEM, "%s: truncated header", path);
        goto done;
    }
    dict[hlen] = 0;
    const char *descr = dict_value(dict, "descr"), *order = dict_value(dict, "fortran_order"),
               *shape = dict_value(dict, "shape");
    if (!descr || !order || !shape) {
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s: malformed .npy header", path);
        goto done;
    }
    if (strncmp(descr, "'<f4'", 5) || strncmp(order, "False", 5)) {
        st = emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s: expected little-endian float32 in C order "
                        "(descr %.8s)", path, descr);
        goto done;
    }
    long dims[3];
    int nd = 0;
    const char *p = shape;
    if (*p++ != '(') {
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s: malformed shape", path);
        goto done;
    }
    for (;;) {
        p = skip_ws(p);
        if (*p == ')') break;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || nd == 3) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "%s: malformed shape", path);
            goto done;
        }
        dims[nd++] = v;
        p = skip_ws(end);
        if (*p == ',') p++;
    }
    if (nd < 1 || nd > 2 || (nd == 2 && (dims[1] < 1 || dims[1] > (1 << 20)))) {
        st = emoti_fail(EMOTI_ERR_UNSUPPORTED, "%s: expected a 1-D or 2-D array", path);
        goto done;
    }
    long r = dims[0];
    int c = nd == 2 ? (int)dims[1] : 1;
    /* At most 2^40 values, and what size_t can count on this platform (32-bit too). */
    unsigned long long values = (unsigned long long)r * (unsigned long long)c;
    if (r < 0 || (unsigned long long)r > (1ULL << 40) / (unsigned long long)c) {
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s: shape too large", path);
        goto done;
    }
    /* A forged shape must not allocate what the file cannot hold: checked before the size_t
     * bound so that a 32-bit host gives the same message as a 64-bit one. */
    long left = bytes_left(f);
    if (left >= 0 && (unsigned long long)left / sizeof *buf < values) {
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s: truncated data (%ld x %d floats expected)", path, r, c);
        goto done;
    }
    if (values > SIZE_MAX / sizeof *buf) {
        st = emoti_fail(EMOTI_ERR_NOMEM, "%s: %ld x %d floats do not fit in this host's memory", path, r, c);
        goto done;
    }
    size_t n = (size_t)values;
    buf = malloc(n ? n * sizeof *buf : 1);
    if (!buf) {
        st = emoti_fail(EMOTI_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fread(buf, sizeof *buf, n, f) != n) {
        st = emoti_fail(EMOTI_ERR_FORMAT, "%s: truncated data (%ld x %d floats expected)", path, r, c);
        goto done;
    }
    emoti_le_copy32(buf, buf, n); /* '<f4' to host order */
    *data = buf, *rows = r, *cols = c;
    buf = NULL;
done:
    free(buf);
    free(dict);
    return st;
}

emoti_status emoti_npy_read(const char *path, float **data, long *rows, int *cols) {
    *data = NULL;
    FILE *f;
    if (emoti_file_open(path, 0, &f, NULL)) return EMOTI_ERR_IO; /* the message names the file */
    emoti_status st = emoti_npy_fread(f, path, data, rows, cols);
    fclose(f);
    return st;
}

size_t emoti_npy_header(unsigned char out[EMOTI_NPY_HEADER], long rows, int cols) {
    char dict[EMOTI_NPY_HEADER - 10];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %d), }",
                     rows, cols);
    memset(dict + n, ' ', sizeof dict - (size_t)n);
    dict[sizeof dict - 1] = '\n';
    static const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, EMOTI_NPY_HEADER - 10, 0};
    memcpy(out, pre, 10);
    memcpy(out + 10, dict, sizeof dict);
    return EMOTI_NPY_HEADER;
}

emoti_status emoti_npy_write(const char *path, const float *data, long rows, int cols) {
    emoti_outfile o;
    emoti_status st = emoti_outfile_open(&o, path);
    if (st) return st;
    unsigned char head[EMOTI_NPY_HEADER];
    fwrite(head, 1, emoti_npy_header(head, rows, cols), o.f);
    emoti_npy_fwrite(o.f, data, (size_t)rows * (size_t)cols);
    return emoti_outfile_commit(&o); /* reports a failed write, with its reason */
}

size_t emoti_npy_fwrite(FILE *f, const float *data, size_t n) {
    if (emoti_host_le()) return fwrite(data, sizeof *data, n, f);
    float le[256]; /* big-endian hosts: swapped a block at a time */
    size_t done = 0;
    for (size_t k; done < n; done += k) {
        k = n - done < 256 ? n - done : 256;
        emoti_le_copy32(le, data + done, k);
        if (fwrite(le, sizeof *le, k, f) != k) break;
    }
    return done < n ? done : n;
}
