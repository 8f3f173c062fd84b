#!/usr/bin/env bash
# Writes the fuzzers' starting corpora: small valid files of every kind each parser reads.
#   fuzz/make_seeds.sh OUTDIR        -> OUTDIR/{jpeg,png,ppm,y4m,container}/
# JPEG and PNG come from the decoders' test corpus generators (tests/jpeg_corpus.py,
# tests/png_corpus.py: every subsampling, progression, colour type, bit depth, interlacing,
# and their malformed cases), keeping the files under 8 KB; PPM and Y4M are written here (Y4M
# with ffmpeg when it is installed, plus hand-made headers); model containers by
# fuzz/make_tiny_model.py. Needs a Python with Pillow and numpy (PYTHON, default python3),
# cjpeg/djpeg; ffmpeg optional.
set -eu
out=${1:?usage: make_seeds.sh OUTDIR}
PYTHON=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"/{jpeg,png,ppm,y4m,container}
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

for t in jpeg png ppm y4m container; do
    printf '%-10s %4d files %6d KB\n' "$t" "$(find "$out/$t" -type f | wc -l)" \
        "$(find "$out/$t" -type f -printf '%s\n' | awk '{ s += $1 } END { print int(s / 1024) }')"
done
