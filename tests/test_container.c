/* The container loader against damaged files: every case must be a clear error, no crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "emoti.h"
#include "testutil.h"

static int failures;
static uint8_t *good;
static size_t good_size;

/* A 64-byte aligned copy of the good model with room for extra bytes after it. */
static uint8_t *aligned_copy(size_t extra) {
    uint8_t *p = aligned_alloc(64, (good_size + extra + 63) & ~(size_t)63);
    memcpy(p, good, good_size);
    return p;
}

static void reseal(uint8_t *buf, size_t size) {
    emoti_put_le64(buf + 56, emoti_container_checksum(buf, size));
}

/* Loads buf and expects a failure whose message contains want. */
static void expect_error(const char *what, uint8_t *buf, size_t size, const char *want) {
    emoti_model *m = NULL;
    emoti_status st = emoti_model_from_memory(buf, size, &m);
    const char *msg = emoti_last_error();
    CHECK(st != EMOTI_OK, "%s: accepted", what);
    CHECK(st == EMOTI_OK || strstr(msg, want), "%s: message '%s' lacks '%s'", what, msg, want);
    if (st) printf("ok   %-28s -> %s\n", what, msg);
    emoti_model_close(m);
}

/* The container's fields are little-endian on every host. */
static void put32(uint8_t *p, uint32_t v) { emoti_put_le32(p, v); }
static void put64(uint8_t *p, uint64_t v) { emoti_put_le64(p, v); }
static uint64_t get64(const uint8_t *p) { return emoti_le64(p); }

/* Finds the byte offset of a metadata key's value (just past its type field). */
static size_t meta_value_offset(const uint8_t *buf, const char *key) {
    uint64_t mo = get64(buf + 24), ms = get64(buf + 32);
    size_t klen = strlen(key);
    for (size_t p = mo; p + klen + 8 < mo + ms; p++) {
        uint32_t len = emoti_le32(buf + p);
        if (len == klen && !memcmp(buf + p + 4, key, klen)) return p + 4 + klen + 4;
    }
    return 0;
}

static void damaged_headers(void) {
    uint8_t *b = aligned_copy(0);
    size_t cuts[] = {0, 10, 63, 64, 4096, good_size / 2, good_size - 64};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", cuts[i]);
        expect_error(what, b, cuts[i], cuts[i] < 64 ? "too short" : "truncated");
    }
    memcpy(b, "EMOTIMDX", 8);
    expect_error("wrong magic", b, good_size, "bad magic");
    memcpy(b, good, 64);
    put32(b + 8, 2);
    expect_error("version 2", b, good_size, "version 2");
    memcpy(b, good, 64);
    b[good_size / 2] ^= 0x10;
    expect_error("one flipped data byte", b, good_size, "checksum");
    b[good_size / 2] ^= 0x10;
    put64(b + 24, good_size + 64);
    reseal(b, good_size);
    expect_error("metadata offset past end", b, good_size, "out of bounds");
    memcpy(b, good, 64);
    put64(b + 40, 64);
    reseal(b, good_size);
    expect_error("table inside metadata", b, good_size, "out of bounds");
    memcpy(b, good, 64);
    put32(b + 52, 0);
    reseal(b, good_size);
    expect_error("zero tensors", b, good_size, "tensor count");
    free(b);
}

static void damaged_tables(void) {
    uint8_t *b = aligned_copy(0);
    uint64_t to = get64(b + 40);
    uint32_t name_len = emoti_le32(b + to);
    size_t entry = to + 4 + name_len; /* dtype, ndim, dims..., offset, nbytes */
    uint32_t ndim = emoti_le32(b + entry + 4);
    size_t off_at = entry + 8 + 4 * ndim;
    put64(b + off_at, good_size - 64);
    reseal(b, good_size);
    expect_error("tensor data past the end", b, good_size, "outside the file");
    memcpy(b, good, good_size);
    put32(b + entry + 8, 7);
    reseal(b, good_size);
    expect_error("tensor dim changed", b, good_size, "bytes for");
    memcpy(b, good, good_size);
    put32(b + entry, 2);
    reseal(b, good_size);
    expect_error("dtype 2", b, good_size, "dtype");
    memcpy(b, good, good_size);
    size_t blocks = meta_value_offset(b, "net.blocks");
    CHECK(blocks, "net.blocks not found");
    put32(b + blocks + 4 + 3 * 4, 3); /* block 0 stride */
    reseal(b, good_size);
    expect_error("block stride 3", b, good_size, "inconsistent");
    memcpy(b, good, good_size);
    size_t size_at = meta_value_offset(b, "input.size");
    put64(b + size_at, 100000);
    reseal(b, good_size);
    expect_error("input size 100000", b, good_size, "out of range");
    memcpy(b, good, good_size);
    size_t feat_at = meta_value_offset(b, "net.features");
    put64(b + feat_at, 1000);
    reseal(b, good_size);
    expect_error("features 1000", b, good_size, "wrong shape");
    free(b);
}

/* Random resealed corruption of the metadata and table: must never crash. */
static void random_garbling(void) {
    uint8_t *b = aligned_copy(0);
    uint64_t lo = get64(good + 24), hi = get64(good + 40) + 4096;
    uint32_t seed = 12345;
    int rejected = 0, n = 300;
    for (int i = 0; i < n; i++) {
        memcpy(b + lo, good + lo, hi - lo);
        for (int k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            b[lo + (seed >> 8) % (hi - lo)] ^= (uint8_t)(1u << (seed % 8));
        }
        reseal(b, good_size);
        emoti_model *m = NULL;
        if (emoti_model_from_memory(b, good_size, &m)) rejected++;
        emoti_model_close(m);
    }
    printf("ok   %d random resealed garblings: %d rejected, none crashed\n", n, rejected);
    free(b);
}

static void files(void) {
    emoti_model *m = NULL;
    CHECK(emoti_model_open("/nonexistent/model.emoti", &m) == EMOTI_ERR_IO, "missing file");
    CHECK(strstr(emoti_last_error(), "/nonexistent/model.emoti"), "path not named");
    CHECK(emoti_model_open("/tmp", &m) == EMOTI_ERR_IO, "directory");
    CHECK(strstr(emoti_last_error(), "directory"), "directory not said: %s", emoti_last_error());
    uint8_t *b = aligned_copy(64);
    CHECK(emoti_model_from_memory(b + 1, good_size, &m) == EMOTI_ERR_ARG, "unaligned buffer");
    CHECK(emoti_model_from_memory(b, good_size, &m) == EMOTI_OK, "good model: %s",
          emoti_last_error());
    emoti_model_close(m);
    free(b);
}

int main(void) {
    require_fixtures();
    char path[512];
    snprintf(path, sizeof path, "%s/b0_8_pt.emoti", models_dir());
    good = read_file(path, &good_size);
    if (!good) {
        printf("FAIL: %s missing (tests/run.sh converts it)\n", path);
        return 1;
    }
    files();
    damaged_headers();
    damaged_tables();
    random_garbling();
    free(good);
    printf("%s\n", failures ? "FAILED" : "all container cases ok");
    return failures != 0;
}
