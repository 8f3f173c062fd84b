/* Thread-local error messages behind emoti_last_error(). */
#ifndef EMOTI_ERROR_H
#define EMOTI_ERROR_H

#include "emoti.h"

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
