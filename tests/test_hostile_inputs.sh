#!/usr/bin/env bash
# Issue 13 findings 5, 8, 9: special files where a file is expected (a FIFO, /dev/zero, a
# folder) fail at once with one 'emoti: ' line, in bounded memory; NaN or infinity in extract
# output is an error naming file and row; messages (every line 'emoti: ', run -, control
# characters in names, run --help).
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PY=/usr/bin/python3
MTL=$MODELS/b0_va_mtl_pt.emoti
[ -f "$MTL" ] && [ -d "$FIXTURES/img" ] || { echo "SKIPPED: no converted fixture model at $MTL (tests/run.sh makes it)"; exit 77; }
$PY -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy is not installed"; exit 77; }
command -v timeout >/dev/null || { echo "SKIPPED: no timeout(1)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
IMG=$FIXTURES/img/face_tight.ppm
$PY -c "import sys; sys.stdout.buffer.write(b'YUV4MPEG2 W48 H48 F25:1 Ip A1:1 Cmono\n' + (b'FRAME\n' + bytes(range(256)) * 9) * 3)" >"$tmp/c.y4m"
$PY tools/synth_affwild.py "$tmp/d" --train 2 --val 2 --frames 40 --dim 1280 >/dev/null || fail "synthetic data"
D=$tmp/d V=$tmp/d/VA_Set/Validation_Set
$EMOTI fit -t va -i "$D/feat" -a "$D/VA_Set" -o "$tmp/va.emoti" --epochs 1 -q >/dev/null 2>&1 || fail "fit"
# the VA head reads outputs.npy (logits), this one features.npy (the embedding)
FE="--input-kind embedding --hidden 0"
$EMOTI fit -t va -i "$D/feat" -a "$D/VA_Set" -o "$tmp/emb.emoti" $FE --epochs 1 -q >/dev/null 2>&1 || fail "fit embedding"
$EMOTI predict -H "$tmp/va.emoti" -i "$D/feat" -a "$V" -o "$tmp/p.csv" 2>/dev/null || fail "predict -o"

# bad PATTERN command...: within 10 s and 1 GiB of address space (not for sanitizer builds,
# which reserve terabytes), exit neither 0 nor a signal, and stderr exactly one line, 'emoti: '
# then PATTERN (an extended regex).
case $EMOTI in *san*) VMEM=unlimited ;; *) VMEM=1048576 ;; esac
bad() {
    local pat=$1 rc
    shift
    (ulimit -v $VMEM; exec timeout -s KILL 10 "$@") </dev/null >/dev/null 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then
        fail "'${*#"$EMOTI" }': exit $rc (want an error), stderr: $(head -c 200 "$tmp/err")"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -Eq "^emoti: .*$pat" "$tmp/err"; then
        fail "'${*#"$EMOTI" }': want one line 'emoti: ...$pat', got: $(head -c 300 "$tmp/err")"
    fi
}
mkfifo "$tmp/fifo" || { echo "SKIPPED: mkfifo failed"; exit 77; }
F=$tmp/fifo NR="fifo: not a regular file \(a FIFO\)"
# ---- finding 5: a FIFO where a file is expected (opening it must not wait for a writer) ----
bad "$NR" "$EMOTI" run -m "$F" "$IMG"
bad "$NR" "$EMOTI" info "$F"
bad "$NR" "$EMOTI" predict -H "$F" -i "$D/feat"
bad "$NR" "$EMOTI" tune "$F" -i "$D/feat" -a "$V"
bad "$NR" "$EMOTI" video -m "$MTL" -H "$F" "$tmp/c.y4m"
bad "$NR" "$EMOTI" eval "$F" "$V"
mkdir "$tmp/ann" && cp "$V"/*.txt "$tmp/ann/" && mkfifo "$tmp/ann/zz.txt"
bad "zz.txt: not a regular file \(a FIFO\)" "$EMOTI" eval "$tmp/p.csv" "$tmp/ann"
bad "zz.txt: not a regular file \(a FIFO\)" "$EMOTI" fit -t va -i "$D/feat" -a "$tmp/ann" -o "$tmp/x.emoti" -q
bad "zz.txt: not a regular file \(a FIFO\)" "$EMOTI" predict -H "$tmp/va.emoti" -i "$D/feat" -a "$tmp/ann"
for part in features.npy index.csv; do # one file of an extract set a FIFO
    mkdir -p "$tmp/s$part" && cp "$D"/feat.* "$tmp/s$part/" && rm "$tmp/s$part/feat.$part" && mkfifo "$tmp/s$part/feat.$part"
    bad "feat.$part: not a regular file \(a FIFO\)" "$EMOTI" predict -H "$tmp/emb.emoti" -i "$tmp/s$part/feat"
    bad "feat.$part: not a regular file \(a FIFO\)" "$EMOTI" fit -t va -i "$tmp/s$part/feat" -a "$D/VA_Set" -o "$tmp/x.emoti" $FE -q
done
# ---- endless inputs: /dev/zero never ends (it grew eval to 2.1 GB in 10 s) ----
Z="/dev/zero: not a regular file"
bad "$Z" "$EMOTI" eval /dev/zero "$V"
bad "$Z" "$EMOTI" run -m /dev/zero "$IMG"
bad "$Z" "$EMOTI" predict -H /dev/zero -i "$D/feat"
bad "$Z" "$EMOTI" video -m "$MTL" -H /dev/zero "$tmp/c.y4m"
bad "$Z" "$EMOTI" run -m "$MTL" /dev/zero
# a shape the file cannot hold is refused before allocating it (not "out of memory")
mkdir "$tmp/big" && cp "$D"/feat.* "$tmp/big/"
$PY -c "
import struct, sys
h = b\"{'descr': '<f4', 'fortran_order': False, 'shape': (50000000, 1280), }\"
h += b' ' * (117 - len(h)) + b'\\n'
open(sys.argv[1], 'wb').write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(h)) + h + bytes(64))" "$tmp/big/feat.outputs.npy"
bad "big/feat.outputs.npy: truncated data" "$EMOTI" predict -H "$tmp/va.emoti" -i "$tmp/big/feat"
# streams stay streams: run - reads at most 256 MiB of stdin; a Y4M FIFO (ffmpeg into a named
# pipe) is still read, a frame at a time
(ulimit -v $VMEM; exec timeout -s KILL 10 "$EMOTI" run -m "$MTL" -) </dev/zero >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "^emoti: stdin: more than 268435456 bytes" "$tmp/err" ||
    fail "run - </dev/zero: exit $rc, $(head -c 200 "$tmp/err")"
mkfifo "$tmp/y4m.fifo" && { cat "$tmp/c.y4m" >"$tmp/y4m.fifo" & }
[ "$(timeout 10 "$EMOTI" video -m "$MTL" -f csv "$tmp/y4m.fifo" | wc -l)" -eq 4 ] || fail "video on a Y4M FIFO"
wait
# ---- finding 8: NaN and infinity in extract output name the file and row ----
nonfinite() { # SET SUFFIX ROW COL VALUE: a copy of the set with one value replaced
    mkdir -p "$tmp/$1" && cp "$D"/feat.* "$tmp/$1/"
    $PY -c "import numpy as n, sys; p = sys.argv[1]; a = n.load(p); a[$3, $4] = float('$5'); n.save(p, a)" "$tmp/$1/feat.$2"
}
nonfinite nan features.npy 7 3 nan
nonfinite inf features.npy 12 0 -inf
nonfinite onan outputs.npy 5 9 nan
ROW7="nan/feat.features.npy: row 7 \(.*\) column 3 is NaN"
bad "$ROW7" "$EMOTI" predict -H "$tmp/emb.emoti" -i "$tmp/nan/feat"
bad "$ROW7" "$EMOTI" fit -t va -i "$tmp/nan/feat" -a "$D/VA_Set" -o "$tmp/x.emoti" $FE -q
bad "$ROW7" "$EMOTI" tune "$tmp/emb.emoti" -i "$tmp/nan/feat" -a "$V" --k-grid 0,1
bad "inf/feat.features.npy: row 12 \(.*\) column 0 is infinite" "$EMOTI" predict -H "$tmp/emb.emoti" -i "$tmp/inf/feat"
ON="onan/feat.outputs.npy: row 5 \(.*\) column 9 is NaN"
bad "$ON" "$EMOTI" predict -H "$tmp/va.emoti" -i "$tmp/onan/feat"
bad "$ON" "$EMOTI" predict --pretrained-va -i "$tmp/onan/feat"
bad "$ON" "$EMOTI" fit -t va -i "$tmp/onan/feat" -a "$D/VA_Set" -o "$tmp/x.emoti" -q
# eval reads predictions as text: a NaN there names the line
{ head -2 "$tmp/p.csv"; sed -n 3p "$tmp/p.csv" | sed 's/,[^,]*$/,nan/'; tail -n +4 "$tmp/p.csv"; } >"$tmp/pnan.csv"
bad "pnan.csv:3: value 2 is not a number" "$EMOTI" eval "$tmp/pnan.csv" "$V"
# ---- finding 9: messages ----
bad "is a directory" "$EMOTI" predict -H "$tmp" -i "$D/feat"
bad "is a directory" "$EMOTI" video -m "$MTL" -H "$tmp" "$tmp/c.y4m"
bad "no command given" "$EMOTI"
bad "unknown option '-x' \(try 'emoti run --help'\)" "$EMOTI" run -x
bad "unknown option.* '-x' \(try 'emoti predict --help'\)" "$EMOTI" predict -x
bad "" "$EMOTI" fit -t va
bad "" "$EMOTI" eval "$tmp/p.csv"
# status lines and warnings too: every line of a working run's stderr
$EMOTI video -m "$MTL" -H "$tmp/va.emoti" --causal 0 "$tmp/c.y4m" >/dev/null 2>"$tmp/err" || fail "video -H"
$EMOTI fit -t va -i "$D/feat" -a "$D/VA_Set" -o "$tmp/y.emoti" --epochs 2 >/dev/null 2>>"$tmp/err" || fail "fit"
$EMOTI predict -H "$tmp/va.emoti" -i "$D/feat" -o "$tmp/q.csv" 2>>"$tmp/err" || fail "predict"
grep -v "^emoti: " "$tmp/err" | grep -q . && fail "stderr lines without 'emoti: ': $(grep -v '^emoti: ' "$tmp/err" | head -3)"
# run - reads one image from stdin: the same result as the file, named '-'
$EMOTI run -m "$MTL" - <"$IMG" >"$tmp/stdin.txt" 2>"$tmp/err" || fail "run -: $(cat "$tmp/err")"
$EMOTI run -m "$MTL" "$IMG" | sed "1s|^$IMG:|-:|" | cmp -s - "$tmp/stdin.txt" || fail "run - differs from run FILE: $(head -2 "$tmp/stdin.txt")"
# control characters in a file name are escaped in text output (csv quotes, jsonl escapes)
esc="$tmp/a$(printf '\033')[2Jb.ppm"
cp "$IMG" "$esc"
$EMOTI run -m "$MTL" "$esc" >"$tmp/esc.txt" || fail "run on a name with ESC"
grep -q "$(printf '\033')" "$tmp/esc.txt" && fail "text output has a raw ESC: $(head -1 "$tmp/esc.txt" | od -c | head -2)"
grep -Fq 'a\u001b[2Jb.ppm:' "$tmp/esc.txt" || fail "text output does not escape ESC as \\u001b: $(head -1 "$tmp/esc.txt")"
# and a message quoting such a name stays one line
nl="$tmp/b"$'\n'"c.ppm"
printf 'P6 1 1 255\n' >"$nl"
bad 'b\\u000ac.ppm: truncated P6 data' "$EMOTI" run -m "$MTL" "$nl"
bad 'b\\u000ac.ppm: not a head container' "$EMOTI" predict -H "$nl" -i "$D/feat"
bad "unknown option '-\\\\u000ax'" "$EMOTI" run "-"$'\n'"x" # the CLI's own messages too
$EMOTI run --help | grep -q "JPEG, PNG" || fail "run --help does not list JPEG and PNG"
[ $fails -eq 0 ] && echo "hostile inputs ok" || { echo "$fails failures"; exit 1; }
