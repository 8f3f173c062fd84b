/* Tests of the JPEG decoder (engine/media/jpeg.c).
 *
 *   test_jpeg                 generates the corpus (tests/jpeg_corpus.py: cjpeg, djpeg, Pillow)
 *                             into a temp dir, checks every file against djpeg pixel for
 *                             pixel, then the error cases (cut files, flipped bytes, crafted
 *                             headers, unsupported kinds)
 *   test_jpeg --corpus DIR    uses a corpus that jpeg_corpus.py already wrote into DIR
 *   test_jpeg --bench FILE [N] decodes FILE N times (default 20) and prints the speed
 *
 * Run from the repository root. Environment: EMOTI_PYTHON (python3 with Pillow, default
 * /usr/bin/python3), FIXTURES (default ../shared/fixtures: its img/ PPMs join the corpus).
 * cjpeg and djpeg (Debian: libjpeg-turbo-progs) must be installed: without them the test
 * fails, loudly.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emoti.h"
#include "jpeg.h"

#define CORPUS_PILLOW_MISSING 3
#define CORPUS_TOOLS_MISSING 4

static int checks, failures;

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        checks++;                                                                             \
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

static const char *status_name(emoti_status st) {
    switch (st) {
    case EMOTI_OK: return "OK";
    case EMOTI_ERR_IO: return "ERR_IO";
    case EMOTI_ERR_FORMAT: return "ERR_FORMAT";
    case EMOTI_ERR_UNSUPPORTED: return "ERR_UNSUPPORTED";
    case EMOTI_ERR_NOMEM: return "ERR_NOMEM";
    case EMOTI_ERR_ARG: return "ERR_ARG";
    }
    return "?";
}

/* emoti_image_free without image.c, so that this test links with jpeg.c + error.c alone. */
static void release(emoti_image *im) {
    free(im->rgb);
    im->rgb = NULL;
    im->width = im->height = 0;
}

static uint8_t *read_whole_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* ======================================================================================
 * Reference images: djpeg's binary PPM (P6) or PGM (P5), grey expanded to RGB
 * ====================================================================================== */

static int pnm_number(const uint8_t *d, size_t n, size_t *pos, int *out) {
    size_t p = *pos;
    for (;;) {
        while (p < n && (d[p] == ' ' || d[p] == '\t' || d[p] == '\r' || d[p] == '\n')) p++;
        if (p < n && d[p] == '#') {
            while (p < n && d[p] != '\n') p++;
            continue;
        }
        break;
    }
    long v = 0;
    size_t start = p;
    while (p < n && d[p] >= '0' && d[p] <= '9' && v < 1000000) v = v * 10 + (d[p++] - '0');
    if (p == start) return 0;
    *out = (int)v;
    *pos = p;
    return 1;
}

/* Loads a P5/P6 file with maxval 255 into RGB; NULL if it is not one. */
static uint8_t *load_pnm_rgb(const char *path, int *w, int *h) {
    size_t n = 0, pos = 2;
    uint8_t *d = read_whole_file(path, &n);
    int maxval = 0;
    if (!d || n < 2 || d[0] != 'P' || (d[1] != '5' && d[1] != '6') ||
        !pnm_number(d, n, &pos, w) || !pnm_number(d, n, &pos, h) ||
        !pnm_number(d, n, &pos, &maxval) || maxval != 255 || *w <= 0 || *h <= 0) {
        free(d);
        return NULL;
    }
    pos++; /* the single whitespace after maxval */
    int channels = d[1] == '6' ? 3 : 1;
    size_t pixels = (size_t)*w * (size_t)*h;
    uint8_t *rgb = malloc(pixels * 3);
    if (!rgb || n < pos || n - pos < pixels * (size_t)channels) {
        free(d);
        free(rgb);
        return NULL;
    }
    for (size_t i = 0; i < pixels; i++)
        for (size_t c = 0; c < 3; c++)
            rgb[3 * i + c] = d[pos + i * (size_t)channels + (channels == 3 ? c : 0)];
    free(d);
    return rgb;
}

/* ======================================================================================
 * The corpus against djpeg
 * ====================================================================================== */

typedef struct {
    int files, mismatches;
} tally;

static void join_path(char *out, size_t cap, const char *dir, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

/* Decodes one corpus file; returns 1 when it behaves as the manifest says. */
static int check_corpus_file(const char *dir, const char *kind, const char *name, const char *arg) {
    char path[4096], ref_path[4096];
    join_path(path, sizeof path, dir, name);
    size_t size = 0;
    uint8_t *data = read_whole_file(path, &size);
    if (!data) {
        printf("FAIL %s: cannot read\n", name);
        return 0;
    }
    emoti_image im = {0};
    emoti_status st = emoti_jpeg_decode(data, size, &im);
    free(data);
    int ok = 1;
    if (strcmp(kind, "error") == 0) {
        const char *want = strcmp(arg, "UNSUPPORTED") == 0 ? "ERR_UNSUPPORTED" : "ERR_FORMAT";
        ok = strcmp(status_name(st), want) == 0;
        if (!ok) printf("FAIL %s: %s, want %s\n", name, status_name(st), want);
        else printf("  %s: %s: %s\n", name, status_name(st), emoti_last_error());
    } else if (st != EMOTI_OK) {
        printf("FAIL %s: %s: %s\n", name, status_name(st), emoti_last_error());
        ok = 0;
    } else if (strcmp(kind, "match") == 0) {
        int w = 0, h = 0;
        join_path(ref_path, sizeof ref_path, dir, arg);
        uint8_t *ref = load_pnm_rgb(ref_path, &w, &h);
        if (!ref) {
            printf("FAIL %s: cannot read the reference %s\n", name, arg);
            ok = 0;
        } else if (w != im.width || h != im.height) {
            printf("FAIL %s: %dx%d, djpeg gives %dx%d\n", name, im.width, im.height, w, h);
            ok = 0;
        } else {
            size_t n = (size_t)w * (size_t)h * 3, diff = 0, first = 0;
            for (size_t i = n; i-- > 0;)
                if (im.rgb[i] != ref[i]) diff++, first = i;
            if (diff) {
                printf("FAIL %s: %zu of %zu bytes differ from djpeg (first at pixel %zu,%zu: "
                       "%d vs %d)\n", name, diff, n, first / 3 % (size_t)w, first / 3 / (size_t)w,
                       im.rgb[first], ref[first]);
                ok = 0;
            }
        }
        free(ref);
    }
    release(&im);
    return ok;
}

static tally check_corpus(const char *dir) {
    tally t = {0, 0};
    char path[4096], line[8192];
    join_path(path, sizeof path, dir, "manifest.txt");
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("FAIL: no corpus manifest at %s\n", path);
        t.mismatches = 1;
        return t;
    }
    while (fgets(line, sizeof line, f)) {
        char kind[16], name[1024], arg[1024] = "";
        if (sscanf(line, "%15s %1023s %1023s", kind, name, arg) < 2) continue;
        t.files++;
        if (!check_corpus_file(dir, kind, name, arg)) t.mismatches++;
    }
    fclose(f);
    printf("jpeg corpus: %d files, %d mismatches\n", t.files, t.mismatches);
    CHECK(t.files > 300, "corpus too small: %d files", t.files);
    CHECK(t.mismatches == 0, "%d corpus files do not match djpeg", t.mismatches);
    return t;
}

/* Shell-quotes with single quotes; strings containing one are refused. */
static int quoted(char *out, size_t cap, const char *s) {
    if (strchr(s, '\'')) return 0;
    int n = snprintf(out, cap, "'%s'", s);
    return n > 0 && (size_t)n < cap;
}

/* Runs the generator into dir; 0 on success. */
static int generate_corpus(const char *dir) {
    const char *python = env_or("EMOTI_PYTHON", "/usr/bin/python3");
    const char *script = env_or("EMOTI_JPEG_CORPUS", "tests/jpeg_corpus.py");
    const char *fixtures = env_or("FIXTURES", "../shared/fixtures");
    char cmd[8192], qp[1024], qs[1024], qd[1024], qf[1024];
    if (!quoted(qp, sizeof qp, python) || !quoted(qs, sizeof qs, script) ||
        !quoted(qd, sizeof qd, dir) || !quoted(qf, sizeof qf, fixtures)) {
        printf("FAIL: paths too long or contain quotes\n");
        return 1;
    }
    snprintf(cmd, sizeof cmd, "%s %s %s --fixtures %s", qp, qs, qd, qf);
    fflush(stdout);
    int st = system(cmd);
    int code = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == CORPUS_TOOLS_MISSING)
        printf("\n*** FAIL: cjpeg/djpeg (libjpeg-turbo) are not installed, so the JPEG decoder "
               "cannot be checked.\n*** Install them: apt-get install libjpeg-turbo-progs\n\n");
    else if (code == CORPUS_PILLOW_MISSING)
        printf("\n*** FAIL: Pillow is not available to %s.\n*** Install it (Debian: apt-get "
               "install python3-pil) or point EMOTI_PYTHON at a python3 that has PIL.\n\n",
               python);
    else if (code != 0)
        printf("\n*** FAIL: the corpus generator failed (exit %d): %s\n\n", code, cmd);
    return code != 0;
}

/* Removes the corpus dir (the generator writes plain files only, no subdirectories). */
static void remove_dir(const char *dir) {
    DIR *dp = opendir(dir);
    if (dp) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(dp)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            join_path(path, sizeof path, dir, e->d_name);
            unlink(path);
        }
        closedir(dp);
    }
    if (rmdir(dir) != 0) printf("note: could not remove %s\n", dir);
}

/* ======================================================================================
 * Hand-made JPEGs for the header and data error paths
 * ====================================================================================== */

typedef struct {
    uint8_t d[1 << 16];
    size_t n;
} jbuf;

static void put(jbuf *b, const void *p, size_t n) {
    if (n == 0) return;
    if (b->n + n > sizeof b->d) abort();
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void put_byte(jbuf *b, int v) {
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void put_segment(jbuf *b, int marker, const uint8_t *payload, size_t len) {
    put_byte(b, 0xFF);
    put_byte(b, marker);
    put_byte(b, (int)((len + 2) >> 8));
    put_byte(b, (int)((len + 2) & 255));
    put(b, payload, len);
}

static void put_marker(jbuf *b, int marker) {
    put_byte(b, 0xFF);
    put_byte(b, marker);
}

static void put_dqt(jbuf *b, int id) {
    uint8_t p[65];
    p[0] = (uint8_t)id;
    for (int i = 0; i < 64; i++) p[1 + i] = (uint8_t)(1 + i);
    put_segment(b, 0xDB, p, sizeof p);
}

/* SOF with n components, each {id, h<<4|v, tq}. */
static void put_sof(jbuf *b, int marker, int precision, int w, int h, int n,
                    const uint8_t (*comps)[3]) {
    uint8_t p[6 + 3 * 8];
    p[0] = (uint8_t)precision;
    p[1] = (uint8_t)(h >> 8), p[2] = (uint8_t)h;
    p[3] = (uint8_t)(w >> 8), p[4] = (uint8_t)w;
    p[5] = (uint8_t)n;
    for (int i = 0; i < n && i < 8; i++) memcpy(p + 6 + 3 * i, comps[i], 3);
    put_segment(b, marker, p, 6 + 3 * (size_t)(n < 8 ? n : 8));
}

static const uint8_t grey_comp[1][3] = {{1, 0x11, 0}};

/* A DHT holding one table: class (0 DC, 1 AC), id, 16 counts, symbols. */
static void put_dht(jbuf *b, int cls, int id, const uint8_t counts[16], const uint8_t *syms) {
    uint8_t p[17 + 256];
    int n = 0;
    p[0] = (uint8_t)(cls << 4 | id);
    for (int i = 0; i < 16; i++) n += counts[i];
    memcpy(p + 1, counts, 16);
    memcpy(p + 17, syms, (size_t)n);
    put_segment(b, 0xC4, p, 17 + (size_t)n);
}

static void put_sos(jbuf *b, int n, const uint8_t *ids, int ss, int se, int ahal) {
    uint8_t p[1 + 8 + 3];
    p[0] = (uint8_t)n;
    for (int i = 0; i < n; i++) p[1 + 2 * i] = ids[i], p[2 + 2 * i] = 0x00;
    p[1 + 2 * n] = (uint8_t)ss, p[2 + 2 * n] = (uint8_t)se, p[3 + 2 * n] = (uint8_t)ahal;
    put_segment(b, 0xDA, p, 4 + 2 * (size_t)n);
}

/* Entropy data of `blocks` flat blocks in the standard luminance tables: DC difference 0
 * ("00") and EOB ("1010") each; a restart marker after every `interval` blocks (0: none),
 * numbered from first_rst. */
static void put_flat_blocks(jbuf *b, int blocks, int interval, int first_rst) {
    uint32_t acc = 0;
    int bits = 0, rst = first_rst;
    for (int i = 0; i < blocks; i++) {
        acc = acc << 6 | 0x0A; /* 00 1010 */
        bits += 6;
        while (bits >= 8) put_byte(b, (int)(acc >> (bits -= 8)) & 255);
        int end_of_interval = interval && (i + 1) % interval == 0 && i + 1 < blocks;
        if (end_of_interval || i + 1 == blocks) {
            if (bits) put_byte(b, (int)((acc << (8 - bits)) | (0xFFu >> bits)) & 255);
            bits = 0;
        }
        if (end_of_interval) put_marker(b, 0xD0 + (rst++ & 7));
    }
}

/* A grey w x h JPEG of flat blocks (decodes to 128 everywhere), standard tables left out
 * (the decoder must fall back to them). */
static void make_flat_grey(jbuf *b, int w, int h, int interval) {
    b->n = 0;
    put_marker(b, 0xD8);
    put_dqt(b, 0);
    put_sof(b, 0xC0, 8, w, h, 1, grey_comp);
    if (interval) {
        uint8_t dri[2] = {(uint8_t)(interval >> 8), (uint8_t)interval};
        put_segment(b, 0xDD, dri, 2);
    }
    uint8_t id = 1;
    put_sos(b, 1, &id, 0, 63, 0);
    put_flat_blocks(b, ((w + 7) / 8) * ((h + 7) / 8), interval, 0);
    put_marker(b, 0xD9);
}

static emoti_status decode_buf(const jbuf *b, emoti_image *im) {
    return emoti_jpeg_decode(b->d, b->n, im);
}

/* Decodes b and checks the status and that the message mentions `word` (NULL: any). */
static void expect_status(const char *what, const jbuf *b, emoti_status want, const char *word) {
    emoti_image im = {0};
    emoti_status st = decode_buf(b, &im);
    const char *msg = emoti_last_error();
    CHECK(st == want, "%s: %s (%s), want %s", what, status_name(st), msg, status_name(want));
    if (st != EMOTI_OK) {
        CHECK(im.rgb == NULL && im.width == 0 && im.height == 0, "%s: image not left empty", what);
        CHECK(strchr(msg, '\n') == NULL && msg[0], "%s: message not one line: '%s'", what, msg);
        if (word) CHECK(strstr(msg, word) != NULL, "%s: message '%s' lacks '%s'", what, msg, word);
    }
    release(&im);
}

static void expect_flat(const char *what, const jbuf *b, int w, int h) {
    emoti_image im = {0};
    emoti_status st = decode_buf(b, &im);
    CHECK(st == EMOTI_OK, "%s: %s: %s", what, status_name(st), emoti_last_error());
    if (st == EMOTI_OK) {
        CHECK(im.width == w && im.height == h, "%s: %dx%d, want %dx%d", what, im.width,
              im.height, w, h);
        size_t n = (size_t)im.width * (size_t)im.height * 3, bad = 0;
        for (size_t i = 0; i < n; i++) bad += im.rgb[i] != 128;
        CHECK(bad == 0, "%s: %zu bytes are not 128", what, bad);
    }
    release(&im);
}

static void test_arguments(void) {
    emoti_image im = {0};
    const uint8_t soi[] = {0xFF, 0xD8};
    CHECK(emoti_jpeg_decode(soi, 2, NULL) == EMOTI_ERR_ARG, "NULL image accepted");
    CHECK(emoti_jpeg_decode(NULL, 5, &im) == EMOTI_ERR_ARG, "NULL data accepted");
    CHECK(emoti_jpeg_decode(NULL, 0, &im) == EMOTI_ERR_FORMAT, "empty input: %s",
          emoti_last_error());
    CHECK(emoti_jpeg_decode(soi, 1, &im) == EMOTI_ERR_FORMAT, "1 byte");
    CHECK(emoti_jpeg_decode(soi, 2, &im) == EMOTI_ERR_FORMAT, "SOI only");
    const uint8_t png[] = {0x89, 'P', 'N', 'G'};
    CHECK(emoti_jpeg_decode(png, 4, &im) == EMOTI_ERR_FORMAT &&
              strstr(emoti_last_error(), "not a JPEG"),
          "PNG: %s", emoti_last_error());
    const uint8_t soi_eoi[] = {0xFF, 0xD8, 0xFF, 0xD9};
    CHECK(emoti_jpeg_decode(soi_eoi, 4, &im) == EMOTI_ERR_FORMAT, "SOI EOI");
}

static void test_valid_handmade(void) {
    jbuf *b = malloc(sizeof *b);
    make_flat_grey(b, 8, 8, 0);
    expect_flat("8x8 grey, standard tables", b, 8, 8);
    make_flat_grey(b, 37, 21, 0);
    expect_flat("37x21 grey", b, 37, 21);
    make_flat_grey(b, 37, 21, 1);
    expect_flat("37x21 grey, restart every block", b, 37, 21);
    make_flat_grey(b, 37, 21, 4);
    expect_flat("37x21 grey, restart every 4 blocks", b, 37, 21);
    make_flat_grey(b, 37, 21, 4);
    b->n -= 2; /* no EOI: the image is complete all the same */
    expect_flat("no EOI", b, 37, 21);
    make_flat_grey(b, 37, 21, 0);
    put(b, "garbage after EOI", 17);
    expect_flat("bytes after EOI", b, 37, 21);
    free(b);
}

/* Header errors: each hand-made file differs from a valid one in one respect. */
static void test_bad_headers(void) {
    jbuf *b = malloc(sizeof *b);
    uint8_t id = 1;
    static const struct {
        const char *what;
        int sof, precision, w, h;
        emoti_status want;
        const char *word;
    } frames[] = {
        {"width 0", 0xC0, 8, 0, 8, EMOTI_ERR_FORMAT, "empty"},
        {"height 0", 0xC0, 8, 8, 0, EMOTI_ERR_FORMAT, "empty"},
        {"65535x65535", 0xC0, 8, 65535, 65535, EMOTI_ERR_UNSUPPORTED, "too large"},
        {"16384x16385", 0xC0, 8, 16384, 16385, EMOTI_ERR_UNSUPPORTED, "too large"},
        {"12-bit", 0xC1, 12, 8, 8, EMOTI_ERR_UNSUPPORTED, "12-bit"},
        {"16-bit", 0xC1, 16, 8, 8, EMOTI_ERR_UNSUPPORTED, "16-bit"},
        {"lossless SOF3", 0xC3, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "lossless"},
        {"lossless SOF7", 0xC7, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "hierarchical"},
        {"hierarchical SOF5", 0xC5, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "hierarchical"},
        {"arithmetic SOF9", 0xC9, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "arithmetic"},
        {"arithmetic SOF10", 0xCA, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "arithmetic"},
        {"arithmetic lossless SOF11", 0xCB, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "lossless"},
        {"arithmetic hierarchical SOF13", 0xCD, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "hierarchical"},
        {"arithmetic hierarchical SOF15", 0xCF, 8, 8, 8, EMOTI_ERR_UNSUPPORTED, "hierarchical"},
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        b->n = 0;
        put_marker(b, 0xD8);
        put_dqt(b, 0);
        put_sof(b, frames[i].sof, frames[i].precision, frames[i].w, frames[i].h, 1, grey_comp);
        put_sos(b, 1, &id, 0, 63, 0);
        put_flat_blocks(b, 1, 0, 0);
        put_marker(b, 0xD9);
        expect_status(frames[i].what, b, frames[i].want, frames[i].word);
    }

    static const struct {
        const char *what;
        int n;
        uint8_t comps[4][3];
        emoti_status want;
        const char *word;
    } layouts[] = {
        {"CMYK", 4, {{1, 0x11, 0}, {2, 0x11, 0}, {3, 0x11, 0}, {4, 0x11, 0}},
         EMOTI_ERR_UNSUPPORTED, "CMYK"},
        {"2 components", 2, {{1, 0x11, 0}, {2, 0x11, 0}}, EMOTI_ERR_UNSUPPORTED, "2-component"},
        {"sampling 5x1", 3, {{1, 0x51, 0}, {2, 0x11, 0}, {3, 0x11, 0}}, EMOTI_ERR_FORMAT,
         "sampling"},
        {"sampling 0x1", 3, {{1, 0x01, 0}, {2, 0x11, 0}, {3, 0x11, 0}}, EMOTI_ERR_FORMAT,
         "sampling"},
        {"sampling 3x1 with 2x1", 3, {{1, 0x31, 0}, {2, 0x21, 0}, {3, 0x11, 0}},
         EMOTI_ERR_UNSUPPORTED, "ratio"},
        {"quant table 4", 3, {{1, 0x11, 4}, {2, 0x11, 0}, {3, 0x11, 0}}, EMOTI_ERR_FORMAT,
         "quantisation"},
        {"quant table 1 undefined", 3, {{1, 0x11, 0}, {2, 0x11, 1}, {3, 0x11, 1}},
         EMOTI_ERR_FORMAT, "not defined"},
        {"18 blocks per MCU", 3, {{1, 0x44, 0}, {2, 0x11, 0}, {3, 0x11, 0}}, EMOTI_ERR_FORMAT,
         "MCU"},
    };
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        uint8_t ids[4] = {1, 2, 3, 4};
        b->n = 0;
        put_marker(b, 0xD8);
        put_dqt(b, 0);
        put_sof(b, 0xC0, 8, 16, 16, layouts[i].n, layouts[i].comps);
        put_sos(b, layouts[i].n < 4 ? layouts[i].n : 4, ids, 0, 63, 0);
        put_flat_blocks(b, 64, 0, 0);
        put_marker(b, 0xD9);
        expect_status(layouts[i].what, b, layouts[i].want, layouts[i].word);
    }

    /* Out of order, unknown or duplicated markers. */
    b->n = 0;
    put_marker(b, 0xD8);
    put_dqt(b, 0);
    put_sos(b, 1, &id, 0, 63, 0);
    expect_status("SOS before SOF", b, EMOTI_ERR_FORMAT, "SOF");

    make_flat_grey(b, 8, 8, 0);
    b->d[b->n - 1] = 0x02; /* the EOI becomes reserved marker 0x02 */
    put_byte(b, 0), put_byte(b, 2);
    expect_status("unknown marker", b, EMOTI_ERR_FORMAT, "marker");

    b->n = 0;
    put_marker(b, 0xD8);
    put_marker(b, 0xD8);
    expect_status("SOI twice", b, EMOTI_ERR_FORMAT, "SOI");

    b->n = 0;
    put_marker(b, 0xD8);
    put_dqt(b, 0);
    put_sof(b, 0xC0, 8, 8, 8, 1, grey_comp);
    put_sof(b, 0xC0, 8, 8, 8, 1, grey_comp);
    expect_status("two SOF", b, EMOTI_ERR_FORMAT, "SOF");

    b->n = 0;
    put_marker(b, 0xD8);
    put_sof(b, 0xC0, 8, 8, 8, 1, grey_comp);
    put_sos(b, 1, &id, 0, 63, 0);
    put_flat_blocks(b, 1, 0, 0);
    expect_status("no DQT", b, EMOTI_ERR_FORMAT, "quantisation table 0");

    b->n = 0;
    put_marker(b, 0xD8);
    put_dqt(b, 0);
    put_sof(b, 0xC0, 8, 8, 8, 1, grey_comp);
    uint8_t seven = 7;
    put_sos(b, 1, &seven, 0, 63, 0);
    expect_status("scan of unknown component", b, EMOTI_ERR_FORMAT, "component");

    b->n = 0;
    put_marker(b, 0xD8);
    put_dqt(b, 0);
    put_sof(b, 0xC0, 8, 8, 8, 1, grey_comp);
    put_byte(b, 0xFF), put_byte(b, 0xDB), put_byte(b, 0), put_byte(b, 1); /* length 1 */
    expect_status("segment length 1", b, EMOTI_ERR_FORMAT, "length");

    make_flat_grey(b, 8, 8, 0);
    b->n = 30; /* inside the SOF */
    expect_status("cut in a header", b, EMOTI_ERR_FORMAT, "truncated");
    free(b);
}

/* Frame + scan around custom Huffman tables (DC 0 and AC 0), flat data. */
static void make_with_tables(jbuf *b, const uint8_t dc_counts[16], const uint8_t *dc_syms,
                             const uint8_t ac_counts[16], const uint8_t *ac_syms,
                             const uint8_t *data, size_t n) {
    uint8_t id = 1;
    b->n = 0;
    put_marker(b, 0xD8);
    put_dqt(b, 0);
    put_sof(b, 0xC0, 8, 16, 8, 1, grey_comp);
    put_dht(b, 0, 0, dc_counts, dc_syms);
    put_dht(b, 1, 0, ac_counts, ac_syms);
    put_sos(b, 1, &id, 0, 63, 0);
    put(b, data, n);
    put_marker(b, 0xD9);
}

static void test_bad_tables_and_data(void) {
    jbuf *b = malloc(sizeof *b);
    /* One-symbol tables: DC category 0 is "0", AC EOB is "0"; so "00" is a flat block. */
    const uint8_t one[16] = {1}, zero_sym[1] = {0};
    const uint8_t flat2[1] = {0x0F}; /* 0000 1111: two flat blocks, then fill bits */
    make_with_tables(b, one, zero_sym, one, zero_sym, flat2, 1);
    expect_flat("one-symbol tables", b, 16, 8);

    const uint8_t ones[2] = {0xFE, 0xFE}; /* "1" is no code of these tables */
    make_with_tables(b, one, zero_sym, one, zero_sym, ones, 2);
    expect_status("code not in table", b, EMOTI_ERR_FORMAT, "Huffman code");

    const uint8_t three_len1[16] = {3}, syms3[3] = {0, 1, 2};
    make_with_tables(b, three_len1, syms3, one, zero_sym, flat2, 1);
    expect_status("3 codes of length 1", b, EMOTI_ERR_FORMAT, "Huffman table");

    const uint8_t two_len1[16] = {2}, syms2[2] = {0, 1};
    make_with_tables(b, two_len1, syms2, one, zero_sym, flat2, 1);
    expect_status("all-ones code", b, EMOTI_ERR_FORMAT, "Huffman table");

    const uint8_t big_dc[1] = {16};
    make_with_tables(b, one, big_dc, one, zero_sym, flat2, 1);
    expect_status("DC symbol 16", b, EMOTI_ERR_FORMAT, "Huffman table");

    /* A DHT whose counts promise more symbols than the segment holds. */
    b->n = 0;
    put_marker(b, 0xD8);
    uint8_t dht[17] = {0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200};
    put_segment(b, 0xC4, dht, sizeof dht);
    expect_status("DHT counts beyond segment", b, EMOTI_ERR_FORMAT, "Huffman table");
    b->n = 2;
    dht[0] = 0x24;
    dht[16] = 0;
    put_segment(b, 0xC4, dht, sizeof dht);
    expect_status("DHT class 2", b, EMOTI_ERR_FORMAT, "DHT");

    /* Data ending early: EOI where blocks should be, or the end of the file. */
    make_with_tables(b, one, zero_sym, one, zero_sym, NULL, 0);
    expect_status("no entropy data", b, EMOTI_ERR_FORMAT, "premature");
    make_with_tables(b, one, zero_sym, one, zero_sym, flat2, 1);
    b->n -= 3; /* drop EOI and the data byte */
    expect_status("file cut in the data", b, EMOTI_ERR_FORMAT, "truncated");

    /* Restart markers out of sequence. */
    make_flat_grey(b, 32, 8, 1);
    for (size_t i = 0; i + 1 < b->n; i++)
        if (b->d[i] == 0xFF && b->d[i + 1] == 0xD1) b->d[i + 1] = 0xD5;
    expect_status("RST out of sequence", b, EMOTI_ERR_FORMAT, "RST1");

    /* Progressive scans that break the rules of G.1.1.1.1. */
    static const struct {
        const char *what;
        int ss, se, ahal;
    } prog[] = {
        {"DC scan with Se 5", 0, 5, 0x00},
        {"Al 14", 0, 0, 0x0E},
        {"refinement Al != Ah-1", 0, 0, 0x30},
        {"Ss > Se", 5, 2, 0x00},
        {"Se 64", 1, 64, 0x00},
    };
    for (size_t i = 0; i < sizeof prog / sizeof prog[0]; i++) {
        uint8_t id = 1;
        b->n = 0;
        put_marker(b, 0xD8);
        put_dqt(b, 0);
        put_sof(b, 0xC2, 8, 8, 8, 1, grey_comp);
        put_sos(b, 1, &id, prog[i].ss, prog[i].se, prog[i].ahal);
        put_flat_blocks(b, 1, 0, 0);
        put_marker(b, 0xD9);
        expect_status(prog[i].what, b, EMOTI_ERR_FORMAT, "progressive");
    }
    {
        const uint8_t comps[3][3] = {{1, 0x11, 0}, {2, 0x11, 0}, {3, 0x11, 0}};
        const uint8_t ids[3] = {1, 2, 3};
        b->n = 0;
        put_marker(b, 0xD8);
        put_dqt(b, 0);
        put_sof(b, 0xC2, 8, 8, 8, 3, comps);
        put_sos(b, 3, ids, 1, 63, 0x00);
        expect_status("AC scan of 3 components", b, EMOTI_ERR_FORMAT, "progressive");
    }
    free(b);
}

/* ======================================================================================
 * Damaged corpus files: cut at many points, bytes flipped
 * ====================================================================================== */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Every cut must fail with ERR_FORMAT, or succeed with the complete image (when only the
 * end, after the last coded bit, was cut). */
static void test_truncations(const char *dir, const char *name, size_t max_cuts) {
    char path[4096];
    join_path(path, sizeof path, dir, name);
    size_t size = 0;
    uint8_t *data = read_whole_file(path, &size);
    CHECK(data != NULL, "%s missing from the corpus", name);
    if (!data) return;
    emoti_image full = {0};
    CHECK(emoti_jpeg_decode(data, size, &full) == EMOTI_OK, "%s: %s", name, emoti_last_error());
    size_t step = size / max_cuts + 1, bad = 0, ok = 0, cuts = 0;
    for (size_t cut = 0; cut < size; cut += step) {
        emoti_image im = {0};
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any overread */
        if (cut) memcpy(copy, data, cut);
        emoti_status st = emoti_jpeg_decode(copy, cut, &im);
        cuts++;
        if (st == EMOTI_OK) {
            ok++;
            int same = full.rgb && im.width == full.width && im.height == full.height &&
                       memcmp(im.rgb, full.rgb, (size_t)im.width * (size_t)im.height * 3) == 0;
            if (!same || size - cut > 16) bad++;
        } else if (st != EMOTI_ERR_FORMAT || strchr(emoti_last_error(), '\n')) {
            bad++;
            printf("  %s cut at %zu: %s: %s\n", name, cut, status_name(st), emoti_last_error());
        }
        release(&im);
        free(copy);
    }
    CHECK(bad == 0, "%s: %zu of %zu cut files misbehaved", name, bad, cuts);
    printf("  %s: %zu cuts, %zu decoded (complete before the cut)\n", name, cuts, ok);
    release(&full);
    free(data);
}

/* Random damage must never crash or read out of bounds (run under ASan/UBSan). */
static void test_byte_flips(const char *dir, const char *name, int rounds) {
    char path[4096];
    join_path(path, sizeof path, dir, name);
    size_t size = 0;
    uint8_t *data = read_whole_file(path, &size);
    CHECK(data != NULL && size > 0, "%s missing from the corpus", name);
    if (!data || size == 0) {
        free(data);
        return;
    }
    int decoded = 0;
    for (int r = 0; r < rounds; r++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        int flips = 1 + (int)(next_random() % 4);
        for (int f = 0; f < flips; f++) {
            size_t at = next_random() % size;
            if (r % 3 == 0)
                copy[at] = (uint8_t)next_random(); /* any byte */
            else
                copy[at] ^= (uint8_t)(1u << (next_random() % 8)); /* one bit */
        }
        emoti_image im = {0};
        emoti_status st = emoti_jpeg_decode(copy, size, &im);
        decoded += st == EMOTI_OK;
        CHECK(st == EMOTI_OK || st == EMOTI_ERR_FORMAT || st == EMOTI_ERR_UNSUPPORTED,
              "%s flip round %d: %s", name, r, status_name(st));
        CHECK(st != EMOTI_OK || im.rgb != NULL, "%s flip round %d: OK without pixels", name, r);
        release(&im);
        free(copy);
    }
    printf("  %s: %d damaged copies, %d still decoded\n", name, rounds, decoded);
    free(data);
}

static void test_damaged(const char *dir) {
    test_truncations(dir, "damage_base_rst.jpg", 100000);
    test_truncations(dir, "damage_prog.jpg", 100000);
    test_truncations(dir, "script_prog_sa_100x75_2x2.jpg", 400);
    test_truncations(dir, "damage_prog_rst.jpg", 400);
    test_truncations(dir, "fixture_face_small_default.jpg", 300);
    test_truncations(dir, "std_tables_omitted.jpg", 200);
    test_byte_flips(dir, "damage_base_rst.jpg", 150);
    test_byte_flips(dir, "script_prog_sa_100x75_2x2.jpg", 150);
    test_byte_flips(dir, "damage_440_prog_rst.jpg", 100);
    test_byte_flips(dir, "split_tables_source_prog.jpg", 100);
    test_byte_flips(dir, "q_5_base.jpg", 100);
}

/* ======================================================================================
 * Speed
 * ====================================================================================== */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int bench(const char *path, int n) {
    size_t size = 0;
    uint8_t *data = read_whole_file(path, &size);
    if (!data) {
        printf("cannot read %s\n", path);
        return 1;
    }
    double best = 1e30;
    emoti_image im = {0};
    for (int i = 0; i < n; i++) {
        double t0 = now_seconds();
        emoti_status st = emoti_jpeg_decode(data, size, &im);
        double t = now_seconds() - t0;
        if (st != EMOTI_OK) {
            printf("%s: %s\n", path, emoti_last_error());
            free(data);
            return 1;
        }
        if (t < best) best = t;
        if (i + 1 < n) release(&im);
    }
    double mpix = (double)im.width * im.height / 1e6;
    printf("%s: %dx%d, best of %d: %.2f ms, %.1f Mpixel/s, %.1f MB/s of RGB output\n", path,
           im.width, im.height, n, best * 1e3, mpix / best, mpix * 3 / best);
    release(&im);
    free(data);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && strcmp(argv[1], "--bench") == 0)
        return bench(argv[2], argc >= 4 ? atoi(argv[3]) : 20);

    test_arguments();
    test_valid_handmade();
    test_bad_headers();
    test_bad_tables_and_data();

    char tmp[] = "/tmp/emoti_jpeg_XXXXXX";
    const char *dir = NULL;
    int made_dir = 0;
    if (argc >= 3 && strcmp(argv[1], "--corpus") == 0) {
        dir = argv[2];
    } else if (mkdtemp(tmp)) {
        dir = tmp;
        made_dir = 1;
        if (generate_corpus(dir) != 0) {
            failures++;
            dir = NULL;
        }
    } else {
        printf("FAIL: cannot create a temp dir\n");
        failures++;
    }
    if (dir) {
        check_corpus(dir);
        test_damaged(dir);
    }
    if (made_dir) remove_dir(tmp);

    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
