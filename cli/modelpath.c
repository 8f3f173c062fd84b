/* Where the command line finds a model or a detector when none is given: one lookup for both. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

typedef struct {
    const char *env, *local, *installed, *what, *opt;
    const char *not_found; /* its own object: the same path given as an option is another pointer */
} lookup;

static const char MODEL_MISSING[] = DEFAULT_MODEL, DETECTOR_MISSING[] = DEFAULT_DETECTOR;
static const lookup MODEL = {"EMOTI_MODEL", DEFAULT_MODEL, INSTALLED_MODEL, "model", "-m", MODEL_MISSING};
static const lookup DETECTOR = {"EMOTI_DETECTOR", DEFAULT_DETECTOR, INSTALLED_DETECTOR, "detector",
                                "-d", DETECTOR_MISSING};

static const char *find(const lookup *l) {
    const char *env = getenv(l->env);
    if (env && *env) return env; /* chosen by the user: used (and reported) even if missing */
    if (access(l->local, F_OK) == 0) return l->local;
    if (access(l->installed, F_OK) == 0) return l->installed;
    return l->not_found;
}

static int missing(const lookup *l, const char *path) {
    if (path != l->not_found) return 0;
    fprintf(stderr,
            "emoti: no %s: no %s given, $%s not set, no ./%s, no %s; get the models with "
            "'make weights' in the emoti sources (offline: 'make weights SRC=DIR' converts the "
            "files in DIR), then 'make install', or pass %s FILE\n",
            l->what, l->opt, l->env, l->local, l->installed, l->opt);
    return 1;
}

const char *default_model(void) { return find(&MODEL); }
int default_model_missing(const char *model) { return missing(&MODEL, model); }
const char *default_detector(void) { return find(&DETECTOR); }
int default_detector_missing(const char *det) { return missing(&DETECTOR, det); }
