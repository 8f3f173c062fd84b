/* Annotation and index readers: every line is checked; the first bad one is reported as
 * "file:line: what is wrong". */

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "error.h"
#include "heads.h"

int emoti_annot_cols(int task) {
    return task == EMOTI_TASK_VA ? 2 : task == EMOTI_TASK_EXPR ? 1 : task == EMOTI_TASK_AU ? 12 : 0;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Reads one line (any length) into *buf; strips "\n" and "\r\n". Returns -1 at EOF. */
static long read_line(FILE *f, char **buf, size_t *cap) {
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (n + 2 > *cap) {
            size_t c = *cap ? *cap * 2 : 256;
            char *p = realloc(*buf, c);
            if (!p) return -2;
            *buf = p, *cap = c;
        }
        (*buf)[n++] = (char)ch;
    }
    if (ch == EOF && n == 0) return -1;
    if (!*buf) {
        *buf = malloc(1);
        if (!*buf) return -2;
        *cap = 1;
    }
    if (n && (*buf)[n - 1] == '\r') n--;
    (*buf)[n] = 0;
    return (long)n;
}

static int count_fields(const char *s) {
    int n = 1;
    for (; *s; s++) n += *s == ',';
    return n;
}

/* Parses field text [s, e) as a finite number (surrounding blanks allowed). */
static int parse_num(const char *s, const char *e, double *v) {
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (s == e || e - s > 63) return 0;
    char tmp[64];
    memcpy(tmp, s, (size_t)(e - s));
    tmp[e - s] = 0;
    char *end;
    errno = 0;
    *v = strtod(tmp, &end);
    return *end == 0 && errno == 0 && isfinite(*v);
}

emoti_status emoti_annot_fread(FILE *f, const char *path, int task, emoti_annot_video *out) {
    memset(out, 0, sizeof *out);
    int cols = emoti_annot_cols(task);
    if (!cols) return emoti_fail(EMOTI_ERR_ARG, "unknown annotation task %d", task);
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    long len, lineno = 0;
    emoti_status st = EMOTI_OK;
    int n = 0, blank_at = 0;
    float *values = NULL;
    unsigned char *valid = NULL;
    while ((len = read_line(f, &line, &cap)) >= 0) {
        lineno++;
        if (lineno == 1) {
            int h = count_fields(line);
            /* EXPR headers name the 8 classes over a 1-value column: any count goes. */
            if (len == 0 || (task != EMOTI_TASK_EXPR && h != cols)) {
                st = emoti_fail(EMOTI_ERR_FORMAT, "%s:1: header has %d columns, expected %d for "
                                "%s annotations", path, len ? h : 0, cols, emoti_task_name(task));
                break;
            }
            continue;
        }
        if (len == 0) { /* blank lines are allowed only at the end */
            if (!blank_at) blank_at = (int)lineno;
            continue;
        }
        if (blank_at) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "%s:%d: blank line inside the frame lines", path, blank_at);
            break;
        }
        int got = count_fields(line);
        if (got != cols) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "%s:%ld: %d comma-separated values, expected %d for "
                            "%s", path, lineno, got, cols, emoti_task_name(task));
            break;
        }
        if ((size_t)n == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            float *nv = realloc(values, alloc * (size_t)cols * sizeof *nv);
            if (nv) values = nv;
            unsigned char *nu = nv ? realloc(valid, alloc) : NULL;
            if (nu) valid = nu;
            if (!nv || !nu) {
                st = emoti_fail(EMOTI_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
        }
        const char *s = line;
        int ok = 1;
        for (int c = 0; c < cols && !st; c++) {
            const char *e = strchr(s, ',');
            if (!e) e = s + strlen(s);
            double v;
            if (!parse_num(s, e, &v)) {
                st = emoti_fail(EMOTI_ERR_FORMAT, "%s:%ld: value %d '%.*s' is not a number", path,
                                lineno, c + 1, (int)(e - s > 20 ? 20 : e - s), s);
                break;
            }
            const char *bad = NULL;
            if (task == EMOTI_TASK_EXPR) {
                if (v != floor(v) || v < -1 || v > 7) bad = "an expression class (0..7, -1 invalid)";
                ok = v != -1;
            } else if (task == EMOTI_TASK_AU) {
                if (v != 0 && v != 1 && v != -1) bad = "an AU label (0, 1, -1 invalid)";
                ok = ok && v != -1;
            } else {
                if (v == -5) ok = 0;
                else if (v < -1 || v > 1) bad = "a valence/arousal value ([-1, 1], -5 invalid)";
            }
            if (bad) {
                st = emoti_fail(EMOTI_ERR_FORMAT, "%s:%ld: value %d (%g) is not %s", path, lineno,
                                c + 1, v, bad);
                break;
            }
            values[(size_t)n * (size_t)cols + (size_t)c] = (float)v;
            s = *e ? e + 1 : e;
        }
        if (st) break;
        valid[n++] = (unsigned char)ok;
    }
    if (!st && len == -2) st = emoti_fail(EMOTI_ERR_NOMEM, "%s: out of memory", path);
    if (!st && lineno == 0) st = emoti_fail(EMOTI_ERR_FORMAT, "%s:1: empty file (no header)", path);
    if (!st && ferror(f)) st = emoti_fail(EMOTI_ERR_IO, "%s: read error", path);
    free(line);
    if (st) {
        free(values), free(valid);
        return st;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    out->video = dup_str(base);
    out->path = dup_str(path);
    if (!out->video || !out->path) {
        free(values), free(valid), free(out->video), free(out->path);
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    char *dot = strrchr(out->video, '.');
    if (dot && dot != out->video) *dot = 0;
    out->n_frames = n, out->cols = cols, out->values = values, out->valid = valid;
    return EMOTI_OK;
}

emoti_status emoti_annot_read_file(const char *path, int task, emoti_annot_video *out) {
    memset(out, 0, sizeof *out);
    if (!emoti_annot_cols(task)) return emoti_fail(EMOTI_ERR_ARG, "unknown annotation task %d", task);
    FILE *f;
    if (emoti_file_open(path, 0, &f, NULL)) return EMOTI_ERR_IO; /* the message names the file */
    emoti_status st = emoti_annot_fread(f, path, task, out);
    fclose(f);
    return st;
}

void emoti_annot_video_free(emoti_annot_video *v) {
    free(v->video), free(v->path), free(v->values), free(v->valid);
    memset(v, 0, sizeof *v);
}

void emoti_annot_free(emoti_annot *a) {
    for (int i = 0; i < a->n; i++) emoti_annot_video_free(&a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static int cmp_name(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}
static int cmp_video(const void *x, const void *y) {
    return strcmp(((const emoti_annot_video *)x)->video, ((const emoti_annot_video *)y)->video);
}

emoti_status emoti_annot_read_dir(const char *dir, int task, emoti_annot *out) {
    memset(out, 0, sizeof *out);
    out->task = task;
    DIR *d = opendir(dir);
    if (!d) return emoti_fail(EMOTI_ERR_IO, "%s: cannot open the annotation folder", dir);
    char **names = NULL;
    int n = 0, cap = 0;
    emoti_status st = EMOTI_OK;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".txt")) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(names, (size_t)cap * sizeof *g);
            if (!g) {
                st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
                break;
            }
            names = g;
        }
        if (!(names[n] = dup_str(e->d_name))) {
            st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (!st && n == 0) st = emoti_fail(EMOTI_ERR_FORMAT, "%s: no annotation files (*.txt)", dir);
    if (!st) {
        qsort(names, (size_t)n, sizeof *names, cmp_name);
        out->v = calloc((size_t)n, sizeof *out->v);
        if (!out->v) st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; !st && i < n; i++) {
        char *path = malloc(strlen(dir) + strlen(names[i]) + 2);
        if (!path) {
            st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
            break;
        }
        sprintf(path, "%s/%s", dir, names[i]);
        st = emoti_annot_read_file(path, task, &out->v[i]);
        free(path);
        if (!st) out->n++;
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st) emoti_annot_free(out);
    else qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_video);
    return st;
}

const emoti_annot_video *emoti_annot_find(const emoti_annot *a, const char *video) {
    int lo = 0, hi = a->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(video, a->v[mid].video);
        if (!c) return &a->v[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

long emoti_key_frame(const char *key) {
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    if (*base < '0' || *base > '9') return -1;
    long v = 0;
    for (; *base >= '0' && *base <= '9'; base++) {
        v = v * 10 + (*base - '0');
        if (v > 100000000) return -1;
    }
    if (*base != '.' && *base != 0) return -1;
    return v >= 1 ? v : -1;
}

void emoti_index_free(emoti_index *x) {
    for (long i = 0; i < x->n; i++) free(x->key[i]), free(x->video[i]);
    free(x->key), free(x->video), free(x->frame);
    memset(x, 0, sizeof *x);
}

emoti_status emoti_index_fread(FILE *f, const char *path, emoti_index *out) {
    memset(out, 0, sizeof *out);
    char *line = NULL;
    size_t cap = 0;
    long len, lineno = 0, alloc = 0;
    emoti_status st = EMOTI_OK;
    while ((len = read_line(f, &line, &cap)) >= 0) {
        lineno++;
        if (lineno == 1) {
            if (strncmp(line, "row,key,video,", 14)) {
                st = emoti_fail(EMOTI_ERR_FORMAT, "%s:1: not an emoti extract index (header "
                                "row,key,video,frame,source)", path);
                break;
            }
            continue;
        }
        if (len == 0) continue;
        char *f1 = strchr(line, ','), *f2 = f1 ? strchr(f1 + 1, ',') : NULL,
             *f3 = f2 ? strchr(f2 + 1, ',') : NULL;
        if (!f3) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "%s:%ld: expected row,key,video,frame,source", path, lineno);
            break;
        }
        char *endp;
        long row = strtol(line, &endp, 10);
        if (endp != f1 || row != out->n) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "%s:%ld: row number %.*s, expected %ld", path, lineno,
                            (int)(f1 - line), line, out->n);
            break;
        }
        *f2 = *f3 = 0;
        long frame = emoti_key_frame(f1 + 1);
        if (frame < 0) {
            st = emoti_fail(EMOTI_ERR_FORMAT, "%s:%ld: key '%s' does not end in a frame number "
                            "(<video>/00001.jpg)", path, lineno, f1 + 1);
            break;
        }
        if (out->n == alloc) {
            alloc = alloc ? 2 * alloc : 4096;
            char **k = realloc(out->key, (size_t)alloc * sizeof *k);
            if (k) out->key = k;
            char **v = k ? realloc(out->video, (size_t)alloc * sizeof *v) : NULL;
            if (v) out->video = v;
            long *fr = v ? realloc(out->frame, (size_t)alloc * sizeof *fr) : NULL;
            if (fr) out->frame = fr;
            if (!fr) {
                st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
                break;
            }
        }
        out->key[out->n] = dup_str(f1 + 1);
        out->video[out->n] = dup_str(f2 + 1);
        out->frame[out->n] = frame;
        if (!out->key[out->n] || !out->video[out->n]) {
            free(out->key[out->n]), free(out->video[out->n]);
            st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
            break;
        }
        out->n++;
    }
    if (!st && lineno == 0) st = emoti_fail(EMOTI_ERR_FORMAT, "%s:1: empty index", path);
    free(line);
    if (st) emoti_index_free(out);
    return st;
}

emoti_status emoti_index_read(const char *path, emoti_index *out) {
    memset(out, 0, sizeof *out);
    FILE *f;
    if (emoti_file_open(path, 0, &f, NULL)) return EMOTI_ERR_IO; /* the message names the file */
    emoti_status st = emoti_index_fread(f, path, out);
    fclose(f);
    return st;
}
