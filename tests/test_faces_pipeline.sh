#!/bin/sh
# The face pipeline (emoti.h "Face pipeline"; run/video/extract --faces) on a generated clip
# (tests/faces_clip.py: two faces moving and crossing, one missed for a frame, one leaving, a
# scene cut): ids, per-track rows equal to the single-face pipeline on the track's crops
# (tests/faces_pipeline_check.py). Bad input: a video without any face (header only, a note,
# exit 0), the detector given as the model and the model as the detector (one line, exit 1),
# -d without --faces (usage, exit 2).
EMOTI=${EMOTI:-./emoti}
PYTHON=${PYTHON:-python3}
MTCNN=${EMOTI_MTCNN:-../shared/models/mtcnn}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-build/models}
MODEL=$MODELS/b0_va_mtl_pt.emoti
for n in pnet rnet onet; do
    [ -f "$MTCNN/$n.tflite" ] || { echo "SKIPPED test_faces_pipeline.sh: no $MTCNN/$n.tflite"; exit 77; }
done
[ -f "$FIXTURES/img/face_wide.ppm" ] || { echo "SKIPPED test_faces_pipeline.sh: no $FIXTURES/img"; exit 77; }
[ -f "$MODEL" ] || { echo "SKIPPED test_faces_pipeline.sh: no $MODEL (tests/run.sh converts it)"; exit 77; }
for m in numpy PIL; do
    $PYTHON -c "import $m" 2>/dev/null || { echo "SKIPPED test_faces_pipeline.sh: $PYTHON has no $m"; exit 77; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
det=$tmp/mtcnn.emoti
$PYTHON tools/export.py --mtcnn "$MTCNN" -o "$det" >/dev/null || exit 1
$PYTHON tests/faces_clip.py "$FIXTURES/img" "$tmp/clip" "$tmp/none" || exit 1
rc=0
$PYTHON tests/faces_pipeline_check.py "$EMOTI" "$MODEL" "$det" "$tmp/clip" "$tmp" || rc=1

expect() { # STATUS PATTERN CMD...: the last stderr line matches 'emoti: PATTERN'; ONE=1: the only one
    want=$1 pat=$2; shift 2
    err=$("$@" 2>&1 >"$tmp/out"); got=$?
    last=$(printf '%s\n' "$err" | tail -n 1) lines=$(printf '%s\n' "$err" | wc -l)
    case $got:$last in "$want:emoti: "$pat) ;; *) echo "FAIL: '$*': exit $got, '$err' (want $want, 'emoti: $pat')"; rc=1; return 1 ;; esac
    [ -z "${ONE:-}" ] || [ "$lines" = 1 ] || { echo "FAIL: '$*': $lines stderr lines: $err"; rc=1; }
}
# no face in the whole video: the header alone, a note, exit 0; extract keeps no empty set
expect 0 "6 frames, 0 tracks, 0 rows (0 filled), 6 frames without a face" \
    "$EMOTI" video --faces -m "$MODEL" -d "$det" "$tmp/none"
[ "$(wc -l <"$tmp/out")" = 1 ] && grep -q "^frame,time,track,x1,y1,x2,y2,score,filled," "$tmp/out" ||
    { echo "FAIL: video --faces without a face: $(cat "$tmp/out")"; rc=1; }
grep -q "no face in 6 frames" "$tmp/out" && { echo "FAIL: the note went to stdout"; rc=1; }
"$EMOTI" video --faces -m "$MODEL" -d "$det" "$tmp/none" 2>&1 >/dev/null | grep -qx "emoti: $tmp/none: no face in 6 frames" ||
    { echo "FAIL: no 'no face' note"; rc=1; }
expect 1 "$tmp/ex0: no frame extracted; the outputs are left as they were" \
    "$EMOTI" extract --faces -m "$MODEL" -d "$det" "$tmp/none" -o "$tmp/ex0"
[ -e "$tmp/ex0.index.csv" ] && { echo "FAIL: extract --faces wrote an empty set"; rc=1; }
# the detector as the model, the model as the detector: one line, exit 1, for every command
img=$tmp/clip/00001.ppm
for cmd in "run --faces" "video --faces" "extract --faces -o $tmp/x"; do
    in=$img; [ "$cmd" = "run --faces" ] || in=$tmp/clip
    ONE=1 expect 1 "$det: architecture 'mtcnn' is not efficientnet" "$EMOTI" $cmd -m "$det" -d "$det" "$in"
    ONE=1 expect 1 "$MODEL: architecture 'efficientnet' is not mtcnn" "$EMOTI" $cmd -m "$MODEL" -d "$MODEL" "$in"
done
ONE=1 expect 2 "-d needs --faces*" "$EMOTI" video -m "$MODEL" -d "$det" "$tmp/clip"
ONE=1 expect 2 "--min-face needs --faces*" "$EMOTI" run -m "$MODEL" --min-face 20 "$img"
[ $rc = 0 ] && echo "test_faces_pipeline: ok"
exit $rc
