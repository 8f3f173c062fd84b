#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (fuzz/README.md).
#
#   fuzz/fuzz.sh build              clang + libFuzzer + ASan + UBSan builds -> $BUILD/fuzz/bin/
#   fuzz/fuzz.sh seeds              starting corpora -> $BUILD/fuzz/seeds/ (fuzz/make_seeds.sh)
#   fuzz/fuzz.sh run [TARGET...]    fuzz each target for FUZZ_SECONDS, FUZZ_JOBS at a time
#   fuzz/fuzz.sh merge [TARGET...]  minimise the work corpus into fuzz/corpus/TARGET/
#   fuzz/fuzz.sh all                build, seeds, run (what `make fuzz` does)
#
# Env: BUILD (build), CLANG (clang), PYTHON (python3 with Pillow + numpy, for the seeds),
# FUZZ_SECONDS (60), FUZZ_JOBS (2), FUZZ_FLAGS (extra libFuzzer flags).
# Work corpora grow in $BUILD/fuzz/work/TARGET/, logs go to $BUILD/fuzz/logs/TARGET.log, and
# crash-*, leak-*, timeout-*, oom-* files to $BUILD/fuzz/artifacts/. Exit status 1 if any
# target found something.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
PYTHON=${PYTHON:-python3}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_FLAGS=${FUZZ_FLAGS:-}
TARGETS="jpeg png ppm y4m container npy annot heads"
F=$BUILD/fuzz
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

build() {
    # The library through the Makefile's own rules (ISA flags, kernel registry), instrumented.
    ${MAKE:-make} -j"$(nproc 2>/dev/null || echo 2)" --no-print-directory BUILD="$F/obj" CC="$CLANG" OPT="-O1 -g" \
        SAN="-fsanitize=fuzzer-no-link $SAN" "$F/obj/libemoti.a" || return 1
    mkdir -p "$F/bin"
    for t in $TARGETS; do
        # shellcheck disable=SC2086  # $SAN is a list of flags
        "$CLANG" -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude $(printf -- "-I%s " engine/*/) -Ikernels \
            -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer $SAN "fuzz/fuzz_$t.c" \
            "$F/obj/libemoti.a" -lm -o "$F/bin/fuzz_$t" || return 1
    done
    echo "fuzz: targets in $F/bin"
}

seeds() {
    rm -rf "$F/seeds"
    PYTHON=$PYTHON fuzz/make_seeds.sh "$F/seeds"
}

run_one() { # target
    local t=$1
    mkdir -p "$F/work/$t" "$F/artifacts" "$F/logs"
    local dirs=("$F/work/$t")
    [ -d "$F/seeds/$t" ] && dirs+=("$F/seeds/$t")
    [ -d "fuzz/corpus/$t" ] && dirs+=("fuzz/corpus/$t")
    # shellcheck disable=SC2086
    "$F/bin/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
        -dict="fuzz/dict/$t.dict" -print_final_stats=1 -artifact_prefix="$F/artifacts/$t-" \
        $FUZZ_FLAGS "${dirs[@]}" >"$F/logs/$t.log" 2>&1
}

summary() { # target: one line from the log's final stats
    local log=$F/logs/$1.log
    local done_line execs rate
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if grep -qE '^==[0-9]+==ERROR|^SUMMARY: |Test unit written|ERROR: libFuzzer' "$log"; then
        printf '%-10s FOUND SOMETHING: %s\n' "$1" "$(grep -E 'SUMMARY|Test unit written|ERROR: libFuzzer' "$log" | head -n 2 | tr '\n' ' ')"
        return 1
    fi
    printf '%-10s %ss  execs %s  exec/s %s  %s\n' "$1" "$FUZZ_SECONDS" "${execs:-?}" "${rate:-?}" \
        "$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9A-Za-z]+')"
}

run() {
    local targets=${*:-$TARGETS} running=0 rc=0
    for t in $targets; do
        [ -x "$F/bin/fuzz_$t" ] || { echo "fuzz: $F/bin/fuzz_$t missing: run 'fuzz/fuzz.sh build'" >&2; return 1; }
    done
    echo "fuzz: $FUZZ_SECONDS s per target, $FUZZ_JOBS at a time: $targets"
    for t in $targets; do
        run_one "$t" &
        running=$((running + 1))
        if [ $running -ge "$FUZZ_JOBS" ]; then wait -n; running=$((running - 1)); fi
    done
    wait
    for t in $targets; do summary "$t" || rc=1; done
    return $rc
}

merge() { # keeps the smallest set of inputs that covers what the work corpus covers
    local targets=${*:-$TARGETS}
    for t in $targets; do
        local new=$F/merge/$t from=("fuzz/corpus/$t")
        rm -rf "$new" && mkdir -p "$new" "fuzz/corpus/$t"
        [ -d "$F/work/$t" ] && from+=("$F/work/$t")
        [ -d "$F/seeds/$t" ] && from+=("$F/seeds/$t")
        "$F/bin/fuzz_$t" -merge=1 -rss_limit_mb=2048 -timeout=10 "$new" "${from[@]}" \
            >"$F/logs/$t.merge.log" 2>&1 || { echo "fuzz: merge of $t failed"; return 1; }
        # keep the named regression inputs (crash-*, slow-*, edge-*) as they are, without the
        # copies merge made of them; the rest (named by their SHA-1) is replaced
        find "fuzz/corpus/$t" -maxdepth 1 -type f -regextype posix-extended \
            -regex '.*/[0-9a-f]{40}' -delete
        for f in "fuzz/corpus/$t"/*; do
            [ -f "$f" ] && rm -f "$new/$(sha1sum "$f" | cut -d' ' -f1)"
        done
        cp "$new"/* "fuzz/corpus/$t/" 2>/dev/null
        printf '%-10s %4d files %6d KB\n' "$t" "$(find "fuzz/corpus/$t" -type f | wc -l)" \
            "$(find "fuzz/corpus/$t" -type f -printf '%s\n' | awk '{ s += $1 } END { print int(s / 1024) }')"
    done
}

case ${1:-all} in
build) build ;;
seeds) seeds ;;
run) shift; run "$@" ;;
merge) shift; merge "$@" ;;
all) build && seeds && run ;;
*) sed -n '2,16p' "$0"; exit 2 ;;
esac
