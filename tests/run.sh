#!/usr/bin/env bash
# Runs the test suite; prints one line per test and "N passed, N failed, N skipped" last.
# Env: BUILD (test binaries), EMOTI (the CLI), FIXTURES, MODELS (converted fixture models),
# PYTHON, SKIP_PY=1 to leave out the Python-only tests (the sanitizer pass).
set -u
BUILD=${BUILD:-build}
EMOTI=${EMOTI:-./emoti}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PYTHON=${PYTHON:-python3}
export FIXTURES MODELS EMOTI BUILD PYTHON
pass=0 fail=0 skip=0 failed=()

run() { # name command...
    local name=$1 log rc t0; shift
    log=$(mktemp)
    t0=$(date +%s%N)
    "$@" >"$log" 2>&1; rc=$?
    if [ $rc -eq 0 ]; then
        # the seconds each test took: what to look at when the suite gets slow
        local d=$(( ($(date +%s%N) - t0) / 100000000 ))
        pass=$((pass + 1)); echo "PASS $name ($((d / 10)).$((d % 10)) s)"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")"
    else
        fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$log"
    fi
    [ -n "${VERBOSE:-}" ] && [ $rc -eq 0 ] && sed 's/^/    /' "$log"
    rm -f "$log"
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

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run "$(basename "$t")" "$t"
done
for t in tests/test_*.sh; do
    run "$(basename "$t")" bash "$t"
done
if [ -z "${SKIP_PY:-}" ]; then
    for t in tests/test_*.py; do
        [ -f "$t" ] && run "$(basename "$t")" $PYTHON "$t"
    done
fi

echo "${failed[*]:+failed: ${failed[*]}}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
