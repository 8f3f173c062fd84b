#!/usr/bin/env bash
# emoti extract: .npy files numpy reads, keys joinable with Aff-Wild2 annotations, values equal
# to `emoti run`'s, and no partial files when writing fails.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
if [ ! -f "$FIXTURES/b0_8.pt" ]; then echo "SKIPPED: fixtures not found at $FIXTURES"; exit 77; fi
MTL=$MODELS/b0_va_mtl_pt.emoti IMG=$FIXTURES/img
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir -p "$tmp/clip1"
cp "$IMG/face_tight.ppm" "$tmp/clip1/00001.ppm"; cp "$IMG/noise.ppm" "$tmp/clip1/00002.ppm"
mkdir -p "$tmp/clip2"; cp "$IMG/coffee.ppm" "$tmp/clip2/00007.ppm"
# gap: numbered frames with a gap (00003..00006 had no face, say); frame is the number.
mkdir -p "$tmp/gap"
for i in 00001 00002 00007; do cp "$IMG/face_tight.ppm" "$tmp/gap/$i.ppm"; done
# A Y4M stream: frame i is keyed %05d.jpg with i + 1, its frame column the same number.
{ printf 'YUV4MPEG2 W32 H24 F25:1 C444\n'; for i in 1 2; do printf 'FRAME\n'; head -c $((32 * 24 * 3)) /dev/zero | tr '\0' '\200'; done; } >"$tmp/talk.y4m"
$EMOTI extract -m "$MTL" "$tmp/clip1" "$tmp/clip2/" "$tmp/gap" "$tmp/talk.y4m" -o "$tmp/feat" 2>"$tmp/err" || fail "extract: $(cat "$tmp/err")"
$EMOTI run -m "$MTL" -f jsonl "$tmp/clip1/00002.ppm" >"$tmp/run.jsonl"
/usr/bin/python3 - "$tmp" <<'PY' || fail "npy/index content"
import csv, json, sys
import numpy as np
t = sys.argv[1]
f, o = np.load(t + "/feat.features.npy"), np.load(t + "/feat.outputs.npy")
rows = list(csv.DictReader(open(t + "/feat.index.csv")))
assert f.shape == (8, 1280) and f.dtype == np.float32, f.shape
assert o.shape == (8, 10), o.shape
assert [r["key"] for r in rows] == ["clip1/00001.ppm", "clip1/00002.ppm", "clip2/00007.ppm", "gap/00001.ppm",
                                    "gap/00002.ppm", "gap/00007.ppm", "talk/00001.jpg", "talk/00002.jpg"], rows
assert [r["frame"] for r in rows] == ["1", "2", "7", "1", "2", "7", "1", "2"], [r["frame"] for r in rows]
assert [r["row"] for r in rows] == [str(i) for i in range(8)] and rows[6]["video"] == "talk", rows
run = json.loads(open(t + "/run.jsonl").read())
assert abs(o[1, 8] - run["valence"]) < 1e-6 and abs(o[1, 9] - run["arousal"]) < 1e-6
e = np.exp(o[1, :8] - o[1, :8].max()); p = e / e.sum()
assert max(abs(p[i] - v) for i, v in enumerate(run["probs"].values())) < 1e-6
print("extract ok:", f.shape, o.shape)
PY
# The training side matches frames by the number in their file name: a name without one (or
# numbered 0) is refused before any work, in one line naming it, and nothing is written.
refused() { # folder file
    $EMOTI extract -m "$MTL" "$tmp/clip1" "$1" -o "$tmp/ref" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    [ $rc -eq 1 ] || fail "$2: exit $rc"
    [ "$(cat "$tmp/err")" = "emoti: $1/$2: extract needs frame files named by their number from 1 (00001.jpg, 00002.jpg, ...: annotations are matched by it)" ] ||
        fail "$2: message '$(cat "$tmp/err")'"
    ! ls "$tmp"/ref.* >/dev/null 2>&1 || fail "$2: output left"
}
mkdir -p "$tmp/named" "$tmp/zero"
cp "$IMG/face_tight.ppm" "$tmp/named/00001.ppm"; cp "$IMG/face_tight.ppm" "$tmp/named/face.ppm"
refused "$tmp/named" face.ppm
cp "$IMG/face_tight.ppm" "$tmp/zero/00000.ppm"; cp "$IMG/face_tight.ppm" "$tmp/zero/00001.ppm"
refused "$tmp/zero" 00000.ppm
$EMOTI extract -m "$MTL" "$tmp/clip1" -o "$tmp/nodir/feat" 2>"$tmp/err" && fail "unwritable output accepted"
grep -q "nodir/feat" "$tmp/err" || fail "unwritable message: $(cat "$tmp/err")"
ls "$tmp/nodir" 2>/dev/null && fail "partial output left"
$EMOTI extract -m "$MTL" "$tmp/clip1" 2>/dev/null; [ $? -eq 2 ] || fail "missing -o is not a usage error"
[ $fails -eq 0 ] && echo "extract ok" || { echo "$fails extract failures"; exit 1; }
