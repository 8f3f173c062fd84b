#!/usr/bin/env bash
# make bench-decode: emoti's JPEG and PNG decoders beside libjpeg-turbo and Pillow on ~1 MP
# images. Benchmarks measure; they assert nothing.
#
# Test images (in $BUILD/bench/decode/, made once): a 1024x1024 photo-like RGB PNG
# (tests/png_corpus.py --make-bench: a fixture photo scaled up plus noise), and from it, with
# cjpeg -quality 90: baseline 4:2:0, baseline 4:4:4, progressive 4:2:0.
# Per file: emoti (bench_decode: median of in-process decodes from memory to RGB); for JPEG
# libjpeg-turbo's tjbench (in-process, decode to RGB, same accurate IDCT and fancy upsampling
# as djpeg; three runs) and three loops of `djpeg` runs (process start, file read and PPM
# write included); for PNG Pillow's Image.open(...).convert('RGB') from memory. Ratios are
# emoti / other in frames per second (above 1: emoti is faster), median to median and best
# to best: on a busy machine the best figures are the steadier ones.
# Env: BUILD, PYTHON (needs Pillow + numpy), DECODE_SECONDS (per measurement, default 2),
# DJPEG_RUNS (runs per djpeg loop, default 20; three loops).
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
S=${DECODE_SECONDS:-2}
DJPEG_RUNS=${DJPEG_RUNS:-20}
BENCH=$BUILD/bench/bench_decode
dir=$BUILD/bench/decode
[ -x "$BENCH" ] || { echo "bench-decode: $BENCH missing (make $BENCH)" >&2; exit 1; }
mkdir -p "$dir"

if [ ! -f "$dir/photo_1mp.png" ]; then
    "$PYTHON" tests/png_corpus.py --make-bench "$dir/photo_1mp.png" >/dev/null || {
        echo "bench-decode: could not make the test image (PYTHON=$PYTHON needs Pillow + numpy)" >&2; exit 1; }
fi
if command -v cjpeg >/dev/null 2>&1 && [ ! -f "$dir/jpeg_420_prog.jpg" ]; then
    "$PYTHON" -c "import sys; from PIL import Image; Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2])" \
        "$dir/photo_1mp.png" "$dir/photo_1mp.ppm"
    cjpeg -quality 90 -sample 2x2 "$dir/photo_1mp.ppm" >"$dir/jpeg_420.jpg"
    cjpeg -quality 90 -sample 1x1 "$dir/photo_1mp.ppm" >"$dir/jpeg_444.jpg"
    cjpeg -quality 90 -sample 2x2 -progressive "$dir/photo_1mp.ppm" >"$dir/jpeg_420_prog.jpg"
fi

fps_of() { grep -oE '[0-9.]+ frames/s' | sed -n "${1}p" | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
med3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }  # median of 3
max3() { printf '%s\n' "$@" | sort -g | tail -n 1; }

echo "bench-decode: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $S s per emoti measurement"
echo "ratios are emoti / other in frames per second: median to median, and best to best"
for f in "$dir"/jpeg_420.jpg "$dir"/jpeg_444.jpg "$dir"/jpeg_420_prog.jpg; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    line=$("$BENCH" -t "$S" "$f") || exit 1
    echo "emoti        $line"
    ours=$(echo "$line" | fps_of 1) ours_best=$(echo "$line" | fps_of 2)
    if command -v tjbench >/dev/null 2>&1; then
        # three runs of S/3 s each: tjbench prints the mean rate of one run
        fps=() mps=()
        for _ in 1 2 3; do
            tj=$(tjbench "$f" -rgb -nowrite -benchtime "$(awk -v s="$S" 'BEGIN { print s / 3 }')" -warmup 0.3 2>&1)
            fps+=("$(echo "$tj" | grep -m1 'Frame rate' | grep -oE '[0-9.]+' | head -n 1)")
            mps+=("$(echo "$tj" | grep -m1 'Throughput' | grep -oE '[0-9.]+' | head -n 1)")
        done
        tm=$(med3 "${fps[@]}") tb=$(max3 "${fps[@]}")
        printf 'tjbench      %-18s median %7.2f frames/s  %7.2f MP/s  | best %7.2f frames/s   emoti/tjbench: %s median, %s best\n' \
            "$name" "$tm" "$(med3 "${mps[@]}")" "$tb" "$(ratio "$ours" "$tm")" "$(ratio "$ours_best" "$tb")"
    fi
    if command -v djpeg >/dev/null 2>&1; then
        # three loops of DJPEG_RUNS runs each
        rates=()
        for _ in 1 2 3; do
            t0=$(date +%s%N)
            for _ in $(seq "$DJPEG_RUNS"); do djpeg -outfile /dev/null "$f"; done
            t1=$(date +%s%N)
            rates+=("$(awk -v n="$DJPEG_RUNS" -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", n / (ns / 1e9) }')")
        done
        dm=$(med3 "${rates[@]}") db=$(max3 "${rates[@]}")
        printf 'djpeg loop   %-18s median %7.2f frames/s  (process start + PPM write included)  | best %7.2f frames/s   emoti/djpeg: %s median, %s best\n' \
            "$name" "$dm" "$db" "$(ratio "$ours" "$dm")" "$(ratio "$ours_best" "$db")"
    fi
done

f=$dir/photo_1mp.png
line=$("$BENCH" -t "$S" "$f") || exit 1
echo "emoti        $line"
ours=$(echo "$line" | fps_of 1) ours_best=$(echo "$line" | fps_of 2)
pil=$("$PYTHON" - "$f" "$S" <<'PY'
import io, sys, time
from PIL import Image
data = open(sys.argv[1], "rb").read()
budget, times = float(sys.argv[2]), []
Image.open(io.BytesIO(data)).convert("RGB")
start = time.perf_counter()
while len(times) < 5 or time.perf_counter() - start < budget:
    t = time.perf_counter()
    Image.open(io.BytesIO(data)).convert("RGB")
    times.append(time.perf_counter() - t)
times.sort()
print("%.2f %.2f %d" % (1 / times[len(times) // 2], 1 / times[0], len(times)))
PY
)
if [ -n "$pil" ]; then
    read -r pm pb pn <<<"$pil"
    printf "Pillow       %-18s median %7.2f frames/s  (Image.open().convert('RGB'), %s runs)  | best %7.2f frames/s   emoti/Pillow: %s median, %s best\n" \
        "$(basename "$f")" "$pm" "$pn" "$pb" "$(ratio "$ours" "$pm")" "$(ratio "$ours_best" "$pb")"
fi
exit 0
