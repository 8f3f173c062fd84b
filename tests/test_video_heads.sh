#!/usr/bin/env bash
# emoti video --heads: frames -> smoothed VA / EXPR / AU per frame in one command.
# On a 12-frame folder (fixture images; frames 1, 6, 7 and 12 undecodable) with heads fitted and
# tuned here: the rows equal extract + predict's (centred box; blends, --pretrained-logits,
# --pretrained-va, -k, --paper-interp); --causal rows equal a lagged window computed with numpy
# and come out live from a Y4M pipe; --plot writes well-formed SVG with the expected elements;
# bad input gives one line, a non-zero exit and no file.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PYTHON=${PYTHON:-python3}
PY=/usr/bin/python3
if [ ! -f "$FIXTURES/b0_va_mtl.pt" ] || [ ! -d "$FIXTURES/img" ]; then
    echo "SKIPPED: fixtures not found at $FIXTURES (FIXTURES=DIR)"; exit 77
fi
$PY -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy is not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
start=$(date +%s)
MTL=$MODELS/b0_va_mtl_pt.emoti
if [ ! -f "$MTL" ]; then # tests/run.sh converts it; a standalone run converts its own
    MTL=$tmp/mtl.emoti
    $PYTHON tools/export.py "$FIXTURES/b0_va_mtl.pt" -o "$MTL" >/dev/null || { echo "FAIL: export"; exit 1; }
fi

# ---- a clip, its annotations, extract, heads (fit + tune: k and AU thresholds stored) ----
mkdir -p "$tmp/clip" "$tmp/ann/EXPR" "$tmp/ann/AU" "$tmp/ann/VA"
imgs=(face_tight noise coffee face_small face_wide chelsea) j=0
for i in $(seq 1 12); do
    f=$tmp/clip/$(printf %05d "$i").ppm
    case $i in
    1 | 6 | 7 | 12) printf 'P6\n10 10\n255\n' >"$f" ;; # truncated: a gap (leading, 2 inside, trailing)
    *) cp "$FIXTURES/img/${imgs[$((j % 6))]}.ppm" "$f"; j=$((j + 1)) ;;
    esac
done
$PY - "$tmp/ann" <<'PY'
import random, sys
d, r = sys.argv[1], random.Random(5)
def write(task, header, lines):
    open("%s/%s/clip.txt" % (d, task), "w").write(header + "\n" + "".join(l + "\n" for l in lines))
write("EXPR", "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other", map(str, [0, 4, 4, 5, 5, 6, 6, 1, 1, 2, 3, 4]))
write("AU", "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26", [",".join(str(r.randint(0, 1)) for _ in range(12)) for _ in range(12)])
write("VA", "valence,arousal", ["%.3f,%.3f" % (r.uniform(-1, 1), r.uniform(-1, 1)) for _ in range(12)])
PY
$EMOTI extract -m "$MTL" "$tmp/clip" -o "$tmp/feat" 2>/dev/null
[ "$(wc -l <"$tmp/feat.index.csv")" -eq 9 ] || fail "extract: $(cat "$tmp/feat.index.csv")"
F=$tmp/feat A=$tmp/ann
fit() { $EMOTI fit -i "$F" -q --batch 4 "$@" >/dev/null 2>"$tmp/err" || fail "fit $*: $(cat "$tmp/err")"; }
fit -t expr -a "$A/EXPR" -o "$tmp/expr.emoti" --epochs 3
fit -t expr -a "$A/EXPR" -o "$tmp/expr2.emoti" --epochs 3 --seed 7 --hidden 32
fit -t au -a "$A/AU" -o "$tmp/au.emoti" --epochs 3
fit -t va -a "$A/VA" -o "$tmp/va.emoti" --epochs 5
for spec in expr:EXPR:2 au:AU:1 va:VA:3; do
    IFS=: read -r t d k <<<"$spec"
    $EMOTI tune "$tmp/$t.emoti" -i "$F" -a "$A/$d" --k-grid "$k" >/dev/null 2>&1 || fail "tune $t"
done
H="-m $MTL -H $tmp/va.emoti -H $tmp/expr.emoti,$tmp/au.emoti"

# ---- centred mode (+ plot) equals extract + predict ----
ln -s clip "$tmp/a&b<c>" # the plot's title must escape the input's name
$EMOTI video $H --plot "$tmp/out.svg" "$tmp/a&b<c>" >"$tmp/v.csv" 2>"$tmp/err"
[ $? -eq 1 ] || fail "4 undecodable frames: exit status not 1"
grep -q "12 frames (4 undecodable, filled), smoothing va k 3, expr k 2, au k 1 (centred box)" "$tmp/err" || fail "summary: $(cat "$tmp/err")"
[ -f "$tmp/out.svg" ] && [ -z "$(find "$tmp" -name "out.svg*.part")" ] || fail "plot not written (or .part left)"
pred() { # out-name task-dir predict-options...
    local out=$1 d=$2; shift 2
    $EMOTI predict -i "$F" -a "$A/$d" "$@" -o "$tmp/$out.csv" 2>"$tmp/err" || fail "predict $*: $(cat "$tmp/err")"
}
pred p_va VA -H "$tmp/va.emoti"
pred p_exprv EXPR -H "$tmp/expr.emoti" --values
pred p_expr EXPR -H "$tmp/expr.emoti"
pred p_au AU -H "$tmp/au.emoti"
$PY - "$tmp" <<'PY' || fail "video --heads differs from extract + predict"
import csv, sys
t = sys.argv[1]
v = list(csv.DictReader(open(t + "/v.csv")))
P = lambda name: [r[1:] for r in list(csv.reader(open("%s/%s.csv" % (t, name))))[1:]]
classes = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other".split(",")
aus = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26".split(",")
assert list(v[0]) == ["frame", "file", "filled", "valence", "arousal", "expression"] + ["p_" + c for c in classes] + aus, list(v[0])
assert len(v) == 12 and [r["frame"] for r in v] == [str(i) for i in range(12)]
assert [r["file"] for r in v] == ["%05d.ppm" % i for i in range(1, 13)]
assert [r["filled"] for r in v] == list("100001100001"), [r["filled"] for r in v]
va, ev, ec, au = P("p_va"), P("p_exprv"), P("p_expr"), P("p_au")
for i, r in enumerate(v):  # the same text: both print %.6f of the same doubles
    assert [r["valence"], r["arousal"]] == va[i], (i, r, va[i])
    assert [r["p_" + c] for c in classes] == ev[i], (i, r, ev[i])
    assert r["expression"] == classes[int(ec[i][0])], (i, r["expression"], ec[i])
    assert [r[a] for a in aus] == au[i], (i, au[i])
print("centred: 12 rows equal predict's (VA, EXPR probabilities and class, AU decisions)")
PY

# ---- blends, pre-trained modes, -k, --paper-interp, AU values (jsonl) ----
$EMOTI video -m "$MTL" -H "$tmp/expr.emoti" -H "$tmp/expr2.emoti" -H "$tmp/au.emoti" -w 0.7,0.3,1 \
    --pretrained-logits 0.1 --pretrained-va -k 1 --paper-interp --values -f jsonl "$tmp/clip" >"$tmp/b.jsonl" 2>/dev/null
[ $? -eq 1 ] || fail "blend run exit status"
O="-k 1 --paper-interp --values"
pred b_expr EXPR -H "$tmp/expr.emoti" -H "$tmp/expr2.emoti" -w 0.7,0.3 --pretrained-logits 0.1 $O
pred b_va VA --pretrained-va $O
pred b_au AU -H "$tmp/au.emoti" $O
$PY - "$tmp" <<'PY' || fail "blends / pre-trained modes differ from predict"
import csv, json, sys
t = sys.argv[1]
rows = [json.loads(l) for l in open(t + "/b.jsonl")]
P = lambda name: [[float(x) for x in r[1:]] for r in list(csv.reader(open("%s/%s.csv" % (t, name))))[1:]]
ex, va, au = P("b_expr"), P("b_va"), P("b_au")
assert len(rows) == 12
for i, r in enumerate(rows):
    assert list(r["probs"].values()) == ex[i], (i, r["probs"], ex[i])
    assert r["expression"] == max(r["probs"], key=r["probs"].get)
    assert [r["valence"], r["arousal"]] == va[i], (i, r, va[i])
    assert list(r["au"].values()) == au[i], (i, r["au"], au[i])
    assert r["filled"] == (i in (0, 5, 6, 11))
print("blend 0.7/0.3 + pretrained logits 0.1, pretrained VA, -k 1, paper interpolation: equal")
PY

# ---- causal: a lagged window (numpy on predict's unsmoothed, gap-filled values) ----
$EMOTI video $H --causal 2 --values -f jsonl "$tmp/clip" >"$tmp/c.jsonl" 2>"$tmp/err"
grep -q "each row is written 2 frames after its frame arrives (va k 3 lag 2, expr k 2 lag 2, au k 1 lag 1)" "$tmp/err" || fail "latency line: $(cat "$tmp/err")"
pred r_va VA -H "$tmp/va.emoti" -k 0
pred r_expr EXPR -H "$tmp/expr.emoti" -k 0 --values
pred r_au AU -H "$tmp/au.emoti" -k 0 --values
$PY - "$tmp" <<'PY' || fail "--causal differs from the lagged window"
import csv, json, sys
import numpy as np
t = sys.argv[1]
rows = [json.loads(l) for l in open(t + "/c.jsonl")]
P = lambda name: np.array([[float(x) for x in r[1:]] for r in list(csv.reader(open("%s/%s.csv" % (t, name))))[1:]])
def window(x, k, lag):  # the 2k+1 frames ending lag frames after each frame, truncated at the ends
    n = len(x)
    return np.array([x[max(i + lag - 2 * k, 0):min(i + lag, n - 1) + 1].mean(axis=0) for i in range(n)])
LAG = 2
va, ex, au = (window(P(name), k, min(LAG, k)) for name, k in (("r_va", 3), ("r_expr", 2), ("r_au", 1)))
got_va = np.array([[r["valence"], r["arousal"]] for r in rows])
got_ex = np.array([list(r["probs"].values()) for r in rows])
got_au = np.array([list(r["au"].values()) for r in rows])
assert [r["frame"] for r in rows] == list(range(12))
err = max(abs(got_va - va).max(), abs(got_ex - ex).max(), abs(got_au - au).max())
assert err < 2e-6, err
names = list(rows[0]["probs"])
assert [r["expression"] for r in rows] == [names[i] for i in ex.argmax(axis=1)]
print("causal LAG 2 (va k 3, expr k 2, au k 1 -> lag 1): max |difference| %.1e" % err)
PY

# ---- live: rows come out of a Y4M pipe while the stream is still open ----
$PY - "$EMOTI" "$MTL" "$tmp" <<'PY' || fail "--causal is not live"
import os, select, subprocess, sys
import numpy as np
emoti, mtl, t = sys.argv[1:]
heads = ["-H", t + "/va.emoti", "-H", t + "/expr.emoti", "-H", t + "/au.emoti"]
p = subprocess.Popen([emoti, "video", "-m", mtl] + heads + ["--causal", "1", "-"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
rng, buf, fd = np.random.default_rng(1), b"", p.stdout.fileno()
def next_line():
    global buf
    while b"\n" not in buf:
        if not select.select([fd], [], [], 60)[0]:
            raise SystemExit("no row within 60 s")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise SystemExit("output ended early")
        buf += chunk
    line, buf = buf.split(b"\n", 1)
    return line.decode()
p.stdin.write(b"YUV4MPEG2 W48 H48 F25:1 Ip A1:1 Cmono\n")
for i in range(6):
    p.stdin.write(b"FRAME\n" + rng.integers(0, 256, 48 * 48, dtype=np.uint8).tobytes())
    p.stdin.flush()
    if i == 1:
        assert next_line().startswith("frame,file,filled,valence")
    if i >= 1:  # latency 1: frame i - 1's row, before frame i + 1 is sent
        row = next_line()
        assert row.startswith("%d,-,0," % (i - 1)), row
p.stdin.close()
assert next_line().startswith("5,-,0,")
assert p.wait() == 0
print("live: each row arrived one frame after its own, with the stream open")
PY

# ---- the plot ----
$PY - "$tmp" <<'PY' || fail "SVG"
import csv, sys
import xml.etree.ElementTree as ET
t = sys.argv[1]
S = "{http://www.w3.org/2000/svg}"
root = ET.parse(t + "/out.svg").getroot()
v = list(csv.DictReader(open(t + "/v.csv")))
classes = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other".split(",")
aus = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26".split(",")
assert root.tag == S + "svg" and root.find(S + "title").text == "emoti video %s/a&b<c>" % t
g = {e.get("id"): e for e in root.iter(S + "g") if e.get("id")}
assert {"va", "expression", "expression-band", "expression-legend", "au", "gaps", "frame-axis"} <= set(g), set(g)
lines = {e.get("id"): e.get("points").split() for e in g["va"].iter(S + "polyline")}
assert set(lines) == {"valence", "arousal"} and all(len(p) == 12 for p in lines.values())
y = lambda x: 72 + (1 - float(x)) * 100  # the VA panel: y in [-1, 1] over 200 px from y = 72
for name, pts in lines.items():
    assert all(abs(float(p.split(",")[1]) - y(r[name])) < 0.06 for p, r in zip(pts, v)), name
runs = lambda seq: [x for i, x in enumerate(seq) if i == 0 or seq[i - 1] != x]
legend = [e.text for e in g["expression-legend"].iter(S + "text")]
colour = {c: r.get("fill") for c, r in zip(legend, g["expression-legend"].iter(S + "rect"))}
assert legend == classes, legend
band = g["expression-band"].findall(S + "rect")
assert [r.get("fill") for r in band] == [colour[c] for c in runs([r["expression"] for r in v])]
assert abs(sum(float(r.get("width")) for r in band) - 876) < 0.1  # the whole frame axis
rows = [e for e in g["au"].findall(S + "g") if e.get("class") == "au-row"]
assert [r.find(S + "text").text for r in rows] == aus
for a, row in zip(aus, rows):  # a background rect, then one rect per run of active frames
    assert len(row.findall(S + "rect")) - 1 == runs([r[a] for r in v]).count("1"), a
assert len(g["gaps"].findall(S + "rect")) == 3  # frames 0, 5-6, 11
print("plot: well-formed, VA lines, %d expression runs, %d AU rows, 3 gaps" % (len(band), len(rows)))
PY

# ---- bad input: one line, exit status, nothing written ----
expect() { # code pattern command...: the exit code, one stderr line matching, stdout empty
    local code=$1 pat=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq "$code" ] || fail "'$*' exit $rc, wanted $code: $(cat "$tmp/err")"
    grep -q -- "$pat" "$tmp/err" || fail "'$*' stderr lacks '$pat': $(cat "$tmp/err")"
    [ "$(grep -c . "$tmp/err")" -le 1 ] || fail "'$*' printed more than one line: $(cat "$tmp/err")"
    [ -s "$tmp/out" ] && fail "'$*' wrote to stdout: $(head -c 200 "$tmp/out")"
    echo "ok   $(head -n 1 "$tmp/err" | sed "s|$tmp/||g")"
}
$PY - "$tmp" <<'PY'
import sys
sys.path.insert(0, "tools")
import export_head
def head(name, n_in, n_out):  # zero weights: only the shapes matter here
    blob = export_head.head_container([([0.0] * n_in * n_out, n_in, n_out, [0.0] * n_out)], "expr", "embedding")
    open("%s/%s.emoti" % (sys.argv[1], name), "wb").write(blob)
head("wide", 16, 8)
head("expr7", 1280, 7)
PY
V="$EMOTI video -m $MTL"
expect 1 "nothere.emoti: cannot open" $V -H "$tmp/nothere.emoti" "$tmp/clip"
expect 1 "wide.emoti: the expr head reads 16 values, but the embedding of .* has 1280" $V -H "$tmp/wide.emoti" "$tmp/clip"
expect 1 "expr7.emoti is a expr head with 7 outputs; blended heads must match .*expr.emoti (expr, 8)" $V -H "$tmp/expr.emoti" -H "$tmp/au.emoti,$tmp/expr7.emoti" "$tmp/clip"
expect 2 "causal expects an integer in 0..100000, not 'soon'" $V -H "$tmp/expr.emoti" --causal soon "$tmp/clip"
expect 2 "causal expects an integer in 0..100000, not '-1'" $V -H "$tmp/expr.emoti" --causal -1 "$tmp/clip"
expect 2 "causal needs --heads" $V --causal 2 "$tmp/clip"
expect 2 "plot needs --heads" $V --plot "$tmp/x.svg" "$tmp/clip"
expect 2 "writes csv or jsonl" $V -H "$tmp/expr.emoti" -f text "$tmp/clip"
expect 2 "2 weights for 1 heads" $V -H "$tmp/expr.emoti" -w 1,2 "$tmp/clip"
expect 1 "va.emoti: a va head; --pretrained-va takes VA from the model" $V -H "$tmp/va.emoti" --pretrained-va "$tmp/clip"
expect 1 "nodir/out.svg: cannot write (No such file or directory)" $V -H "$tmp/expr.emoti" --plot "$tmp/nodir/out.svg" "$tmp/clip"
[ -e "$tmp/nodir" ] && fail "unwritable plot: something was created"
expect 1 "is a directory" $V -H "$tmp/expr.emoti" --plot "$tmp/ann" "$tmp/clip"
mkdir "$tmp/bad"; printf 'P6\n10 10\n255\n' >"$tmp/bad/00001.ppm"
$V -H "$tmp/expr.emoti" --plot "$tmp/bad.svg" "$tmp/bad" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "bad: no frame could be decoded" "$tmp/err" || fail "no decodable frame: $(cat "$tmp/err")"
[ -s "$tmp/out" ] || [ -e "$tmp/bad.svg" ] || [ -n "$(find "$tmp" -name "bad.svg*.part")" ] && fail "no decodable frame: output written"
# A Y4M stream that breaks off: the rows read stand, exit 1, no plot.
$PY -c "import sys; sys.stdout.buffer.write(b'YUV4MPEG2 W48 H48 F25:1 Ip A1:1 Cmono\n' + (b'FRAME\n' + bytes(range(256)) * 9) * 2 + b'FRAME\n' + bytes(100))" >"$tmp/cut.y4m"
$V -H "$tmp/expr.emoti" --plot "$tmp/cut.svg" "$tmp/cut.y4m" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(wc -l <"$tmp/out")" -eq 3 ] || fail "broken stream: $(cat "$tmp/out" "$tmp/err")"
[ -e "$tmp/cut.svg" ] || [ -e "$tmp/cut.svg.part" ] && fail "broken stream: plot written"
$EMOTI video --help | grep -q -- "--causal LAG" || fail "--help lacks --causal"

echo "video --heads took $(($(date +%s) - start)) s"
[ $fails -eq 0 ] && echo "video --heads ok" || { echo "$fails video --heads failures"; exit 1; }
