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
rc=$?
# An emotion model is not a detector, nor the detector a model: one line, refused.
model=${MODELS:-build/models}/b0_8_pt.emoti
if [ -f "$model" ]; then
    err=$("$BUILD/tests/mtcnn_detect" "$model" "$tmp/ref.bin" 2>&1)
    case $?:$err in 2:*"is not mtcnn"*) ;; *) echo "FAIL: $model as the detector: '$err'"; rc=1 ;; esac
fi
EMOTI=${EMOTI:-./emoti}
if [ -x "$EMOTI" ] && [ -f "$FIXTURES/img/face_tight.ppm" ]; then
    err=$("$EMOTI" run -m "$tmp/mtcnn.emoti" "$FIXTURES/img/face_tight.ppm" 2>&1 >/dev/null)
    case $?:$err in 0:*) echo "FAIL: the detector accepted as the model"; rc=1 ;;
        *:"emoti: $tmp/mtcnn.emoti: architecture 'mtcnn' is not efficientnet") ;;
        *) echo "FAIL: the detector as the model: '$err'"; rc=1 ;; esac
fi
exit $rc
