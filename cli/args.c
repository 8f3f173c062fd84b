/* Option values shared by the commands: tasks, integers, numbers, weight lists. */
#include <stdlib.h>

#include "cli.h"

int parse_task(const char *cmd, const char *s) {
    int t = emoti_task_parse(s);
    if (t < 0) cli_usage_error(cmd, "unknown task '%s' (va, expr or au)", s);
    return t;
}

int parse_int_arg(const char *cmd, const char *opt, const char *v, int lo, int hi) {
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi)
        cli_usage_error(cmd, "%s expects an integer in %d..%d, not '%s'", opt, lo, hi, v);
    return (int)x;
}

double parse_double_arg(const char *cmd, const char *opt, const char *v, double lo, double hi) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        cli_usage_error(cmd, "%s expects a number in [%g, %g], not '%s'", opt, lo, hi, v);
    return x;
}

void parse_weights(const char *cmd, const char *s, double *w, int n) {
    int got = 0;
    for (const char *p = s; *p && got < n + 1;) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || (*end && *end != ',') || !(x >= 0))
            cli_usage_error(cmd, "--weights expects numbers like 0.6,0.4");
        if (got < n) w[got] = x;
        got++;
        p = *end ? end + 1 : end;
    }
    if (got != n) cli_usage_error(cmd, "%d weights for %d heads", got, n);
}

int cli_ok(emoti_status st) {
    if (st) cli_say("%s", emoti_last_error());
    return !st;
}

static long gcd(long a, long b) { return b ? gcd(b, a % b) : a; }

void parse_rate(const char *cmd, const char *v, int *num, int *den) {
    char *end;
    double x = strtod(v, &end), d = 1;
    int ratio = end != v && *end == '/';
    if (ratio) {
        const char *p = end + 1;
        d = strtod(p, &end);
        if (end == p) d = -1;
    }
    int whole = x == (double)(long)x && d == (double)(long)d;
    if (end == v || *end || !(x > 0 && x <= 1e6) || !(d >= 1 && d <= 1e6) || (ratio && !whole))
        cli_usage_error(cmd, "--fps expects a frame rate like 25, 29.97 or 30000/1001, not '%s'", v);
    long n = ratio ? (long)x : (long)(x * 1000 + 0.5), m = ratio ? (long)d : 1000; /* to 1/1000 */
    long g = gcd(n, m);
    if (n / g < 1) cli_usage_error(cmd, "--fps %s is out of range", v);
    *num = (int)(n / g), *den = (int)(m / g);
}
