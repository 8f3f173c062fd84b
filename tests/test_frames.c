/* The video frames API (emoti_frames_*, emoti_y4m_*) through the public header only: a folder
 * of images with gaps in its numbering and a bad frame, Y4M files (rate, count, numbering,
 * a broken stream), inputs it refuses. Writes its inputs to a temporary folder; no fixtures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emoti.h"
#include "testutil.h"

static int failures;

static char dir[64];

static const char *in_dir(const char *name) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
        printf("cannot write %s\n", path);
        exit(1);
    }
}

/* A 2x1 PPM whose first pixel's red is shade, so that each frame can be recognised. */
static void write_ppm(const char *name, int shade) {
    char ppm[32];
    int n = snprintf(ppm, sizeof ppm, "P6\n2 1\n255\n");
    unsigned char px[6] = {(unsigned char)shade, 0, 0, 0, 0, 0};
    memcpy(ppm + n, px, sizeof px);
    write_file(in_dir(name), ppm, (size_t)n + sizeof px);
}

/* A 4x2 4:4:4 stream of frames grey frames of luma 16 + 20 * i (limited range: 0, 23, ...),
 * the last cut short by cut bytes. */
static void write_y4m(const char *name, const char *rate, int frames, int cut) {
    unsigned char buf[1024];
    int n = snprintf((char *)buf, sizeof buf, "YUV4MPEG2 W4 H2 %s C444\n", rate);
    for (int i = 0; i < frames; i++) {
        n += snprintf((char *)buf + n, sizeof buf - (size_t)n, "FRAME\n");
        memset(buf + n, 16 + 20 * i, 8);
        memset(buf + n + 8, 128, 16);
        n += 24;
    }
    write_file(in_dir(name), buf, (size_t)n - (size_t)cut);
}

static void test_folder(void) {
    mkdir(in_dir("gap"), 0755);
    write_ppm("gap/00007.ppm", 70);
    write_ppm("gap/00001.ppm", 10);
    write_ppm("gap/00002.ppm", 20);
    write_file(in_dir("gap/00003.ppm"), "P6\n2 1\n255\n", 11); /* truncated */
    write_ppm("gap/00010.ppm", 100);
    write_file(in_dir("gap/notes.txt"), "not a frame", 11);
    write_ppm("gap/.hidden.ppm", 1);
    emoti_frames *s;
    emoti_status st = emoti_frames_open(in_dir("gap"), &s);
    CHECK(st == EMOTI_OK, "open folder: %s", emoti_last_error());
    if (st) return;
    CHECK(emoti_frames_count(s) == 5, "count %ld", emoti_frames_count(s));
    CHECK(emoti_frames_skippable(s) == 1, "a folder's bad frame is skippable");
    CHECK(emoti_frames_file(s, 4) && !strcmp(emoti_frames_file(s, 4), "00010.ppm"), "file 4");
    CHECK(emoti_frames_file(s, 5) == NULL && emoti_frames_file(s, -1) == NULL, "file out of range");
    int num, den;
    emoti_frames_rate(s, &num, &den);
    CHECK(num == 0 && den == 0, "a folder has no rate: %d/%d", num, den);
    CHECK(emoti_frames_set_rate(s, 0, 1) == EMOTI_ERR_ARG, "rate 0 accepted");
    CHECK(emoti_frames_set_rate(s, 10, 1) == EMOTI_OK, "set rate");
    static const long numbers[] = {1, 2, 3, 7, 10};
    static const int shades[] = {10, 20, -1, 70, 100};
    for (int i = 0; i < 5; i++) {
        emoti_image frame = {0, 0, NULL};
        emoti_frame_info info;
        int done = 1;
        st = emoti_frames_next(s, &frame, &info, &done);
        CHECK(!done, "frame %d: done too early", i);
        CHECK(info.index == i && info.number == numbers[i], "frame %d: index %ld number %ld", i,
              info.index, info.number);
        CHECK(fabs(info.time - (numbers[i] - 1) / 10.0) < 1e-12, "frame %d: time %g", i, info.time);
        char want[16];
        snprintf(want, sizeof want, "%05ld.ppm", numbers[i]);
        CHECK(info.file && !strcmp(info.file, want), "frame %d: file %s", i, info.file ? info.file : "NULL");
        if (shades[i] < 0) {
            CHECK(st == EMOTI_ERR_FORMAT && strstr(emoti_last_error(), "00003.ppm"),
                  "bad frame: %d %s", st, emoti_last_error());
        } else {
            CHECK(st == EMOTI_OK && frame.width == 2 && frame.rgb[0] == shades[i], "frame %d: %s", i,
                  emoti_last_error());
        }
    }
    emoti_image frame;
    int done = 0;
    CHECK(emoti_frames_next(s, &frame, NULL, &done) == EMOTI_OK && done, "end of folder");
    emoti_frames_close(s);
}

/* Names with numbers elsewhere, none, or from 0: the number and the time that follow. */
static void test_folder_names(void) {
    mkdir(in_dir("names"), 0755);
    write_ppm("names/frame_0000.png.ppm", 1); /* the number is before the extension's dot */
    write_ppm("names/clip3_frame2.ppm", 2);
    write_ppm("names/clip3_frame10.ppm", 3);
    emoti_frames *s;
    if (emoti_frames_open(in_dir("names"), &s)) {
        CHECK(0, "open names: %s", emoti_last_error());
        return;
    }
    emoti_frames_set_rate(s, 2, 1);
    static const long numbers[] = {2, 10, 0};
    for (int i = 0; i < 3; i++) {
        emoti_image frame;
        emoti_frame_info info;
        int done;
        CHECK(!emoti_frames_next(s, &frame, &info, &done) && !done, "names %d: %s", i, emoti_last_error());
        CHECK(info.number == numbers[i], "names %d: number %ld", i, info.number);
        CHECK(fabs(info.time - numbers[i] / 2.0) < 1e-12, "0-based names %d: time %g", i, info.time);
    }
    emoti_frames_close(s);
    write_ppm("names/title.ppm", 4); /* one name without a number: times follow the index */
    if (emoti_frames_open(in_dir("names"), &s)) return;
    emoti_frames_set_rate(s, 4, 1);
    for (int i = 0; i < 4; i++) {
        emoti_image frame;
        emoti_frame_info info;
        int done;
        emoti_frames_next(s, &frame, &info, &done);
        CHECK(fabs(info.time - i / 4.0) < 1e-12, "unnumbered folder %d: time %g", i, info.time);
        if (!strcmp(info.file, "title.ppm")) CHECK(info.number == -1, "title: number %ld", info.number);
    }
    emoti_frames_close(s);
}

static void test_y4m(void) {
    write_y4m("clip.y4m", "F30000:1001", 3, 0);
    emoti_frames *s;
    emoti_status st = emoti_frames_open(in_dir("clip.y4m"), &s);
    CHECK(st == EMOTI_OK, "open y4m: %s", emoti_last_error());
    if (st) return;
    int num, den;
    emoti_frames_rate(s, &num, &den);
    CHECK(num == 30000 && den == 1001, "rate %d/%d", num, den);
    CHECK(emoti_frames_count(s) == 3, "count %ld", emoti_frames_count(s));
    CHECK(emoti_frames_skippable(s) == 0, "a Y4M stream is not skippable");
    CHECK(emoti_frames_file(s, 0) == NULL, "a Y4M stream has no files");
    for (int i = 0; i < 3; i++) {
        emoti_image frame;
        emoti_frame_info info;
        int done;
        st = emoti_frames_next(s, &frame, &info, &done);
        CHECK(st == EMOTI_OK && !done, "y4m frame %d: %s", i, emoti_last_error());
        CHECK(info.index == i && info.number == i + 1 && info.file == NULL, "y4m frame %d: %ld %ld", i,
              info.index, info.number);
        CHECK(fabs(info.time - i * 1001 / 30000.0) < 1e-12, "y4m frame %d: time %g", i, info.time);
        int grey = (int)lround((20.0 * i) * 255 / 219);
        CHECK(frame.width == 4 && frame.height == 2 && abs(frame.rgb[0] - grey) <= 1,
              "y4m frame %d: %d, wanted %d", i, frame.rgb[0], grey);
    }
    emoti_image frame;
    int done = 0;
    CHECK(emoti_frames_next(s, &frame, NULL, &done) == EMOTI_OK && done, "end of y4m");
    emoti_frames_close(s);

    write_y4m("cut.y4m", "F25:1", 3, 5);
    if (emoti_frames_open(in_dir("cut.y4m"), &s)) return;
    CHECK(emoti_frames_count(s) == 2, "count of a cut file %ld", emoti_frames_count(s));
    emoti_frame_info info;
    for (int i = 0; i < 2; i++) emoti_frames_next(s, &frame, &info, &done);
    st = emoti_frames_next(s, &frame, &info, &done);
    CHECK(st == EMOTI_ERR_FORMAT && strstr(emoti_last_error(), "frame 2: truncated"), "cut: %s",
          emoti_last_error());
    CHECK(info.index == 2 && fabs(info.time - 2 / 25.0) < 1e-12, "cut frame info %ld %g", info.index,
          info.time);
    st = emoti_frames_next(s, &frame, &info, &done);
    CHECK(st == EMOTI_ERR_FORMAT && info.index == 2, "a broken stream stays broken: %d %ld", st,
          info.index);
    emoti_frames_close(s);

    write_y4m("norate.y4m", "A1:1", 1, 0);
    if (emoti_frames_open(in_dir("norate.y4m"), &s)) return;
    emoti_frames_next(s, &frame, &info, &done);
    CHECK(info.time == -1, "time without a rate: %g", info.time);
    emoti_frames_set_rate(s, 5, 1);
    emoti_frames_rate(s, &num, &den);
    CHECK(num == 5 && den == 1, "set rate on a stream");
    emoti_frames_close(s);
}

/* The Y4M reader on its own, and a full-range stream. */
static void test_y4m_reader(void) {
    const char *path = in_dir("full.y4m");
    static const char data[] = "YUV4MPEG2 W2 H2 F25:1 C420jpeg XCOLORRANGE=FULL\nFRAME\n\x10\x10\x10\x10\x80\x80";
    write_file(path, data, sizeof data - 1);
    FILE *f = fopen(path, "rb");
    emoti_y4m *y;
    emoti_status st = emoti_y4m_open(f, "full.y4m", &y);
    CHECK(st == EMOTI_OK, "y4m open: %s", emoti_last_error());
    if (st) return;
    CHECK(emoti_y4m_frame_index(y) == -1 && emoti_y4m_frame_bytes(y) == 6, "y4m index / bytes");
    emoti_image frame;
    int done;
    CHECK(!emoti_y4m_next(y, &frame, &done) && !done && emoti_y4m_frame_index(y) == 0, "y4m frame");
    CHECK(frame.rgb[0] == 16 && frame.rgb[1] == 16 && frame.rgb[2] == 16, "full-range Y 16 is 16, not %d",
          frame.rgb[0]);
    CHECK(!emoti_y4m_next(y, &frame, &done) && done, "y4m end");
    emoti_y4m_close(y);
    fclose(f);
}

static void expect_refused(const char *input, emoti_status want, const char *text) {
    emoti_frames *s = (emoti_frames *)1;
    emoti_status st = emoti_frames_open(input, &s);
    CHECK(st == want && s == NULL && strstr(emoti_last_error(), text), "%s: status %d, '%s'", input,
          st, emoti_last_error());
}

static void test_refused(void) {
    expect_refused(in_dir("missing.y4m"), EMOTI_ERR_IO, "No such file");
    mkdir(in_dir("empty"), 0755);
    expect_refused(in_dir("empty"), EMOTI_ERR_FORMAT, "no frame images");
    write_file(in_dir("talk.avi"), "RIFF\x10\0\0\0AVI LIST", 16);
    expect_refused(in_dir("talk.avi"), EMOTI_ERR_UNSUPPORTED,
                   "talk.avi: an AVI file, not a YUV4MPEG2 stream: convert it with ffmpeg -i ");
    write_file(in_dir("deep.y4m"), "YUV4MPEG2 W2 H2 C420p10 XYSCSS=420P10\n", 38);
    expect_refused(in_dir("deep.y4m"), EMOTI_ERR_UNSUPPORTED,
                   "deep.y4m: 10-bit Y4M (C420p10) is not supported: convert it to 8 bits with ffmpeg");
    write_file(in_dir("mono16.y4m"), "YUV4MPEG2 W2 H2 Cmono16\n", 24);
    expect_refused(in_dir("mono16.y4m"), EMOTI_ERR_UNSUPPORTED, "-pix_fmt gray -");
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/emoti_frames_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_folder();
    test_folder_names();
    test_y4m();
    test_y4m_reader();
    test_refused();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) printf("could not remove %s\n", dir);
    if (failures) {
        printf("%d frames API failures\n", failures);
        return 1;
    }
    printf("frames API ok\n");
    return 0;
}
