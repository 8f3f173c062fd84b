#!/usr/bin/env bash
# Issue 13 (part): a failed write to stdout fails every command with one line and exit 1
# (results to /dev/full, as to a full disk); `extract -` names its rows after stdin.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PY=/usr/bin/python3
MTL=$MODELS/b0_va_mtl_pt.emoti
[ -f "$MTL" ] && [ -d "$FIXTURES/img" ] || { echo "SKIPPED: no converted fixture model at $MTL (tests/run.sh makes it)"; exit 77; }
[ -w /dev/full ] || { echo "SKIPPED: no /dev/full"; exit 77; }
$PY -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy is not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
IMG=$FIXTURES/img/face_tight.ppm
$PY -c "import sys; sys.stdout.buffer.write(b'YUV4MPEG2 W48 H48 F25:1 Ip A1:1 Cmono\n' + (b'FRAME\n' + bytes(range(256)) * 9) * 3)" >"$tmp/c.y4m"
$PY tools/synth_affwild.py "$tmp/d" --train 2 --val 2 --frames 60 --dim 1280 >/dev/null || fail "synthetic data"
$EMOTI fit -t va -i "$tmp/d/feat" -a "$tmp/d/VA_Set" -o "$tmp/va.emoti" --epochs 1 -q >/dev/null 2>&1 || fail "fit"
$EMOTI predict -H "$tmp/va.emoti" -i "$tmp/d/feat" -a "$tmp/d/VA_Set/Validation_Set" -o "$tmp/p.csv" 2>/dev/null || fail "predict -o"
V=$tmp/d/VA_Set/Validation_Set
full() { # command...: exit 1, one stderr line naming the write error
    "$@" >/dev/full 2>"$tmp/err"
    local rc=$?
    [ $rc -eq 1 ] && grep -q "^emoti: stdout: write error" "$tmp/err" && [ "$(grep -c . "$tmp/err")" -le 2 ] ||
        fail "'${*#"$EMOTI" }' > /dev/full: exit $rc, stderr: $(head -c 300 "$tmp/err")"
}
full "$EMOTI" run -m "$MTL" "$IMG"
full "$EMOTI" run -m "$MTL" -f csv "$IMG" "$IMG"
full "$EMOTI" video -m "$MTL" "$tmp/c.y4m"
full "$EMOTI" video -m "$MTL" -k 1 "$tmp/c.y4m"
full "$EMOTI" video -m "$MTL" -k 1 --causal 0 "$tmp/c.y4m"
full "$EMOTI" info "$MTL"
full "$EMOTI" eval "$tmp/p.csv" "$V"
full "$EMOTI" tune "$tmp/va.emoti" -i "$tmp/d/feat" -a "$V" --k-grid 0,1
full "$EMOTI" predict -H "$tmp/va.emoti" -i "$tmp/d/feat" -a "$V"
full "$EMOTI" --help
full "$EMOTI" video --help
# extract from stdin: rows keyed stdin/<frame>.jpg
$EMOTI extract -m "$MTL" - -o "$tmp/x" <"$tmp/c.y4m" 2>/dev/null || fail "extract -"
[ "$(cut -d, -f2,3 "$tmp/x.index.csv" | tail -n +2 | tr '\n' ' ')" = "stdin/00001.jpg,stdin stdin/00002.jpg,stdin stdin/00003.jpg,stdin " ] ||
    fail "extract - keys: $(cat "$tmp/x.index.csv")"
[ $fails -eq 0 ] && echo "write errors ok" || { echo "$fails failures"; exit 1; }
