/* Frames of a video: a Y4M stream (file or stdin) or a folder of frame images, one at a time. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "error.h"
#include "image.h" /* emoti_max_pixels */
#include "y4m.h"

#define MAX_FRAME_NUMBER 999999999L

struct emoti_frames {
    char *input;
    const char *name;    /* in messages: the input, or "stdin" for "-" */
    FILE *f;             /* Y4M mode */
    emoti_y4m *y4m;
    emoti_decode_opts opts;
    int broken;          /* a Y4M frame failed: the stream cannot be resynchronised */
    long count;          /* -1 if unknown */
    int rate_num, rate_den;
    char **files;        /* folder mode: entry names in natural order */
    long *numbers;       /* the number in each name, -1 if none */
    long n_files, next;
    int number_base;     /* folder: the number of the first video frame (0 or 1), -1 if some
                          * name has no number (times then follow the index) */
    char *path;          /* folder mode: the current frame's path */
    emoti_image img;
};

/* Natural order: runs of digits compare by value, so frame 10 follows frame 9. */
static int natural_cmp(const void *pa, const void *pb) {
    const char *a = *(char *const *)pa, *b = *(char *const *)pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la, b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++, b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int is_frame_name(const char *name) {
    const char *dot = strrchr(name, '.');
    static const char *const exts[] = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pnm"};
    if (!dot || name[0] == '.') return 0;
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
        if (!strcasecmp(dot, exts[i])) return 1;
    return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The last run of digits before the extension, -1 if there is none (or it is too large). */
static long name_number(const char *name) {
    const char *end = strrchr(name, '.');
    if (!end) end = name + strlen(name);
    while (end > name && !is_digit(end[-1])) end--;
    const char *p = end;
    while (p > name && is_digit(p[-1])) p--;
    if (p == end) return -1;
    long v = 0;
    for (; p < end; p++) {
        v = v * 10 + (*p - '0');
        if (v > MAX_FRAME_NUMBER) return -1;
    }
    return v;
}

static emoti_status add_file(emoti_frames *s, const char *name, long *cap) {
    if (s->n_files == *cap) {
        long grown_cap = *cap ? 2 * *cap : 256;
        char **files = realloc(s->files, (size_t)grown_cap * sizeof *files);
        if (files) s->files = files;
        if (!files) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
        *cap = grown_cap;
    }
    if (!(s->files[s->n_files] = strdup(name))) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    s->n_files++;
    return EMOTI_OK;
}

static void number_frames(emoti_frames *s) {
    s->number_base = 1;
    for (long i = 0; i < s->n_files; i++) {
        s->numbers[i] = name_number(s->files[i]);
        if (s->numbers[i] < 0) s->number_base = -1;
        else if (s->numbers[i] == 0 && s->number_base == 1) s->number_base = 0;
    }
}

static emoti_status open_folder(emoti_frames *s) {
    DIR *d = opendir(s->input);
    if (!d) return emoti_fail(EMOTI_ERR_IO, "%s: %s", s->input, strerror(errno));
    long cap = 0;
    emoti_status st = EMOTI_OK;
    for (struct dirent *e; !st && (e = readdir(d));)
        if (is_frame_name(e->d_name)) st = add_file(s, e->d_name, &cap);
    closedir(d);
    if (st) return st;
    if (s->n_files == 0)
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: no frame images (.jpg .jpeg .png .ppm .pgm .pnm)",
                          s->input);
    qsort(s->files, (size_t)s->n_files, sizeof *s->files, natural_cmp);
    if (!(s->numbers = malloc((size_t)s->n_files * sizeof *s->numbers)))
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    number_frames(s);
    s->count = s->n_files;
    return EMOTI_OK;
}

static emoti_status open_y4m(emoti_frames *s) {
    int is_stdin = !strcmp(s->input, "-");
    s->name = is_stdin ? "stdin" : s->input;
    s->f = is_stdin ? stdin : fopen(s->input, "rb");
    if (!s->f) return emoti_fail(EMOTI_ERR_IO, "%s: %s", s->input, strerror(errno));
    emoti_status st = emoti_y4m_open_as(s->f, s->name, is_stdin ? "INPUT" : s->input,
                                        emoti_max_pixels(&s->opts), &s->y4m);
    if (st) return st;
    emoti_y4m_rate(s->y4m, &s->rate_num, &s->rate_den);
    struct stat sb;
    size_t frame = emoti_y4m_frame_bytes(s->y4m) + 6; /* "FRAME\n" */
    long header = emoti_y4m_header_bytes(s->y4m);
    s->count = !is_stdin && !fstat(fileno(s->f), &sb) && S_ISREG(sb.st_mode) && sb.st_size >= header
                   ? (long)((size_t)(sb.st_size - header) / frame) : -1;
    return EMOTI_OK;
}

emoti_status emoti_frames_open(const char *input, emoti_frames **out) {
    return emoti_frames_open_opts(input, NULL, out);
}

emoti_status emoti_frames_open_opts(const char *input, const emoti_decode_opts *opts,
                                    emoti_frames **out) {
    *out = NULL;
    emoti_frames *s = calloc(1, sizeof *s);
    if (!s || !(s->input = strdup(input))) {
        free(s);
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    s->count = -1;
    if (opts) s->opts = *opts;
    struct stat sb;
    int folder = strcmp(input, "-") && !stat(input, &sb) && S_ISDIR(sb.st_mode);
    emoti_status st = folder ? open_folder(s) : open_y4m(s);
    if (st) {
        emoti_frames_close(s);
        return st;
    }
    *out = s;
    return EMOTI_OK;
}

static double frame_time(const emoti_frames *s, long index, long number) {
    if (s->rate_num <= 0 || s->rate_den <= 0) return -1;
    long position = s->y4m || s->number_base < 0 ? index : number - s->number_base;
    return (double)position * s->rate_den / s->rate_num;
}

static emoti_status next_y4m(emoti_frames *s, emoti_image *frame, emoti_frame_info *info, int *done) {
    long index = emoti_y4m_frame_index(s->y4m) + 1;
    *info = (emoti_frame_info){index, index + 1, NULL, frame_time(s, index, 0)};
    if (s->broken)
        return emoti_fail(EMOTI_ERR_FORMAT, "%s: frame %ld: the stream broke at an earlier frame",
                          s->name, index);
    emoti_status st = emoti_y4m_next(s->y4m, frame, done);
    if (st) s->broken = 1;
    return st;
}

static emoti_status next_image(emoti_frames *s, emoti_image *frame, emoti_frame_info *info, int *done) {
    if (s->next == s->n_files) {
        *done = 1;
        return EMOTI_OK;
    }
    long i = s->next++;
    *info = (emoti_frame_info){i, s->numbers[i], s->files[i], frame_time(s, i, s->numbers[i])};
    emoti_image_free(&s->img);
    free(s->path);
    s->path = malloc(strlen(s->input) + strlen(s->files[i]) + 2);
    if (!s->path) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    sprintf(s->path, "%s/%s", s->input, s->files[i]);
    emoti_status st = emoti_image_load_opts(s->path, &s->opts, &s->img);
    if (st) return st;
    *frame = s->img;
    return EMOTI_OK;
}

emoti_status emoti_frames_next(emoti_frames *s, emoti_image *frame, emoti_frame_info *info, int *done) {
    emoti_frame_info unused;
    *done = 0;
    return (s->y4m ? next_y4m : next_image)(s, frame, info ? info : &unused, done);
}

int emoti_frames_skippable(const emoti_frames *s) { return s->y4m == NULL; }

long emoti_frames_count(const emoti_frames *s) { return s->count; }

void emoti_frames_rate(const emoti_frames *s, int *num, int *den) {
    *num = s->rate_num, *den = s->rate_den;
}

emoti_status emoti_frames_set_rate(emoti_frames *s, int num, int den) {
    if (num <= 0 || den <= 0)
        return emoti_fail(EMOTI_ERR_ARG, "frame rate %d/%d: both must be positive", num, den);
    s->rate_num = num, s->rate_den = den;
    return EMOTI_OK;
}

double emoti_frames_time(const emoti_frames *s, long index) {
    if (index < 0 || (!s->y4m && index >= s->n_files)) return -1;
    return frame_time(s, index, s->y4m ? 0 : s->numbers[index]);
}

const char *emoti_frames_file(const emoti_frames *s, long index) {
    return index >= 0 && index < s->n_files ? s->files[index] : NULL;
}

void emoti_frames_close(emoti_frames *s) {
    if (!s) return;
    emoti_y4m_close(s->y4m);
    if (s->f && s->f != stdin) fclose(s->f);
    for (long i = 0; i < s->n_files; i++) free(s->files[i]);
    free(s->files);
    free(s->numbers);
    free(s->path);
    emoti_image_free(&s->img);
    free(s->input);
    free(s);
}
