#!/usr/bin/env bash
# emoti video -k K without heads: the model's own class probabilities and valence/arousal,
# gap-filled and box-smoothed. Checked against numpy on the unsmoothed rows of `emoti video`
# (12 frames, 4 undecodable), centred and causal; the label set is the model's; the options
# that need heads are refused.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PY=/usr/bin/python3
MTL=$MODELS/b0_va_mtl_pt.emoti
[ -f "$MTL" ] && [ -d "$FIXTURES/img" ] || { echo "SKIPPED: no converted fixture model at $MTL (tests/run.sh makes it)"; exit 77; }
$PY -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy is not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir "$tmp/clip"
imgs=(face_tight noise coffee face_small face_wide chelsea) j=0
for i in $(seq 1 12); do
    f=$tmp/clip/$(printf %05d "$i").ppm
    case $i in
    1 | 6 | 7 | 12) printf 'P6\n10 10\n255\n' >"$f" ;;
    *) cp "$FIXTURES/img/${imgs[$((j % 6))]}.ppm" "$f"; j=$((j + 1)) ;;
    esac
done
$EMOTI video -m "$MTL" "$tmp/clip" >"$tmp/raw.csv" 2>/dev/null
$EMOTI video -m "$MTL" -k 2 "$tmp/clip" >"$tmp/k2.csv" 2>"$tmp/err"
[ $? -eq 1 ] || fail "-k 2: exit status not 1 with undecodable frames"
grep -q "12 frames (4 undecodable, filled), smoothing va k 2, expr k 2 (centred box)" "$tmp/err" || fail "summary: $(cat "$tmp/err")"
$EMOTI video -m "$MTL" -k 3 --causal 1 -f jsonl "$tmp/clip" >"$tmp/c.jsonl" 2>/dev/null
$EMOTI video -m "$MTL" -k 1 --paper-interp "$tmp/clip" >"$tmp/p.csv" 2>/dev/null
$PY - "$tmp" <<'PY' || fail "smoothed backbone outputs differ from numpy"
import csv, json, sys
import numpy as np
t = sys.argv[1]
raw = list(csv.DictReader(open(t + "/raw.csv")))
classes = [c for c in raw[0] if c not in ("frame", "file", "label", "valence", "arousal")]
assert classes == "Anger,Contempt,Disgust,Fear,Happiness,Neutral,Sadness,Surprise".split(","), classes
good = {int(r["frame"]): [float(r[c]) for c in classes] + [float(r["valence"]), float(r["arousal"])] for r in raw}
n = 12
def filled(paper):
    x, ok = np.zeros((n, 10)), [i in good for i in range(n)]
    for i in good: x[i] = good[i]
    idx = [i for i in range(n) if ok[i]]
    for i in range(n):
        if ok[i]: continue
        p = max([q for q in idx if q < i], default=None); q = min([q for q in idx if q > i], default=None)
        if p is None: x[i] = x[q]
        elif q is None: x[i] = x[p]
        else:
            w = (i - p) / (q - p)
            x[i] = (w * x[p] + (1 - w) * x[q]) if paper else ((1 - w) * x[p] + w * x[q])
    return x
def window(x, back, ahead):
    return np.array([x[max(i - back, 0):min(i + ahead, n - 1) + 1].mean(axis=0) for i in range(n)])
def check(rows, want, name):
    got = np.array([[r["p_" + c] for c in classes] + [r["valence"], r["arousal"]] for r in rows], dtype=float)
    err = abs(got - want).max()
    assert err < 2e-6, (name, err)
    assert [r["expression"] for r in rows] == [classes[i] for i in want[:, :8].argmax(axis=1)], name
    assert [int(r["filled"] in ("1", True)) for r in rows] == [0 if i in good else 1 for i in range(n)], name
    print("%s: max |difference| %.1e" % (name, err))
k2 = list(csv.DictReader(open(t + "/k2.csv")))
assert list(k2[0])[:6] == ["frame", "file", "filled", "valence", "arousal", "expression"], list(k2[0])
check(k2, window(filled(False), 2, 2), "centred k 2")
jrows = [json.loads(l) for l in open(t + "/c.jsonl")]
check([dict(r, **{"p_" + k: v for k, v in r["probs"].items()}) for r in jrows], window(filled(False), 5, 1), "causal k 3 lag 1")
check(list(csv.DictReader(open(t + "/p.csv"))), window(filled(True), 1, 1), "centred k 1, paper interpolation")
PY
# A model without valence/arousal: probabilities only, in its label set.
$EMOTI video -m "$MODELS/b0_8_pt.emoti" -k 1 "$tmp/clip" 2>/dev/null | head -n 1 >"$tmp/h"
grep -qx "frame,file,filled,expression,p_Anger,p_Contempt,p_Disgust,p_Fear,p_Happiness,p_Neutral,p_Sadness,p_Surprise" "$tmp/h" || fail "8-class header: $(cat "$tmp/h")"
for opt in "--values" "--threshold 0.5" "-w 1" "--pretrained-logits 0.1"; do
    # shellcheck disable=SC2086
    $EMOTI video -m "$MTL" -k 1 $opt "$tmp/clip" >"$tmp/out" 2>"$tmp/err"
    [ $? -eq 2 ] && grep -q "needs --heads" "$tmp/err" && [ ! -s "$tmp/out" ] || fail "-k 1 $opt: $(cat "$tmp/err")"
done
$EMOTI video -m "$MTL" --causal 1 "$tmp/clip" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--causal needs --heads, --pretrained-va or -k K" "$tmp/err" || fail "--causal alone: $(cat "$tmp/err")"
$EMOTI video --help | grep -q "AffectNet-8" || fail "--help does not name the label sets"
[ $fails -eq 0 ] && echo "video -k (backbone) ok" || { echo "$fails failures"; exit 1; }
