#!/usr/bin/env bash
# make check-cross: the hosted library on other POSIX targets, without their hardware.
# Cross-compiles into $BUILD/<target> and runs under qemu-user, with the scalar kernels:
# test_container, test_heads, test_kernels, test_timeline, test_tracker and the parity of
# CROSS_PARITY's models (tests/parity_models.c, test_parity.c's checks) against the float64
# goldens. Targets (CROSS, default "armhf s390x riscv64"):
#   armhf    32-bit ARM, hard float    gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
#   s390x    big-endian                gcc-s390x-linux-gnu     libc6-dev-s390x-cross
#   riscv64  RISC-V 64                 gcc-riscv64-linux-gnu   libc6-dev-riscv64-cross
# plus qemu-user. The container is little-endian: on s390x the loader reads a byte-swapped
# copy, which this checks end to end. A B0 inference is ~10 s of CPU under qemu, so parity
# defaults to one model (CROSS_PARITY=b0_8_pt; "b0_8_pt b0_8_onnx" picks more, 0 none) on
# all six golden images (CROSS_PARITY_IMAGES=N: the first N; make test uses 2).
# Env: BUILD, FIXTURES, MODELS (default $BUILD/models, converted by make check), MAKE,
# CROSS_JOBS (qemu processes at once, default nproc), CROSS_OPTIONAL=1 (a target whose
# tools are missing says SKIPPED and is left out; make test sets it).
set -u
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
MAKE=${MAKE:-make}
CROSS=${CROSS:-armhf s390x riscv64}
CROSS_PARITY=${CROSS_PARITY:-b0_8_pt}
CROSS_PARITY_IMAGES=${CROSS_PARITY_IMAGES:-6}
[ "$CROSS_PARITY" = 0 ] && CROSS_PARITY=
TESTS="test_container test_heads test_kernels test_timeline test_tracker"

fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
JOBS=${CROSS_JOBS:-$(nproc 2>/dev/null || echo 2)}
. tests/qemu_jobs.sh # job, jobs_report, now
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if [ -n "$CROSS_PARITY" ] && [ ! -f "$FIXTURES/b0_8.pt" ]; then
    echo "!!! check-cross: FIXTURES NOT FOUND at '$FIXTURES': parity NOT RUN" >&2
    fail "parity: no fixtures"; CROSS_PARITY=
elif [ -n "$CROSS_PARITY" ] && [ ! -f "$MODELS/b0_8_pt.emoti" ]; then
    fail "parity: no converted models in $MODELS (make check converts them)"; CROSS_PARITY=
fi
t0=$(now)
ran=
for t in $CROSS; do
    case $t in
    armhf) triple=arm-linux-gnueabihf qemu=qemu-arm pkgs="gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
    s390x) triple=s390x-linux-gnu qemu=qemu-s390x pkgs="gcc-s390x-linux-gnu libc6-dev-s390x-cross" ;;
    riscv64) triple=riscv64-linux-gnu qemu=qemu-riscv64 pkgs="gcc-riscv64-linux-gnu libc6-dev-riscv64-cross" ;;
    *) fail "check-cross: unknown target '$t' (armhf, s390x, riscv64)"; continue ;;
    esac
    cc=$triple-gcc
    if ! command -v "$cc" >/dev/null || ! command -v "$qemu" >/dev/null ||
        [ ! -f "/usr/$triple/include/stdio.h" ]; then
        if [ -n "${CROSS_OPTIONAL:-}" ]; then
            echo "SKIPPED check-cross $t: $cc, its C library or $qemu not installed, $t is NOT tested" \
                "(apt-get install -y $pkgs qemu-user)"
            continue
        fi
        fail "check-cross $t: $cc, its C library or $qemu not found: apt-get install -y $pkgs qemu-user"
        continue
    fi
    out=$BUILD/$t
    s=$(now)
    # shellcheck disable=SC2046
    if ! "$MAKE" --no-print-directory -j"$JOBS" CC="$cc" BUILD="$out" $(printf "$out/tests/%s " $TESTS parity_models) >"$tmp/build-$t.log" 2>&1; then
        cat "$tmp/build-$t.log"; fail "check-cross $t: build"; continue
    fi
    echo "check-cross $t: built in $(($(now) - s)) s ($("$cc" -dumpmachine); $("$qemu" --version | head -n 1))"
    ran="$ran $t"
    for mdl in $CROSS_PARITY; do
        job "$t-parity_$mdl" env QEMU_LD_PREFIX=/usr/$triple EMOTI_ISA=scalar PARITY_IMAGES="$CROSS_PARITY_IMAGES" FIXTURES="$FIXTURES" MODELS="$MODELS" "$qemu" "$out/tests/parity_models" "$mdl"
    done
    for x in $TESTS; do
        job "$t-$x" env QEMU_LD_PREFIX=/usr/$triple EMOTI_ISA=scalar FIXTURES="$FIXTURES" MODELS="$MODELS" BUILD="$out" "$qemu" "$out/tests/$x"
    done
done
jobs_report
echo "check-cross: targets:${ran:- none}; parity: ${CROSS_PARITY:-none} on $CROSS_PARITY_IMAGES of 6 images; $(($(now) - t0)) s in all ($JOBS at a time)"
if [ $fails -gt 0 ]; then
    echo "check-cross: $fails FAILED"
    exit 1
fi
echo "check-cross: ok"
