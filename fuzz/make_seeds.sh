#!/usr/bin/env bash
# Writes the fuzzers' starting corpora: small valid files of every kind each parser reads.
#   fuzz/make_seeds.sh OUTDIR        -> OUTDIR/{jpeg,png,ppm,y4m,container,npy,annot,heads}/
# JPEG and PNG come from the decoders' test corpus generators (tests/jpeg_corpus.py,
# tests/png_corpus.py: every subsampling, progression, colour type, bit depth, interlacing,
# and their malformed cases), keeping the files under 8 KB; PPM and Y4M are written here (Y4M
# with ffmpeg when it is installed, plus hand-made headers); model containers by
# fuzz/make_tiny_model.py; .npy arrays, annotation and index files, and heads (through
# tools/export_head.py) here. Needs a Python with Pillow and numpy (PYTHON, default python3),
# cjpeg/djpeg; ffmpeg optional.
set -eu
out=${1:?usage: make_seeds.sh OUTDIR}
PYTHON=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"/{jpeg,png,ppm,y4m,container,npy,annot,heads}
MAX=8192

# --- JPEG / PNG: the test corpora, small files only ---
"$PYTHON" "$root/tests/jpeg_corpus.py" "$tmp/jpeg" --fixtures "${FIXTURES:-$root/../shared/fixtures}" >/dev/null
"$PYTHON" "$root/tests/png_corpus.py" "$tmp/png" >/dev/null
find "$tmp/jpeg" -name '*.jpg' -size -${MAX}c -exec cp {} "$out/jpeg/" \;
find "$tmp/png" -name '*.png' -size -${MAX}c -exec cp {} "$out/png/" \;
# arithmetic coding and 4-component files: the "unsupported" paths
"$PYTHON" - "$tmp/small.ppm" <<'PY'
import sys
w, h = 19, 11
with open(sys.argv[1], "wb") as f:
    f.write(b"P6\n%d %d\n255\n" % (w, h))
    f.write(bytes((x * 13 + y * 7 + c * 50) & 255 for y in range(h) for x in range(w) for c in range(3)))
PY
cjpeg -arithmetic "$tmp/small.ppm" >"$out/jpeg/arith.jpg" 2>/dev/null || true
cjpeg -arithmetic -progressive "$tmp/small.ppm" >"$out/jpeg/arith_prog.jpg" 2>/dev/null || true
cjpeg -restart 1 -sample 2x2 -quality 30 "$tmp/small.ppm" >"$out/jpeg/restart1.jpg"
cjpeg -progressive -sample 1x1 -quality 90 "$tmp/small.ppm" >"$out/jpeg/prog444.jpg"

# --- PPM / PGM: every kind, maxval below/at/above 255, comments, ASCII and binary ---
"$PYTHON" - "$out/ppm" <<'PY'
import os, sys
out = sys.argv[1]
def px(w, h, ch, maxval):
    return [((x * 31 + y * 17 + c * 71) % (maxval + 1)) for y in range(h) for x in range(w) for c in range(ch)]
n = 0
for magic, ch in ((b"P2", 1), (b"P3", 3), (b"P5", 1), (b"P6", 3)):
    for w, h, maxval in ((1, 1, 255), (3, 2, 1), (5, 4, 15), (4, 3, 256), (2, 3, 65535), (7, 5, 255)):
        v = px(w, h, ch, maxval)
        head = b"%s\n# seed %d\n%d %d\n%d\n" % (magic, n, w, h, maxval)
        if magic in (b"P2", b"P3"):
            body = b" ".join(b"%d" % s for s in v) + b"\n"
        elif maxval > 255:
            body = b"".join(bytes((s >> 8, s & 255)) for s in v)
        else:
            body = bytes(v)
        with open(os.path.join(out, "%s_%dx%d_%d.pnm" % (magic.decode(), w, h, maxval)), "wb") as f:
            f.write(head + body)
        n += 1
with open(os.path.join(out, "P6_tight.pnm"), "wb") as f:
    f.write(b"P6 2 1 255 " + bytes(range(6)))
with open(os.path.join(out, "P1.pbm"), "wb") as f:
    f.write(b"P1\n2 2\n0 1 1 0\n")
PY

# --- Y4M: ffmpeg's output for each colour space, and hand-made headers ---
if command -v ffmpeg >/dev/null 2>&1; then
    for fmt in yuv420p yuv422p yuv444p gray; do
        for size in 8x6 7x5; do
            ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc=size=$size:rate=5" -frames:v 2 \
                -pix_fmt $fmt -f yuv4mpegpipe -strict -1 "$out/y4m/ffmpeg_${fmt}_$size.y4m"
        done
    done
fi
"$PYTHON" - "$out/y4m" <<'PY'
import os, sys
out = sys.argv[1]
def planes(w, h, sx, sy, mono):
    y = bytes((i * 7) & 255 for i in range(w * h))
    if mono:
        return y
    cw, ch = (w + sx) >> sx, (h + sy) >> sy
    return y + bytes((i * 5 + 60) & 255 for i in range(cw * ch)) + bytes((i * 3 + 90) & 255 for i in range(cw * ch))
for tag, sx, sy, mono in (("", 1, 1, 0), (" C420paldv", 1, 1, 0), (" C420mpeg2", 1, 1, 0), (" C420", 1, 1, 0),
                          (" C422", 1, 0, 0), (" C444", 0, 0, 0), (" Cmono", 0, 0, 1)):
    w, h = 5, 3
    head = b"YUV4MPEG2 W%d H%d F30000:1001 It A0:0%s XCOMMENT=seed\n" % (w, h, tag.encode())
    body = b"".join(b"FRAME" + (b" Ixyz" if i else b"") + b"\n" + planes(w, h, sx, sy, mono) for i in range(3))
    name = tag.strip()[1:] or "default"
    with open(os.path.join(out, "hand_%s.y4m" % name), "wb") as f:
        f.write(head + body)
with open(os.path.join(out, "header_only.y4m"), "wb") as f:
    f.write(b"YUV4MPEG2 W1 H1 C444\n")
PY

# --- model containers ---
"$PYTHON" "$here/make_tiny_model.py" "$out/container" >/dev/null

# --- .npy: every header version, 1-D and 2-D, empty, and the refused kinds ---
"$PYTHON" - "$out/npy" <<'PY'
import os, struct, sys
import numpy as np
out = sys.argv[1]
a = (np.arange(15, dtype=np.float32) * 0.5 - 3).reshape(5, 3)
for name, arr in (("r5c3", a), ("r6", a.ravel()[:6]), ("r0c4", np.zeros((0, 4), np.float32)),
                  ("r1c1", a[:1, :1]), ("f8", a.astype(np.float64)), ("i4", a.astype(np.int32)),
                  ("be", a.astype(">f4")), ("fortran", np.asfortranarray(a)), ("d3", a.reshape(5, 3, 1))):
    np.save(os.path.join(out, name + ".npy"), arr)
def raw(version, dict_text, body):
    d = dict_text.encode() + b"\n"
    pre = b"\x93NUMPY" + bytes((version, 0))
    return pre + (struct.pack("<H", len(d)) if version == 1 else struct.pack("<I", len(d))) + d + body
body = a.tobytes()
for v in (2, 3):
    with open(os.path.join(out, "v%d.npy" % v), "wb") as f:
        f.write(raw(v, "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }", body))
with open(os.path.join(out, "tight.npy"), "wb") as f:
    f.write(raw(1, "{'shape':(2,3),'fortran_order':False,'descr':'<f4'}", body[:24]))
with open(os.path.join(out, "short.npy"), "wb") as f:
    f.write(raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }", body[:20]))
PY

# --- annotations (VA, EXPR, AU) and extract index files ---
"$PYTHON" - "$out/annot" <<'PY'
import os, sys
out = sys.argv[1]
files = {
    "va.txt": "valence,arousal\n0.5,-0.25\n-1,1\n-5,-5\n0.125, 0.0\n",
    "va_crlf.txt": "valence,arousal\r\n1,0\r\n-0.5,0.5\r\n\r\n",
    "expr.txt": "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n0\n7\n-1\n3\n\n\n",
    "au.txt": "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26\n"
              "0,1,0,0,1,0,0,0,1,0,0,1\n-1,0,0,0,0,0,0,0,0,0,0,0\n1,1,1,1,1,1,1,1,1,1,1,1\n",
    "header_only.txt": "valence,arousal\n",
    "bad_value.txt": "valence,arousal\n0.5,1e400\n",
    "blank_inside.txt": "Neutral\n1\n\n2\n",
    "index.csv": "row,key,video,frame,source\n0,vid/00001.jpg,vid,1,a.mp4\n1,vid/00002.png,vid,2,a.mp4\n"
                 "2,other/00010,other,10,b\n",
    "index_bad_row.csv": "row,key,video,frame,source\n1,vid/00001.jpg,vid,1,a\n",
}
for name, text in files.items():
    with open(os.path.join(out, name), "w", newline="") as f:
        f.write(text)
PY

# --- heads: each task and input kind, 1-3 layers, every activation, tuned settings ---
"$PYTHON" - "$out/heads" "$root/tools" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[2])
import export_head as eh
out = sys.argv[1]
def layers(sizes):
    return [([((i * 7 + j * 3) % 11 - 5) * 0.125 for i in range(a) for j in range(b)], a, b,
             [0.25 * (j % 3 - 1) for j in range(b)]) for a, b in zip(sizes, sizes[1:])]
heads = {
    "va_embedding": eh.head_container(layers([6, 2]), "va", "embedding"),
    "expr_logits": eh.head_container(layers([10, 5, 8]), "expr", "logits", smooth_k=0, note="seed"),
    "au_tuned": eh.head_container(layers([8, 4, 3, 12]), "au", "embedding", acts=["tanh", "none", "sigmoid"],
                                  thresholds=[0.1 * (i % 10) for i in range(12)], name="au_seed", source="x"),
    "expr_3out": eh.head_container(layers([4, 3]), "expr", "embedding", acts=["relu"]),
}
for name, data in heads.items():
    with open(os.path.join(out, name + ".emoti"), "wb") as f:
        f.write(data)
PY

for t in jpeg png ppm y4m container npy annot heads; do
    printf '%-10s %4d files %6d KB\n' "$t" "$(find "$out/$t" -type f | wc -l)" \
        "$(find "$out/$t" -type f -printf '%s\n' | awk '{ s += $1 } END { print int(s / 1024) }')"
done
