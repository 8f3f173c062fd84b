/* emoti_share_run: static shares, chunks claimed from the front by the owner and from the back by
 * the others. A share's remaining range [lo, hi) is one 64-bit word, so a claim is one
 * compare-and-swap and no chunk is done twice; every chunk boundary lies a whole number of
 * chunks past the share's start (or at its end), whoever claims it. */
#include "share.h"

#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#include <stdatomic.h>

#define MAX_SHARES 256 /* emoti_model_set_threads' bound */

typedef struct {
    _Atomic uint64_t range; /* lo | hi << 32, in units */
    size_t start;           /* the share's first unit: chunks are counted from it */
} share;

static uint64_t pack(size_t lo, size_t hi) { return (uint64_t)hi << 32 | (uint64_t)lo; }

/* Claims s's first chunk (back = 0: the owner) or its last one (back = 1: another thread);
 * returns its size, 0 when s is used up. */
static size_t claim(share *s, size_t chunk, int back, size_t *u0) {
    uint64_t v = atomic_load_explicit(&s->range, memory_order_relaxed), next;
    size_t lo, hi, a, b;
    do {
        lo = (size_t)(v & 0xffffffffu), hi = (size_t)(v >> 32);
        if (lo >= hi) return 0;
        if (back) { /* [a, hi): from the last chunk boundary below hi */
            a = s->start + (hi - 1 - s->start) / chunk * chunk, a = a > lo ? a : lo, b = hi;
            next = pack(lo, a);
        } else {
            a = lo, b = hi - lo < chunk ? hi : lo + chunk;
            next = pack(b, hi);
        }
    } while (!atomic_compare_exchange_weak(&s->range, &v, next));
    *u0 = a;
    return b - a;
}

void emoti_share_run(int threads, size_t n, size_t align, size_t chunk, emoti_share_fn fn,
                     void *ctx) {
    const size_t per = threads > 1 ? ((n + align - 1) / align + (size_t)threads - 1) /
                                         (size_t)threads * align : n;
    if (threads <= 1 || per >= n || n >> 32 || threads > MAX_SHARES) {
        if (n) fn(ctx, 0, n);
        return;
    }
    share shares[MAX_SHARES];
    int count = 0;
    for (size_t u = 0; u < n; u += per, count++) {
        shares[count].start = u;
        atomic_init(&shares[count].range, pack(u, n - u < per ? n : u + per));
    }
#pragma omp parallel num_threads(count)
    {
        /* a thread the runtime did not start leaves its share to the others' second loop */
        const int t = omp_get_thread_num();
        size_t u0, units;
        while ((units = claim(&shares[t], chunk, 0, &u0))) fn(ctx, u0, units);
        for (int i = 1; i < count; i++)
            while ((units = claim(&shares[(t + i) % count], chunk, 1, &u0))) fn(ctx, u0, units);
    }
}

#else

void emoti_share_run(int threads, size_t n, size_t align, size_t chunk, emoti_share_fn fn,
                     void *ctx) {
    (void)threads, (void)align, (void)chunk;
    if (n) fn(ctx, 0, n);
}

#endif
