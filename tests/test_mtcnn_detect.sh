#!/bin/sh
# The whole MTCNN detection in C (emoti_detect) against the float64 reference of the algorithm
# (tests/mtcnn_algo_ref.py): skimage's photos, the fixture images, synthetic scenes with faces
# pasted at known places and sizes (cut by the edges, tiny, very large, none), a crowd of 192
# faces (bounded work). Same faces in the same order, boxes and landmarks within 0.5 px, scores
# within 1e-4.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
MTCNN=${EMOTI_MTCNN:-../shared/models/mtcnn}
FIXTURES=${FIXTURES:-../shared/fixtures}
for n in pnet rnet onet; do
    [ -f "$MTCNN/$n.tflite" ] || { echo "SKIPPED test_mtcnn_detect.sh: no $MTCNN/$n.tflite"; exit 77; }
done
for m in numpy PIL skimage; do
    $PYTHON -c "import $m" 2>/dev/null ||
        { echo "SKIPPED test_mtcnn_detect.sh: $PYTHON has no $m (Debian: python3-skimage)"; exit 77; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
$PYTHON tools/export.py --mtcnn "$MTCNN" -o "$tmp/mtcnn.emoti" >/dev/null || exit 1
$PYTHON tests/mtcnn_algo_ref.py "$MTCNN" "$FIXTURES/img" "$tmp/ref.bin" || exit 1
"$BUILD/tests/mtcnn_detect" "$tmp/mtcnn.emoti" "$tmp/ref.bin"
