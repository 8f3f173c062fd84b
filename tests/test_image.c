/* Tests of the PPM/PGM reader (emoti_image_decode / emoti_image_load).
 *
 * Run from the repository root; EMOTI_FIXTURES (default ../shared/fixtures) gives the
 * directory whose img/ PPMs are loaded too.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emoti.h"

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

/* ---- good images ---- */

/* Decodes `size` bytes and checks the size and every RGB byte. */
static void expect_image(const char *what, const void *data, size_t size, int w, int h,
                         const uint8_t *rgb) {
    emoti_image im = {0};
    emoti_status st = emoti_image_decode(data, size, &im);
    CHECK(st == EMOTI_OK, "%s: %s: %s", what, status_name(st), emoti_last_error());
    if (st != EMOTI_OK) return;
    CHECK(im.width == w && im.height == h, "%s: size %dx%d, want %dx%d", what, im.width,
          im.height, w, h);
    if (im.width == w && im.height == h) {
        for (size_t i = 0; i < (size_t)w * h * 3; i++) {
            if (im.rgb[i] != rgb[i]) {
                CHECK(0, "%s: byte %zu is %d, want %d", what, i, im.rgb[i], rgb[i]);
                break;
            }
        }
    }
    emoti_image_free(&im);
    CHECK(im.rgb == NULL && im.width == 0 && im.height == 0, "%s: free did not reset", what);
}

/* For text data (no NUL bytes inside). */
static void expect_text_image(const char *what, const char *text, int w, int h,
                              const uint8_t *rgb) {
    expect_image(what, text, strlen(text), w, h, rgb);
}

static void test_binary_ppm(void) {
    static const char p6[] = "P6\n2 2\n255\n\x00\x01\x02\x10\x20\x30\xFF\xFE\xFD\x7F\x80\x81";
    static const uint8_t want[] = {0, 1, 2, 16, 32, 48, 255, 254, 253, 127, 128, 129};
    expect_image("P6 2x2", p6, sizeof p6 - 1, 2, 2, want);

    /* Comments anywhere in the header, odd whitespace, trailing bytes after the raster. */
    static const char p6c[] = "P6# after magic\n#full line\n 2\t# w\n\r2 #h\n255\n"
                              "\x00\x01\x02\x10\x20\x30\xFF\xFE\xFD\x7F\x80\x81TRAILING";
    expect_image("P6 with comments", p6c, sizeof p6c - 1, 2, 2, want);

    /* A comment straight after maxval ends with its newline, which is then the separator. */
    static const char p6m[] = "P6 1 1 255# comment\n\x05\x06\x07";
    static const uint8_t want_m[] = {5, 6, 7};
    expect_image("P6 comment after maxval", p6m, sizeof p6m - 1, 1, 1, want_m);

    /* Exactly one whitespace byte after maxval: the next ones are samples (10, 32, 13). */
    static const char p6w[] = "P6 1 1 255\n\n \r";
    static const uint8_t want_w[] = {10, 32, 13};
    expect_image("P6 whitespace-valued samples", p6w, sizeof p6w - 1, 1, 1, want_w);

    static const char p5[] = "P5 3 1 255\n\x00\x80\xFF";
    static const uint8_t want5[] = {0, 0, 0, 128, 128, 128, 255, 255, 255};
    expect_image("P5 grey to RGB", p5, sizeof p5 - 1, 3, 1, want5);

    static const char one[] = "P6 1 1 255 \xC8\x64\x32";
    static const uint8_t want1[] = {200, 100, 50};
    expect_image("P6 1x1", one, sizeof one - 1, 1, 1, want1);
}

static void test_ascii_ppm(void) {
    static const uint8_t want3[] = {0, 1, 2, 16, 32, 48, 255, 254, 253, 127, 128, 129};
    expect_text_image("P3 2x2",
                      "P3\r\n# comment\r\n2 2\r\n255\r\n0 1 2  16 32 48\n255\t254 253\n"
                      "127 128 # comment in the raster\n129\n",
                      2, 2, want3);
    expect_text_image("P3 no final newline", "P3 1 1 255 9 8 7", 1, 1,
                      (const uint8_t[]){9, 8, 7});
    static const uint8_t want2[] = {0, 0, 0, 255, 255, 255, 77, 77, 77};
    expect_text_image("P2 3x1", "P2 3 1 255\n0 255 77\n", 3, 1, want2);
    expect_text_image("P2 1x1", "P2\n1\n1\n255\n42", 1, 1, (const uint8_t[]){42, 42, 42});
}

static void test_maxvals(void) {
    expect_text_image("P2 maxval 1", "P2 2 1 1\n0 1\n", 2, 1,
                      (const uint8_t[]){0, 0, 0, 255, 255, 255});
    static const char p5_1[] = "P5 2 1 1\n\x01\x00";
    expect_image("P5 maxval 1", p5_1, sizeof p5_1 - 1, 2, 1,
                 (const uint8_t[]){255, 255, 255, 0, 0, 0});

    /* maxval 15: v * 255 / 15 = 17 v exactly. */
    expect_text_image("P3 maxval 15", "P3 2 1 15\n0 1 7 8 14 15\n", 2, 1,
                      (const uint8_t[]){0, 17, 119, 136, 238, 255});
    static const char p6_15[] = "P6 1 1 15\n\x03\x0A\x0F";
    expect_image("P6 maxval 15", p6_15, sizeof p6_15 - 1, 1, 1, (const uint8_t[]){51, 170, 255});

    /* Rounding to nearest, ties to even: 1 * 255 / 2 = 127.5 -> 128, 1 * 255 / 6 = 42.5 -> 42,
     * 1 * 255 / 10 = 25.5 -> 26, 1 * 255 / 14 = 18.2 -> 18 (what Pillow gives). */
    expect_text_image("P2 maxval 2 tie", "P2 1 1 2 1", 1, 1, (const uint8_t[]){128, 128, 128});
    expect_text_image("P2 maxval 6 tie", "P2 1 1 6 1", 1, 1, (const uint8_t[]){42, 42, 42});
    expect_text_image("P2 maxval 10 tie", "P2 1 1 10 1", 1, 1, (const uint8_t[]){26, 26, 26});
    expect_text_image("P2 maxval 14", "P2 1 1 14 1", 1, 1, (const uint8_t[]){18, 18, 18});

    /* 16-bit samples are big-endian: 0x0000, 0x8000 (32768 * 255 / 65535 = 127.502 -> 128),
     * 0xFFFF, 0x0101 (257 -> 1). */
    static const char p6_16[] = "P6 2 1 65535\n\x00\x00\x80\x00\xFF\xFF\x01\x01\x00\x80\xFF\x00";
    /* 0x0080 = 128 -> 0.498 -> 0; 0xFF00 = 65280 -> 254.00 -> 254 */
    expect_image("P6 maxval 65535", p6_16, sizeof p6_16 - 1, 2, 1,
                 (const uint8_t[]){0, 128, 255, 1, 0, 254});
    expect_text_image("P3 maxval 65535", "P3 1 1 65535 65535 257 32768", 1, 1,
                      (const uint8_t[]){255, 1, 128});
    static const char p5_1000[] = "P5 2 1 1000\n\x03\xE8\x01\xF4"; /* 1000, 500 */
    expect_image("P5 maxval 1000", p5_1000, sizeof p5_1000 - 1, 2, 1,
                 (const uint8_t[]){255, 255, 255, 128, 128, 128});
    /* 256 is the smallest maxval with 2-byte samples. */
    static const char p5_256[] = "P5 2 1 256\n\x00\x80\x01\x00"; /* 128 -> 127.5 -> 128; 256 */
    expect_image("P5 maxval 256", p5_256, sizeof p5_256 - 1, 2, 1,
                 (const uint8_t[]){128, 128, 128, 255, 255, 255});
}

/* Every (maxval, sample) for a few maxvals against the rounding rule, via P2. */
static void test_scaling_rule(void) {
    static const unsigned maxvals[] = {1, 2, 3, 7, 100, 254, 256, 1023, 4095, 65534, 65535};
    char text[64];
    int bad = 0;
    for (size_t m = 0; m < sizeof maxvals / sizeof maxvals[0]; m++) {
        unsigned mv = maxvals[m];
        unsigned step = mv > 5000 ? 7 : 1;
        for (unsigned v = 0; v <= mv; v += step) {
            /* nearest, ties to even, in exact integer arithmetic */
            unsigned q = v * 255 / mv, r = v * 255 % mv;
            if (2 * r > mv || (2 * r == mv && q % 2)) q++;
            snprintf(text, sizeof text, "P2 1 1 %u %u", mv, v);
            emoti_image im = {0};
            if (emoti_image_decode((const uint8_t *)text, strlen(text), &im) != EMOTI_OK ||
                im.rgb[0] != q) {
                if (bad++ < 5) CHECK(0, "maxval %u sample %u: want %u", mv, v, q);
            }
            emoti_image_free(&im);
        }
    }
    CHECK(bad == 0, "%d scaled samples wrong", bad);
}

/* ---- errors ---- */

/* Decodes and checks the status, that the message contains `needle`, and that the image is
 * left empty. */
static void expect_error(const char *what, const void *data, size_t size, emoti_status want,
                         const char *needle) {
    emoti_image im = {7, 7, (uint8_t *)&im};
    emoti_status st = emoti_image_decode(data, size, &im);
    const char *msg = emoti_last_error();
    CHECK(st == want, "%s: status %s, want %s (%s)", what, status_name(st), status_name(want),
          msg);
    CHECK(strstr(msg, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, msg, needle);
    CHECK(strchr(msg, '\n') == NULL, "%s: message has a newline", what);
    CHECK(im.rgb == NULL && im.width == 0 && im.height == 0, "%s: image not reset", what);
    if (st == EMOTI_OK) emoti_image_free(&im);
}

static void expect_text_error(const char *what, const char *text, emoti_status want,
                              const char *needle) {
    expect_error(what, text, strlen(text), want, needle);
}

static void test_truncation_errors(void) {
    static const char p6[] = "P6 2 2 255\n\x01\x02\x03\x04\x05";
    expect_error("truncated P6", p6, sizeof p6 - 1, EMOTI_ERR_FORMAT,
                 "truncated P6 data: expected 12 bytes, found 5");
    static const char p5_16[] = "P5 2 1 65535\n\x01\x02\x03";
    expect_error("truncated 16-bit P5", p5_16, sizeof p5_16 - 1, EMOTI_ERR_FORMAT,
                 "truncated P5 data: expected 4 bytes, found 3");
    expect_text_error("P6 without raster", "P6 2 2 255", EMOTI_ERR_FORMAT,
                      "truncated P6 data: expected 12 bytes, found 0");
    expect_text_error("P6 only separator", "P6 2 2 255\n", EMOTI_ERR_FORMAT,
                      "truncated P6 data: expected 12 bytes, found 0");
    expect_text_error("truncated P3", "P3 2 2 255\n1 2 3 4 5 6 7\n", EMOTI_ERR_FORMAT,
                      "truncated P3 data: expected 12 samples, found 7");
    expect_text_error("truncated P2", "P2 3 1 255\n1 # two missing\n", EMOTI_ERR_FORMAT,
                      "truncated P2 data: expected 3 samples, found 1");
    expect_text_error("missing width", "P6 # nothing else\n", EMOTI_ERR_FORMAT,
                      "truncated P6 header: missing width");
    expect_text_error("missing height", "P6 2", EMOTI_ERR_FORMAT,
                      "truncated P6 header: missing height");
    expect_text_error("missing maxval", "P5\n2 2\n", EMOTI_ERR_FORMAT,
                      "truncated P5 header: missing maxval");
    expect_text_error("magic only", "P3", EMOTI_ERR_FORMAT, "missing width");
}

static void test_magic_errors(void) {
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F'};
    expect_error("truncated JPEG", jpeg, sizeof jpeg, EMOTI_ERR_FORMAT, "truncated");
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13};
    expect_error("truncated PNG", png, sizeof png, EMOTI_ERR_FORMAT, "PNG");
    expect_text_error("GIF", "GIF89a....", EMOTI_ERR_UNSUPPORTED, "GIF images are not supported (JPEG, PNG");
    expect_text_error("text", "hello world", EMOTI_ERR_FORMAT,
                      "unknown image format (starts with 0x68 0x65");
    expect_text_error("one byte", "x", EMOTI_ERR_FORMAT, "unknown image format (1 byte");
    expect_error("empty", "", 0, EMOTI_ERR_FORMAT, "empty file");
    expect_error("NULL empty", NULL, 0, EMOTI_ERR_FORMAT, "empty file");
    expect_text_error("P9", "P9 1 1 255\n", EMOTI_ERR_FORMAT, "unknown image format");
    expect_text_error("P1", "P1 1 1\n1\n", EMOTI_ERR_UNSUPPORTED, "PBM bitmaps (P1)");
    expect_text_error("P4", "P4 8 1\n\x55", EMOTI_ERR_UNSUPPORTED, "PBM bitmaps (P4)");
    expect_text_error("P7", "P7\nWIDTH 1\n", EMOTI_ERR_UNSUPPORTED, "PAM images (P7)");
    expect_text_error("P62", "P62 2 255\n", EMOTI_ERR_FORMAT, "no whitespace after the magic");
}

static void test_header_value_errors(void) {
    expect_text_error("maxval 0", "P6 1 1 0\n\x01\x02\x03", EMOTI_ERR_FORMAT,
                      "maxval 0 is out of range 1..65535");
    expect_text_error("maxval 65536", "P2 1 1 65536\n1", EMOTI_ERR_FORMAT,
                      "maxval 65536 is out of range 1..65535");
    expect_text_error("maxval huge", "P2 1 1 99999999999999999999\n1", EMOTI_ERR_FORMAT,
                      "(or more) is out of range");
    expect_text_error("0x0", "P6 0 0 255\n", EMOTI_ERR_FORMAT, "image size 0x0 is empty");
    expect_text_error("0x5", "P5 0 5 255\n", EMOTI_ERR_FORMAT, "image size 0x5 is empty");
    expect_text_error("5x0", "P3 5 0 255\n", EMOTI_ERR_FORMAT, "image size 5x0 is empty");
    expect_text_error("too large", "P6 100000 100000 255\n", EMOTI_ERR_FORMAT,
                      "image size 100000x100000 is too large (limit 16777216 pixels)");
    expect_text_error("just over the limit", "P5 16385 16384 255\n", EMOTI_ERR_FORMAT,
                      "too large");
    /* Would overflow 32 bits (and saturates at 2^32-1 per dimension). */
    expect_text_error("overflowing size", "P6 4294967296 4294967297 255\n", EMOTI_ERR_FORMAT,
                      "4294967295x4294967295 is too large");
    expect_text_error("width not a number", "P6 abc 2 255\n", EMOTI_ERR_FORMAT,
                      "bad P6 header: width must be a number, found 'abc'");
    expect_text_error("height with junk", "P6 2 2x 255\n", EMOTI_ERR_FORMAT,
                      "height must be a number, found '2x'");
    expect_text_error("negative width", "P5 -1 2 255\n", EMOTI_ERR_FORMAT,
                      "width must be a number, found '-1'");
    expect_text_error("maxval junk", "P5 1 1 25a5\n", EMOTI_ERR_FORMAT,
                      "maxval must be a number, found '25a5'");
    expect_text_error("long token", "P5 1 1 0123456789abcdefghijklmnop\n", EMOTI_ERR_FORMAT,
                      "found '0123456789abcdef...'");
    static const char binary_tok[] = "P6 \x01\x02 1 255\n";
    expect_error("unprintable token", binary_tok, sizeof binary_tok - 1, EMOTI_ERR_FORMAT,
                 "found '?\?'");
}

static void test_sample_errors(void) {
    expect_text_error("P2 sample > maxval", "P2 2 1 15\n3 16\n", EMOTI_ERR_FORMAT,
                      "bad P2 data: sample 16 at pixel (1, 0) exceeds maxval 15");
    expect_text_error("P3 sample > maxval", "P3 2 2 255\n0 0 0 0 0 0 0 0 0 0 256 0\n",
                      EMOTI_ERR_FORMAT, "sample 256 at pixel (1, 1) exceeds maxval 255");
    expect_text_error("P3 non-numeric sample", "P3 1 1 255\n1 2 x\n", EMOTI_ERR_FORMAT,
                      "bad P3 data: sample 2 must be a number, found 'x'");
    expect_text_error("P2 negative sample", "P2 1 1 255\n-3\n", EMOTI_ERR_FORMAT,
                      "found '-3'");
    static const char p5[] = "P5 2 1 15\n\x0F\xC8";
    expect_error("P5 sample > maxval", p5, sizeof p5 - 1, EMOTI_ERR_FORMAT,
                 "sample 200 at pixel (1, 0) exceeds maxval 15");
    static const char p6[] = "P6 1 1 1000\n\x00\x01\x03\xE9\x00\x00";
    expect_error("16-bit P6 sample > maxval", p6, sizeof p6 - 1, EMOTI_ERR_FORMAT,
                 "sample 1001 at pixel (0, 0) exceeds maxval 1000");
}

static void test_argument_errors(void) {
    emoti_image im;
    CHECK(emoti_image_decode((const uint8_t *)"P5", 2, NULL) == EMOTI_ERR_ARG, "NULL image");
    CHECK(emoti_image_decode(NULL, 5, &im) == EMOTI_ERR_ARG, "NULL data");
    CHECK(emoti_image_load(NULL, &im) == EMOTI_ERR_ARG, "NULL path");
    CHECK(emoti_image_load("x.ppm", NULL) == EMOTI_ERR_ARG, "NULL image for load");
    emoti_image_free(NULL);
    emoti_image empty = {0};
    emoti_image_free(&empty);
}

/* ---- files ---- */

static int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

static void expect_load_error(const char *path, emoti_status want, const char *problem) {
    emoti_image im = {0};
    emoti_status st = emoti_image_load(path, &im);
    const char *msg = emoti_last_error();
    CHECK(st == want, "load %s: status %s, want %s (%s)", path, status_name(st),
          status_name(want), msg);
    CHECK(strncmp(msg, path, strlen(path)) == 0 && msg[strlen(path)] == ':',
          "load %s: message \"%s\" does not start with the path", path, msg);
    CHECK(strstr(msg, problem) != NULL, "load %s: message \"%s\" lacks \"%s\"", path, msg,
          problem);
    CHECK(im.rgb == NULL, "load %s: image not empty", path);
    emoti_image_free(&im);
}

static void test_files(void) {
    char dir[] = "/tmp/emoti_image_XXXXXX";
    char path[256], missing[256], fifo[256], unreadable[256];
    if (!mkdtemp(dir)) {
        CHECK(0, "cannot create a temp dir");
        return;
    }

    /* The example from the API notes, to the letter. */
    snprintf(path, sizeof path, "%s/face.ppm", dir);
    static const char header[] = "P6\n150 150\n255\n";
    uint8_t buf[sizeof header - 1 + 1200];
    memcpy(buf, header, sizeof header - 1);
    memset(buf + sizeof header - 1, 0x42, 1200);
    CHECK(write_file(path, buf, sizeof buf), "write %s", path);
    emoti_image im = {0};
    CHECK(emoti_image_load(path, &im) == EMOTI_ERR_FORMAT, "truncated face.ppm loaded");
    char want[512];
    snprintf(want, sizeof want, "%s: truncated P6 data: expected 67500 bytes, found 1200", path);
    CHECK(strcmp(emoti_last_error(), want) == 0, "message \"%s\", want \"%s\"",
          emoti_last_error(), want);

    /* A good file. */
    snprintf(path, sizeof path, "%s/ok.pgm", dir);
    CHECK(write_file(path, "P2 2 1 255 7 9", 14), "write %s", path);
    CHECK(emoti_image_load(path, &im) == EMOTI_OK && im.width == 2 && im.height == 1 &&
              im.rgb[0] == 7 && im.rgb[5] == 9,
          "load ok.pgm: %s", emoti_last_error());
    emoti_image_free(&im);

    snprintf(path, sizeof path, "%s/empty.ppm", dir);
    CHECK(write_file(path, "", 0), "write %s", path);
    expect_load_error(path, EMOTI_ERR_FORMAT, "empty file");

    snprintf(path, sizeof path, "%s/photo.jpg", dir);
    CHECK(write_file(path, "\xFF\xD8\xFF\xE1", 4), "write %s", path);
    expect_load_error(path, EMOTI_ERR_FORMAT, "photo.jpg: truncated JPEG");

    snprintf(missing, sizeof missing, "%s/no_such.ppm", dir);
    expect_load_error(missing, EMOTI_ERR_IO, "No such file");
    expect_load_error(dir, EMOTI_ERR_IO, "is a directory");

    snprintf(fifo, sizeof fifo, "%s/fifo.ppm", dir);
    if (mkfifo(fifo, 0600) == 0) expect_load_error(fifo, EMOTI_ERR_IO, "not a regular file");

    snprintf(unreadable, sizeof unreadable, "%s/secret.ppm", dir);
    CHECK(write_file(unreadable, "P2 1 1 255 1", 12), "write %s", unreadable);
    chmod(unreadable, 0);
    FILE *f = fopen(unreadable, "rb");
    if (f) {
        fclose(f); /* running as root: permissions do not stop us */
        printf("note: skipped the unreadable-file check (permissions not enforced here)\n");
    } else {
        expect_load_error(unreadable, EMOTI_ERR_IO, "Permission denied");
    }

    static const char *const made[] = {"face.ppm", "ok.pgm", "empty.ppm", "photo.jpg",
                                       "fifo.ppm", "secret.ppm"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, made[i]);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0, "temp dir %s left behind", dir);
}

/* Reads a whole file (test helper; small fixture files). */
static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = buf ? (size_t)n : 0;
    return buf;
}

/* The fixtures are P6 maxval 255 without trailing bytes: the pixels are the file's last
 * width * height * 3 bytes, and load and decode must agree. */
static void check_fixture(const char *path) {
    emoti_image im = {0}, im2 = {0};
    emoti_status st = emoti_image_load(path, &im);
    CHECK(st == EMOTI_OK, "load %s: %s", path, emoti_last_error());
    if (st != EMOTI_OK) return;
    size_t size = 0, n = (size_t)im.width * im.height * 3;
    uint8_t *file = slurp(path, &size);
    CHECK(file && size > n && memcmp(file + size - n, im.rgb, n) == 0,
          "%s: pixels differ from the file's raster", path);
    CHECK(file && emoti_image_decode(file, size, &im2) == EMOTI_OK && im2.width == im.width &&
              im2.height == im.height && memcmp(im2.rgb, im.rgb, n) == 0,
          "%s: decode differs from load", path);
    printf("fixture %s: %dx%d\n", path, im.width, im.height);
    emoti_image_free(&im2);
    emoti_image_free(&im);
    free(file);
}

static void test_fixtures(void) {
    const char *root = getenv("EMOTI_FIXTURES");
    char dir[1024], path[2048];
    snprintf(dir, sizeof dir, "%s/img", root && *root ? root : "../shared/fixtures");
    DIR *d = opendir(dir);
    CHECK(d != NULL, "fixtures dir %s not found (set EMOTI_FIXTURES)", dir);
    if (!d) return;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ppm") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        check_fixture(path);
        found++;
    }
    closedir(d);
    CHECK(found > 0, "no .ppm fixtures in %s", dir);
}

/* emoti_decode_opts.max_pixels: 0 is the default (4096x4096), more than 2^28 acts as 2^28. */
static void test_pixel_limit(void) {
    static const char small[] = "P5 3 2 255\n\1\2\3\4\5\6";
    struct {
        uint64_t max;
        const char *header, *needle; /* NULL: decodes */
    } cases[] = {
        {6, small, NULL},
        {5, small, "bad P5 header: image size 3x2 is too large (limit 5 pixels)"},
        {0, "P5 4097 4096 255\n", "image size 4097x4096 is too large (limit 16777216 pixels)"},
        {(uint64_t)1 << 40, "P5 16385 16384 255\n", "16385x16384 is too large (limit 268435456"},
        {(uint64_t)1 << 40, "P5 16384 16384 255\n", "truncated P5 data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        emoti_decode_opts opts = {cases[i].max};
        emoti_image im;
        size_t n = cases[i].header == small ? sizeof small - 1 : strlen(cases[i].header);
        emoti_status st = emoti_image_decode_opts((const uint8_t *)cases[i].header, n, &opts, &im);
        if (!cases[i].needle) {
            CHECK(st == EMOTI_OK && im.width == 3 && im.height == 2, "limit %d: %s", (int)i,
                  emoti_last_error());
            emoti_image_free(&im);
            continue;
        }
        CHECK(st != EMOTI_OK && strstr(emoti_last_error(), cases[i].needle), "limit %d: \"%s\"",
              (int)i, st ? emoti_last_error() : "decoded");
    }
}

int main(void) {
    test_pixel_limit();
    test_binary_ppm();
    test_ascii_ppm();
    test_maxvals();
    test_scaling_rule();
    test_truncation_errors();
    test_magic_errors();
    test_header_value_errors();
    test_sample_errors();
    test_argument_errors();
    test_files();
    test_fixtures();
    printf("test_image: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
