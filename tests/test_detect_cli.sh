#!/bin/sh
# emoti detect: on the fixture images, a two-face scene and a blank image, the CSV header and
# rows and the JSON lines agree with the float64 reference of the algorithm (detect_cli_check.py);
# bad inputs (a missing file among good ones, the model as the detector, the detector as the
# model, no detector at all, a 1x1 image, a 20000x20000 PNG header, 900 faces) give one
# 'emoti:' line and the documented status.
EMOTI=${EMOTI:-./emoti}
PYTHON=${PYTHON:-python3}
MTCNN=${EMOTI_MTCNN:-../shared/models/mtcnn}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-build/models}
F=$FIXTURES/img
for n in pnet rnet onet; do
    [ -f "$MTCNN/$n.tflite" ] || { echo "SKIPPED test_detect_cli.sh: no $MTCNN/$n.tflite"; exit 77; }
done
[ -f "$F/face_tight.ppm" ] || { echo "SKIPPED test_detect_cli.sh: no $F/face_tight.ppm"; exit 77; }
for m in numpy PIL; do
    $PYTHON -c "import $m" 2>/dev/null || { echo "SKIPPED test_detect_cli.sh: $PYTHON has no $m"; exit 77; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
det=$tmp/mtcnn.emoti
$PYTHON tools/export.py --mtcnn "$MTCNN" -o "$det" >/dev/null || exit 1
# two faces of different sizes (largest first) and a blank grey image (no face, face 0)
$PYTHON -c "
from PIL import Image
a, b = Image.open('$F/face_wide.ppm').convert('RGB'), Image.open('$F/face_small.ppm').convert('RGB')
c = Image.new('RGB', (a.width + b.width + 40, max(a.height, b.height) + 20), (90, 110, 100))
c.paste(b, (10, 10)); c.paste(a, (b.width + 30, 10)); c.save('$tmp/two.ppm')
Image.new('RGB', (160, 120), (128, 128, 128)).save('$tmp/blank.ppm')" || exit 1
rc=0
check() { # MIN_FACE IMAGE...
    mf=$1; shift
    "$EMOTI" detect -d "$det" --min-face "$mf" "$@" >"$tmp/o.csv" || { echo "FAIL: detect csv exit $?"; rc=1; }
    "$EMOTI" detect -d "$det" --min-face "$mf" -f jsonl "$@" >"$tmp/o.jsonl" || { echo "FAIL: detect jsonl"; rc=1; }
    $PYTHON tests/detect_cli_check.py "$MTCNN" "$tmp/o.csv" "$tmp/o.jsonl" "$mf" "$@" || rc=1
}
check 40 "$F"/*.ppm "$tmp/two.ppm" "$tmp/blank.ppm"
check 20 "$F/face_small.ppm" "$tmp/two.ppm"
n=$(grep -c "^$tmp/two.ppm,[12]," "$tmp/o.csv")
[ "$n" = 2 ] || { echo "FAIL: two.ppm: $n faces, not 2"; rc=1; }

expect() { # STATUS PATTERN CMD...: exactly one stderr line, matching ('': stderr empty)
    want=$1 pat=$2 ok=0; shift 2
    err=$("$@" 2>&1 >"$tmp/out"); got=$?
    case $got:$(printf '%s\n' "$err" | wc -l):$err in
        "$want:1:emoti: "$pat) [ -n "$pat" ] && ok=1 ;;
        "$want:1:") [ -z "$pat" ] && ok=1 ;;
    esac
    [ $ok = 1 ] || { echo "FAIL: '$*': exit $got, '$err' (want $want, 'emoti: $pat')"; rc=1; return 1; }
}
# a missing file among good ones: reported, the others still written, exit 1
expect 1 "$tmp/none.ppm: cannot open*" "$EMOTI" detect -d "$det" "$F/face_tight.ppm" "$tmp/none.ppm" "$tmp/blank.ppm"
[ "$(grep -c ppm, "$tmp/out")" = 2 ] || { echo "FAIL: the good images around a missing one"; cat "$tmp/out"; rc=1; }
# a 1x1 image is an image without a face, not an error
printf 'P6\n1 1\n255\n\0\0\0' >"$tmp/one.ppm"
expect 0 "" "$EMOTI" detect -d "$det" "$tmp/one.ppm"
grep -qx "$tmp/one.ppm,0,,,,,,,,,,,,,,," "$tmp/out" || { echo "FAIL: 1x1 image row"; cat "$tmp/out"; rc=1; }
# a 20000x20000 PNG header (1.2 GB of RGB) is refused before anything is allocated for it
$PYTHON -c "
import struct, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
open('$tmp/huge.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 20000, 20000, 8, 2, 0, 0, 0))
    + chunk(b'IDAT', zlib.compress(bytes(100))) + chunk(b'IEND', b''))" || exit 1
# (under a 400 MB address-space limit; sanitizer builds reserve terabytes, so not there)
case $EMOTI in
*san*) vlimit=unlimited ;;
*) vlimit=400000 ;;
esac
(ulimit -v $vlimit; expect 1 "$tmp/huge.png: PNG: image size 20000x20000 is too large*" "$EMOTI" detect -d "$det" "$tmp/huge.png") || rc=1
# 900 faces in one image: the work is bounded (EMOTI_DETECT_MAX_ONET = 256 faces at most)
$PYTHON -c "
from PIL import Image
f = Image.open('$F/face_small.ppm').convert('RGB')
c = Image.new('RGB', (f.width * 30, f.height * 30), (90, 110, 100))
for i in range(900): c.paste(f, (i % 30 * f.width, i // 30 * f.height))
c.save('$tmp/crowd.ppm')" || exit 1
expect 0 "" "$EMOTI" detect -d "$det" --min-face 20 "$tmp/crowd.ppm"
n=$(grep -c "crowd.ppm," "$tmp/out")
[ "$n" -ge 100 ] && [ "$n" -le 256 ] || { echo "FAIL: crowd of 900: $n rows (want 100..256)"; rc=1; }
[ -f "$MODELS/b0_8_pt.emoti" ] &&
    expect 1 "$MODELS/b0_8_pt.emoti: architecture 'efficientnet' is not mtcnn" \
        "$EMOTI" detect -d "$MODELS/b0_8_pt.emoti" "$F/face_tight.ppm"
expect 1 "$det: architecture 'mtcnn' is not efficientnet" "$EMOTI" run -m "$det" "$F/face_tight.ppm"
# no -d, nothing in the default places: one line naming $EMOTI_DETECTOR and -d
mkdir "$tmp/cwd"
abs=$(cd "$(dirname "$EMOTI")" && pwd)/$(basename "$EMOTI")
if [ -e /usr/local/share/emoti/models/mtcnn.emoti ]; then
    echo "note: a detector is installed: the no-detector message is not checked"
else
    (cd "$tmp/cwd" && EMOTI_DETECTOR= expect 1 "no detector: *EMOTI_DETECTOR*-d FILE" "$abs" detect x.ppm) || rc=1
fi
EMOTI_DETECTOR=$det expect 0 "" "$EMOTI" detect "$F/face_tight.ppm"
grep -q "face_tight.ppm,1," "$tmp/out" || { echo "FAIL: \$EMOTI_DETECTOR not used"; rc=1; }
expect 2 "writes csv or jsonl, not text*" "$EMOTI" detect -d "$det" -f text "$F/face_tight.ppm"
expect 2 "--min-face expects a number in \[12, 65536\], not '5'*" "$EMOTI" detect -d "$det" --min-face 5 x
# --draw DIR: one PPM per image (the folder created), the input's pixels with face 1's box in
# green and face 2's in magenta, an image without faces unchanged, a repeated name numbered;
# a DIR that cannot be made is one line before any work; a write failing is one line, exit 1
expect 0 "" "$EMOTI" detect -d "$det" --draw "$tmp/drawn" "$tmp/two.ppm" "$tmp/blank.ppm" "$F/face_tight.ppm" "$tmp/cwd/../two.ppm"
[ "$(grep -c ppm, "$tmp/out")" = 6 ] || { echo "FAIL: --draw changed the rows"; cat "$tmp/out"; rc=1; }
$PYTHON - "$tmp" "$F" <<'PY' || rc=1
import csv, sys
from PIL import Image
tmp, F = sys.argv[1], sys.argv[2]
rows = [r for r in csv.DictReader(open(tmp + '/out')) if r['file'].endswith('/two.ppm') and 'cwd' not in r['file']]
ok = True
def fail(m):
    global ok; ok = False; print('FAIL: --draw: ' + m)
if len(rows) != 2: fail(f'{len(rows)} rows for two.ppm, not 2')
for name, src in (('two', 'two'), ('blank', 'blank'), ('two-4', 'two')):
    a, b = Image.open(f'{tmp}/{src}.ppm').convert('RGB'), Image.open(f'{tmp}/drawn/{name}.ppm')
    if b.mode != 'RGB' or b.size != a.size: fail(f'{name}.ppm is {b.mode} {b.size}, not RGB {a.size}')
    elif name == 'blank' and a.tobytes() != b.tobytes(): fail('an image without faces changed')
    elif name != 'blank':
        for r, colour in zip(rows, ((0, 255, 0), (255, 0, 255))):
            x, y = int(float(r['x1'])) + 2, int(float(r['y1']))
            if b.getpixel((x, y)) != colour: fail(f'{name}.ppm face {r["face"]} top edge {b.getpixel((x, y))}')
        cx, cy = (int(float(rows[0][k])) for k in ('x1', 'y1'))
        if b.getpixel((cx + 10, cy + 10)) != a.getpixel((cx + 10, cy + 10)): fail('inside the box changed')
Image.open(f'{tmp}/drawn/face_tight.ppm')
sys.exit(0 if ok else 1)
PY
: >"$tmp/afile"
expect 1 "$tmp/afile/d: cannot create the folder (Not a directory)" "$EMOTI" detect -d "$det" --draw "$tmp/afile/d" "$F/face_tight.ppm"
[ -s "$tmp/out" ] && { echo "FAIL: --draw into a bad folder still wrote rows"; rc=1; }
mkdir -p "$tmp/drawn2/face_tight.ppm"
expect 1 "$tmp/drawn2/face_tight.ppm: *" "$EMOTI" detect -d "$det" --draw "$tmp/drawn2" "$F/face_tight.ppm"
grep -q "face_tight.ppm,1," "$tmp/out" || { echo "FAIL: a failed drawing lost the row"; rc=1; }
[ $rc = 0 ] && echo "test_detect_cli: ok"
exit $rc
