#!/usr/bin/env bash
# make weights SRC=DIR (weights/get.sh): x.pt and x.onnx side by side never overwrite each
# other silently: the .pt becomes x.emoti and the .onnx is skipped with a warning naming it.
set -u
EMOTI=${EMOTI:-./emoti}
FIXTURES=${FIXTURES:-../shared/fixtures}
PYTHON=${PYTHON:-python3}
if [ ! -f "$FIXTURES/b0_8.pt" ] || [ ! -f "$FIXTURES/b0_8.onnx" ]; then
    echo "SKIPPED: fixtures b0_8.pt / b0_8.onnx not found at $FIXTURES"; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
source_of() { $EMOTI info "$1" | sed -n 's/^source *//p'; }

mkdir "$tmp/both" "$tmp/onnx"
ln -s "$(realpath "$FIXTURES/b0_8.pt")" "$tmp/both/b0_8.pt"
ln -s "$(realpath "$FIXTURES/b0_8.onnx")" "$tmp/both/b0_8.onnx"
ln -s "$(realpath "$FIXTURES/b0_8.onnx")" "$tmp/onnx/b0_8.onnx"
SRC=$tmp/both DEST=$tmp/w PYTHON=$PYTHON bash weights/get.sh >"$tmp/out" 2>"$tmp/err" || fail "get.sh both: $(cat "$tmp/err")"
[ "$(source_of "$tmp/w/b0_8.emoti")" = b0_8.pt ] || fail "b0_8.emoti is from '$(source_of "$tmp/w/b0_8.emoti")', wanted b0_8.pt"
grep -q "^weights: WARNING: $tmp/both/b0_8.onnx skipped: $tmp/both/b0_8.pt converts to the same $tmp/w/b0_8.emoti" "$tmp/err" ||
    fail "no warning: $(cat "$tmp/err")"
[ "$(ls "$tmp/w")" = b0_8.emoti ] || fail "files written: $(ls "$tmp/w" | tr '\n' ' ')"
grep -q "b0_8.onnx" "$tmp/out" && fail "the .onnx reported as converted: $(cat "$tmp/out")"
# An .onnx alone converts as before.
SRC=$tmp/onnx DEST=$tmp/w1 PYTHON=$PYTHON bash weights/get.sh >/dev/null 2>"$tmp/err" || fail "get.sh onnx: $(cat "$tmp/err")"
[ "$(source_of "$tmp/w1/b0_8.emoti")" = b0_8.onnx ] || fail "onnx alone: '$(source_of "$tmp/w1/b0_8.emoti")'"
grep -q WARNING "$tmp/err" && fail "onnx alone warned: $(cat "$tmp/err")"
# The MTCNN detector from a folder of its three .tflite files -> mtcnn.emoti; one missing: named.
MTCNN=${MTCNN:-$FIXTURES/../models/mtcnn}
if [ -f "$MTCNN/pnet.tflite" ]; then
    mkdir "$tmp/det" "$tmp/det2"
    for n in pnet rnet onet; do ln -s "$(realpath "$MTCNN/$n.tflite")" "$tmp/det/$n.tflite"; done
    SRC=$tmp/det DEST=$tmp/w2 PYTHON=$PYTHON bash weights/get.sh >"$tmp/out" 2>"$tmp/err" || fail "get.sh mtcnn: $(cat "$tmp/err")"
    [ "$(ls "$tmp/w2")" = mtcnn.emoti ] || fail "mtcnn: files written: $(ls "$tmp/w2" | tr '\n' ' ')"
    img=$FIXTURES/img/face_small.ppm
    $EMOTI detect -d "$tmp/w2/mtcnn.emoti" "$img" >/dev/null 2>"$tmp/err" || fail "mtcnn.emoti does not detect: $(cat "$tmp/err")"
    ln -s "$(realpath "$MTCNN/pnet.tflite")" "$tmp/det2/pnet.tflite"
    SRC=$tmp/det2 DEST=$tmp/w3 PYTHON=$PYTHON bash weights/get.sh >/dev/null 2>"$tmp/err" && fail "mtcnn without rnet/onet: exit 0"
    grep -q "rnet.tflite" "$tmp/err" || fail "mtcnn without rnet: $(cat "$tmp/err")"
    [ -e "$tmp/w3/mtcnn.emoti" ] && fail "mtcnn without rnet: mtcnn.emoti written"
else
    echo "SKIPPED (part): the MTCNN .tflite files not found at $MTCNN"
fi
[ $fails -eq 0 ] && echo "weights ok" || { echo "$fails weights failures"; exit 1; }
