#!/usr/bin/env bash
# make check-neon: the NEON kernels (kernels/neon.c) on AArch64 without AArch64 hardware.
# Cross-compiles the library, tests/test_kernels and tests/test_parity with
# aarch64-linux-gnu-gcc into $BUILD/neon and runs them under qemu-user:
#   1. dispatch: the default table is neon, EMOTI_ISA=neon forces it, EMOTI_ISA=scalar gives
#      scalar, EMOTI_ISA=avx2 / avx512 / unknown are refused with a reason (never another table);
#   2. test_kernels: every kernel of every table (scalar, neon) against the scalar reference;
#   3. parity at EMOTI_ISA=neon against the float64 goldens: test_parity's own check_model()
#      (outputs, embeddings, per-stage activations, PPM end to end), one qemu process per
#      model so that they run side by side with test_kernels on all cores.
# qemu-user emulates every float operation in software, ~10 s of CPU per B0 inference (the
# scalar kernels are as slow there): test_parity's 12 inferences of a model take ~3 CPU
# minutes for B0 and ~7 for B2, so by default only the three B0 models are checked (B2 runs
# the same kernels on other shapes, which test_kernels covers). NEON_PARITY=all adds B2,
# NEON_PARITY=full runs the unmodified test_parity binary (all models, one process),
# NEON_PARITY="b0_8_pt b2_8_onnx" picks models, NEON_PARITY=0 leaves parity out.
# Needs (Debian): apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# (libc6-dev-arm64-cross is only a Recommends of the compiler).
# Parity needs the models that `make check` converts into $MODELS.
# Env: BUILD (host build folder, default build), FIXTURES, MODELS (default $BUILD/models),
# MAKE, NEON_CC (default aarch64-linux-gnu-gcc), QEMU (default qemu-aarch64), QEMU_LD_PREFIX
# (default /usr/aarch64-linux-gnu), NEON_JOBS (qemu processes at once, default nproc),
# NEON_OPTIONAL=1 (missing tools: say SKIPPED and succeed; make test sets it).
set -u
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
MAKE=${MAKE:-make}
NEON_CC=${NEON_CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU:-qemu-aarch64}
export QEMU_LD_PREFIX=${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}
NEON_JOBS=${NEON_JOBS:-$(nproc 2>/dev/null || echo 2)}
NEON_PARITY=${NEON_PARITY:-b0}
OUT=$BUILD/neon
B0_MODELS="b0_8_pt b0_8_onnx b0_va_mtl_pt"
B2_MODELS="b2_8_onnx"

if ! command -v "$NEON_CC" >/dev/null || ! command -v "$QEMU" >/dev/null; then
    if [ -n "${NEON_OPTIONAL:-}" ]; then  # make test on a machine without them
        echo "SKIPPED check-neon: $NEON_CC or $QEMU not installed, the NEON kernels are NOT tested" \
            "(apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)"
        exit 0
    fi
    echo "FAIL check-neon: $NEON_CC or $QEMU not found:" \
        "apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user" >&2
    exit 1
fi
case $("$NEON_CC" -dumpmachine) in
*aarch64*) ;;
*) echo "FAIL check-neon: $NEON_CC does not target aarch64" >&2; exit 1 ;;
esac

fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
JOBS=$NEON_JOBS
. tests/qemu_jobs.sh # job, jobs_report, now
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

t0=$(now)
"$MAKE" --no-print-directory CC="$NEON_CC" BUILD="$OUT" "$OUT/tests/test_kernels" \
    "$OUT/tests/test_parity" || {
    echo "FAIL check-neon: build (the cross C library: apt-get install -y libc6-dev-arm64-cross)"
    exit 1
}
[ -f "$OUT/kernels/neon.o" ] || { echo "FAIL check-neon: kernels/neon.c was not compiled"; exit 1; }
XCFLAGS="-std=c11 -O2 -Wall -Wextra -Werror -Iinclude $(printf -- "-I%s " engine/*/) -Ikernels -Itests -D_POSIX_C_SOURCE=200809L"

# The dispatch check, through the public registry functions.
cat >"$tmp/dispatch.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "kernels.h"
int main(int argc, char **argv) { /* argv[1]: the isa expected, or "-" for a refusal */
    const emoti_kernels *k = emoti_kernels_get();
    const char *err = emoti_kernels_error();
    printf("%s%s%s\n", k ? k->isa : "refused", err ? ": " : "", err ? err : "");
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "-")) return !(k == NULL && err != NULL);
    return !(k && !err && !strcmp(k->isa, argv[1]));
}
EOF
for p in "$tmp/dispatch.c" tests/parity_models.c; do
    n=$(basename "$p" .c)
    # shellcheck disable=SC2086
    "$NEON_CC" $XCFLAGS "$p" "$OUT/libemoti.a" -lm -o "$tmp/$n" || { echo "FAIL check-neon: build $n"; exit 1; }
done
echo "check-neon: built in $(($(now) - t0)) s ($("$NEON_CC" -dumpmachine); $("$QEMU" --version | head -n 1))"

# 1. dispatch
for spec in :neon neon:neon scalar:scalar avx2:- avx512:- sse9:-; do
    isa=${spec%%:*} want=${spec##*:}
    line=$(EMOTI_ISA=$isa "$QEMU" "$tmp/dispatch" "$want")
    if [ $? -eq 0 ]; then echo "ok   EMOTI_ISA=${isa:-(unset)} -> $line"
    else fail "EMOTI_ISA=${isa:-(unset)} -> $line (wanted ${want/#-/a refusal})"; fi
done

# 2 and 3: the qemu runs, NEON_JOBS at a time; each job's output is printed when all are done.
case $NEON_PARITY in
0) models= ;;
b0) models=$B0_MODELS ;;
all) models="$B2_MODELS $B0_MODELS" ;; # the longest first
full) models=full ;;
*) models=$NEON_PARITY ;;
esac
if [ -n "$models" ]; then
    if [ ! -f "$FIXTURES/b0_8.pt" ]; then
        echo "!!! check-neon: FIXTURES NOT FOUND at '$FIXTURES': NEON parity NOT RUN" >&2
        fail "parity: no fixtures"
        models=
    elif [ ! -f "$MODELS/b0_8_pt.emoti" ]; then
        fail "parity: no converted models in $MODELS (make check converts them)"
        models=
    fi
fi
t1=$(now)
for mdl in $models; do
    if [ "$mdl" = full ]; then
        job test_parity env EMOTI_ISA=neon FIXTURES="$FIXTURES" MODELS="$MODELS" "$QEMU" "$OUT/tests/test_parity"
    else
        job "parity_$mdl" env EMOTI_ISA=neon FIXTURES="$FIXTURES" MODELS="$MODELS" "$QEMU" "$tmp/parity_models" "$mdl"
    fi
    [ "$mdl" = "${models%% *}" ] && job test_kernels "$QEMU" "$OUT/tests/test_kernels" # after the longest
done
[ -z "$models" ] && job test_kernels "$QEMU" "$OUT/tests/test_kernels"
jobs_report
grep -q "^tables: scalar neon;" "$tmp/test_kernels.log" || fail "test_kernels: no neon table"
echo "check-neon: qemu runs took $(($(now) - t1)) s ($NEON_JOBS at a time; parity: ${models:-none}); $(($(now) - t0)) s in all"
if [ $fails -gt 0 ]; then
    echo "check-neon: $fails FAILED"
    exit 1
fi
echo "check-neon: ok"
