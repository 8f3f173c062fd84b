#!/usr/bin/env bash
# The CLI end to end: output formats, help, and every kind of bad input -> one line, exit code.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PYTHON=${PYTHON:-python3}
if [ ! -f "$FIXTURES/b0_8.pt" ]; then echo "SKIPPED: fixtures not found at $FIXTURES"; exit 77; fi
B0=$MODELS/b0_8_pt.emoti MTL=$MODELS/b0_va_mtl_pt.emoti IMG=$FIXTURES/img
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE PATTERN cmd...: exit code, and one stderr line matching PATTERN
expect() {
    local code=$1 pat=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    [ $rc -eq "$code" ] || fail "'$*' exit $rc, wanted $code: $(cat "$tmp/err")"
    grep -q -- "$pat" "$tmp/err" || fail "'$*' stderr lacks '$pat': $(cat "$tmp/err")"
    [ "$(grep -c . "$tmp/err")" -le 1 ] || fail "'$*' printed more than one error line"
    echo "ok   $* -> $(head -n 1 "$tmp/err")"
}

# Good runs in every format.
$EMOTI run -m "$B0" "$IMG/face_tight.ppm" >"$tmp/t" || fail "text run"
grep -q "^$IMG/face_tight.ppm: " "$tmp/t" || fail "text output: $(cat "$tmp/t")"
$EMOTI run -m "$MTL" -f csv "$IMG"/*.ppm >"$tmp/c" || fail "csv run"
[ "$(wc -l <"$tmp/c")" -eq 7 ] || fail "csv rows: $(wc -l <"$tmp/c")"
head -n 1 "$tmp/c" | grep -q '^file,label,Anger,Contempt,Disgust,Fear,Happiness,Neutral,Sadness,Surprise,valence,arousal$' || fail "csv header: $(head -n 1 "$tmp/c")"
$EMOTI run -m "$B0" -f jsonl -e "$IMG/noise.ppm" >"$tmp/j" || fail "jsonl run"
$PYTHON - "$tmp/j" <<'PY' || fail "jsonl does not parse"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1 and len(rows[0]["embedding"]) == 1280 and abs(sum(rows[0]["probs"].values()) - 1) < 1e-5
PY
$EMOTI info "$MTL" | grep -q "valence at 8, arousal at 9" || fail "info"
for sub in "" run info; do $EMOTI $sub --help >/dev/null || fail "$sub --help"; done

# JPEG and PNG inputs give exactly the outputs of the PPM that Pillow decodes from them.
cjpeg -quality 85 -sample 2x2 "$IMG/face_wide.ppm" >"$tmp/face.jpg"
/usr/bin/python3 - "$tmp" <<'PY' || fail "Pillow conversions"
import sys
from PIL import Image
t = sys.argv[1]
Image.open(t + "/face.jpg").convert("RGB").save(t + "/from_jpg.ppm")
Image.open(t + "/face.jpg").convert("RGB").save(t + "/face.png")
PY
for f in face.jpg face.png; do
    $EMOTI run -m "$B0" -f csv "$tmp/$f" | tail -n 1 | cut -d, -f2- >"$tmp/a"
    $EMOTI run -m "$B0" -f csv "$tmp/from_jpg.ppm" | tail -n 1 | cut -d, -f2- >"$tmp/b"
    cmp -s "$tmp/a" "$tmp/b" || fail "$f outputs differ from Pillow's decode: $(cat "$tmp/a") vs $(cat "$tmp/b")"
done

# Bad input of every kind.
printf 'P6\n10 10\n255\n' >"$tmp/trunc.ppm"; head -c 100 /dev/urandom >>"$tmp/trunc.ppm"
printf 'P6\n10 10\n0\n' >"$tmp/maxval.ppm"
printf 'P6\n0 0\n255\n' >"$tmp/zero.ppm"
printf 'hello' >"$tmp/garbage.ppm"
head -c 5000 "$B0" >"$tmp/trunc.emoti"
expect 1 "trunc.ppm.*truncated" $EMOTI run -m "$B0" "$tmp/trunc.ppm"
expect 1 "maxval.ppm.*maxval" $EMOTI run -m "$B0" "$tmp/maxval.ppm"
# a huge header with no raster: "truncated", without first allocating the 768 MB it announces
# (under a 400 MB address-space limit; sanitizer builds reserve terabytes, so not there); the
# default pixel cap would refuse it earlier, so raise that
printf 'P6\n16000 16000\n255\n' >"$tmp/huge.ppm"
case $EMOTI in
*san*) expect 1 "huge.ppm.*truncated" $EMOTI run -m "$B0" --max-pixels 256000000 "$tmp/huge.ppm" ;;
*) expect 1 "huge.ppm.*truncated P6 data: expected 768000000 bytes, found 0" \
       bash -c 'ulimit -v 400000 && exec "$@"' - $EMOTI run -m "$B0" --max-pixels 256000000 "$tmp/huge.ppm" ;;
esac
expect 1 "huge.ppm: bad P6 header: image size 16000x16000 is too large .limit 16777216 pixels." \
    $EMOTI run -m "$B0" "$tmp/huge.ppm"
expect 1 "zero.ppm" $EMOTI run -m "$B0" "$tmp/zero.ppm"
expect 1 "garbage.ppm" $EMOTI run -m "$B0" "$tmp/garbage.ppm"
expect 1 "missing.ppm" $EMOTI run -m "$B0" "$tmp/missing.ppm"
expect 1 "directory" $EMOTI run -m "$B0" "$tmp"
expect 1 "trunc.emoti.*truncated" $EMOTI run -m "$tmp/trunc.emoti" "$IMG/noise.ppm"
expect 1 "b0_8.pt.*export" $EMOTI run -m "$FIXTURES/b0_8.pt" "$IMG/noise.ppm"
# a model from an exporter before the 16-column strips: told to export again
$PYTHON - "$tmp/old.emoti" <<'PY' || fail "cannot write the row-major tiny model"
import sys
sys.path.insert(0, "fuzz")
import make_tiny_model as t
open(sys.argv[1], "wb").write(t.tiny_model("old", row_major=True, **t.MODELS["tiny_ds"]))
PY
expect 1 "old.emoti.*b0.proj.w' is \[4, 4\].*older exporter: export the model again" \
    $EMOTI run -m "$tmp/old.emoti" "$IMG/noise.ppm"
expect 1 "nothere.emoti" $EMOTI info "$tmp/nothere.emoti"
expect 2 "unknown option" $EMOTI run --bogus x.ppm
expect 2 "unknown format" $EMOTI run -f xml x.ppm
expect 2 "no images" $EMOTI run -m "$B0"
expect 2 "needs a value" $EMOTI run -m
expect 2 "unknown command" $EMOTI frobnicate
expect 1 "EMOTI_ISA: unknown level" env EMOTI_ISA=bogus $EMOTI run -m "$B0" "$IMG/noise.ppm"
expect 2 "thread count" $EMOTI run -t 0 -m "$B0" "$IMG/noise.ppm"

# A bad image among good ones: the good results are still printed, exit 1.
$EMOTI run -m "$B0" -f csv "$IMG/noise.ppm" "$tmp/trunc.ppm" "$IMG/coffee.ppm" >"$tmp/mix" 2>/dev/null
[ $? -eq 1 ] || fail "mixed run exit"
[ "$(wc -l <"$tmp/mix")" -eq 3 ] || fail "mixed run kept $(wc -l <"$tmp/mix") lines, wanted 3"

# The README's embedding example builds and runs.
if [ -x "$BUILD/examples/classify" ]; then
    "$BUILD/examples/classify" "$MTL" "$IMG/face_tight.ppm" | grep -q "^valence" || fail "example"
else
    fail "example not built at $BUILD/examples/classify"
fi
[ $fails -eq 0 ] && echo "cli ok" || { echo "$fails CLI failures"; exit 1; }
