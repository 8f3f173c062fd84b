/* Output files written whole or not at all (emoti.h): PATH.part, renamed over PATH once it is
 * complete, so a reader never sees half a file and a failure leaves PATH as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

static emoti_status cannot_write(const char *path, int err) {
    return emoti_fail(EMOTI_ERR_IO, "%s: cannot write (%s)", path, strerror(err));
}

emoti_status emoti_outfile_open(emoti_outfile *o, const char *path) {
    memset(o, 0, sizeof *o);
    struct stat sb;
    if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) return emoti_fail(EMOTI_ERR_IO, "%s: is a directory", path);
    size_t n = strlen(path);
    o->path = malloc(2 * n + 7); /* PATH, NUL, PATH.part, NUL */
    if (!o->path) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    memcpy(o->path, path, n + 1);
    o->part = o->path + n + 1;
    memcpy(o->part, path, n);
    memcpy(o->part + n, ".part", 6);
    if (!(o->f = fopen(o->part, "wb"))) {
        emoti_status st = cannot_write(path, errno);
        free(o->path);
        o->path = NULL;
        return st;
    }
    return EMOTI_OK;
}

emoti_status emoti_outfile_commit(emoti_outfile *o) {
    if (!o->f) return emoti_fail(EMOTI_ERR_ARG, "output file not open");
    errno = 0;
    int err = ferror(o->f) ? (errno ? errno : EIO) : 0;
    if (fclose(o->f) && !err) err = errno ? errno : EIO;
    o->f = NULL;
    if (!err && rename(o->part, o->path)) err = errno;
    emoti_status st = err ? cannot_write(o->path, err) : EMOTI_OK;
    if (err) remove(o->part);
    free(o->path);
    o->path = o->part = NULL;
    return st;
}

void emoti_outfile_abort(emoti_outfile *o) {
    if (o->f) fclose(o->f), remove(o->part);
    free(o->path);
    memset(o, 0, sizeof *o);
}

emoti_status emoti_outfile_probe(const char *path) {
    emoti_outfile o;
    emoti_status st = emoti_outfile_open(&o, path);
    if (!st) emoti_outfile_abort(&o);
    return st;
}
