/* Byte-exact check of emoti_resize_bilinear_u8 against Pillow.
 *
 *   test_resize            runs tests/resize_oracle.py (with /usr/bin/python3) into a temp dir
 *   test_resize CASES.bin  uses a file the oracle already wrote
 *
 * Run from the repository root. Environment: EMOTI_PYTHON (python with Pillow, default
 * /usr/bin/python3), EMOTI_RESIZE_ORACLE (default tests/resize_oracle.py), EMOTI_FIXTURES
 * (default ../shared/fixtures; the img/ PPMs are resized to 224 and 260 too).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emoti.h"
#include "resize.h"

#define ORACLE_PILLOW_MISSING 3

static int failures;

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            failures++;                                                                       \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                       \
            printf(__VA_ARGS__);                                                              \
            printf("\n");                                                                     \
        }                                                                                     \
    } while (0)

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* ---- reading the oracle's file ---- */

typedef struct {
    const uint8_t *p, *end;
} reader;

static int read_u32(reader *r, uint32_t *v) {
    if (r->end - r->p < 4) return 0;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 1;
}

static const uint8_t *read_bytes(reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) break;
            buf = grown;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    fclose(f);
    *size = len;
    return buf;
}

typedef struct {
    uint32_t kind, src_w, src_h, dst_w, dst_h, channels;
    char label[512];
    const uint8_t *input, *expected;
} oracle_case;

static int read_case(reader *r, oracle_case *c) {
    uint32_t name_len;
    const uint8_t *name;
    if (!read_u32(r, &c->kind) || !read_u32(r, &c->src_w) || !read_u32(r, &c->src_h) ||
        !read_u32(r, &c->dst_w) || !read_u32(r, &c->dst_h) || !read_u32(r, &c->channels) ||
        !read_u32(r, &name_len) || name_len >= sizeof c->label ||
        !(name = read_bytes(r, name_len)))
        return 0;
    memcpy(c->label, name, name_len);
    c->label[name_len] = '\0';
    if (c->channels < 1 || c->channels > 4 || c->src_w == 0 || c->src_h == 0 ||
        c->dst_w == 0 || c->dst_h == 0 || c->src_w > INT32_MAX || c->src_h > INT32_MAX ||
        c->dst_w > INT32_MAX || c->dst_h > INT32_MAX)
        return 0;
    uint64_t in_bytes = (uint64_t)c->src_w * c->src_h * c->channels;
    uint64_t out_bytes = (uint64_t)c->dst_w * c->dst_h * c->channels;
    uint64_t left = (uint64_t)(r->end - r->p);
    if (in_bytes > left || out_bytes > left - in_bytes) return 0;
    c->input = read_bytes(r, (size_t)in_bytes);
    c->expected = read_bytes(r, (size_t)out_bytes);
    return c->input && c->expected;
}

/* ---- running one case ---- */

/* Copies rows into a buffer with `pad` extra bytes per row (filled with a marker). */
static uint8_t *padded_copy(const uint8_t *src, size_t row, int rows, size_t pad) {
    uint8_t *buf = malloc((row + pad) * (size_t)rows);
    if (!buf) return NULL;
    memset(buf, 0xA5, (row + pad) * (size_t)rows);
    for (int y = 0; y < rows; y++) memcpy(buf + (size_t)y * (row + pad), src + (size_t)y * row, row);
    return buf;
}

/* Resizes like the case says; variant picks padded strides and a misaligned scratch pointer so
 * that those paths get covered too. Returns the number of differing bytes (or -1 on error). */
static long run_case(const oracle_case *c, int variant) {
    int sw = (int)c->src_w, sh = (int)c->src_h, dw = (int)c->dst_w, dh = (int)c->dst_h;
    int ch = (int)c->channels;
    size_t src_row = (size_t)sw * ch, dst_row = (size_t)dw * ch;
    size_t src_pad = variant % 3 == 1 ? 5 : 0, dst_pad = variant % 3 == 2 ? 3 : 0;
    size_t misalign = (size_t)(variant % 2);
    size_t scratch_size = emoti_resize_scratch_size(sw, sh, dw, dh, ch);
    long diffs = -1;

    uint8_t *src = padded_copy(c->input, src_row, sh, src_pad);
    uint8_t *dst = malloc((dst_row + dst_pad) * (size_t)dh);
    uint8_t *scratch = malloc(scratch_size + misalign);
    if (!src || !dst || !scratch || scratch_size == 0) {
        printf("FAIL %s: setup (scratch size %zu)\n", c->label, scratch_size);
        goto done;
    }
    memset(dst, 0x5A, (dst_row + dst_pad) * (size_t)dh);
    emoti_status st = emoti_resize_bilinear_u8(src, sw, sh, src_row + src_pad, ch, dst, dw, dh,
                                               dst_row + dst_pad, scratch + misalign);
    if (st != EMOTI_OK) {
        printf("FAIL %s: status %d: %s\n", c->label, (int)st, emoti_last_error());
        goto done;
    }
    diffs = 0;
    for (int y = 0; y < dh; y++) {
        const uint8_t *got = dst + (size_t)y * (dst_row + dst_pad);
        const uint8_t *want = c->expected + (size_t)y * dst_row;
        for (size_t b = 0; b < dst_row; b++) {
            if (got[b] == want[b]) continue;
            if (diffs++ == 0)
                printf("MISMATCH %s %dx%d->%dx%d c%d: first at x=%zu y=%d ch=%zu: got %d, "
                       "Pillow %d\n",
                       c->label, sw, sh, dw, dh, ch, b / (size_t)ch, y, b % (size_t)ch, got[b],
                       want[b]);
        }
        for (size_t b = dst_row; b < dst_row + dst_pad; b++)
            CHECK(got[b] == 0x5A, "%s: wrote into row padding", c->label);
    }
done:
    free(src);
    free(dst);
    free(scratch);
    return diffs;
}

/* Fixture cases also check that our PPM decoder reads the same pixels as Pillow. */
static void check_fixture_decode(const oracle_case *c) {
    emoti_image im = {0};
    emoti_status st = emoti_image_load(c->label, &im);
    CHECK(st == EMOTI_OK, "load %s: %s", c->label, emoti_last_error());
    if (st != EMOTI_OK) return;
    CHECK((uint32_t)im.width == c->src_w && (uint32_t)im.height == c->src_h,
          "%s: size %dx%d, Pillow %ux%u", c->label, im.width, im.height, c->src_w, c->src_h);
    if ((uint32_t)im.width == c->src_w && (uint32_t)im.height == c->src_h)
        CHECK(memcmp(im.rgb, c->input, (size_t)c->src_w * c->src_h * 3) == 0,
              "%s: decoded pixels differ from Pillow's", c->label);
    emoti_image_free(&im);
}

static int run_oracle_file(const char *path) {
    size_t size = 0;
    uint8_t *data = slurp(path, &size);
    if (!data) {
        printf("FAIL: cannot read oracle file %s\n", path);
        return 1;
    }
    reader r = {data, data + size};
    uint32_t version = 0, n = 0;
    const uint8_t *magic = read_bytes(&r, 4);
    if (!magic || memcmp(magic, "EMRZ", 4) != 0 || !read_u32(&r, &version) || version != 1 ||
        !read_u32(&r, &n)) {
        printf("FAIL: %s is not a version-1 resize oracle file\n", path);
        free(data);
        return 1;
    }
    long mismatched_cases = 0, mismatched_bytes = 0, fixtures = 0;
    uint32_t i;
    for (i = 0; i < n; i++) {
        oracle_case c;
        if (!read_case(&r, &c)) {
            printf("FAIL: oracle file truncated or corrupt at case %u\n", i);
            failures++;
            break;
        }
        if (c.kind == 1) {
            fixtures++;
            check_fixture_decode(&c);
        }
        long d = run_case(&c, (int)i);
        if (d != 0) {
            mismatched_cases++;
            if (d > 0) mismatched_bytes += d;
        }
    }
    printf("test_resize: %u Pillow cases (%ld fixture), %ld mismatched cases, %ld mismatched "
           "bytes\n",
           i, fixtures, mismatched_cases, mismatched_bytes);
    if (fixtures == 0) {
        printf("FAIL: no fixture images in the oracle file\n");
        failures++;
    }
    if (n < 200) {
        printf("FAIL: only %u cases\n", n);
        failures++;
    }
    free(data);
    return mismatched_cases != 0;
}

/* Shell-quotes with single quotes; paths containing one are refused. */
static int quoted(char *out, size_t cap, const char *s) {
    if (strchr(s, '\'')) return 0;
    int n = snprintf(out, cap, "'%s'", s);
    return n > 0 && (size_t)n < cap;
}

static int generate_and_run(void) {
    const char *python = env_or("EMOTI_PYTHON", "/usr/bin/python3");
    const char *script = env_or("EMOTI_RESIZE_ORACLE", "tests/resize_oracle.py");
    const char *fixtures = env_or("EMOTI_FIXTURES", "../shared/fixtures");
    char dir[] = "/tmp/emoti_resize_XXXXXX";
    char path[64], cmd[4096], qp[1024], qs[1024], qf[1024];
    if (!mkdtemp(dir)) {
        printf("FAIL: cannot create a temp dir\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/cases.bin", dir);
    if (!quoted(qp, sizeof qp, python) || !quoted(qs, sizeof qs, script) ||
        !quoted(qf, sizeof qf, fixtures)) {
        printf("FAIL: paths too long or contain quotes\n");
        rmdir(dir);
        return 1;
    }
    snprintf(cmd, sizeof cmd, "%s %s %s --fixtures %s", qp, qs, path, qf);
    fflush(stdout); /* keep our output and the oracle's in order */
    int st = system(cmd);
    int code = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    int rc;
    if (code == ORACLE_PILLOW_MISSING) {
        printf("\n*** FAIL: Pillow is not available to %s, so the resize cannot be checked.\n"
               "*** Install it (Debian: apt-get install python3-pil) or point EMOTI_PYTHON at a "
               "python3 that has PIL.\n\n",
               python);
        rc = 1;
    } else if (code != 0) {
        printf("\n*** FAIL: the Pillow oracle failed (exit %d): %s\n\n", code, cmd);
        rc = 1;
    } else {
        rc = run_oracle_file(path);
    }
    unlink(path);
    rmdir(dir);
    return rc;
}

/* ---- argument checks ---- */

static void test_arguments(void) {
    uint8_t src[12] = {0}, dst[12];
    size_t need = emoti_resize_scratch_size(2, 2, 2, 1, 3);
    uint8_t *scratch = malloc(need);
    CHECK(need > 0 && scratch, "scratch size for 2x2->2x1");

    CHECK(emoti_resize_scratch_size(0, 2, 2, 2, 3) == 0, "zero width accepted");
    CHECK(emoti_resize_scratch_size(2, -1, 2, 2, 3) == 0, "negative height accepted");
    CHECK(emoti_resize_scratch_size(2, 2, 2, 2, 0) == 0, "0 channels accepted");
    CHECK(emoti_resize_scratch_size(2, 2, 2, 2, 5) == 0, "5 channels accepted");
    if (sizeof(size_t) <= 8)
        CHECK(emoti_resize_scratch_size(2147483647, 2147483647, 2147483647, 2147483647, 4) == 0,
              "overflowing scratch size not refused");

    emoti_status st;
    st = emoti_resize_bilinear_u8(src, 0, 2, 6, 3, dst, 2, 1, 6, scratch);
    CHECK(st == EMOTI_ERR_ARG && strstr(emoti_last_error(), "size"), "zero width: %d %s",
          (int)st, emoti_last_error());
    st = emoti_resize_bilinear_u8(src, 2, 2, 6, 3, dst, 2, -3, 6, scratch);
    CHECK(st == EMOTI_ERR_ARG, "negative dst height: %d", (int)st);
    st = emoti_resize_bilinear_u8(src, 2, 2, 6, 7, dst, 2, 1, 6, scratch);
    CHECK(st == EMOTI_ERR_ARG, "7 channels: %d", (int)st);
    st = emoti_resize_bilinear_u8(src, 2, 2, 5, 3, dst, 2, 1, 6, scratch);
    CHECK(st == EMOTI_ERR_ARG && strstr(emoti_last_error(), "stride"), "short src stride: %s",
          emoti_last_error());
    st = emoti_resize_bilinear_u8(src, 2, 2, 6, 3, dst, 2, 1, 4, scratch);
    CHECK(st == EMOTI_ERR_ARG && strstr(emoti_last_error(), "stride"), "short dst stride: %s",
          emoti_last_error());
    st = emoti_resize_bilinear_u8(NULL, 2, 2, 6, 3, dst, 2, 1, 6, scratch);
    CHECK(st == EMOTI_ERR_ARG && strstr(emoti_last_error(), "NULL"), "NULL src: %s",
          emoti_last_error());
    st = emoti_resize_bilinear_u8(src, 2, 2, 6, 3, dst, 2, 1, 6, NULL);
    CHECK(st == EMOTI_ERR_ARG && strstr(emoti_last_error(), "scratch"), "NULL scratch: %s",
          emoti_last_error());
    st = emoti_resize_bilinear_u8(src, 2147483647, 2147483647, 6, 4, dst, 2147483647,
                                  2147483647, 6, scratch);
    CHECK(st == EMOTI_ERR_ARG, "absurd sizes: %d", (int)st);
    /* 2^23 -> 1 needs a window of 2^24 + 1 samples: beyond what 32-bit sums allow. */
    CHECK(emoti_resize_scratch_size(1 << 23, 1, 1, 1, 3) == 0, "huge shrink ratio accepted");
    st = emoti_resize_bilinear_u8(src, 1 << 23, 1, (size_t)3 << 23, 3, dst, 1, 1, 3, NULL);
    CHECK(st == EMOTI_ERR_UNSUPPORTED && strstr(emoti_last_error(), "ratio"),
          "huge shrink ratio: %d %s", (int)st, emoti_last_error());
    CHECK(emoti_resize_scratch_size(1 << 20, 1, 1, 1, 3) > 0, "2^20 -> 1 refused");
    st = emoti_resize_bilinear_u8(src, 2, 2, 6, 3, dst, 2, 1, 6, scratch);
    CHECK(st == EMOTI_OK, "valid call: %s", emoti_last_error());
    free(scratch);
}

int main(int argc, char **argv) {
    test_arguments();
    int rc = argc > 1 ? run_oracle_file(argv[1]) : generate_and_run();
    if (rc || failures) {
        printf("test_resize: FAILED\n");
        return 1;
    }
    printf("test_resize: OK\n");
    return 0;
}
