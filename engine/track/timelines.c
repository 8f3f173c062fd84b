/* Per-track timelines (emoti.h, "Tracking"): track id -> an emoti_timeline fed that track's
 * frames, missed frames pushed without a face when the next face comes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "error.h"

enum { SLOT_FREE, SLOT_LIVE, SLOT_ENDED };

typedef struct {
    int64_t id;
    long first, next;   /* the track's first frame; the frame its next push is */
    int state, finished; /* finished: emoti_timeline_finish done (ended: at its last row) */
    emoti_timeline *tl; /* kept when free, for the next track */
} slot;

struct emoti_track_timelines {
    const emoti_head *heads[EMOTI_TIMELINE_MAX_HEADS];
    int n_heads, n_slots, cursor;
    emoti_info model;
    int has_model;
    emoti_timeline_config cfg;
    slot s[];
};

static emoti_status new_timeline(emoti_track_timelines *tt, emoti_timeline **out) {
    return emoti_timeline_create(tt->heads, tt->n_heads, tt->has_model ? &tt->model : NULL,
                                 &tt->cfg, out);
}

emoti_status emoti_track_timelines_create(const emoti_head *const *heads, int n_heads,
                                          const emoti_info *model,
                                          const emoti_timeline_config *config, int max_tracks,
                                          emoti_track_timelines **out) {
    *out = NULL;
    if (max_tracks < 1 || max_tracks > 1024 || n_heads < 0 || n_heads > EMOTI_TIMELINE_MAX_HEADS)
        return emoti_fail(EMOTI_ERR_ARG, "track timelines: max_tracks 1..1024, heads 0..%d",
                          EMOTI_TIMELINE_MAX_HEADS);
    int n = 2 * max_tracks;
    emoti_track_timelines *tt = calloc(1, sizeof *tt + (size_t)n * sizeof(slot));
    if (!tt) return emoti_fail(EMOTI_ERR_NOMEM, "track timelines: out of memory");
    for (int i = 0; i < n_heads; i++) tt->heads[i] = heads[i];
    tt->n_heads = n_heads, tt->n_slots = n;
    if (model) tt->model = *model, tt->has_model = 1;
    if (config) tt->cfg = *config;
    else emoti_timeline_config_init(&tt->cfg);
    /* The first timeline now: the settings' errors come from here, not from a push. */
    emoti_status st = new_timeline(tt, &tt->s[0].tl);
    if (st) return free(tt), st;
    *out = tt;
    return EMOTI_OK;
}

void emoti_track_timelines_free(emoti_track_timelines *tt) {
    if (!tt) return;
    for (int i = 0; i < tt->n_slots; i++) emoti_timeline_free(tt->s[i].tl);
    free(tt);
}

static slot *find(emoti_track_timelines *tt, int64_t id) {
    for (int i = 0; i < tt->n_slots; i++)
        if (tt->s[i].state == SLOT_LIVE && tt->s[i].id == id) return &tt->s[i];
    return NULL;
}

/* A free slot with its timeline ready (a kept one reset, else a new one), or NULL. */
static emoti_status claim(emoti_track_timelines *tt, slot **out) {
    slot *pick = NULL;
    for (int i = 0; i < tt->n_slots && !(pick && pick->tl); i++)
        if (tt->s[i].state == SLOT_FREE && (!pick || tt->s[i].tl)) pick = &tt->s[i];
    if (!pick)
        return emoti_fail(EMOTI_ERR_ARG, "track timelines: more than %d tracks at once (take "
                          "the rows of ended tracks first)", tt->n_slots / 2);
    if (pick->tl) emoti_timeline_reset(pick->tl);
    else {
        emoti_status st = new_timeline(tt, &pick->tl);
        if (st) return st;
    }
    *out = pick;
    return EMOTI_OK;
}

emoti_status emoti_track_timelines_push(emoti_track_timelines *tt, int64_t id, long frame,
                                        const emoti_result *result, const float *embedding) {
    if (id <= 0 || frame < 0) return emoti_fail(EMOTI_ERR_ARG, "track timelines: bad id or frame");
    slot *s = find(tt, id);
    if (!s) {
        emoti_status st = claim(tt, &s);
        if (st) return st;
        s->id = id, s->first = s->next = frame, s->state = SLOT_LIVE, s->finished = 0;
    }
    if (frame < s->next)
        return emoti_fail(EMOTI_ERR_ARG, "track %lld: frame %ld after frame %ld",
                          (long long)id, frame, s->next - 1);
    for (; s->next < frame; s->next++) {
        emoti_status st = emoti_timeline_push(s->tl, NULL, NULL);
        if (st) return st;
    }
    s->next++;
    return emoti_timeline_push(s->tl, result, embedding);
}

/* The timeline is finished once its waiting rows are taken (emoti_track_timelines_next), so
 * that a track may end before or after the rows of its last frame are taken. */
emoti_status emoti_track_timelines_end(emoti_track_timelines *tt, int64_t id) {
    slot *s = find(tt, id);
    if (s) s->state = SLOT_ENDED;
    return EMOTI_OK;
}

emoti_status emoti_track_timelines_finish(emoti_track_timelines *tt) {
    for (int i = 0; i < tt->n_slots; i++)
        if (tt->s[i].state == SLOT_LIVE) {
            emoti_status st = emoti_track_timelines_end(tt, tt->s[i].id);
            if (st) return st;
        }
    return EMOTI_OK;
}

int emoti_track_timelines_next(emoti_track_timelines *tt, int64_t *id, emoti_timeline_row *row) {
    for (int k = 0; k < tt->n_slots; k++) {
        slot *s = &tt->s[(tt->cursor + k) % tt->n_slots];
        if (s->state == SLOT_FREE) continue;
        int got = emoti_timeline_next(s->tl, row);
        if (!got && s->state == SLOT_ENDED && !s->finished) {
            s->finished = 1; /* fails only out of memory: the track's last rows are lost */
            if (!emoti_timeline_finish(s->tl)) got = emoti_timeline_next(s->tl, row);
        }
        if (got) {
            tt->cursor = (int)(s - tt->s);
            row->frame += s->first;
            *id = s->id;
            return 1;
        }
        if (s->state == SLOT_ENDED) s->state = SLOT_FREE;
    }
    return 0;
}

/* Every track's timeline has the same heads and settings: slot 0's always exists. */
const emoti_timeline *emoti_track_timelines_template(const emoti_track_timelines *tt) {
    return tt->s[0].tl;
}
