#!/bin/bash
# Big images: the pixel cap (--max-pixels, default 4096x4096) refuses them from the header in
# one line; admitted, they decode in bounded memory: a 2^25-pixel RGBA16 PNG (256 MiB of image
# data) and progressive JPEG run under a 225 MB address-space limit, which a decoder holding
# the whole inflated PNG data, or JPEG coefficients and planes together, does not fit.
set -u
EMOTI=${EMOTI:-./emoti} MODELS=${MODELS:-build/models} PYTHON=${PYTHON:-python3}
B0=$MODELS/b0_8_pt.emoti
# As test_png: $PYTHON if it has Pillow, else /usr/bin/python3.
$PYTHON -c 'import PIL' 2>/dev/null || PYTHON=/usr/bin/python3
if ! $PYTHON -c 'import PIL' 2>/dev/null; then
    echo "SKIPPED test_image_memory: no Python with Pillow (\$PYTHON, /usr/bin/python3) to write the test images"
    exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS LINE_REGEX CMD...: exit status and a stderr of one line matching (NLINES=2:
# the regex on its first line, and a second, the summary of extract).
expect() {
    local want=$1 re=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    [ $rc -eq "$want" ] || fail "$* exited $rc, not $want: $(head -c 300 "$tmp/err")"
    [ "$(wc -l <"$tmp/err")" -le "${NLINES:-1}" ] || fail "$*: more than one line on stderr: $(cat "$tmp/err")"
    [ -z "$re" ] || head -n 1 "$tmp/err" | grep -Eq -- "$re" || fail "$*: stderr '$(cat "$tmp/err")' lacks /$re/"
}

$PYTHON tests/big_png.py 8192 4096 16 6 "$tmp/rgba16.png" || fail "cannot write the PNG"
$PYTHON - "$tmp" <<'PY' || fail "cannot write the JPEGs"
import sys
from PIL import Image
Image.new("RGB", (8192, 4096), (120, 90, 60)).save(sys.argv[1] + "/prog.jpg", quality=90,
                                                  progressive=True)
PY
printf 'YUV4MPEG2 W8192 H4096 F25:1 C420jpeg\n' >"$tmp/big.y4m"
mkdir "$tmp/frames" && cp "$tmp/prog.jpg" "$tmp/frames/00001.jpg"

# The default cap: one line naming the file, its size and the limit; nothing decoded.
limit="is too large \(limit 16777216 pixels\)$"
expect 1 "^emoti: .*/rgba16.png: PNG: image size 8192x4096 $limit" $EMOTI run -m "$B0" "$tmp/rgba16.png"
expect 1 "^emoti: .*/prog.jpg: JPEG: image size 8192x4096 $limit" $EMOTI run -m "$B0" "$tmp/prog.jpg"
expect 1 "^emoti: .*/00001.jpg: JPEG: image size 8192x4096 $limit" $EMOTI video -m "$B0" "$tmp/frames"
expect 1 "^emoti: .*/big.y4m: Y4M frame size 8192x4096 $limit" $EMOTI video -m "$B0" "$tmp/big.y4m"
NLINES=2 expect 1 "^emoti: .*/00001.jpg: JPEG: image size 8192x4096 $limit" \
    $EMOTI extract -m "$B0" -o "$tmp/x" "$tmp/frames"
expect 1 "image size 8192x4096 is too large \(limit 33554431 pixels\)" \
    $EMOTI run -m "$B0" --max-pixels 33554431 "$tmp/prog.jpg"
expect 2 "--max-pixels expects an integer in 1..268435456" $EMOTI run -m "$B0" --max-pixels 0 x.png

# Admitted, under an address-space limit (sanitizer builds reserve terabytes: not there).
case $EMOTI in
*san*) limited() { "$@"; } ;;
*) limited() { bash -c 'ulimit -v 225000 && exec "$@"' - "$@"; } ;;
esac
for f in rgba16.png prog.jpg; do
    expect 0 "" limited $EMOTI run -m "$B0" --max-pixels 33554432 "$tmp/$f"
done
[ $fails -eq 0 ] && echo "test_image_memory: ok"
exit $((fails > 0))
