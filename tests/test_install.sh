#!/usr/bin/env bash
# make install / uninstall, the pkg-config file, the man page, the default-model lookup and the
# dependency tracking (header .d files, flag stamps), in a tree of its own under $BUILD/install
# (unoptimised, so that its three builds stay fast; the main build and ./emoti are left alone):
#   plain build -> DESTDIR install: the files; examples/classify.c built with pkg-config against
#     the installed library and run on a fixture; the man page names every command and option
#     of the --help texts; a header change recompiles only its includers;
#   make OPENMP=1 in the same tree: every object recompiled, the binary links OpenMP, -fopenmp in
#     the .pc Libs; classify again, against that library; make again: the plain binary back;
#   an install without DESTDIR: the CLI finds its model in the installed models folder, or says
#     where it looked; make uninstall removes exactly what make install put there.
set -u
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
CC=${CC:-cc}
case $BUILD in
*san*) echo "SKIPPED: sanitizer pass (this test builds and installs trees of its own, unsanitized; it runs in make check)"; exit 77 ;;
esac
command -v pkg-config >/dev/null || { echo "FAIL: pkg-config is not installed (apt-get install pkg-config)"; exit 1; }
# Run from make check: the jobserver of that make is not ours.
unset MAKEFLAGS MFLAGS MAKELEVEL

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
die() { echo "FAIL: $*"; exit 1; }

T=$BUILD/install
rm -rf "$T"
mkdir -p "$T"
T=$(cd "$T" && pwd)
B=$T/obj STAGE=$T/stage PREFIX=/opt/emoti-test
# Everything but DESTDIR / PREFIX / OPENMP is the same for every make below.
mk() { make -j2 --no-print-directory CC="$CC" OPT=-O0 BUILD="$B" BIN="$B/emoti" "$@"; }
objects() { find "$B" -name '*.o' | wc -l; }
compiles() { grep -c -- ' -c .*\.c -o ' "$1"; }
openmp_symbols() { nm -u "$1" | grep -cE 'GOMP_|__kmpc_'; }

abs() { echo "$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")"; }
model=$(abs "$MODELS/b0_8_pt.emoti") img=$(abs "$FIXTURES/img/face_tight.ppm") have_model=1
if [ ! -f "$model" ] || [ ! -f "$img" ]; then
    have_model=0
    echo "!!! NO FIXTURE MODEL/IMAGE ($model, $img): the installed library and CLI are built and"
    echo "!!! installed but NOT RUN on an image (make check converts the fixture models first)."
fi

# --- plain build, installed into a staging DESTDIR ---------------------------------------------
mk PREFIX=$PREFIX DESTDIR="$STAGE" install >"$T/plain.log" 2>&1 || { cat "$T/plain.log"; die "make install"; }
P=$STAGE$PREFIX
expected="bin/emoti bin/emoti-export include/emoti.h lib/libemoti.a lib/pkgconfig/emoti.pc
share/emoti/export.py share/emoti/installed-models share/man/man1/emoti.1"
got=$(cd "$P" && find . ! -type d | sed 's|^\./||' | sort | tr '\n' ' ')
[ "$got" = "$(echo $expected | tr ' ' '\n' | sort | tr '\n' ' ')" ] && ok "installed: $got" ||
    fail "installed files: '$got', expected '$expected'"
[ -d "$P/share/emoti/models" ] && ok "models folder $PREFIX/share/emoti/models" || fail "no models folder"
[ -x "$P/bin/emoti" ] && [ -x "$P/bin/emoti-export" ] || fail "bin/emoti, bin/emoti-export not executable"
grep -q "python3 \"$PREFIX/share/emoti/export.py\"" "$P/bin/emoti-export" ||
    fail "emoti-export does not run $PREFIX/share/emoti/export.py: $(tail -n 1 "$P/bin/emoti-export")"
python3 "$P/share/emoti/export.py" --help >/dev/null 2>&1 || fail "the installed export.py does not run alone"

# A header change recompiles the objects that include it, not the others; no change, nothing.
mk -q PREFIX=$PREFIX all && ok "make again: up to date" || fail "make again would rebuild"
redo=$(mk -n -W engine/media/png.h PREFIX=$PREFIX all | sed -n 's/.* -c \([^ ]*\.c\) .*/\1/p' | sort | tr '\n' ' ')
if [[ " $redo " == *" engine/media/png.c "* && " $redo " == *" engine/media/image.c "* ]]; then
    other=$(printf '%s\n' $redo | grep -v '^engine/media/')
    [ -z "$other" ] && ok "png.h changed: recompiles $redo" || fail "touching png.h recompiles unrelated files: $other"
else
    fail "touching png.h does not recompile png.c and image.c: '$redo'"
fi

# pkg-config, from the staging tree (the sysroot prefixes its -I / -L).
pc() { PKG_CONFIG_PATH="$1$PREFIX/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR=$1 PKG_CONFIG_LIBDIR='' pkg-config "${@:2}"; }
classify() { # STAGE NAME: builds examples/classify.c against the library installed there, runs it
    local flags out want
    flags=$(pc "$1" --cflags --libs emoti) || { fail "$2: pkg-config --cflags --libs emoti"; return; }
    echo "     $2: pkg-config --cflags --libs emoti: $flags"
    # shellcheck disable=SC2086  # a list of flags
    $CC -std=c11 -Wall -Wextra -Werror examples/classify.c $flags -o "$T/classify-$2" ||
        { fail "$2: examples/classify.c does not build with '$flags'"; return; }
    ok "$2: examples/classify.c built against the installed library"
    if [ $have_model = 0 ]; then echo "!!! $2: classify NOT RUN (no fixture model/image)"; return; fi
    out=$("$T/classify-$2" "$model" "$img" | head -n 1) || { fail "$2: classify failed: $out"; return; }
    want=$("$1$PREFIX/bin/emoti" run -m "$model" "$img" | head -n 1 | sed 's/^[^:]*: //')
    [ -n "$out" ] && [ "$out" = "$want" ] && ok "$2: classify says '$out', as emoti run does" ||
        fail "$2: classify says '$out', emoti run '$want'"
}
[ "$(pc "$STAGE" --modversion emoti)" = "$("$P/bin/emoti" version | sed 's/^emoti //')" ] ||
    fail "pkg-config --modversion $(pc "$STAGE" --modversion emoti) is not the library's"
case $(pc "$STAGE" --libs emoti) in *-fopenmp*) fail "plain build: -fopenmp in the .pc Libs" ;; esac
classify "$STAGE" plain

# The man page: every command 'emoti --help' lists, each in its section with every option of its
# --help. Roff's \- and font changes are taken out first.
man=$P/share/man/man1/emoti.1
text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man")
section() { printf '%s\n' "$text" | awk -v h=".SS \"emoti $1" \
    'index($0, h " ") == 1 || $0 == h "\"" { on = 1; print; next } /^\.S[SH]/ { on = 0 } on'; }
fails_before=$fails
cmds=$("$P/bin/emoti" --help | sed -n '/^commands:/,/^[^ ]/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(echo $cmds | wc -w)" -ge 9 ] || fail "emoti --help lists only '$cmds'"
for c in $cmds; do
    sec=$(section "$c")
    [ -n "$sec" ] || { fail "man page: no section for 'emoti $c' (.SS \"emoti $c ...\")"; continue; }
    help=$("$P/bin/emoti" "$c" --help 2>/dev/null) || help=""
    missing=""
    for o in $(printf '%s\n' "$help" | grep -E '^ +-' | grep -oE '(^| )--?[a-zA-Z][a-z0-9-]*' | sort -u); do
        printf '%s\n' "$sec" | grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" || missing="$missing $o"
    done
    [ -z "$missing" ] || fail "man page, emoti $c: options of its --help not described:$missing"
done
for v in EMOTI_MODEL EMOTI_ISA EMOTI_THREADS; do
    printf '%s\n' "$text" | grep -q "^\.B $v$" || fail "man page: \$$v not in ENVIRONMENT"
done
grep -q "$PREFIX/share/emoti/models" "$man" || fail "man page: the installed models folder is not named"
if command -v groff >/dev/null; then
    warn=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
    [ -z "$warn" ] || fail "man page: groff warns: $warn"
else
    echo "     (groff not installed: the man page's rendering is not checked)"
fi
[ $fails = "$fails_before" ] && ok "man page: commands $(echo $cmds), their options, the environment"

# --- make OPENMP=1 in the same tree: everything recompiled, OpenMP linked in ------------------
n_obj=$(objects)
mk OPENMP=1 PREFIX=$PREFIX DESTDIR="$T/stage-omp" install >"$T/omp.log" 2>&1 ||
    { cat "$T/omp.log"; die "make OPENMP=1 install"; }
n=$(compiles "$T/omp.log")
[ "$n" = "$n_obj" ] && ok "make OPENMP=1 after make: $n of $n_obj objects recompiled" ||
    fail "make OPENMP=1 after make recompiled $n of $n_obj objects"
[ "$(openmp_symbols "$B/emoti")" -gt 0 ] && ok "OpenMP binary: $(nm -u "$B/emoti" | grep -E 'GOMP_|__kmpc_' | awk '{print $2}' | tr '\n' ' ')" ||
    fail "make OPENMP=1 after make: the binary calls no OpenMP runtime"
command -v ldd >/dev/null && echo "     ldd: $(ldd "$B/emoti" | awk '/omp/ {print $1, $2, $3}')"
libs=$(pc "$T/stage-omp" --libs emoti)
case $libs in *-fopenmp*) ok "OpenMP .pc Libs: $libs" ;; *) fail "OpenMP build: no -fopenmp in the .pc Libs: $libs" ;; esac
classify "$T/stage-omp" openmp

mk PREFIX=$PREFIX all >"$T/plain2.log" 2>&1 || { cat "$T/plain2.log"; die "make after make OPENMP=1"; }
n=$(compiles "$T/plain2.log")
[ "$n" = "$n_obj" ] && [ "$(openmp_symbols "$B/emoti")" = 0 ] &&
    ok "make after make OPENMP=1: $n objects recompiled, no OpenMP in the binary" ||
    fail "make after make OPENMP=1: $n of $n_obj recompiled, $(openmp_symbols "$B/emoti") OpenMP calls"

# --- uninstall: nothing of ours left ----------------------------------------------------------
for s in "$STAGE" "$T/stage-omp"; do
    mk PREFIX=$PREFIX DESTDIR="$s" uninstall >/dev/null 2>&1 || fail "make uninstall ($s)"
    left=$(find "$s" ! -type d)
    [ -z "$left" ] && ok "make uninstall: no file left in $(basename "$s")" || fail "make uninstall left: $left"
done

# --- the installed CLI's model lookup, installed for real under $T/root -------------------------
R=$T/root
if [ $have_model = 1 ]; then
    mk PREFIX="$R" WEIGHTS="$model" install >"$T/root.log" 2>&1 || { cat "$T/root.log"; die "make install PREFIX=$R"; }
    [ -f "$R/share/emoti/models/b0_8_pt.emoti" ] && ok "make install copies the models (WEIGHTS) into share/emoti/models" ||
        fail "make install WEIGHTS=$model: not in $R/share/emoti/models"
    "$R/bin/emoti-export" --info "$R/share/emoti/models/b0_8_pt.emoti" >/dev/null ||
        fail "emoti-export --info on the installed model"
    mkdir -p "$T/cwd"
    msg=$(cd "$T/cwd" && env -u EMOTI_MODEL "$R/bin/emoti" run "$img" 2>&1 >/dev/null); rc=$?
    want_all=1
    for w in "EMOTI_MODEL" "./weights/enet_b0_8_best_vgaf.emoti" "$R/share/emoti/models/enet_b0_8_best_vgaf.emoti" \
        "make weights" "make weights SRC=DIR"; do
        case $msg in *"$w"*) ;; *) want_all=0 ;; esac
    done
    [ $rc = 1 ] && [ $want_all = 1 ] && [ "$(printf '%s\n' "$msg" | wc -l)" = 1 ] &&
        ok "no model anywhere: exit 1, '$msg'" || fail "no model anywhere: exit $rc, '$msg'"
    cp "$model" "$R/share/emoti/models/enet_b0_8_best_vgaf.emoti" # not installed by make: stays
    out=$(cd "$T/cwd" && env -u EMOTI_MODEL "$R/bin/emoti" run "$img" 2>&1 | head -n 1)
    want=$("$R/bin/emoti" run -m "$model" "$img" | head -n 1)
    [ -n "$want" ] && [ "$out" = "$want" ] && ok "the installed models folder's model is the default: $out" ||
        fail "default model from the models folder: '$out', with -m: '$want'"
    # ./weights comes before the models folder, $EMOTI_MODEL before both (a bad local file shows it).
    mkdir -p "$T/cwd/weights" && echo "not a model" >"$T/cwd/weights/enet_b0_8_best_vgaf.emoti"
    out=$(cd "$T/cwd" && env -u EMOTI_MODEL "$R/bin/emoti" run "$img" 2>&1); rc=$?
    [ $rc = 1 ] && case $out in *"weights/enet_b0_8_best_vgaf.emoti"*) true ;; *) false ;; esac &&
        ok "./weights/ comes before the models folder: $out" || fail "./weights/ first: exit $rc, '$out'"
    out=$(cd "$T/cwd" && EMOTI_MODEL=$model "$R/bin/emoti" run "$img" 2>&1 | head -n 1)
    [ "$out" = "$want" ] && ok "\$EMOTI_MODEL comes before ./weights/" || fail "EMOTI_MODEL first: '$out'"
    out=$(cd "$T/cwd" && EMOTI_MODEL=$T/cwd/none.emoti "$R/bin/emoti" run "$img" 2>&1); rc=$?
    [ $rc = 1 ] && case $out in *none.emoti*) true ;; *) false ;; esac &&
        ok "a missing \$EMOTI_MODEL is reported, not replaced: $out" || fail "EMOTI_MODEL=none.emoti: exit $rc, '$out'"
    "$R/bin/emoti" run --help | grep -q "$R/share/emoti/models/enet_b0_8_best_vgaf.emoti" ||
        fail "emoti run --help does not name the installed default model"
    mk PREFIX="$R" uninstall >/dev/null 2>&1 || fail "make uninstall PREFIX=$R"
    left=$(cd "$R" && find . ! -type d)
    [ "$left" = "./share/emoti/models/enet_b0_8_best_vgaf.emoti" ] &&
        ok "make uninstall removed what it installed and kept the model added by hand" ||
        fail "make uninstall PREFIX=$R left '$left' (expected only the model added by hand)"
else
    echo "!!! the installed CLI's model lookup NOT RUN (no fixture model/image)"
fi

# Another BUILD links its binary inside itself, never over ./emoti (make -n: nothing is built).
links=$(make -n -B --no-print-directory OPENMP=1 BUILD="$T/omp-tree" all 2>/dev/null | grep -o -- '-o [^ ]*emoti$')
[ "$links" = "-o $T/omp-tree/emoti" ] && ok "make OPENMP=1 BUILD=DIR links DIR/emoti, not ./emoti" ||
    fail "make OPENMP=1 BUILD=DIR links '$links'"

rm -rf "$T"
[ $fails = 0 ] || { echo "$fails failed"; exit 1; }
echo "all install checks passed"
