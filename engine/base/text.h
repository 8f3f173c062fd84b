/* Short names from numbers without stdio (the freestanding core builds tensor and stage
 * names such as "b3.exp.w" and "stage4" with it). */
#ifndef EMOTI_TEXT_H
#define EMOTI_TEXT_H

#include <stddef.h>

/* prefix, the decimal n (n >= 0), suffix into buf of size bytes, cut to fit, NUL-terminated. */
void emoti_name_num(char *buf, size_t size, const char *prefix, int n, const char *suffix);

#endif
