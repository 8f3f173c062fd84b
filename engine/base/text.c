#include "text.h"

void emoti_name_num(char *buf, size_t size, const char *prefix, int n, const char *suffix) {
    char digits[12];
    int nd = 0;
    do digits[nd++] = (char)('0' + n % 10), n /= 10;
    while (n > 0 && nd < (int)sizeof digits);
    size_t k = 0;
    for (; *prefix && k + 1 < size; prefix++) buf[k++] = *prefix;
    while (nd > 0 && k + 1 < size) buf[k++] = digits[--nd];
    for (; *suffix && k + 1 < size; suffix++) buf[k++] = *suffix;
    if (size) buf[k] = 0;
}
