/* Frame sources for `video` and `extract`: a Y4M stream or a folder of frame images. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "y4m.h"

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

static int open_folder(frame_source *s) {
    DIR *d = opendir(s->input);
    if (!d) {
        perror(s->input);
        return 0;
    }
    int cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_frame_name(e->d_name)) continue;
        if (s->n_files == cap) {
            cap = cap ? 2 * cap : 256;
            char **grown = realloc(s->files, (size_t)cap * sizeof *grown);
            if (!grown) break;
            s->files = grown;
        }
        if (!(s->files[s->n_files] = strdup(e->d_name))) break;
        s->n_files++;
    }
    closedir(d);
    qsort(s->files, (size_t)s->n_files, sizeof *s->files, natural_cmp);
    s->total = s->n_files;
    if (s->n_files == 0) fprintf(stderr, "emoti: %s: no frame images (.jpg .png .ppm .pgm)\n", s->input);
    return s->n_files > 0;
}

static int open_y4m(frame_source *s) {
    s->f = strcmp(s->input, "-") ? fopen(s->input, "rb") : stdin;
    if (!s->f) {
        perror(s->input);
        return 0;
    }
    if (emoti_y4m_open(s->f, strcmp(s->input, "-") ? s->input : "stdin", &s->y4m)) {
        fprintf(stderr, "emoti: %s\n", emoti_last_error());
        return 0;
    }
    struct stat sb;
    size_t bytes = emoti_y4m_frame_bytes(s->y4m) + 6; /* "FRAME\n" */
    s->total = s->f != stdin && !fstat(fileno(s->f), &sb) && S_ISREG(sb.st_mode)
                   ? (long)((size_t)sb.st_size / bytes) : -1;
    return 1;
}

int source_open(frame_source *s, const char *input) {
    memset(s, 0, sizeof *s);
    s->input = input;
    struct stat sb;
    if (strcmp(input, "-") && !stat(input, &sb) && S_ISDIR(sb.st_mode)) return open_folder(s);
    return open_y4m(s);
}

int source_next(frame_source *s, emoti_image *frame, row_key *key) {
    if (s->y4m) {
        int done;
        if (emoti_y4m_next(s->y4m, frame, &done)) {
            fprintf(stderr, "emoti: %s\n", emoti_last_error());
            return -1;
        }
        *key = (row_key){emoti_y4m_frame_index(s->y4m), s->input};
        return !done;
    }
    if (s->next == s->n_files) return 0;
    emoti_image_free(&s->img);
    free(s->path);
    const char *name = s->files[s->next];
    *key = (row_key){s->next++, name};
    s->path = malloc(strlen(s->input) + strlen(name) + 2);
    if (!s->path) return -1;
    sprintf(s->path, "%s/%s", s->input, name);
    if (emoti_image_load(s->path, &s->img)) {
        fprintf(stderr, "emoti: %s\n", emoti_last_error());
        return -1;
    }
    *frame = s->img;
    return 1;
}

void source_close(frame_source *s) {
    emoti_y4m_close(s->y4m);
    if (s->f && s->f != stdin) fclose(s->f);
    for (int i = 0; i < s->n_files; i++) free(s->files[i]);
    free(s->files);
    free(s->path);
    emoti_image_free(&s->img);
}

double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress(int done, long total, double start, double *last, int final) {
    double now = seconds();
    if (!final && now - *last < 0.2) return;
    *last = now;
    double fps = done / (now - start > 1e-9 ? now - start : 1e-9);
    fprintf(stderr, "\rframes %d", done);
    if (total > 0) fprintf(stderr, "/%ld", total);
    fprintf(stderr, "  %.1f fps", fps);
    if (total > done && fps > 0) {
        long eta = (long)((total - done) / fps);
        fprintf(stderr, "  ETA %ld:%02ld", eta / 60, eta % 60);
    }
    fprintf(stderr, final ? "\n" : "   ");
}
