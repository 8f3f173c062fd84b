/* The one place that knows which kernel tables exist and picks one.
 *
 * Tables are listed slowest first; a table is available when this build compiled it
 * (EMOTI_HAVE_<isa>, set by the Makefile for each kernels/<isa>.c) and this CPU runs it
 * (CPUID, and XCR0 for the OS saving the YMM/ZMM state: read here rather than through
 * __builtin_cpu_supports, whose libgcc table adds 3 KB to the binary).
 * The choice is made once, on the first emoti_kernels_get(): a small atomic state machine
 * lets exactly one thread compute it while any others wait for it, so it is thread-safe
 * without pthreads. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(EMOTI_HAVE_avx512)
extern const emoti_kernels emoti_kernels_avx512;
#endif
#if defined(EMOTI_HAVE_neon)
extern const emoti_kernels emoti_kernels_neon;
#endif

typedef struct {
    const char *isa;
    const emoti_kernels *table; /* NULL: not compiled into this build */
    int (*cpu_has)(void);
} level;

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
/* XCR0: which register state the OS saves on a context switch (bits 1-2 XMM/YMM, 5-7 the
 * opmask and ZMM registers); a CPU feature bit without it would fault. */
static unsigned os_saved_state(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return lo;
}
static int cpu_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned avx_fma = bit_OSXSAVE | bit_AVX | bit_FMA;
    if ((c & avx_fma) != avx_fma || (os_saved_state() & 6) != 6) return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2);
}
static int cpu_avx512(void) {
    unsigned a, b, c, d;
    if (!cpu_avx2() || (os_saved_state() & 0xe6) != 0xe6) return 0;
    const unsigned need = bit_AVX512F | bit_AVX512DQ | bit_AVX512BW | bit_AVX512VL;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & need) == need;
}
#else
static int cpu_avx2(void) { return 0; }
static int cpu_avx512(void) { return 0; }
#endif
static int cpu_neon(void) {
#if defined(__aarch64__)
    return 1; /* Advanced SIMD is mandatory on AArch64 */
#else
    return 0;
#endif
}
static int cpu_any(void) { return 1; }

/* Every level EMOTI_ISA may name, slowest first. */
static const level levels[] = {
    {"scalar", &emoti_kernels_scalar, cpu_any},
#if defined(EMOTI_HAVE_avx2)
    {"avx2", &emoti_kernels_avx2, cpu_avx2},
#else
    {"avx2", NULL, cpu_avx2},
#endif
#if defined(EMOTI_HAVE_avx512)
    {"avx512", &emoti_kernels_avx512, cpu_avx512},
#else
    {"avx512", NULL, cpu_avx512},
#endif
#if defined(EMOTI_HAVE_neon)
    {"neon", &emoti_kernels_neon, cpu_neon},
#else
    {"neon", NULL, cpu_neon},
#endif
};
#define N_LEVELS (sizeof levels / sizeof *levels)

int emoti_kernels_available(const emoti_kernels **out, int max) {
    int n = 0;
    for (size_t i = 0; i < N_LEVELS && n < max; i++)
        if (levels[i].table && levels[i].cpu_has()) out[n++] = levels[i].table;
    return n;
}

/* Static strings only, so that the message outlives the call and needs no buffer. */
static const emoti_kernels *choose(const char **error) {
#ifdef EMOTI_FREESTANDING
    const char *want = NULL; /* no environment: the best level the CPU has */
#else
    const char *want = getenv("EMOTI_ISA");
#endif
    *error = NULL;
    if (!want || !*want) {
        const emoti_kernels *avail[N_LEVELS];
        int n = emoti_kernels_available(avail, (int)N_LEVELS);
        return avail[n - 1]; /* scalar is always there */
    }
    for (size_t i = 0; i < N_LEVELS; i++) {
        if (strcmp(levels[i].isa, want)) continue;
        if (!levels[i].table) {
            static const char *const not_built[] = {
                "", "EMOTI_ISA=avx2: this build has no avx2 kernels",
                "EMOTI_ISA=avx512: this build has no avx512 kernels",
                "EMOTI_ISA=neon: this build has no neon kernels"};
            *error = not_built[i];
            return NULL;
        }
        if (!levels[i].cpu_has()) {
            static const char *const no_cpu[] = {
                "", "EMOTI_ISA=avx2: this CPU lacks AVX2+FMA",
                "EMOTI_ISA=avx512: this CPU lacks AVX-512 F/DQ/BW/VL",
                "EMOTI_ISA=neon: this CPU lacks NEON"};
            *error = no_cpu[i];
            return NULL;
        }
        return levels[i].table;
    }
    *error = "EMOTI_ISA: unknown level (expected scalar, avx2, avx512 or neon)";
    return NULL;
}

enum { UNSET, CHOOSING, CHOSEN };
static atomic_int state = UNSET;
static const emoti_kernels *chosen; /* written once before state becomes CHOSEN (release) */
static const char *chosen_error;

static void choose_once(void) {
    if (atomic_load_explicit(&state, memory_order_acquire) == CHOSEN) return;
    int expected = UNSET;
    if (atomic_compare_exchange_strong_explicit(&state, &expected, CHOOSING,
                                                memory_order_acq_rel, memory_order_acquire)) {
        chosen = choose(&chosen_error);
        atomic_store_explicit(&state, CHOSEN, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&state, memory_order_acquire) != CHOSEN) {
        /* another thread is reading getenv/CPUID: microseconds */
    }
}

const emoti_kernels *emoti_kernels_get(void) {
    choose_once();
    return chosen;
}

const char *emoti_kernels_error(void) {
    choose_once();
    return chosen_error;
}
