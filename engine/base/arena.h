/* Caller memory handed out front to back, CMSIS-NN style: a module first says how many bytes
 * it takes (its *_bytes / *_memory call), the caller provides one block, the module takes its
 * pieces from it. Every piece starts on a 64-byte boundary (the kernels' vector loads, cache
 * lines), so a module's size is the sum of its pieces rounded up to 64 each and the block
 * itself must be 64-byte aligned. */
#ifndef EMOTI_ARENA_H
#define EMOTI_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define EMOTI_ARENA_ALIGN 64

typedef struct {
    unsigned char *base; /* EMOTI_ARENA_ALIGN-aligned */
    size_t size, used;
} emoti_arena;

/* bytes rounded up to the alignment; SIZE_MAX when that overflows. */
static inline size_t emoti_arena_round(size_t bytes) {
    return bytes > SIZE_MAX - (EMOTI_ARENA_ALIGN - 1)
               ? SIZE_MAX
               : (bytes + EMOTI_ARENA_ALIGN - 1) & ~(size_t)(EMOTI_ARENA_ALIGN - 1);
}

/* *total += bytes rounded up; 0 (and *total SIZE_MAX) on overflow. */
static inline int emoti_arena_add(size_t *total, size_t bytes) {
    const size_t r = emoti_arena_round(bytes);
    if (r == SIZE_MAX || *total > SIZE_MAX - r) {
        *total = SIZE_MAX;
        return 0;
    }
    *total += r;
    return 1;
}

/* The next piece of bytes (rounded up), or NULL when it does not fit (the arena unchanged). */
static inline void *emoti_arena_take(emoti_arena *a, size_t bytes) {
    const size_t r = emoti_arena_round(bytes);
    if (r == SIZE_MAX || r > a->size - a->used) return NULL;
    void *p = a->base + a->used;
    a->used += r;
    return p;
}

#endif
