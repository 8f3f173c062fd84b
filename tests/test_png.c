/* Tests of the PNG decoder (engine/media/png.c) and the inflate API (engine/media/inflate.c).
 *
 *   test_png [CORPUS_DIR]        check against a corpus; without one, generate it into a
 *                                temporary directory with tests/png_corpus.py
 *   test_png --bench FILE [N]    time decoding and inflating FILE (best of N)
 *
 * The corpus (see png_corpus.py) holds valid PNGs with Pillow's convert('RGB') pixels,
 * malformed PNGs with the error expected, and zlib / raw DEFLATE streams. On top, the small
 * mut_* files are truncated at every length, have their CRCs and IHDR fields corrupted, and
 * get random byte flips (with and without repaired CRCs): none may crash, and every file
 * decoded is copied to an exact-size buffer first so that ASan sees any over-read.
 * The Python used is $PYTHON if it has Pillow and numpy, else /usr/bin/python3, else python3.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emoti.h"
#include "inflate.h"
#include "png.h"

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

/* ======================================================================================
 * Files
 * ====================================================================================== */

typedef struct {
    uint8_t *data;
    size_t size;
} blob;

/* Reads dir/name+ext into an exact-size heap buffer (so ASan flags any over-read). */
static blob load(const char *dir, const char *name, const char *ext) {
    blob b = {NULL, 0};
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    FILE *f = fopen(path, "rb");
    if (!f) return b;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            b.size = (size_t)n;
            b.data = malloc(b.size ? b.size : 1);
            if (b.data && fread(b.data, 1, b.size, f) != b.size) {
                free(b.data);
                b.data = NULL;
            }
        }
    }
    fclose(f);
    return b;
}

static blob copy_prefix(const uint8_t *data, size_t n) {
    blob b = {malloc(n ? n : 1), n};
    if (b.data && n) memcpy(b.data, data, n);
    return b;
}

/* ======================================================================================
 * Corpus generation
 * ====================================================================================== */

static int python_has_pillow(const char *python) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s -c 'import PIL, numpy' >/dev/null 2>&1", python);
    return system(cmd) == 0;
}

static const char *find_python(void) {
    const char *env = getenv("PYTHON");
    if (env && *env && python_has_pillow(env)) return env;
    if (python_has_pillow("/usr/bin/python3")) return "/usr/bin/python3";
    if (python_has_pillow("python3")) return "python3";
    return NULL;
}

/* tests/png_corpus.py next to this source file (the build runs from the repository root). */
static void corpus_script(char *out, size_t size) {
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    if (slash)
        snprintf(out, size, "%.*s/png_corpus.py", (int)(slash - src), src);
    else
        snprintf(out, size, "png_corpus.py");
}

static int generate_corpus(char *dir) {
    const char *python = find_python();
    if (!python) {
        printf("FAILED: no Python with Pillow and numpy found (tried $PYTHON, /usr/bin/python3, "
               "python3); the PNG tests need one to build their corpus. Set PYTHON=...\n");
        return 0;
    }
    char script[600], cmd[2048];
    corpus_script(script, sizeof script);
    snprintf(cmd, sizeof cmd, "%s %s %s", python, script, dir);
    if (system(cmd) != 0) {
        printf("FAILED: corpus generation failed: %s\n", cmd);
        return 0;
    }
    return 1;
}

static void remove_dir(const char *dir) {
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", dir);
}

/* ======================================================================================
 * Decoding helpers
 * ====================================================================================== */

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

/* (emoti_image_free lives in image.c; this test links only png.c, inflate.c, error.c.) */
static void release(emoti_image *im) {
    free(im->rgb);
    im->rgb = NULL;
    im->width = im->height = 0;
}

static long decodes; /* every emoti_png_decode call, for the summary */

/* Decodes and checks the contract on failure: empty image, one non-empty line of message. */
static emoti_status decode(const uint8_t *data, size_t size, emoti_image *im, const char *what) {
    decodes++;
    emoti_status st = emoti_png_decode(data, size, im);
    if (st != EMOTI_OK) {
        const char *msg = emoti_last_error();
        CHECK(im->rgb == NULL && im->width == 0 && im->height == 0,
              "%s: failed but left an image behind", what);
        CHECK(msg[0] && !strchr(msg, '\n'), "%s: error message not one line: '%s'", what, msg);
    }
    return st;
}

/* Decodes a copy of data[0..size) that must fail; returns 1 if it did. */
static int expect_failure(const uint8_t *data, size_t size, const char *what, const char *text) {
    blob b = copy_prefix(data, size);
    emoti_image im = {0};
    emoti_status st = decode(b.data, b.size, &im, what);
    free(b.data);
    if (st == EMOTI_OK) {
        CHECK(0, "%s: decoded (%dx%d) but should have failed", what, im.width, im.height);
        release(&im);
        return 0;
    }
    if (text) {
        CHECK(strstr(emoti_last_error(), text) != NULL, "%s: error '%s' does not mention '%s'",
              what, emoti_last_error(), text);
    }
    return 1;
}

/* Decodes a copy that may succeed or fail, but must not crash (or leak). */
static void decode_anything(const uint8_t *data, size_t size, const char *what) {
    blob b = copy_prefix(data, size);
    emoti_image im = {0};
    if (decode(b.data, b.size, &im, what) == EMOTI_OK) release(&im);
    free(b.data);
}

/* ======================================================================================
 * Corpus entries
 * ====================================================================================== */

typedef struct {
    int png_files, png_mismatches, bad_files, bad_wrong, streams, stream_failures;
} corpus_stats;

static void check_png_entry(const char *dir, const char *name, int w, int h, corpus_stats *cs) {
    blob png = load(dir, name, ".png"), want = load(dir, name, ".rgb");
    cs->png_files++;
    int before = failures;
    CHECK(png.data && want.data, "%s: missing corpus files", name);
    if (png.data && want.data) {
        emoti_image im = {0};
        emoti_status st = decode(png.data, png.size, &im, name);
        CHECK(st == EMOTI_OK, "%s: %s: %s", name, status_name(st), emoti_last_error());
        if (st == EMOTI_OK) {
            CHECK(im.width == w && im.height == h, "%s: size %dx%d, want %dx%d", name, im.width,
                  im.height, w, h);
            size_t n = (size_t)w * (size_t)h * 3;
            if (im.width == w && im.height == h && want.size == n) {
                for (size_t i = 0; i < n; i++)
                    if (im.rgb[i] != want.data[i]) {
                        CHECK(0, "%s: pixel (%zu, %zu) channel %zu is %d, Pillow says %d", name,
                              i / 3 % (size_t)w, i / 3 / (size_t)w, i % 3, im.rgb[i],
                              want.data[i]);
                        break;
                    }
            }
            release(&im);
        }
    }
    if (failures != before) cs->png_mismatches++;
    free(png.data);
    free(want.data);
}

static void check_bad_entry(const char *dir, const char *name, const char *text,
                            corpus_stats *cs) {
    blob png = load(dir, name, ".png");
    cs->bad_files++;
    int before = failures;
    CHECK(png.data != NULL, "%s: missing corpus file", name);
    if (png.data) expect_failure(png.data, png.size, name, text);
    if (failures != before) cs->bad_wrong++;
    free(png.data);
}

/* Fixed-buffer and growable decompression of one stream, and their size limits. */
static void check_stream_entry(const char *dir, const char *name, int zlib, corpus_stats *cs) {
    blob in = load(dir, name, zlib ? ".z" : ".deflate"), want = load(dir, name, ".out");
    cs->streams++;
    int before = failures;
    CHECK(in.data && want.data, "%s: missing corpus files", name);
    if (!in.data || !want.data) goto done;
    size_t n = want.size, got = 0, used = 0;

    uint8_t *out = malloc(n ? n : 1);
    emoti_status st = zlib ? emoti_zlib_decompress(in.data, in.size, out, n, &got, &used)
                           : emoti_inflate(in.data, in.size, out, n, &got, &used);
    CHECK(st == EMOTI_OK, "%s: %s", name, emoti_last_error());
    CHECK(st != EMOTI_OK || (got == n && used == in.size && memcmp(out, want.data, n) == 0),
          "%s: wrong output (%zu bytes, %zu used)", name, got, used);
    if (n > 0) {
        st = zlib ? emoti_zlib_decompress(in.data, in.size, out, n - 1, &got, NULL)
                  : emoti_inflate(in.data, in.size, out, n - 1, &got, NULL);
        CHECK(st != EMOTI_OK && strstr(emoti_last_error(), "exceeds"),
              "%s: one byte short of room was not refused (%s)", name, emoti_last_error());
    }
    free(out);

    uint8_t *grown = NULL;
    st = zlib ? emoti_zlib_decompress_alloc(in.data, in.size, n, &grown, &got, &used)
              : emoti_inflate_alloc(in.data, in.size, n, &grown, &got, &used);
    CHECK(st == EMOTI_OK && got == n && used == in.size && memcmp(grown, want.data, n) == 0,
          "%s: growable output wrong: %s", name, st ? emoti_last_error() : "bad bytes");
    free(grown);
    if (n > 0) {
        st = zlib ? emoti_zlib_decompress_alloc(in.data, in.size, n - 1, &grown, &got, NULL)
                  : emoti_inflate_alloc(in.data, in.size, n - 1, &grown, &got, NULL);
        CHECK(st != EMOTI_OK && grown == NULL, "%s: growable limit not enforced", name);
    }
    /* Every strict prefix of a small stream is truncated (larger: a sample of prefixes). */
    size_t step = in.size <= 600 ? 1 : in.size / 100;
    for (size_t len = 0; len < in.size; len += step) {
        blob cut = copy_prefix(in.data, len);
        uint8_t *o = NULL;
        st = zlib ? emoti_zlib_decompress_alloc(cut.data, len, n, &o, &got, NULL)
                  : emoti_inflate_alloc(cut.data, len, n, &o, &got, NULL);
        /* Raw DEFLATE cut right after its last block byte can still be complete. */
        CHECK(st != EMOTI_OK || (!zlib && got == n), "%s: prefix of %zu bytes accepted", name, len);
        free(o);
        free(cut.data);
    }
done:
    if (failures != before) cs->stream_failures++;
    free(in.data);
    free(want.data);
}

/* Runs every manifest line. Returns 0 if the manifest is missing. */
static int run_manifest(const char *dir, corpus_stats *cs) {
    char path[1024], line[2048];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("FAILED: no manifest at %s\n", path);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *kind = strtok(line, "\t"), *name = strtok(NULL, "\t"), *rest = strtok(NULL, "");
        if (!kind || !name) continue;
        if (!strcmp(kind, "png") && rest) {
            int w = 0, h = 0;
            if (sscanf(rest, "%d\t%d", &w, &h) == 2) check_png_entry(dir, name, w, h, cs);
        } else if (!strcmp(kind, "bad") && rest) {
            check_bad_entry(dir, name, rest, cs);
        } else if (!strcmp(kind, "zlib") || !strcmp(kind, "raw")) {
            check_stream_entry(dir, name, !strcmp(kind, "zlib"), cs);
        } else {
            CHECK(0, "manifest: unknown line kind '%s'", kind);
        }
    }
    fclose(f);
    return 1;
}

/* ======================================================================================
 * Mutations of the mut_* files
 * ====================================================================================== */

static uint32_t crc32_bitwise(const uint8_t *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Recomputes the CRC of every chunk whose declared length still fits the file. */
static void repair_crcs(uint8_t *data, size_t size) {
    size_t pos = 8;
    while (pos + 12 <= size) {
        uint32_t len = be32(data + pos);
        if (len > size - pos - 12) break;
        put_be32(data + pos + 8 + len, crc32_bitwise(data + pos + 4, (size_t)len + 4));
        pos += (size_t)len + 12;
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t next_random(void) { /* xorshift64 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

static void test_truncations(const char *name, const blob *png) {
    char what[256];
    for (size_t len = 0; len < png->size; len++) {
        snprintf(what, sizeof what, "%s cut to %zu bytes", name, len);
        expect_failure(png->data, len, what, len < 8 ? "PNG" : NULL);
    }
}

/* Flipping one bit of each chunk's stored CRC must be caught and name the chunk. */
static void test_crc_flips(const char *name, const blob *png) {
    size_t pos = 8;
    while (pos + 12 <= png->size) {
        uint32_t len = be32(png->data + pos);
        char type[5] = {0}, what[256], text[64];
        memcpy(type, png->data + pos + 4, 4);
        blob b = copy_prefix(png->data, png->size);
        b.data[pos + 8 + len + (next_random() & 3)] ^= (uint8_t)(1u << (next_random() & 7));
        snprintf(what, sizeof what, "%s with a bad CRC in %s at %zu", name, type, pos);
        snprintf(text, sizeof text, "CRC mismatch in '%s'", type);
        expect_failure(b.data, b.size, what, text);
        free(b.data);
        pos += (size_t)len + 12;
    }
}

static void test_random_flips(const char *name, const blob *png, int rounds, int repair) {
    char what[256];
    for (int r = 0; r < rounds; r++) {
        blob b = copy_prefix(png->data, png->size);
        int flips = 1 + (int)(next_random() % 3);
        for (int k = 0; k < flips; k++) {
            size_t at = 8 + next_random() % (b.size - 8);
            b.data[at] ^= (uint8_t)(1 + next_random() % 255);
        }
        if (repair) repair_crcs(b.data, b.size);
        snprintf(what, sizeof what, "%s flip round %d%s", name, r, repair ? " (CRCs repaired)" : "");
        decode_anything(b.data, b.size, what);
        free(b.data);
    }
}

static int legal_depth(unsigned colour, unsigned depth) {
    switch (colour) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return 0;
    }
}

/* Every value of each one-byte IHDR field: illegal ones are refused naming IHDR; legal ones
 * that do not match the data fail too (size or palette), but never crash. */
static void test_ihdr_fields(const char *name, const blob *png) {
    static const char *field_names[5] = {"bit depth", "colour type", "compression method",
                                         "filter method", "interlace method"};
    const uint8_t *ihdr = png->data + 16;
    char what[256];
    for (int field = 0; field < 5; field++) {
        for (unsigned v = 0; v < 256; v++) {
            if (v == ihdr[8 + field]) continue;
            blob b = copy_prefix(png->data, png->size);
            b.data[16 + 8 + field] = (uint8_t)v;
            repair_crcs(b.data, b.size);
            unsigned depth = b.data[24], colour = b.data[25];
            int legal = legal_depth(colour, depth) && !b.data[26] && !b.data[27] && b.data[28] <= 1;
            snprintf(what, sizeof what, "%s with IHDR %s %u", name, field_names[field], v);
            if (legal)
                decode_anything(b.data, b.size, what);
            else
                expect_failure(b.data, b.size, what, "bad IHDR");
            free(b.data);
        }
    }
    struct {
        uint32_t w, h;
        const char *text;
    } sizes[] = {{0, 5, "image size 0x5"}, {5, 0, "image size 5x0"},
                 {0x80000000u, 1, "image size 2147483648x1"}, {1, 0xFFFFFFFFu, "image size 1x4294967295"},
                 {65536, 65536, "too large"}, {0x7FFFFFFF, 0x7FFFFFFF, "too large"},
                 {16384, 16385, "too large"}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        blob b = copy_prefix(png->data, png->size);
        put_be32(b.data + 16, sizes[i].w);
        put_be32(b.data + 20, sizes[i].h);
        repair_crcs(b.data, b.size);
        snprintf(what, sizeof what, "%s as %ux%u", name, sizes[i].w, sizes[i].h);
        expect_failure(b.data, b.size, what, sizes[i].text);
        free(b.data);
    }
    /* Legal but larger than the data: must fail on the data, allocating only what it holds. */
    blob b = copy_prefix(png->data, png->size);
    put_be32(b.data + 16, 16384);
    put_be32(b.data + 20, 16384);
    repair_crcs(b.data, b.size);
    snprintf(what, sizeof what, "%s claiming 16384x16384", name);
    expect_failure(b.data, b.size, what, "too short");
    free(b.data);
}

static void test_mutations(const char *dir) {
    static const char *bases[] = {"mut_rgb8", "mut_palette4_adam7", "mut_rgba16_adam7",
                                  "mut_grey2", "mut_la8_fixed"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        blob png = load(dir, bases[i], ".png");
        CHECK(png.data && png.size > 40, "%s: missing mutation base", bases[i]);
        if (!png.data || png.size <= 40) {
            free(png.data);
            continue;
        }
        test_truncations(bases[i], &png);
        test_crc_flips(bases[i], &png);
        test_ihdr_fields(bases[i], &png);
        test_random_flips(bases[i], &png, 300, 0);
        test_random_flips(bases[i], &png, 2000, 1);
        free(png.data);
    }
}

/* ======================================================================================
 * API edges
 * ====================================================================================== */

static void test_api_edges(void) {
    emoti_image im = {0};
    CHECK(emoti_png_decode(NULL, 0, &im) != EMOTI_OK, "NULL, 0 accepted");
    CHECK(emoti_png_decode(NULL, 5, &im) == EMOTI_ERR_ARG, "NULL data not an argument error");
    CHECK(emoti_png_decode((const uint8_t *)"", 0, NULL) == EMOTI_ERR_ARG, "NULL image accepted");
    uint8_t out[4];
    size_t got;
    CHECK(emoti_zlib_decompress(NULL, 3, out, 4, &got, NULL) == EMOTI_ERR_ARG, "NULL zlib input");
    CHECK(emoti_inflate((const uint8_t *)"\x03\x00", 2, NULL, 0, &got, NULL) == EMOTI_ERR_ARG,
          "NULL inflate output");
    /* Empty final fixed block: valid raw DEFLATE with no output, into a zero-size buffer. */
    CHECK(emoti_inflate((const uint8_t *)"\x03\x00", 2, out, 0, &got, NULL) == EMOTI_OK && got == 0,
          "empty fixed block: %s", emoti_last_error());
    CHECK(emoti_adler32(1, (const uint8_t *)"Wikipedia", 9) == 0x11E60398u, "Adler-32 of Wikipedia");
    CHECK(emoti_adler32(1, NULL, 0) == 1, "Adler-32 of nothing");
    /* Adler-32 over long runs of 0xFF (the reduction bound) matches the byte-at-a-time sum. */
    size_t n = 100000;
    uint8_t *ff = malloc(n);
    memset(ff, 0xFF, n);
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + ff[i]) % 65521;
        b = (b + a) % 65521;
    }
    CHECK(emoti_adler32(1, ff, n) == (b << 16 | a), "Adler-32 of 100000 x 0xFF");
    CHECK(emoti_adler32(emoti_adler32(1, ff, 7777), ff + 7777, n - 7777) == (b << 16 | a),
          "Adler-32 continued");
    free(ff);
}

/* ======================================================================================
 * Benchmark
 * ====================================================================================== */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The IDAT payloads joined (file checked well-formed by a decode first). */
static blob idat_stream(const blob *png) {
    blob s = {malloc(png->size), 0};
    size_t pos = 8;
    while (pos + 12 <= png->size) {
        uint32_t len = be32(png->data + pos);
        if (!memcmp(png->data + pos + 4, "IDAT", 4)) {
            memcpy(s.data + s.size, png->data + pos + 8, len);
            s.size += len;
        }
        pos += (size_t)len + 12;
    }
    return s;
}

static int bench(const char *path, int iters) {
    blob png = load(".", path, "");
    if (!png.data && path[0] == '/') png = load("", path, "");
    if (!png.data) {
        printf("cannot read %s\n", path);
        return 1;
    }
    emoti_image im = {0};
    if (emoti_png_decode(png.data, png.size, &im) != EMOTI_OK) {
        printf("%s: %s\n", path, emoti_last_error());
        return 1;
    }
    double best = 1e30;
    for (int i = 0; i < iters; i++) {
        release(&im);
        double t = now_ms();
        emoti_png_decode(png.data, png.size, &im);
        t = now_ms() - t;
        if (t < best) best = t;
    }
    double mp = (double)im.width * im.height / 1e6;
    printf("%s: %dx%d, %zu bytes\n", path, im.width, im.height, png.size);
    printf("emoti_png_decode:           %8.2f ms (best of %d)  %.1f MP/s\n", best, iters, mp / best * 1e3);

    blob s = idat_stream(&png);
    size_t cap = (size_t)im.width * (size_t)im.height * 8 + (size_t)im.height * 8, got = 0;
    uint8_t *out = malloc(cap);
    best = 1e30;
    for (int i = 0; i < iters; i++) {
        double t = now_ms();
        emoti_zlib_decompress(s.data, s.size, out, cap, &got, NULL);
        t = now_ms() - t;
        if (t < best) best = t;
    }
    printf("emoti_zlib_decompress:      %8.2f ms (best of %d)  %zu -> %zu bytes, %.0f MB/s out\n",
           best, iters, s.size, got, (double)got / best / 1e3);
    best = 1e30;
    for (int i = 0; i < iters; i++) {
        double t = now_ms();
        volatile uint32_t sink = emoti_adler32(1, out, got);
        (void)sink;
        t = now_ms() - t;
        if (t < best) best = t;
    }
    printf("emoti_adler32 (included):   %8.2f ms\n", best);
    free(out);
    free(s.data);
    release(&im);
    free(png.data);
    return 0;
}

/* ======================================================================================
 * Main
 * ====================================================================================== */

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "--bench")) return bench(argv[2], argc > 3 ? atoi(argv[3]) : 20);

    char tmp[] = "/tmp/emoti_png_corpus_XXXXXX";
    const char *dir = argc > 1 ? argv[1] : NULL;
    if (!dir) {
        if (!mkdtemp(tmp)) {
            printf("FAILED: cannot create a temporary directory\n");
            return 1;
        }
        dir = tmp;
        if (!generate_corpus(tmp)) {
            remove_dir(tmp);
            return 1;
        }
    }
    corpus_stats cs = {0};
    int ok = run_manifest(dir, &cs);
    if (ok) {
        test_mutations(dir);
        test_api_edges();
    }
    if (dir == tmp) remove_dir(tmp);
    if (!ok) return 1;
    if (cs.png_files < 100) CHECK(0, "corpus too small: %d PNG files", cs.png_files);

    printf("PNG files: %d decoded, %d mismatches with Pillow\n", cs.png_files, cs.png_mismatches);
    printf("malformed PNGs: %d, %d not refused as expected\n", cs.bad_files, cs.bad_wrong);
    printf("zlib/DEFLATE streams: %d, %d failures\n", cs.streams, cs.stream_failures);
    printf("decodes in all (mutations included): %ld\n", decodes);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
