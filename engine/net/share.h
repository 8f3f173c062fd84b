/* Parallel loops whose threads start on static shares and, once done, take chunks from the
 * ends of the others' (OpenMP builds; one call otherwise). */
#ifndef EMOTI_SHARE_H
#define EMOTI_SHARE_H

#include <stddef.h>

/* Does units [u0, u0 + count) of a loop; ctx is the caller's. */
typedef void (*emoti_share_fn)(void *ctx, size_t u0, size_t count);

/* Runs fn over units [0, n) on `threads` threads. Thread t owns units [t s, (t + 1) s) with
 * s = ceil(n / align / threads) align (the last share ends at n) and does them from the front,
 * `chunk` (>= 1) units at a time; a thread done with its own share takes chunks from the backs
 * of the others'. Every chunk starts a whole number of chunks past its share's start. On an
 * evenly loaded machine each thread does its own share, so it finds what it wrote in the
 * previous layer in its own cache; when one vCPU runs slower (a busy neighbour on the host),
 * the others finish its share instead of waiting. One thread, or one share: fn(ctx, 0, n) (no call for n = 0). */
void emoti_share_run(int threads, size_t n, size_t align, size_t chunk, emoti_share_fn fn,
                     void *ctx);

#endif
