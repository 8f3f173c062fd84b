#!/usr/bin/env bash
# The README's "## Tutorial" section, run as written, so that it cannot rot.
#
# Every ```sh block of that section (from its heading to the next "## " heading) is a command
# of the tutorial; the blocks run in order, as one bash script under `set -euo pipefail`, so
# the tutorial's `cd` and variables carry from block to block. Other fences (```text: output
# shown to the reader) are not run. The test fails when the section is missing, when it has no
# command, or when any command fails (a pipeline fails when any of its commands does, so the
# README pipes saved files into `head`, never a running emoti). The output shown must be what
# the commands print, numbers aside: every line of the section's ```text blocks (but `...`)
# must equal a line of the run's output (stdout and stderr) once each number in both is
# replaced by `#`, since the last digits differ from one kernel level to another.
#
# The script runs in a scratch folder laid out like the repository root, with these
# substitutions (the README's names on the left):
#   emoti                             -> $EMOTI   (the folder holds `emoti`, a link to it)
#   tools/                            -> this checkout's tools/
#   weights/enet_b0_8_va_mtl.emoti    -> $MODELS/b0_va_mtl_pt.emoti (the multi-task fixture
#                                        model: its architecture, random weights)
#   python3                           -> /usr/bin/python3 (which has numpy), first on PATH
# Before the README, the same runner is checked on small made-up sections: a failing command,
# a missing section and a section without commands must each be reported as a failure.
# Env: EMOTI, BUILD, FIXTURES, MODELS as in tests/run.sh; README (default README.md).
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
MODELS=${MODELS:-$BUILD/models}
PYTHON=${PYTHON:-python3}
README=${README:-README.md}
PY=/usr/bin/python3
if [ -n "${SKIP_PY:-}" ]; then # the sanitizer pass: the other CLI tests run the same code there
    echo "SKIPPED: the tutorial runs in the plain pass only (SKIP_PY is set: the sanitizer pass)"; exit 77
fi
command -v ffmpeg >/dev/null || { echo "SKIPPED: ffmpeg is not installed (the tutorial makes its clip with it)"; exit 77; }
$PY -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy is not installed"; exit 77; }
[ -f "$README" ] || { echo "FAIL: $README not found"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
abspath() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
case $EMOTI in */*) EMOTI_ABS=$(abspath "$EMOTI") ;; *) EMOTI_ABS=$(command -v "$EMOTI") ;; esac
[ -x "$EMOTI_ABS" ] || { echo "FAIL: no emoti binary at '$EMOTI' (make first)"; exit 1; }
MTL=$(abspath "$MODELS/b0_va_mtl_pt.emoti")
if [ ! -f "$MTL" ]; then # tests/run.sh converts it; a standalone run converts its own
    [ -f "$FIXTURES/b0_va_mtl.pt" ] || { echo "SKIPPED: no fixture model at $MTL nor $FIXTURES/b0_va_mtl.pt"; exit 77; }
    MTL=$tmp/mtl.emoti
    $PYTHON tools/export.py "$FIXTURES/b0_va_mtl.pt" -o "$MTL" >/dev/null || { echo "FAIL: export"; exit 1; }
fi

# The lines of the ```$2 blocks (sh: the commands, text: the output shown) of the
# "## Tutorial" section of README $1, each preceded by its line number and a tab.
# Exit status 3: no such section.
extract() {
    awk -v want="$2" '
        /^## / { if (in_sec) exit; if ($0 ~ /^## Tutorial[ \t]*$/) { in_sec = 1; found = 1 } next }
        !in_sec { next }
        fence == "" && /^```/ { fence = substr($0, 4); sub(/[ \t]+$/, "", fence); if (fence == "") fence = "?"; next }
        fence != "" && /^```[ \t]*$/ { fence = ""; next }
        fence == want { print NR "\t" $0 }
        END { exit found ? 0 : 3 }
    ' "$1"
}

# Every line shown in README $1's text blocks (but `...`) against the run's output $2, numbers
# masked; prints the lines that the commands did not print.
check_shown() {
    extract "$1" text | $PY -c '
import re, sys
num = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
mask = lambda line: num.sub("#", line.rstrip())
printed = {mask(line) for line in open(sys.argv[2], errors="replace")}
bad = 0
for entry in sys.stdin:
    n, line = entry.rstrip("\n").split("\t", 1)
    if line.strip() not in ("", "...") and mask(line) not in printed:
        print("tutorial: %s line %s shows output that the commands do not print: %s" % (sys.argv[1], n, line))
        bad += 1
sys.exit(1 if bad else 0)
' "$(basename "$1")" "$2"
}

# Runs the tutorial of README $1 in a fresh scratch folder $2; its output goes to stdout.
run_tutorial() {
    local readme=$1 box=$2 lines rc
    lines=$(extract "$readme" sh); rc=$?
    [ $rc -eq 3 ] && { echo "tutorial: $readme has no '## Tutorial' section"; return 1; }
    [ $rc -eq 0 ] || { echo "tutorial: cannot read $readme"; return 1; }
    if ! printf '%s\n' "$lines" | cut -f2- | grep -Evq '^[[:space:]]*(#.*)?$'; then
        echo "tutorial: the '## Tutorial' section of $readme has no \`\`\`sh command"; return 1
    fi
    mkdir -p "$box/weights" "$box/bin"
    ln -s "$EMOTI_ABS" "$box/emoti"
    ln -s "$(abspath tools)" "$box/tools"
    ln -s "$MTL" "$box/weights/enet_b0_8_va_mtl.emoti"
    ln -s "$PY" "$box/bin/python3"
    # The script: README line numbers for the trace (PS4) and for the failing command (ERR).
    {
        printf 'MAP=('; printf '%s\n' "$lines" | cut -f1 | tr '\n' ' '; printf ')\n'
        echo "where() { echo \"$(basename "$readme") line \${MAP[\$((\$1 - 6))]:-?}\"; }"
        echo "trap '{ rc=\$?; set +x; } 2>/dev/null; echo \"tutorial: the command at \$(where \$LINENO) failed (exit \$rc)\" >&2' ERR"
        echo 'set -euo pipefail'
        # shellcheck disable=SC2016 # expanded by the generated script, at each command
        echo 'PS4='"'"'+ [$(where $LINENO)] '"'"'; set -x'
        printf '%s\n' "$lines" | cut -f2-
    } >"$box.sh"
    (cd "$box" && PATH="$box/bin:$PATH" bash "$box.sh" >"$box.log" 2>&1 </dev/null)
    rc=$?
    cat "$box.log"
    [ $rc -eq 0 ] && check_shown "$readme" "$box.log"
}

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- the runner on made-up READMEs: each must fail, with the reason ----
fence='```'
printf '# x\n## Tutorial\n%ssh\necho one\nfalse\necho never\n%s\n## Next\n' "$fence" "$fence" >"$tmp/r1.md"
printf '# x\n## Quick start\n%ssh\necho hi\n%s\n## Tutorials\n%ssh\necho hi\n%s\n' "$fence" "$fence" "$fence" "$fence" >"$tmp/r2.md"
printf '# x\n## Tutorial\nProse.\n%ssh\n# a comment\n\n%s\n%stext\necho shown only\n%s\n## Next\n%ssh\necho other section\n%s\n' \
    "$fence" "$fence" "$fence" "$fence" "$fence" "$fence" >"$tmp/r3.md"
printf '# x\n## Tutorial\n%ssh\necho "pi 3.14, e 2.72"\n%s\n%stext\npi 3.14, e 2.72\n...\n%s\n' "$fence" "$fence" "$fence" "$fence" >"$tmp/r4.md"
sed 's/^pi 3.14, e 2.72$/pi 3.14; e 2.72/' "$tmp/r4.md" >"$tmp/r5.md"
sed 's/^pi 3.14, e 2.72$/pi 3, e -1e-7/' "$tmp/r4.md" >"$tmp/r6.md"
for spec in "r1:r1.md line 5 failed (exit 1)" "r2:has no '## Tutorial' section" "r3:has no \`\`\`sh command" \
    "r5:r5.md line 7 shows output that the commands do not print: pi 3.14; e 2.72"; do
    name=${spec%%:*} want=${spec#*:}
    if run_tutorial "$tmp/$name.md" "$tmp/box_$name" >"$tmp/$name.out"; then
        fail "the runner passed $name.md: $(cat "$tmp/$name.out")"
    elif ! grep -qF -- "$want" "$tmp/$name.out"; then
        fail "$name.md: the runner's output lacks '$want': $(cat "$tmp/$name.out")"
    else
        echo "ok   runner refuses $name.md: $(grep -F -- "$want" "$tmp/$name.out")"
    fi
done
grep -q "never" "$tmp/r1.out" && fail "the runner went on after a failing command"
for name in r4 r6; do # other numbers, the same shape: accepted
    run_tutorial "$tmp/$name.md" "$tmp/box_$name" >"$tmp/$name.out" || fail "the runner refused $name.md: $(cat "$tmp/$name.out")"
done

# ---- the README ----
n=$(extract "$README" sh | cut -f2- | grep -Evc '^[[:space:]]*(#.*)?$')
shown=$(extract "$README" text | cut -f2- | grep -Evc '^[[:space:]]*(\.\.\.)?[[:space:]]*$')
echo "running the ${n:-0} command lines of the tutorial in $README (${shown:-0} lines of output shown)"
if run_tutorial "$README" "$tmp/box" >"$tmp/tutorial.out"; then
    echo "tutorial ok"
else
    sed 's/^/    /' "$tmp/tutorial.out"
    fail "the tutorial in $README: $(grep '^tutorial: ' "$tmp/tutorial.out" | tail -n 1)"
fi
echo "tutorial took $(($(date +%s) - start)) s"
[ $fails -eq 0 ] || { echo "$fails tutorial failures"; exit 1; }
