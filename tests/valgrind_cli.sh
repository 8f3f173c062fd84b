#!/usr/bin/env bash
# make check-valgrind: every CLI command (run, video, extract, fit, tune, predict, eval, info)
# under valgrind's memcheck on an -O0 -g build: no invalid read or write, no use of an
# uninitialised value, no definite leak. Not part of make test (about 2 minutes of B0 under
# valgrind); the sanitizer pass covers the same paths there.
# Env: EMOTI (an -O0 build), MODELS (converted fixture models), FIXTURES, PYTHON.
set -u
EMOTI=${EMOTI:-build/o0/emoti}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-build/models}
PYTHON=${PYTHON:-/usr/bin/python3}
MTL=$MODELS/b0_va_mtl_pt.emoti
command -v valgrind >/dev/null || { echo "SKIPPED: valgrind is not installed"; exit 77; }
[ -f "$MTL" ] || { echo "SKIPPED: no converted model at $MTL (make check converts it)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
vg() { # name command...: valgrind exit 99 on any error; the command's own status is kept apart
    local name=$1 rc; shift
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --log-file="$tmp/$name.vg" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    if [ -s "$tmp/$name.vg" ] || [ $rc -eq 99 ]; then
        echo "FAIL $name (exit $rc):"; sed 's/^/    /' "$tmp/$name.vg" | head -40; fails=$((fails + 1))
    else
        echo "clean $name (exit $rc)"
    fi
}
mkdir -p "$tmp/clip"
for i in 1 2 3; do cp "$FIXTURES/img/face_tight.ppm" "$tmp/clip/0000$i.ppm"; done
$PYTHON tools/synth_affwild.py "$tmp/d" --train 2 --val 2 --frames 60 --dim 1280 >/dev/null || exit 1
D=$tmp/d
$PYTHON -c "import sys; sys.stdout.buffer.write(b'YUV4MPEG2 W48 H48 F25:1 Ip A1:1 Cmono\n' + (b'FRAME\n' + bytes(range(256)) * 9) * 2)" >"$tmp/c.y4m"
vg run       "$EMOTI" run -m "$MTL" -f csv "$FIXTURES/img/face_tight.ppm" "$FIXTURES/img/noise.ppm"
vg run-bad   "$EMOTI" run -m "$MTL" "$tmp/missing.ppm"
vg info      "$EMOTI" info "$MTL"
vg video     "$EMOTI" video -m "$MTL" -k 1 "$tmp/clip"
vg extract   "$EMOTI" extract -m "$MTL" "$tmp/clip" -o "$tmp/x"
vg extract-  "$EMOTI" extract -m "$MTL" - -o "$tmp/s" <"$tmp/c.y4m"
vg fit-va    "$EMOTI" fit -t va -i "$D/feat" -a "$D/VA_Set" -o "$tmp/va.emoti" --epochs 2 -q
vg fit-au    "$EMOTI" fit -t au -i "$D/feat" -a "$D/AU_Set" -o "$tmp/au.emoti" --epochs 1 -q
vg tune      "$EMOTI" tune "$tmp/au.emoti" -i "$D/feat" -a "$D/AU_Set/Validation_Set" --k-grid 0,2
vg predict   "$EMOTI" predict -H "$tmp/va.emoti" -i "$D/feat" -a "$D/VA_Set/Validation_Set" -o "$tmp/p.csv"
vg eval      "$EMOTI" eval "$tmp/p.csv" "$D/VA_Set/Validation_Set"
vg video-H   "$EMOTI" video -m "$MTL" -H "$tmp/va.emoti" -k 1 "$tmp/clip"
echo "$fails command(s) with valgrind errors"
[ $fails -eq 0 ]
