#!/usr/bin/env bash
# Y4M: the reader against ffmpeg's own rgb24 conversion (every subsampling, odd sizes), and
# `emoti video` on files, pipes, damaged streams and frame folders.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
if ! command -v ffmpeg >/dev/null; then echo "FAIL: ffmpeg not installed (apt-get install ffmpeg)"; exit 1; fi
if [ ! -f "$FIXTURES/b0_8.pt" ]; then echo "SKIPPED: fixtures not found at $FIXTURES"; exit 77; fi
B0=$MODELS/b0_8_pt.emoti IMG=$FIXTURES/img
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ff() { ffmpeg -v error -nostdin -y "$@"; }

# Reader vs ffmpeg: within +-2 per channel (exact for 4:2:0 / 4:2:2 on x86). Odd-sized 4:2:0
# frames (which video encoders do not produce) take another swscale path that interpolates
# chroma; emoti replicates it, so those are not compared.
for size in 96x60 34x18 2x2 130x66 224x224; do  # even sizes: see the note below
    for pf in yuv420p yuv422p yuv444p gray; do
        f=$tmp/$pf-$size
        ff -f lavfi -i "testsrc2=size=128x96:rate=5,scale=${size/x/:}" -frames 3 -pix_fmt $pf "$f.y4m" &&
            ff -i "$f.y4m" -pix_fmt rgb24 -f rawvideo "$f.rgb" || { fail "ffmpeg $pf $size"; continue; }
        "$BUILD/tests/y4m_compare" "$f.y4m" "$f.rgb" || fail "$pf $size"
    done
done
# A real face, 4:2:0, through the whole pipeline.
ff -loop 1 -i "$IMG/face_wide.ppm" -frames 5 -pix_fmt yuv420p "$tmp/face.y4m"
ff -i "$tmp/face.y4m" -pix_fmt rgb24 -f rawvideo "$tmp/face.rgb"
"$BUILD/tests/y4m_compare" "$tmp/face.y4m" "$tmp/face.rgb" || fail "face"

$EMOTI video -m "$B0" "$tmp/face.y4m" >"$tmp/file.csv" || fail "video file"
[ "$(wc -l <"$tmp/file.csv")" -eq 6 ] || fail "video rows: $(wc -l <"$tmp/file.csv")"
head -n 1 "$tmp/file.csv" | grep -q '^frame,file,label,Anger' || fail "video header"
ff -i "$tmp/face.y4m" -f yuv4mpegpipe - | $EMOTI video -m "$B0" - >"$tmp/pipe.csv" || fail "video pipe"
cmp -s <(cut -d, -f1,3- "$tmp/file.csv") <(cut -d, -f1,3- "$tmp/pipe.csv") || fail "pipe differs from file"

# Truncated stream: frames before the cut are kept, the error names the frame.
size=$(stat -c %s "$tmp/face.y4m")
head -c $((size - 1000)) "$tmp/face.y4m" >"$tmp/cut.y4m"
$EMOTI video -m "$B0" "$tmp/cut.y4m" >"$tmp/cut.csv" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "truncated stream exit $rc"
grep -q "frame 4: truncated" "$tmp/err" || fail "truncated message: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/cut.csv")" -eq 5 ] || fail "truncated kept $(wc -l <"$tmp/cut.csv") lines, wanted 5"
printf 'YUV4MPEG2 W0 H10\n' >"$tmp/bad.y4m"
$EMOTI video -m "$B0" "$tmp/bad.y4m" >/dev/null 2>"$tmp/err" && fail "bad header accepted"
grep -q "bad.y4m: bad Y4M header field 'W0'" "$tmp/err" || fail "bad header message: $(cat "$tmp/err")"
printf 'YUV4MPEG2 W8 H8 C420p10\n' >"$tmp/deep.y4m"
$EMOTI video -m "$B0" "$tmp/deep.y4m" >/dev/null 2>"$tmp/err" && fail "10-bit accepted"
grep -q "C420p10 not supported" "$tmp/err" || fail "10-bit message: $(cat "$tmp/err")"

# Frame folder: natural order (2 before 10), a bad frame reported and skipped.
mkdir "$tmp/frames"
for i in 1 2 10; do cp "$IMG/face_tight.ppm" "$tmp/frames/$(printf %d $i).ppm"; done
printf 'P6\n4 4\n255\n' >"$tmp/frames/3.ppm"
echo "not a frame" >"$tmp/frames/notes.txt"
$EMOTI video -m "$B0" "$tmp/frames" >"$tmp/dir.csv" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "folder with a bad frame: exit $rc"
[ "$(cut -d, -f2 "$tmp/dir.csv" | tr '\n' ' ')" = "file 1.ppm 2.ppm 10.ppm " ] || fail "folder order: $(cut -d, -f2 "$tmp/dir.csv" | tr '\n' ' ')"
grep -q "3.ppm: truncated" "$tmp/err" || fail "bad frame message: $(cat "$tmp/err")"
[ $fails -eq 0 ] && echo "y4m ok" || { echo "$fails Y4M failures"; exit 1; }
