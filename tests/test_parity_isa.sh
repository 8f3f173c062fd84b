#!/usr/bin/env bash
# Parity with the float64 goldens at every kernel level this CPU runs (test_parity itself runs
# at the default level, the widest one): EMOTI_ISA=scalar, avx2, avx512, each where available.
# NEON runs under qemu in make check-neon. Skipped in the sanitizer pass (scalar parity there
# takes minutes; that pass runs test_parity at the default level).
set -u
EMOTI=${EMOTI:-./emoti}
BUILD=${BUILD:-build}
MODELS=${MODELS:-$BUILD/models}
case $BUILD in
*san*) echo "SKIPPED: sanitizer build (test_parity covers the default level there)"; exit 77 ;;
esac
[ -f "$MODELS/b0_8_pt.emoti" ] || { echo "SKIPPED: no converted models in $MODELS (fixtures absent?)"; exit 77; }
fails=0 ran=""
for isa in scalar avx2 avx512; do
    if ! EMOTI_ISA=$isa "$EMOTI" info "$MODELS/b0_8_pt.emoti" >/dev/null 2>"$BUILD/isa.err"; then
        echo "SKIPPED $isa: $(cat "$BUILD/isa.err")"
        continue
    fi
    if EMOTI_ISA=$isa "$BUILD/tests/test_parity" >"$BUILD/isa.log" 2>&1; then
        echo "ok   $isa: $(grep -c '^ok ' "$BUILD/isa.log") models"
        grep '^ok ' "$BUILD/isa.log" | sed 's/^/       /'
        ran="$ran $isa"
    else
        echo "FAIL $isa:"; sed 's/^/    /' "$BUILD/isa.log" | tail -20
        fails=$((fails + 1))
    fi
done
rm -f "$BUILD/isa.err" "$BUILD/isa.log"
[ -n "$ran" ] || { echo "FAIL: no kernel level ran"; exit 1; }
[ $fails -eq 0 ] && echo "parity at:$ran"
[ $fails -eq 0 ]
