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

# Reader vs ffmpeg: exact on x86, where emoti follows ffmpeg's arithmetic (its SIMD path for
# 4:2:0 / 4:2:2, the generic scaler for 4:4:4); elsewhere ffmpeg converts with other code,
# within +-2. Odd-sized 4:2:0 frames (which video encoders do not produce) take another
# swscale path that interpolates chroma; emoti does not replicate it, so those are not compared.
[ "$(uname -m)" = x86_64 ] && MAX=0 || MAX=2
compare() { # name y4m: ffmpeg's rgb24 of the stream, then the comparison
    ff -i "$2" -pix_fmt rgb24 -f rawvideo "${2%.y4m}.rgb" || { fail "ffmpeg decode $1"; return; }
    "$BUILD/tests/y4m_compare" "$2" "${2%.y4m}.rgb" $MAX || fail "$1"
    rm -f "${2%.y4m}.rgb"
}
# Limited range (ffmpeg writes yuv420p as C420jpeg without XCOLORRANGE and reads it back as
# limited), and full range: yuvj* and -color_range pc, which ffmpeg marks XCOLORRANGE=FULL.
for size in 96x60 34x18 2x2 130x66 224x224; do  # even sizes: see the note above
    for pf in yuv420p yuv422p yuv444p gray yuvj420p yuvj422p yuvj444p yuv420p:pc yuv444p:pc; do
        f=$tmp/${pf/:/-}-$size range=
        [ "${pf#*:}" = pc ] && range="-color_range pc"
        ff -f lavfi -i "testsrc2=size=128x96:rate=5,scale=${size/x/:}" -frames 3 -pix_fmt ${pf%:pc} $range "$f.y4m" ||
            { fail "ffmpeg $pf $size"; continue; }
        case $pf in yuvj*|*:pc) grep -aq "^YUV4MPEG2 .* XCOLORRANGE=FULL" "$f.y4m" || fail "$pf: ffmpeg wrote no XCOLORRANGE=FULL" ;; esac
        compare "$pf $size" "$f.y4m"
    done
done
# Every (Y, Cb, Cr) triple, limited and full range: the extremes too (in limited 4:4:4 the
# out-of-gamut brightest pixels wrap in ffmpeg's 32-bit sums; emoti does the same).
for cs in 420 422 444; do
    for range in limited full; do
        f=$tmp/every-$cs-$range.y4m
        "$BUILD/tests/y4m_compare" --every-colour $cs $range "$f" || { fail "every-colour $cs $range"; continue; }
        compare "every colour $cs $range" "$f"
        rm -f "$f"
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

# Inputs emoti cannot read: one line naming the file and the ffmpeg pipe that converts it,
# exit 1; the advice, followed, works.
one_line() { # expected-line command...: exit 1, stdout empty, stderr exactly the line
    "${@:2}" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    [ $rc -eq 1 ] || fail "${*:2}: exit $rc"
    [ ! -s "$tmp/out" ] || fail "${*:2}: wrote to stdout"
    [ "$(cat "$tmp/err")" = "$1" ] || fail "${*:2}: message '$(cat "$tmp/err")', wanted '$1'"
}
ff -f lavfi -i "testsrc2=size=64x48:rate=5" -frames 3 -c:v mjpeg "$tmp/talk.avi"
ff -f lavfi -i "testsrc2=size=64x48:rate=5" -frames 3 -c:v mjpeg "$tmp/talk.mp4"
ff -f lavfi -i "testsrc2=size=64x48:rate=5" -frames 3 -c:v mjpeg "$tmp/talk.mkv"
echo "not a video" >"$tmp/notes.txt"
for spec in "talk.avi:an AVI file, " "talk.mp4:an MP4/MOV file, " "talk.mkv:a Matroska/WebM file, " "notes.txt:"; do
    f=$tmp/${spec%%:*}
    one_line "emoti: $f: ${spec#*:}not a YUV4MPEG2 stream: convert it with ffmpeg -i $f -f yuv4mpegpipe -pix_fmt yuv420p - | emoti video -" \
        $EMOTI video -m "$B0" "$f"
done
one_line "emoti: $tmp/talk.avi: an AVI file, not a YUV4MPEG2 stream: convert it with ffmpeg -i $tmp/talk.avi -f yuv4mpegpipe -pix_fmt yuv420p - | emoti video -" \
    $EMOTI video -m "$B0" "$tmp/talk.avi"
pipe=$(sed 's/.*convert it with \(.*\) | emoti video -$/\1/' "$tmp/err")
bash -c "$pipe" 2>/dev/null | $EMOTI video -m "$B0" - >"$tmp/avi.csv" || fail "the advised pipe: $pipe"
[ "$(wc -l <"$tmp/avi.csv")" -eq 4 ] || fail "the advised pipe gave $(wc -l <"$tmp/avi.csv") lines"
ff -f lavfi -i "testsrc2=size=64x48:rate=5" -frames 2 -pix_fmt yuv420p10le -strict -1 "$tmp/deep.y4m"
head -n 1 "$tmp/deep.y4m" | grep -q " C420p10 " || fail "ffmpeg wrote no C420p10: $(head -n 1 "$tmp/deep.y4m")"
one_line "emoti: $tmp/deep.y4m: 10-bit Y4M (C420p10) is not supported: convert it to 8 bits with ffmpeg -i $tmp/deep.y4m -f yuv4mpegpipe -pix_fmt yuv420p - | emoti video -" \
    $EMOTI video -m "$B0" "$tmp/deep.y4m"
pipe=$(sed 's/.*convert it to 8 bits with \(.*\) | emoti video -$/\1/' "$tmp/err")
bash -c "$pipe" 2>/dev/null | $EMOTI video -m "$B0" - >"$tmp/deep.csv" || fail "the advised 10-bit pipe: $pipe"
[ "$(wc -l <"$tmp/deep.csv")" -eq 3 ] || fail "the advised 10-bit pipe gave $(wc -l <"$tmp/deep.csv") lines"
one_line "emoti: stdin: 10-bit Y4M (C420p10) is not supported: convert it to 8 bits with ffmpeg -i INPUT -f yuv4mpegpipe -pix_fmt yuv420p - | emoti video -" \
    $EMOTI video -m "$B0" - <"$tmp/deep.y4m"
ff -f lavfi -i "testsrc2=size=64x48:rate=5" -frames 1 -pix_fmt yuv444p12le -strict -1 "$tmp/deep444.y4m"
one_line "emoti: $tmp/deep444.y4m: 12-bit Y4M (C444p12) is not supported: convert it to 8 bits with ffmpeg -i $tmp/deep444.y4m -f yuv4mpegpipe -pix_fmt yuv444p - | emoti video -" \
    $EMOTI video -m "$B0" "$tmp/deep444.y4m"
one_line "emoti: $tmp/talk.avi: an AVI file, not a YUV4MPEG2 stream: convert it with ffmpeg -i $tmp/talk.avi -f yuv4mpegpipe -pix_fmt yuv420p - | emoti extract -o OUT -" \
    $EMOTI extract -m "$B0" "$tmp/talk.avi" -o "$tmp/x"
ls "$tmp"/x.* >/dev/null 2>&1 && fail "extract of an AVI left output"

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
