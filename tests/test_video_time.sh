#!/usr/bin/env bash
# Rows carry a time column when the frame rate is known: a Y4M stream's F header, or --fps for a
# folder (a folder's times follow its frame numbers, so gaps in the numbering keep their times);
# the plot's axis is then in seconds. Without a rate there is no time column.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PY=/usr/bin/python3
MTL=$MODELS/b0_va_mtl_pt.emoti
[ -f "$MTL" ] && [ -d "$FIXTURES/img" ] || { echo "SKIPPED: no converted fixture model at $MTL (tests/run.sh makes it)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir "$tmp/gap"
for n in 1 2 5; do cp "$FIXTURES/img/face_tight.ppm" "$tmp/gap/$(printf %05d $n).ppm"; done
$PY -c "import sys; sys.stdout.buffer.write(b'YUV4MPEG2 W48 H48 F25:1 Ip A1:1 Cmono\n' + (b'FRAME\n' + bytes(range(256)) * 9) * 4)" >"$tmp/c.y4m"
last() { awk -F, '{print $NF}' "$1" | tr '\n' ' ' | sed 's/ $//'; }
$EMOTI video -m "$MTL" "$tmp/c.y4m" >"$tmp/y.csv" 2>/dev/null || fail "video y4m"
[ "$(last "$tmp/y.csv")" = "time 0.000 0.040 0.080 0.120" ] || fail "y4m times: $(last "$tmp/y.csv")"
$EMOTI video -m "$MTL" --fps 10 "$tmp/gap" >"$tmp/g.csv" 2>/dev/null || fail "video --fps"
[ "$(last "$tmp/g.csv")" = "time 0.000 0.100 0.400" ] || fail "folder --fps 10 times: $(last "$tmp/g.csv")"
$EMOTI video -m "$MTL" "$tmp/gap" >"$tmp/n.csv" 2>/dev/null || fail "video folder"
head -n 1 "$tmp/n.csv" | grep -q ',time' && fail "a time column without a rate"
$EMOTI video -m "$MTL" --fps 30000/1001 -k 1 -f jsonl "$tmp/gap" >"$tmp/g.jsonl" 2>/dev/null || fail "-k --fps jsonl"
$PY - "$tmp/g.jsonl" <<'PY' || fail "jsonl times"
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1])]
assert t == [round(n * 1001 / 30000, 3) for n in (0, 1, 4)], t
PY
$EMOTI video -m "$MTL" -k 1 --causal 1 --fps 29.97 --plot "$tmp/t.svg" "$tmp/gap" >"$tmp/h.csv" 2>/dev/null || fail "heads-style rows with --fps"
[ "$(last "$tmp/h.csv")" = "time 0.000 0.033 0.133" ] || fail "29.97 times: $(last "$tmp/h.csv")"
grep -q 'id="time-axis"' "$tmp/t.svg" && grep -q '>time (s)<' "$tmp/t.svg" || fail "plot axis not in seconds"
$EMOTI video -m "$MTL" -k 1 --plot "$tmp/f.svg" "$tmp/gap" >/dev/null 2>&1
grep -q 'id="frame-axis"' "$tmp/f.svg" || fail "plot without a rate: not a frame axis"
for bad in 0 -5 abc 25/0 1.5/2 2e7; do
    $EMOTI video -m "$MTL" --fps "$bad" "$tmp/gap" >"$tmp/out" 2>"$tmp/err"
    [ $? -eq 2 ] && grep -q "fps expects a frame rate" "$tmp/err" && [ ! -s "$tmp/out" ] || fail "--fps $bad: $(cat "$tmp/err")"
done
[ $fails -eq 0 ] && echo "time column ok" || { echo "$fails failures"; exit 1; }
