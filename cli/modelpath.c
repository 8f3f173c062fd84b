/* Where the command line finds a model when no -m is given. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

static const char LOCAL[] = DEFAULT_MODEL;
static const char INSTALLED[] = INSTALLED_MODEL;
/* Its own object: a -m naming the same path is a different pointer, so only the failed lookup
 * is reported as one. */
static const char NOT_FOUND[] = DEFAULT_MODEL;

const char *default_model(void) {
    const char *env = getenv("EMOTI_MODEL");
    if (env && *env) return env; /* chosen by the user: used (and reported) even if missing */
    if (access(LOCAL, F_OK) == 0) return LOCAL;
    if (access(INSTALLED, F_OK) == 0) return INSTALLED;
    return NOT_FOUND;
}

int default_model_missing(const char *model) {
    if (model != NOT_FOUND) return 0;
    fprintf(stderr,
            "emoti: no model: no -m given, $EMOTI_MODEL not set, no ./%s, no %s; get the models with "
            "'make weights' in the emoti sources (offline: 'make weights SRC=DIR' converts the "
            ".pt/.onnx files in DIR), then 'make install', or pass -m FILE\n",
            LOCAL, INSTALLED);
    return 1;
}
