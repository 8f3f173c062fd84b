/* Input files (emoti.h): a regular file, or the stream "-" for the readers that take one. A
 * FIFO, device or socket where a file is expected would block or never end, so it is refused
 * before the first read; opening is non-blocking, so even a FIFO without a writer returns. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "infile.h"

emoti_status emoti_file_fd(const char *path, size_t max, int *fd, size_t *size) {
    *fd = -1;
    int d = open(path, O_RDONLY | O_NONBLOCK);
    if (d < 0) return emoti_fail(EMOTI_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat sb;
    emoti_status st = EMOTI_OK;
    int flags = fcntl(d, F_GETFL);
    if (fstat(d, &sb) || flags < 0 || fcntl(d, F_SETFL, flags & ~O_NONBLOCK))
        st = emoti_fail(EMOTI_ERR_IO, "%s: %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode)) st = emoti_fail(EMOTI_ERR_IO, "%s: is a directory, not a file", path);
    else if (!S_ISREG(sb.st_mode))
        st = emoti_fail(EMOTI_ERR_IO, "%s: not a regular file (a %s)", path,
                        S_ISFIFO(sb.st_mode) ? "FIFO" : S_ISSOCK(sb.st_mode) ? "socket" : "device");
    else if (max && (unsigned long long)sb.st_size > max)
        st = emoti_fail(EMOTI_ERR_IO, "%s: too large (%lld bytes, at most %zu)", path,
                        (long long)sb.st_size, max);
    else if ((unsigned long long)sb.st_size >= SIZE_MAX)
        st = emoti_fail(EMOTI_ERR_IO, "%s: too large (%lld bytes)", path, (long long)sb.st_size);
    if (st) {
        close(d);
        return st;
    }
    *fd = d;
    if (size) *size = (size_t)sb.st_size;
    return EMOTI_OK;
}

emoti_status emoti_file_open(const char *path, size_t max, FILE **f, size_t *size) {
    int fd;
    *f = NULL;
    emoti_status st = emoti_file_fd(path, max, &fd, size);
    if (st) return st;
    if (!(*f = fdopen(fd, "rb"))) {
        st = emoti_fail(EMOTI_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return st;
}

/* The bytes of an open stream, at most max; a file grown since fstat is cut at max. */
static emoti_status read_all(FILE *f, const char *path, size_t max, size_t hint, unsigned char **buf,
                             size_t *size) {
    size_t cap = hint + 1, n = 0;
    unsigned char *b = NULL;
    for (;;) {
        if (n == cap || !b) {
            if (b) cap = cap > max / 2 ? max + 1 : 2 * cap;
            /* 64-byte aligned (the head loader's weights) with 63 spare bytes. */
            unsigned char *p = aligned_alloc(64, (cap + 63) / 64 * 64);
            if (!p) {
                free(b);
                return emoti_fail(EMOTI_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
            }
            if (b) memcpy(p, b, n);
            free(b);
            b = p;
        }
        size_t want = cap - n, got = fread(b + n, 1, want, f);
        n += got;
        if (got < want) break;
        if (n > max) {
            free(b);
            return emoti_fail(EMOTI_ERR_IO, "%s: more than %zu bytes", path, max);
        }
    }
    if (ferror(f)) {
        int err = errno;
        free(b);
        return emoti_fail(EMOTI_ERR_IO, "%s: read error: %s", path, strerror(err));
    }
    *buf = b, *size = n;
    return EMOTI_OK;
}

emoti_status emoti_file_read(const char *path, size_t max, unsigned char **buf, size_t *size) {
    *buf = NULL, *size = 0;
    size_t lim = max ? max : SIZE_MAX - 64;
    if (!strcmp(path, "-")) return read_all(stdin, "stdin", lim, 1 << 16, buf, size);
    FILE *f;
    size_t hint;
    emoti_status st = emoti_file_open(path, max, &f, &hint);
    if (st) return st;
    st = read_all(f, path, lim, hint, buf, size);
    fclose(f);
    return st;
}
