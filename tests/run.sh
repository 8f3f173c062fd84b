#!/usr/bin/env bash
# Runs the test suite, JOBS tests at a time (default: the CPUs); prints one line per test as it
# ends and "N passed, N failed, N skipped" last.
# Env: BUILD (test binaries), EMOTI (the CLI), FIXTURES, MODELS (converted fixture models),
# PYTHON, SKIP_PY=1 to leave out the Python-only tests (the sanitizer pass), JOBS, VERBOSE=1.
set -u
BUILD=${BUILD:-build}
EMOTI=${EMOTI:-./emoti}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PYTHON=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 1)}
export FIXTURES MODELS EMOTI BUILD PYTHON
pass=0 fail=0 skip=0 failed=() names=() running=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

start() { # name command...: runs in the background; leaves NAME.log, then NAME.rc and NAME.ms
    local name=$1; shift
    names+=("$name")
    (
        t0=$(date +%s%N)
        "$@" >"$logs/$name.log" 2>&1; rc=$?
        echo $(( ($(date +%s%N) - t0) / 100000000 )) >"$logs/$name.ms"
        echo $rc >"$logs/$name.rc"
    ) &
    running=$((running + 1))
}

report() { # prints the tests that ended since the last call
    local name rc d
    for name in "${names[@]}"; do
        [ -f "$logs/$name.rc" ] || continue
        rc=$(cat "$logs/$name.rc") d=$(cat "$logs/$name.ms")
        rm -f "$logs/$name.rc"
        running=$((running - 1))
        if [ "$rc" -eq 0 ]; then
            # the seconds each test took: what to look at when the suite gets slow
            pass=$((pass + 1)); echo "PASS $name ($((d / 10)).$((d % 10)) s)"
            [ -n "${VERBOSE:-}" ] && sed 's/^/    /' "$logs/$name.log"
        elif [ "$rc" -eq 77 ]; then
            skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$logs/$name.log")"
        else
            fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc)"
            sed 's/^/    /' "$logs/$name.log"
        fi
    done
}

run() { # name command...: waits for a free slot, then starts it
    while [ "$running" -ge "$JOBS" ]; do wait -n; report; done
    start "$@"
}

# Convert the fixture checkpoints once; every parity/CLI test reads these.
have_fixtures=1
if [ ! -f "$FIXTURES/b0_8.pt" ]; then
    have_fixtures=0
    echo "!!! FIXTURES NOT FOUND at '$FIXTURES': parity, exporter and model tests are SKIPPED." >&2
    echo "!!! (CI has them at ../shared/fixtures; set FIXTURES=DIR to point elsewhere.)" >&2
fi
if [ $have_fixtures = 1 ]; then
    mkdir -p "$MODELS"
    for spec in b0_8.pt:b0_8_pt b0_8.onnx:b0_8_onnx b0_va_mtl.pt:b0_va_mtl_pt b2_8.onnx:b2_8_onnx; do
        src=$FIXTURES/${spec%%:*} dst=$MODELS/${spec##*:}.emoti
        if [ ! -f "$dst" ] || [ "$src" -nt "$dst" ] || [ tools/export.py -nt "$dst" ]; then
            $PYTHON tools/export.py "$src" -o "$dst" >/dev/null || { echo "FAIL export $src"; fail=$((fail + 1)); }
        fi
    done
fi

# The scripts first: they hold the longest tests, which should not be the last to start.
for t in tests/test_*.sh; do
    run "$(basename "$t")" bash "$t"
done
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run "$(basename "$t")" "$t"
done
if [ -z "${SKIP_PY:-}" ]; then
    for t in tests/test_*.py; do
        [ -f "$t" ] && run "$(basename "$t")" $PYTHON "$t"
    done
fi
while [ "$running" -gt 0 ]; do wait -n; report; done

echo "${failed[*]:+failed: ${failed[*]}}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
