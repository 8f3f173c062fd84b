#!/usr/bin/env bash
# Issue 13 findings 2, 3, 9 (part): output files are written whole or not at all, as one set.
# A file-size limit mid-extract, a run where every input failed, two runs on one prefix, planted
# symlinks, SIGINT/SIGTERM mid-run and a read-only folder leave the earlier results as they were,
# no temporaries behind, and say why in one line.
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
MODELS=${MODELS:-$BUILD/models}
PY=/usr/bin/python3
MTL=$MODELS/b0_va_mtl_pt.emoti
[ -f "$MTL" ] || { echo "SKIPPED: no converted fixture model at $MTL (tests/run.sh makes it)"; exit 77; }
$PY -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy is not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
y4m() { # FILE FRAMES SEED: a grey 48x48 Y4M whose frames differ by SEED
    $PY -c "import sys; n, s = int(sys.argv[2]), int(sys.argv[3]); open(sys.argv[1], 'wb').write(b'YUV4MPEG2 W48 H48 F25:1 Ip A1:1 Cmono\n' + b''.join(b'FRAME\n' + bytes((i * 7 + j * s) % 256 for j in range(48 * 48)) for i in range(n)))" "$@"
}
y4m "$tmp/a.y4m" 40 1
y4m "$tmp/b.y4m" 25 3
mkdir "$tmp/bad" && echo "not an image" >"$tmp/bad/00001.ppm"
set3() { echo "$1.features.npy $1.outputs.npy $1.index.csv"; }
same_set() { # PREFIX REF: the three files equal REF's
    for s in features.npy outputs.npy index.csv; do cmp -s "$1.$s" "$2.$s" || return 1; done
}
no_parts() { # WHAT: no temporary left in $tmp
    local left; left=$(find "$tmp" -name '*.part' | head -3)
    [ -z "$left" ] || fail "$1: temporaries left: $left"
}
one_line() { # WHAT RC WANT_RC PATTERN: exit WANT_RC, stderr one line matching PATTERN
    [ "$2" -eq "$3" ] && [ "$(grep -c . "$tmp/err")" -eq 1 ] && grep -q "^emoti: .*$4" "$tmp/err" ||
        fail "$1: exit $2 (want $3), stderr: $(head -c 300 "$tmp/err")"
}
$EMOTI extract -m "$MTL" "$tmp/a.y4m" -o "$tmp/ra" 2>/dev/null || fail "extract a"
$EMOTI extract -m "$MTL" "$tmp/b.y4m" -o "$tmp/rb" 2>/dev/null || fail "extract b"
for s in features.npy outputs.npy index.csv; do cp "$tmp/ra.$s" "$tmp/s.$s"; done

# A file-size limit (a full disk) while writing features.npy: no file of the set changes.
(ulimit -f 20; $EMOTI extract -m "$MTL" "$tmp/b.y4m" -o "$tmp/s" 2>"$tmp/err"); rc=$?
one_line "ulimit -f 20 extract" $rc 1 "s.features.npy: cannot write (File too large)"
same_set "$tmp/s" "$tmp/ra" || fail "ulimit -f 20 extract: the earlier set changed"
no_parts "ulimit -f 20 extract"
# The same with SIGXFSZ ignored by the parent: the write fails as on a full disk (ENOSPC).
$PY -c "import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20480, 20480))
os.execv(sys.argv[1], sys.argv[1:])" "$EMOTI" extract -m "$MTL" "$tmp/b.y4m" -o "$tmp/s" 2>"$tmp/err"; rc=$?
one_line "disk full in features.npy" $rc 1 "s.features.npy: cannot write (File too large)"
same_set "$tmp/s" "$tmp/ra" || fail "disk full in features.npy: a mixed set (outputs.npy $(cmp -s "$tmp/s.outputs.npy" "$tmp/ra.outputs.npy" && echo kept || echo replaced))"
no_parts "disk full in features.npy"

# Every input failed: the earlier results stay (no empty set over them).
$EMOTI extract -m "$MTL" "$tmp/bad" -o "$tmp/s" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "every input failed: exit $rc"
same_set "$tmp/s" "$tmp/ra" || fail "every input failed: the earlier set was replaced: $(head -c 200 "$tmp/s.index.csv")"
no_parts "every input failed"

# Two runs on one prefix: what stays is exactly one run's set.
for i in 1 2; do
    $EMOTI extract -m "$MTL" "$tmp/a.y4m" -o "$tmp/c" 2>"$tmp/err1" & p1=$!
    $EMOTI extract -m "$MTL" "$tmp/b.y4m" -o "$tmp/c" 2>"$tmp/err2" & p2=$!
    wait $p1; r1=$?; wait $p2; r2=$?
    [ $r1 -eq 0 ] && [ $r2 -eq 0 ] || fail "concurrent extract $i: exit $r1 $r2: $(cat "$tmp/err1" "$tmp/err2" | head -c 300)"
    same_set "$tmp/c" "$tmp/ra" || same_set "$tmp/c" "$tmp/rb" ||
        fail "concurrent extract $i: a mixed set: $($PY -c "import numpy as np, sys; p = sys.argv[1]; print(np.load(p + '.features.npy').shape, np.load(p + '.outputs.npy').shape, open(p + '.index.csv', 'rb').read().count(b'\n') - 1, 'rows;', open(p + '.index.csv', 'rb').read().count(b'\0'), 'NUL bytes in index.csv')" "$tmp/c" 2>&1)"
    no_parts "concurrent extract $i"
done

# Symlinks planted at the old fixed temporary names and at the target: never written through.
echo victim >"$tmp/victim"
for s in features.npy outputs.npy index.csv; do ln -s "$tmp/victim" "$tmp/v.$s.part"; done
$EMOTI extract -m "$MTL" "$tmp/a.y4m" -o "$tmp/v" 2>/dev/null || fail "extract beside planted symlinks"
[ "$(cat "$tmp/victim")" = victim ] || fail "extract wrote through a symlink at OUT.features.npy.part"
same_set "$tmp/v" "$tmp/ra" || fail "extract beside planted symlinks: wrong set"
rm -f "$tmp"/v.*.part
ln -sf "$tmp/victim" "$tmp/v.index.csv"
$EMOTI extract -m "$MTL" "$tmp/a.y4m" -o "$tmp/v" 2>/dev/null || fail "extract over a symlink"
[ "$(cat "$tmp/victim")" = victim ] && [ ! -L "$tmp/v.index.csv" ] || fail "extract wrote through a symlink at OUT.index.csv"
if $PY tools/synth_affwild.py "$tmp/d" --train 2 --val 2 --frames 30 --dim 1280 >/dev/null &&
   $EMOTI fit -t va -i "$tmp/d/feat" -a "$tmp/d/VA_Set" -o "$tmp/va.emoti" --epochs 1 -q >/dev/null 2>&1; then
    ln -s "$tmp/victim" "$tmp/p.csv.part"
    $EMOTI predict -H "$tmp/va.emoti" -i "$tmp/d/feat" -a "$tmp/d/VA_Set/Validation_Set" -o "$tmp/p.csv" 2>/dev/null ||
        fail "predict -o beside a planted symlink"
    [ "$(cat "$tmp/victim")" = victim ] || fail "predict -o out.csv wrote through a symlink at out.csv.part"
    [ -s "$tmp/p.csv" ] && [ ! -L "$tmp/p.csv" ] || fail "predict -o: no p.csv"
    rm -f "$tmp/p.csv.part"
    # Every writer goes through the one helper: a file-size limit is one line, the old file stays.
    limited() { # FILE COMMAND...: under ulimit -f 0, exit 1, "FILE: cannot write (File too large)"
        local f=$1 res rc; shift; cp "$f" "$tmp/old"
        res=$(ulimit -f 0; "$@" 2>&1 >/dev/null; echo "rc=$?") # stderr through a pipe: no limit there
        rc=${res##*rc=}; printf '%s\n' "$res" | sed '$d' >"$tmp/err"
        [ "$rc" = 1 ] && [ "$(grep -c "File too large" "$tmp/err")" -eq 1 ] &&
            tail -1 "$tmp/err" | grep -q "^emoti.*: $f: cannot write (File too large)$" ||
            fail "ulimit -f 0 ${*#"$EMOTI" }: exit $rc, stderr: $(head -c 300 "$tmp/err")"
        cmp -s "$f" "$tmp/old" || fail "ulimit -f 0 ${*#"$EMOTI" }: $f changed"
        no_parts "ulimit -f 0 ${*#"$EMOTI" }"
    }
    limited "$tmp/p.csv" $EMOTI predict -H "$tmp/va.emoti" -i "$tmp/d/feat" -a "$tmp/d/VA_Set/Validation_Set" -o "$tmp/p.csv"
    cp "$tmp/va.emoti" "$tmp/h.emoti"
    limited "$tmp/h.emoti" $EMOTI fit -t va -i "$tmp/d/feat" -a "$tmp/d/VA_Set" -o "$tmp/h.emoti" --epochs 1 -q
    limited "$tmp/h.emoti" $EMOTI tune "$tmp/va.emoti" -i "$tmp/d/feat" -a "$tmp/d/VA_Set/Validation_Set" --k-grid 0,1 -o "$tmp/h.emoti"
    $EMOTI video -m "$MTL" -k 1 --plot "$tmp/x.svg" "$tmp/a.y4m" >/dev/null 2>&1 || fail "video --plot"
    limited "$tmp/x.svg" $EMOTI video -m "$MTL" -k 1 --plot "$tmp/x.svg" "$tmp/b.y4m"
else
    fail "synthetic data / fit for predict -o"
fi
no_parts "planted symlinks"

# SIGINT / SIGTERM mid-run: no temporaries left, the signal's exit status. Job control, so that
# the background run does not start with SIGINT ignored.
set -m
for sig in INT TERM; do
    $EMOTI extract -m "$MTL" "$tmp/a.y4m" "$tmp/a.y4m" "$tmp/a.y4m" "$tmp/a.y4m" -o "$tmp/k" 2>/dev/null & pid=$!
    for _ in $(seq 200); do [ -n "$(find "$tmp" -name 'k.*part')" ] && break; sleep 0.05; done
    [ -n "$(find "$tmp" -name 'k.*part')" ] || fail "kill -$sig: the run made no temporary"
    kill -$sig $pid; wait $pid; rc=$?
    want=$([ $sig = INT ] && echo 130 || echo 143)
    [ $rc -eq $want ] || fail "kill -$sig mid-extract: exit $rc (want $want)"
    no_parts "kill -$sig mid-extract"
    [ -z "$(find "$tmp" -name 'k.*')" ] || fail "kill -$sig mid-extract: files left: $(find "$tmp" -name 'k.*')"
done
set +m

# A read-only folder: one line with the real reason (root writes anywhere: run as nobody).
mkdir "$tmp/ro" && chmod 555 "$tmp/ro" && chmod 755 "$tmp"
as=()
[ "$(id -u)" -eq 0 ] && as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if [ "$(id -u)" -ne 0 ] || { command -v setpriv >/dev/null && "${as[@]}" test -r "$MTL" -a -x "$EMOTI"; }; then
    "${as[@]}" "$EMOTI" extract -m "$MTL" "$tmp/a.y4m" -o "$tmp/ro/x" 2>"$tmp/err"; rc=$?
    one_line "extract into a read-only folder" $rc 1 "ro/x.features.npy: cannot write (Permission denied)"
else
    echo "SKIPPED (part): read-only folder: running as root without setpriv, or nobody cannot read $MTL / run $EMOTI"
fi
[ $fails -eq 0 ] && echo "output files ok" || { echo "$fails failures"; exit 1; }
