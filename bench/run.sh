#!/usr/bin/env bash
# make bench: end-to-end latency of every converted fixture model at every kernel level, then
# the kernel micro-benchmarks. Benchmarks measure; they assert nothing.
set -u
BUILD=${BUILD:-build}
MODELS=${MODELS:-$BUILD/models}
RUNS=${RUNS:-30}
ls "$MODELS"/*.emoti >/dev/null 2>&1 || { echo "bench: no models in $MODELS (run 'make test' first to convert the fixtures)" >&2; exit 1; }
for model in "$MODELS"/b0_8_pt.emoti "$MODELS"/b2_8_onnx.emoti; do
    [ -f "$model" ] || continue
    for isa in scalar avx2; do
        r=$RUNS; [ $isa = scalar ] && r=5   # the scalar reference is slow: a few runs suffice
        EMOTI_ISA=$isa "$BUILD/bench/bench_latency" "$model" $r
    done
done
[ -x "$BUILD/bench/bench_kernels" ] && "$BUILD/bench/bench_kernels"
exit 0
