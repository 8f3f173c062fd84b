/* emoti_share_run (engine/net/share.c): every unit done exactly once, in chunks of at most `chunk`
 * units that start a whole number of chunks past their share's start; with thread 0 held back, the
 * others take over part of its share. Without OpenMP: one call over the whole loop. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "share.h"
#include "testutil.h"

#define MAX_UNITS 5000

typedef struct {
    size_t n, per, chunk;
    int slow;                /* thread 0 waits for another thread to take from its share */
    int taken;               /* another thread did a unit of share 0 */
    int done[MAX_UNITS];     /* times each unit was done */
    int by[MAX_UNITS];       /* the thread that did it */
    int calls, bad_calls;
} record;

static int thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static void mark(void *ctx, size_t u0, size_t count) {
    record *r = ctx;
    const int t = thread_num();
    const size_t start = r->per ? u0 / r->per * r->per : 0;
    int bad = count == 0 || count > r->chunk || u0 + count > r->n || (u0 - start) % r->chunk;
#ifdef _OPENMP
#pragma omp atomic
    r->calls++;
    if (bad) {
#pragma omp atomic
        r->bad_calls++;
    }
#else
    r->calls++, r->bad_calls += bad;
#endif
    for (size_t u = u0; u < u0 + count && u < r->n; u++) {
#ifdef _OPENMP
#pragma omp atomic
#endif
        r->done[u]++;
        r->by[u] = t;
        if (t != 0 && u < r->per) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            r->taken = 1;
        }
    }
    /* Thread 0, slowed, waits (up to 2 s, once) until another thread has taken part of its share:
     * deterministic however the threads are scheduled, and it fails if nobody steals. */
    static int gave_up;
    for (int i = 0; r->slow && t == 0 && !gave_up; i++) {
        int taken;
#ifdef _OPENMP
#pragma omp atomic read
#endif
        taken = r->taken;
        if (taken) break;
        if (i == 2000) gave_up = 1;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

int main(void) {
    int failures = 0;
    static record r;
#ifndef _OPENMP
    r = (record){.n = 1000, .chunk = 16};
    emoti_share_run(4, 1000, 16, 16, mark, &r);
    CHECK(r.calls == 1 && r.done[0] == 1 && r.done[999] == 1, "serial build: %d calls", r.calls);
    printf("%s serial build: one call over the loop\n", failures ? "FAIL" : "ok");
    return failures ? 1 : 0;
#else
    srand(7);
    int cases = 0, stolen_cases = 0;
    for (int c = 0; c < 400; c++) {
        const int threads = 2 + rand() % 5, align = rand() % 2 ? 16 : 1;
        const size_t n = c < 8 ? (size_t)c : (size_t)(rand() % MAX_UNITS);
        const size_t chunk = (size_t)align * (1 + (size_t)(rand() % 8));
        const size_t per = ((n + align - 1) / align + threads - 1) / threads * align;
        r = (record){.n = n, .per = per, .chunk = chunk, .slow = c % 4 == 3 && per >= 2 * chunk && n > per};
        emoti_share_run(threads, n, (size_t)align, chunk, mark, &r);
        int missed = 0, stolen = 0;
        for (size_t u = 0; u < n; u++) {
            missed += r.done[u] != 1;
            stolen += u < per && r.by[u] != 0;
        }
        CHECK(!missed && !r.bad_calls, "threads %d n %zu align %d chunk %zu: %d units not done "
              "exactly once, %d bad chunks", threads, n, align, chunk, missed, r.bad_calls);
        if (r.slow) stolen_cases += stolen > 0, cases++;
    }
    /* thread 0 waits after its first chunk while the others have nothing left to do: they must
     * have taken some of its share */
    CHECK(cases > 0 && stolen_cases == cases, "thread 0's share taken over in %d of %d slowed "
          "loops", stolen_cases, cases);
    printf("%s 400 loops, every unit once; thread 0 slowed in %d: its share taken over in %d\n",
           failures ? "FAIL" : "ok", cases, stolen_cases);
    return failures ? 1 : 0;
#endif
}
