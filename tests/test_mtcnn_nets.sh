#!/bin/sh
# The C MTCNN nets (engine/detect/mtcnn.c) against the float64 reference tests/mtcnn_ref.py
# (an interpreter of the .tflite graphs): random and real inputs, every kernel table, 1e-4.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
MTCNN=${EMOTI_MTCNN:-../shared/models/mtcnn}
FIXTURES=${FIXTURES:-../shared/fixtures}
for n in pnet rnet onet; do
    [ -f "$MTCNN/$n.tflite" ] || { echo "SKIPPED test_mtcnn_nets.sh: no $MTCNN/$n.tflite"; exit 77; }
done
$PYTHON -c 'import numpy' 2>/dev/null || { echo "SKIPPED test_mtcnn_nets.sh: $PYTHON has no numpy"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
$PYTHON tools/export.py --mtcnn "$MTCNN" -o "$tmp/mtcnn.emoti" >/dev/null || exit 1
$PYTHON tests/mtcnn_nets_ref.py "$MTCNN" "$FIXTURES/img" "$tmp/ref.bin" || exit 1
"$BUILD/tests/mtcnn_nets" "$tmp/mtcnn.emoti" "$tmp/ref.bin"
rc=$?
# An EfficientNet container is not a detector: refused by name.
model=${MODELS:-build/models}/b0_8_pt.emoti
if [ -f "$model" ]; then
    err=$("$BUILD/tests/mtcnn_nets" "$model" "$tmp/ref.bin" 2>&1)
    case $? in 2) ;; *) echo "FAIL: $model accepted as the detector"; rc=1 ;; esac
    case $err in *"is not mtcnn"*) ;; *) echo "FAIL: message '$err'"; rc=1 ;; esac
fi
exit $rc
