#!/usr/bin/env bash
# tools/embed.py: B0 linked in as an assembler .incbin, the detector as a C array; the program
# (tests/embedded_run.c) gets results bitwise those of the files, from 64-byte aligned
# read-only memory. Bad input (not a container, a truncated one, a wrong output name, a
# missing file, an unwritable output) is one 'embed:' line, exit 1 (usage: 2), nothing written.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
MODELS=${MODELS:-build/models}
FIXTURES=${FIXTURES:-../shared/fixtures}
MTCNN=${EMOTI_MTCNN:-../shared/models/mtcnn}
model=$MODELS/b0_8_pt.emoti img=$FIXTURES/img/face_wide.ppm
for f in "$model" "$img" "$MTCNN/pnet.tflite" "$BUILD/libemoti.a" "$BUILD/.flags-link"; do
    [ -f "$f" ] || { echo "SKIPPED test_embed.sh: no $f"; exit 77; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
rc=0
fail() { echo "FAIL: $*"; rc=1; }

$PYTHON tools/export.py --mtcnn "$MTCNN" -o "$tmp/mtcnn.emoti" >/dev/null || exit 1
$PYTHON tools/embed.py "$model" -o "$tmp/model.S" --name emoti_test_model || exit 1
$PYTHON tools/embed.py "$tmp/mtcnn.emoti" -o "$tmp/det.c" --name emoti_test_detector || exit 1
# the build's own compiler and link flags (sanitizers, OpenMP), -lm last
read -r cc ldflags <"$BUILD/.flags-link"
$cc -std=c11 -Wall -Wextra -Werror -Iinclude ${ldflags% -lm} tests/embedded_run.c "$tmp/model.S" \
    "$tmp/det.c" "$BUILD/libemoti.a" -lm -o "$tmp/run" || exit 1
out=$("$tmp/run" "$model" "$tmp/mtcnn.emoti" "$img") || fail "embedded_run exit $?"
echo "$out"
[ "$(grep -c ' bitwise the file' <<<"$out")" = 2 ] || fail "embedded results differ from the files'"
grep -q 'detector: .* [1-9][0-9]* faces' <<<"$out" || fail "no face found: the comparison says little"

refused() { # WANT_RC OUTPUT ARGS...: one 'embed:' line (usage errors: argparse's), OUTPUT unchanged
    local want=$1 o=$2; shift 2
    [ -e "$o" ] && cp "$o" "$tmp/before"
    "$PYTHON" tools/embed.py "$@" -o "$o" >"$tmp/out" 2>"$tmp/err"; local got=$?
    [ $got = "$want" ] || fail "embed.py $* -> exit $got, want $want"
    [ -s "$tmp/out" ] && fail "embed.py $*: stdout not empty"
    if [ "$want" = 1 ]; then
        [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q '^embed: ' "$tmp/err" || fail "embed.py $*: $(cat "$tmp/err")"
    fi
    echo "ok   refused ($got): $(tail -1 "$tmp/err")"
    if [ -e "$o" ]; then cmp -s "$o" "$tmp/before" || fail "embed.py $*: $o changed"; fi
    ls -a "$tmp" | grep -q '\.tmp$' && fail "embed.py $*: a temporary file was left"
}
refused 1 "$tmp/a.c" "$MTCNN/pnet.tflite"
head -c 4096 "$model" >"$tmp/short.emoti"
refused 1 "$tmp/a.c" "$tmp/short.emoti"
echo keep >"$tmp/kept.S"
refused 1 "$tmp/kept.S" "$tmp/missing.emoti"
refused 1 "$tmp/no/such/dir/a.S" "$model"
refused 2 "$tmp/a.txt" "$model"
refused 2 "$tmp/a.c" "$model" --name 9bad
[ -e "$tmp/a.c" ] && fail "a refused run left $tmp/a.c"
# --raw: any file, unchecked, byte for byte (the C array read back by the compiler)
printf 'P6\n1 1\n255\n\001\002\377' >"$tmp/px.ppm"
$PYTHON tools/embed.py --raw "$tmp/px.ppm" -o "$tmp/px.c" --name px >/dev/null || fail "embed.py --raw"
printf '#include <stdio.h>\n#include <stddef.h>\nextern const unsigned char px[]; extern const size_t px_size;\nint main(void) { fwrite(px, 1, px_size, stdout); return (size_t)px %% 64 != 0; }\n' >"$tmp/px_main.c"
${CC:-cc} "$tmp/px_main.c" "$tmp/px.c" -o "$tmp/px" && "$tmp/px" | cmp -s - "$tmp/px.ppm" &&
    echo "ok   --raw: a non-container embedded byte for byte, 64-byte aligned" || fail "embed.py --raw: bytes differ"
[ $rc = 0 ] && echo "test_embed: ok"
exit $rc
