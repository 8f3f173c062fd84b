#include "error.h"

#ifdef EMOTI_NO_MESSAGES
const char *emoti_last_error(void) { return ""; }
#else
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[512];

const char *emoti_last_error(void) { return last_error; }

/* src into last_error with control characters as \u00XX (as the writers escape file names),
 * so that a message stays one line whatever file name it quotes. */
static void set_escaped(const char *src) {
    size_t n = 0;
    for (; *src && n + 7 < sizeof last_error; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch < 0x20 || ch == 0x7f) n += (size_t)snprintf(last_error + n, 7, "\\u%04x", ch);
        else last_error[n++] = (char)ch;
    }
    last_error[n] = 0;
}

emoti_status emoti_fail(emoti_status status, const char *fmt, ...) {
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_escaped(msg);
    return status;
}

void emoti_error_prefix(const char *prefix) {
    char msg[2 * sizeof last_error];
    /* at most half the room for the prefix, to keep the message */
    snprintf(msg, sizeof msg, "%.*s: %s", (int)(sizeof last_error / 2), prefix, last_error);
    set_escaped(msg);
}
#endif
