#!/usr/bin/env bash
# examples/timeline.c (emoti.h only) prints the same rows as `emoti video -H ... --causal LAG`:
# byte for byte, on a Y4M file and on a pipe, for several lags, with heads fitted here.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
EX=$BUILD/examples/timeline
MTL=$MODELS/b0_va_mtl_pt.emoti
[ -x "$EX" ] || { echo "FAIL: $EX not built (make check builds the examples)"; exit 1; }
[ -f "$MTL" ] && [ -d "$FIXTURES/img" ] || { echo "SKIPPED: no converted fixture model at $MTL (tests/run.sh makes it)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIPPED: ffmpeg is not installed"; exit 77; }
tmp=$(mktemp -d); [ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT; echo "tmp $tmp"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir -p "$tmp/clip" "$tmp/ann/EXPR" "$tmp/ann/AU" "$tmp/ann/VA"
i=0
for img in face_tight noise coffee face_small face_wide chelsea face_tight coffee; do
    i=$((i + 1))
    ffmpeg -v error -i "$FIXTURES/img/$img.ppm" -vf scale=96:96 -y "$tmp/clip/$(printf %05d $i).ppm" || fail "ffmpeg $img"
done
/usr/bin/python3 - "$tmp/ann" <<'PY'
import random, sys
d, r = sys.argv[1], random.Random(3)
def write(task, header, lines):
    open("%s/%s/clip.txt" % (d, task), "w").write(header + "\n" + "".join(l + "\n" for l in lines))
write("EXPR", "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other", [str(r.randint(0, 7)) for _ in range(8)])
write("AU", "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26", [",".join(str(r.randint(0, 1)) for _ in range(12)) for _ in range(8)])
write("VA", "valence,arousal", ["%.3f,%.3f" % (r.uniform(-1, 1), r.uniform(-1, 1)) for _ in range(8)])
PY
$EMOTI extract -m "$MTL" "$tmp/clip" -o "$tmp/feat" 2>/dev/null || fail "extract"
for t in va:VA expr:EXPR au:AU; do
    $EMOTI fit -t "${t%%:*}" -i "$tmp/feat" -a "$tmp/ann/${t##*:}" -o "$tmp/${t%%:*}.emoti" --epochs 2 --batch 4 -q \
        >/dev/null 2>&1 || fail "fit ${t%%:*}"
done
# A 24-frame clip (the 8 crops three times over) as a Y4M file.
ffmpeg -v error -framerate 25 -stream_loop 2 -i "$tmp/clip/%05d.ppm" -f yuv4mpegpipe -pix_fmt yuv420p -y "$tmp/clip.y4m" || fail "y4m"
H="$tmp/va.emoti $tmp/expr.emoti $tmp/au.emoti"
# Heads tuned to k 2 so that the example (tuned k) and the CLI agree without -k.
for t in va:VA expr:EXPR au:AU; do
    $EMOTI tune "$tmp/${t%%:*}.emoti" -i "$tmp/feat" -a "$tmp/ann/${t##*:}" --k-grid 2 >/dev/null 2>&1 || fail "tune ${t%%:*}"
done
for lag in 0 1 3; do
    # shellcheck disable=SC2086
    $EX "$MTL" $lag "$tmp/clip.y4m" $H >"$tmp/ex.csv" 2>"$tmp/err" || fail "example lag $lag: $(cat "$tmp/err")"
    $EMOTI video -m "$MTL" -H "${H// /,}" --causal $lag "$tmp/clip.y4m" >"$tmp/cli.csv" 2>/dev/null || fail "emoti video lag $lag"
    [ "$(wc -l <"$tmp/cli.csv")" -eq 25 ] || fail "lag $lag: $(wc -l <"$tmp/cli.csv") lines"
    cmp -s "$tmp/ex.csv" "$tmp/cli.csv" && echo "lag $lag: example = emoti video, $(wc -l <"$tmp/ex.csv") lines" ||
        fail "lag $lag: example and emoti video differ: $(diff "$tmp/ex.csv" "$tmp/cli.csv" | head -4)"
done
# A pipe: the file name is '-' in both.
# shellcheck disable=SC2086
$EX "$MTL" 2 - $H <"$tmp/clip.y4m" >"$tmp/ex.csv" 2>/dev/null || fail "example on a pipe"
$EMOTI video -m "$MTL" -H "${H// /,}" --causal 2 - <"$tmp/clip.y4m" >"$tmp/cli.csv" 2>/dev/null
cmp -s "$tmp/ex.csv" "$tmp/cli.csv" || fail "pipe: example and emoti video differ"
[ $fails -eq 0 ] && echo "examples/timeline ok" || { echo "$fails failures"; exit 1; }
