/* Output files written whole or not at all (emoti.h). Each file is written to a temporary of a
 * unique name, created exclusively next to it (so never through a planted symlink, and never
 * shared with a concurrent run), and renamed over the target once complete. */
#define _DEFAULT_SOURCE /* flock */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

/* The temporaries open now, for emoti_outfile_remove_all (a signal handler): slots taken and
 * released with atomic exchanges, never locked. A file beyond the slots still works; an
 * interrupt only leaves its temporary behind. */
#define SLOTS 64
static _Atomic(char *) open_parts[SLOTS];

static int slot_take(char *part) { /* the slot + 1, 0: none free */
    for (int i = 0; i < SLOTS; i++) {
        char *none = NULL;
        if (atomic_compare_exchange_strong(&open_parts[i], &none, part)) return i + 1;
    }
    return 0;
}

static void slot_release(emoti_outfile *o) {
    if (o->slot > 0) atomic_store(&open_parts[o->slot - 1], NULL);
    o->slot = 0;
}

void emoti_outfile_remove_all(void) {
    for (int i = 0; i < SLOTS; i++) {
        char *p = atomic_exchange(&open_parts[i], NULL);
        if (p) unlink(p);
    }
}

static emoti_status cannot_write(const char *path, int err) {
    return emoti_fail(EMOTI_ERR_IO, "%s: cannot write (%s)", path, strerror(err));
}

/* Six name characters; uniqueness comes from O_EXCL, these only make a clash unlikely. */
static void random_name(char *s) {
    static _Atomic uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec << 30 ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 40) +
                 atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15u;
    x ^= x >> 31, x *= 0xbf58476d1ce4e5b9u, x ^= x >> 29; /* splitmix64's mix */
    for (int i = 0; i < 6; i++, x >>= 5) s[i] = "abcdefghijklmnopqrstuvwxyz012345"[x & 31];
}

emoti_status emoti_outfile_open(emoti_outfile *o, const char *path) {
    memset(o, 0, sizeof *o);
    struct stat sb;
    if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) return emoti_fail(EMOTI_ERR_IO, "%s: is a directory", path);
    size_t n = strlen(path);
    o->path = malloc(2 * n + 15); /* PATH, NUL, PATH.XXXXXX.part, NUL */
    if (!o->path) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    memcpy(o->path, path, n + 1);
    o->part = o->path + n + 1;
    memcpy(o->part, path, n);
    memcpy(o->part + n, ".XXXXXX.part", 13);
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        random_name(o->part + n + 1);
        fd = open(o->part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    int err = errno;
    if (fd >= 0) {
        o->slot = slot_take(o->part);
        if ((o->f = fdopen(fd, "wb"))) return EMOTI_OK;
        err = errno;
        close(fd);
        unlink(o->part);
        slot_release(o);
    }
    free(o->path);
    o->path = o->part = NULL;
    return cannot_write(path, err);
}

/* Flushes, syncs and closes one temporary: 0 or the error. stdio keeps only a flag for a write
 * that failed, not its errno: growing the file by a byte (it is discarded) tells the reason
 * again (EFBIG at a file-size limit, ENOSPC on a full disk), else EIO. */
static int finish(emoti_outfile *o) {
    int err = 0, fd = fileno(o->f);
    struct stat sb;
    if (ferror(o->f)) {
        err = !fstat(fd, &sb) && pwrite(fd, "", 1, sb.st_size) < 0 ? errno : EIO;
    } else if (fflush(o->f) || fsync(fd)) {
        err = errno ? errno : EIO;
    }
    if (fclose(o->f) && !err) err = errno ? errno : EIO;
    o->f = NULL;
    return err;
}

static void release(emoti_outfile *o) {
    if (o->f) fclose(o->f);
    if (o->part) unlink(o->part);
    slot_release(o);
    free(o->path);
    memset(o, 0, sizeof *o);
}

/* Holds an exclusive flock on PATH's folder (so that two runs' sets do not interleave): the fd,
 * or -1 where it cannot be had (the renames then go ahead unlocked). PATH is cut at its last
 * slash for the open, then mended. */
static int lock_folder(char *path) {
    char *slash = strrchr(path, '/');
    if (slash) *slash = 0;
    int fd = open(!slash ? "." : *path ? path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (slash) *slash = '/';
    if (fd >= 0 && flock(fd, LOCK_EX)) close(fd), fd = -1;
    return fd;
}

emoti_status emoti_outfile_commit_set(emoti_outfile *files, int n) {
    int err = 0, bad = -1;
    for (int i = 0; i < n; i++) {
        int e = files[i].f ? finish(&files[i]) : EINVAL;
        if (e && !err) err = e, bad = i;
    }
    int dir = err || n < 1 ? -1 : lock_folder(files[0].path);
    for (int i = 0; i < n && !err; i++)
        if (rename(files[i].part, files[i].path)) err = errno, bad = i;
        else files[i].part = NULL; /* in place: nothing to remove */
    if (dir >= 0) {
        if (!err) fsync(dir);
        close(dir);
    }
    emoti_status st = err == EINVAL && !files[bad].path ? emoti_fail(EMOTI_ERR_ARG, "output file not open")
                      : err ? cannot_write(files[bad].path, err) : EMOTI_OK;
    for (int i = 0; i < n; i++)
        if (files[i].path) release(&files[i]);
    return st;
}

emoti_status emoti_outfile_commit(emoti_outfile *o) { return emoti_outfile_commit_set(o, 1); }

void emoti_outfile_abort(emoti_outfile *o) {
    if (o->path) release(o);
}

emoti_status emoti_outfile_probe(const char *path) {
    emoti_outfile o;
    emoti_status st = emoti_outfile_open(&o, path);
    if (!st) emoti_outfile_abort(&o);
    return st;
}
