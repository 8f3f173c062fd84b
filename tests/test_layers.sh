#!/usr/bin/env bash
# The layering the README's Layout promises: engine/ never includes a cli/ header; cli/ includes
# the public emoti.h and its own headers only (the Makefile also gives it no other -I); no code
# cites a document outside the repository (docs/PIPELINE.md holds the facts it relies on).
set -u
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cli_headers=$(cd cli && ls *.h)
for h in $cli_headers; do
    grep -rln "#include \"$h\"" engine kernels include && fail "an engine file includes cli/$h"
done
for f in cli/*.c cli/*.h; do
    grep -o '#include "[^"]*"' "$f" | sed 's/#include "\(.*\)"/\1/' | while read -r inc; do
        [ "$inc" = emoti.h ] || [ -f "cli/$inc" ] || echo "$f includes $inc"
    done
done >"${TMPDIR:-/tmp}/layers.$$"
[ -s "${TMPDIR:-/tmp}/layers.$$" ] && fail "cli/ includes more than emoti.h and its own: $(cat "${TMPDIR:-/tmp}/layers.$$")"
rm -f "${TMPDIR:-/tmp}/layers.$$"
grep -rln 'REFERENCE\.md\|shared/REFERENCE\|DESIGN\.md' engine kernels cli include tools tests bench fuzz examples \
    --include='*.c' --include='*.h' --include='*.py' --include='*.sh' --include='*.js' | grep -v 'tests/test_layers.sh' &&
    fail "code cites a document outside the repository"
[ -f docs/PIPELINE.md ] || fail "docs/PIPELINE.md is missing"
[ $fails -eq 0 ] && echo "layers ok" || { echo "$fails layering failures"; exit 1; }
