/* Thread-local error messages behind emoti_last_error(). */
#ifndef EMOTI_ERROR_H
#define EMOTI_ERROR_H

#include "emoti.h"

#ifdef EMOTI_NO_MESSAGES
/* Messages compiled out (firmware: no stdio, no thread-local buffer): the status alone, and
 * emoti_last_error() is "". The message's arguments are passed and dropped (the optimiser
 * removes them and their strings). */
static inline emoti_status emoti_fail(emoti_status status, const char *fmt, ...) {
    (void)fmt;
    return status;
}
static inline void emoti_error_prefix(const char *prefix) { (void)prefix; }
#else
/* Records a printf-style message for this thread and returns status, so that failures read
 * `return emoti_fail(EMOTI_ERR_FORMAT, "%s: bad magic", path);` */
emoti_status emoti_fail(emoti_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefixes the current message with "prefix: " (to add a file name from an outer layer). */
void emoti_error_prefix(const char *prefix);
#endif

#endif
