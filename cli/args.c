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
    if (st) fprintf(stderr, "emoti: %s\n", emoti_last_error());
    return !st;
}
