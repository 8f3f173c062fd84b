#!/usr/bin/env bash
# The freestanding core (the Makefile's FREESTANDING_SRC: container, EfficientNet, model and
# heads in caller memory, resize, kernels) builds with -ffreestanding -DEMOTI_FREESTANDING
# -DEMOTI_NO_MESSAGES warning-free, and its objects together need nothing from outside but the
# few libc / libm functions a freestanding C toolchain has (memcpy, memmove, memset, memcmp,
# strlen, strcmp; exp, expf, tanhf, ceil): no malloc / free, stdio, files, mmap, getenv, time,
# threads or thread-local storage. The nm filter first runs on a probe that calls malloc,
# fopen and getenv and must list exactly those, so that it cannot pass by seeing nothing.
# Then the same for Cortex-M55 (arm-none-eabi-gcc with newlib's headers, the scalar kernels),
# with its code size (arm-none-eabi-size, no weights) held to the 64 KB goal; SKIPPED, saying
# so, without that toolchain (CI installs it).
# Env: CC (default cc), NM (default nm), MAKE (default make), ARM_CC (arm-none-eabi-gcc).
set -u
CC=${CC:-cc}
NM=${NM:-nm}
MAKE=${MAKE:-make}
ALLOWED="memcpy memmove memset memcmp strlen strcmp exp expf tanhf ceil"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
srcs=$($MAKE -s --no-print-directory print-freestanding-src) || { echo "FAIL: make print-freestanding-src"; exit 1; }
flags="-ffreestanding -DEMOTI_FREESTANDING -DEMOTI_NO_MESSAGES -std=c11 -O2 -Wall -Wextra -Werror"
incs="-Iinclude -Iengine/base -Iengine/net -Iengine/media -Ikernels"

isa_flags() { # the flags an ISA's kernels build with (as the Makefile's), of the sources cur_srcs
    case $1 in
    kernels/avx2.c) echo "-mavx2 -mfma" ;;
    kernels/avx512.c) echo "-mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma" ;;
    kernels/registry.c)
        for f in $cur_srcs; do
            case $f in kernels/avx2.c | kernels/avx512.c | kernels/neon.c) b=${f##*/}; echo -n "-DEMOTI_HAVE_${b%.c} " ;; esac
        done ;;
    esac
}

# outside OBJECTS...: the symbols the objects need that none of them defines
outside() {
    "$NM" -u "$@" | awk 'NF == 2 { print $2 } NF == 1 && $1 !~ /:$/ { print $1 }' | sort -u >"$tmp/undef"
    "$NM" --defined-only "$@" | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 }' | sort -u >"$tmp/def"
    comm -23 "$tmp/undef" "$tmp/def"
}
not_allowed() { outside "$@" | grep -vxF -f <(printf '%s\n' $ALLOWED) || true; }

# The probe: the filter must see these three, and only them.
cat >"$tmp/probe.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void *probe(const char *p) { FILE *f = fopen(p, "r"); memset(&f, 0, 1); return getenv(p) ? malloc(8) : f; }
EOF
"$CC" -std=c11 -O2 -c "$tmp/probe.c" -o "$tmp/probe.o" || { echo "FAIL: the probe does not compile"; exit 1; }
probe=$(not_allowed "$tmp/probe.o" | tr '\n' ' ')
[ "$probe" = "fopen getenv malloc " ] || { echo "FAIL: the nm filter saw '$probe' in the probe, not 'fopen getenv malloc'"; exit 1; }

# build_core CC NM EXTRA_FLAGS SOURCES...: each source freestanding into $tmp/CC/, checked
build_core() {
    local cc=$1 nm=$2 extra=$3 dir=$tmp/${1##*/}
    shift 3
    mkdir -p "$dir"
    cur_srcs="$*"
    objs=()
    for src in "$@"; do
        obj=$dir/$(echo "$src" | tr / _).o
        # shellcheck disable=SC2046,SC2086
        "$cc" $flags $extra $(isa_flags "$src") $incs -c "$src" -o "$obj" ||
            { echo "FAIL: $src does not build freestanding with $cc"; exit 1; }
        objs+=("$obj")
    done
    bad=$(NM=$nm not_allowed "${objs[@]}")
    if [ -n "$bad" ]; then
        echo "FAIL: the freestanding core ($cc) needs:" $bad
        for s in $bad; do
            echo "  $s in: $("$nm" -Au "${objs[@]}" | awk -v s="$s" '$NF == s { sub(/:.*/, "", $1); n = split($1, p, "/"); print p[n] }' | tr '\n' ' ')"
        done
        exit 1
    fi
    echo "freestanding core: ${#objs[@]} objects with $cc -ffreestanding, needing only: $(NM=$nm outside "${objs[@]}" | tr '\n' ' ')"
}

# shellcheck disable=SC2086
build_core "$CC" "$NM" "" $srcs

ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
if ! command -v "$ARM_CC" >/dev/null || ! echo '#include <string.h>' | "$ARM_CC" -x c -fsyntax-only - 2>/dev/null; then
    echo "SKIPPED (Cortex-M55 part): no $ARM_CC with newlib headers (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
else
    arm_srcs=$(printf '%s\n' $srcs | grep -vE '^kernels/(avx2|avx512|neon)\.c$' | tr '\n' ' ')
    # shellcheck disable=SC2086
    build_core "$ARM_CC" "${ARM_CC%gcc}nm" "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -ffunction-sections" $arm_srcs
    code=$("${ARM_CC%gcc}size" -t "${objs[@]}" | awk 'END { print $1 }')
    echo "Cortex-M55 code of the freestanding core: $code bytes (arm-none-eabi-size, -O2, no weights; goal 65536)"
    [ "$code" -le 65536 ] || { echo "FAIL: $code bytes is over the 64 KB goal"; exit 1; }
fi
echo "freestanding ok"
