#!/usr/bin/env bash
# make bench-ort: emoti against ONNX Runtime (onnxruntime-node, CPU) on the same fixture weights,
# batch 1, side by side on this machine. Benchmarks measure; they assert nothing.
#
# Needs Node.js; npm too, but only the first time: onnxruntime-node is installed into $ORT_DIR
# (build/ort, outside git) with --ignore-scripts (its postinstall fetches GPU parts; the CPU
# library ships in the package) and reused afterwards, so later runs need no network.
#
# For each model (B0, B2) and thread count T: ROUNDS rounds, each one ORT session (node) with
# one emoti process beside it (bench_latency --serve, driven by bench/ort_bench.js --pair):
# after 3 warm-up runs each, RUNS pairs of single forward passes on the same fixed [1,3,S,S]
# tensor, one ORT run and one emoti run per pair in alternating order, PAIR_GAP_MS (50) apart
# (ORT's intra-op workers keep spinning for a while after a run; with no gap they slowed
# emoti's 2-thread B0 runs from 13 to 44 ms). A shared machine's slow spells last seconds and
# cost up to 1.5x: they hit both runs of a pair alike, so each pair's emoti/ORT ratio is
# compared at the same moment. Reported: the median over rounds of each engine's median, of
# the rounds' median pair ratio, the smallest time seen, ORT session creation vs emoti model
# load (median over rounds); the pairs split by the machine's state (by_state); then peak RSS
# of one-image runs and binary sizes.
#
# Environment: BUILD FIXTURES PYTHON ORT_DIR ORT_VERSION RUNS ROUNDS THREADS EMOTI_ISA IMAGE
# PAIR_GAP_MS, and ORT_SPIN=0 to stop ORT's intra-op threads spinning (its default is to spin).
# EMOTI_THREADS=T is passed to emoti (make bench-ort builds it with OpenMP).
set -u
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-../shared/fixtures}
PYTHON=${PYTHON:-python3}
ORT_DIR=${ORT_DIR:-$BUILD/ort}
ORT_VERSION=${ORT_VERSION:-1.30.0}
RUNS=${RUNS:-40}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1 2}
IMAGE=${IMAGE:-$FIXTURES/img/face_tight.ppm}
EMOTI=${EMOTI:-./emoti}
BENCH=${BENCH:-$BUILD/bench/bench_latency}
HERE=$(cd "$(dirname "$0")" && pwd)
JS=$HERE/ort_bench.js

die() { echo "bench-ort: $*" >&2; exit 1; }

[ -x "$EMOTI" ] && [ -x "$BENCH" ] || die "build first: $EMOTI and $BENCH are missing (run 'make bench-ort')"
case "$RUNS$ROUNDS" in *[!0-9]*) die "RUNS and ROUNDS must be positive integers" ;; esac
[ "$RUNS" -ge 1 ] && [ "$ROUNDS" -ge 1 ] || die "RUNS and ROUNDS must be positive integers"
command -v node >/dev/null 2>&1 || die "node not found: install Node.js (>= 16) to compare against onnxruntime-node"

mkdir -p "$BUILD" "$(dirname "$ORT_DIR")" || die "cannot create $BUILD or the parent of $ORT_DIR"
ORT_DIR=$(cd "$(dirname "$ORT_DIR")" 2>/dev/null && pwd)/$(basename "$ORT_DIR")
export ORT_DIR
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-ort.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$TMP"' EXIT

# --- onnxruntime-node: reuse the install in $ORT_DIR, else install it (the only network use)
ort_check() {  # prints the version if the package loads (loading it loads the native binding and library)
    node -e '
        const o = require(process.argv[1]);
        if (typeof o.InferenceSession !== "function") throw new Error("no InferenceSession");
        const b = o.listSupportedBackends ? o.listSupportedBackends().map((x) => x.name) : ["cpu"];
        if (!b.includes("cpu")) throw new Error("no cpu backend (has: " + b.join(",") + ")");
        process.stdout.write(o.env.versions.node || o.env.versions.common || "?");
    ' "$ORT_DIR/node_modules/onnxruntime-node" 2>"$TMP/check.err"
}
if ORT_VER=$(ort_check); then
    echo "bench-ort: onnxruntime-node $ORT_VER from $ORT_DIR (reused)"
else
    if [ -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then
        echo "bench-ort: the install in $ORT_DIR does not load; reinstalling:" >&2
        sed 's/^/  /' "$TMP/check.err" | head -5 >&2
    fi
    command -v npm >/dev/null 2>&1 || die "npm not found: it is needed once to install onnxruntime-node into $ORT_DIR"
    echo "bench-ort: installing onnxruntime-node@$ORT_VERSION into $ORT_DIR (npm, needs network once)"
    stage=$ORT_DIR.tmp.$$
    rm -rf "$stage" && mkdir -p "$stage" || die "cannot create $stage"
    echo '{ "name": "emoti-bench-ort", "private": true }' >"$stage/package.json"
    if ! npm install --prefix "$stage" --ignore-scripts --no-audit --no-fund --no-update-notifier \
            "onnxruntime-node@$ORT_VERSION" >"$TMP/npm.log" 2>&1; then
        tail -15 "$TMP/npm.log" | sed 's/^/  npm: /' >&2
        rm -rf "$stage"
        die "npm install onnxruntime-node@$ORT_VERSION failed (offline? set npm's registry/proxy, or ORT_VERSION)"
    fi
    rm -rf "$ORT_DIR" && mv "$stage" "$ORT_DIR" || die "cannot move the install to $ORT_DIR"
    ORT_VER=$(ort_check) || { sed 's/^/  /' "$TMP/check.err" | head -5 >&2; die "onnxruntime-node installed in $ORT_DIR but does not load"; }
    echo "bench-ort: onnxruntime-node $ORT_VER installed"
fi

# --- models: the fixture .onnx files and their emoti conversions
MODELS="b0_8 b2_8"
for m in $MODELS; do
    [ -f "$FIXTURES/$m.onnx" ] || die "missing $FIXTURES/$m.onnx (set FIXTURES)"
    if [ ! -f "$BUILD/models/${m}_onnx.emoti" ]; then
        mkdir -p "$BUILD/models"
        "$PYTHON" tools/export.py "$FIXTURES/$m.onnx" -o "$BUILD/models/${m}_onnx.emoti" >/dev/null ||
            die "cannot convert $FIXTURES/$m.onnx"
    fi
done

# --- latency
field() { sed -n "s/.* $1=\([0-9.][0-9.]*\).*/\1/p"; }          # field NAME < line (" NAME=V")
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int(NR/2)+1]}'; }
minimum() { tr ' ' '\n' | grep . | sort -g | head -1; }

# The machine's state, from the pairs of all rounds: "fast" pairs have both runs within 15% of
# that engine's fastest run, "slow" ones emoti at >= 1.35x and ORT at >= 1.25x theirs (the two
# states seen here: emoti ~1.55x slower, ORT ~1.4x). Prints the count and median emoti/ORT
# ratio of each ("0 nan" for none).
by_state() {
    awk '{ e[NR] = $1; o[NR] = $2; if (NR == 1 || $1 < me) me = $1; if (NR == 1 || $2 < mo) mo = $2 }
         END { nf = ns = 0
               for (i = 1; i <= NR; i++) {
                   if (e[i] <= 1.15 * me && o[i] <= 1.15 * mo) f[++nf] = e[i] / o[i]
                   if (e[i] >= 1.35 * me && o[i] >= 1.25 * mo) s[++ns] = e[i] / o[i]
               }
               printf "%d %s %d %s\n", nf, med(f, nf), ns, med(s, ns) }
         function med(a, n,   i, j, t) {
             if (!n) return "nan"
             for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
             return sprintf("%.2f", n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }'
}

run_pair() {  # model.onnx model.emoti threads -> sets o_med o_min o_create e_med e_min e_load e_isa ratio
    local out
    out=$(node "$JS" "$1" "$3" "$RUNS" --pair "$BENCH" "$2" 2>&1) ||
        { echo "$out" >&2; die "paired run failed: $1 / $2 T=$3"; }
    o_med=$(echo "$out" | field median_ms); o_min=$(echo "$out" | field min_ms)
    o_create=$(echo "$out" | field create_ms)
    e_med=$(echo "$out" | field emoti_median_ms); e_min=$(echo "$out" | field emoti_min_ms)
    e_load=$(echo "$out" | field emoti_load_ms); ratio=$(echo "$out" | field ratio_median)
    e_isa=$(echo "$out" | sed -n 's/.*emoti_kernels=\([a-z0-9]*\).*/\1/p')
    [ -n "$o_med" ] && [ -n "$o_create" ] && [ -n "$e_med" ] && [ -n "$ratio" ] ||
        { echo "$out" >&2; die "cannot parse the paired run's output"; }
}

echo "bench-ort: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc 2>/dev/null || echo '?') CPUs," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null); node $(node --version);" \
     "$ROUNDS rounds x $RUNS paired runs per model and thread count"
ROWS=() STATES=()
for m in $MODELS; do
    onnx=$FIXTURES/$m.onnx emo=$BUILD/models/${m}_onnx.emoti
    for t in $THREADS; do
        em="" en="" el="" om="" on="" oc="" ratios=""
        export PAIRS_OUT=$TMP/pairs.$m.$t
        : >"$PAIRS_OUT"
        for r in $(seq "$ROUNDS"); do
            run_pair "$onnx" "$emo" "$t"
            printf '  %-5s T=%s round %d: emoti median %7.2f min %7.2f load %6.2f | ORT median %7.2f min %7.2f create %7.2f ms | ratio %.2f | loadavg %s\n' \
                "$m" "$t" "$r" "$e_med" "$e_min" "$e_load" "$o_med" "$o_min" "$o_create" "$ratio" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)"
            em="$em $e_med" en="$en $e_min" el="$el $e_load" om="$om $o_med" on="$on $o_min" oc="$oc $o_create"
            ratios="$ratios $ratio"
        done
        ROWS+=("$m $t $(echo $em | median) $(echo $om | median) $(echo $ratios | median) $(echo $en | minimum) $(echo $on | minimum) $(echo $el | median) $(echo $oc | median)")
        STATES+=("$m $t $(by_state <"$PAIRS_OUT")")
    done
done

echo
echo "batch-1 latency, ms (median of $ROUNDS round medians of $RUNS paired runs each; emoti/ORT: median"
echo "of the rounds' median pair ratios; min = fastest single run)"
printf '%-6s %3s %12s %10s %12s %10s %10s %13s %13s\n' model thr "emoti med" "ORT med" "emoti/ORT" \
    "emoti min" "ORT min" "emoti load" "ORT create"
for row in "${ROWS[@]}"; do
    set -- $row
    printf '%-6s %3s %12.2f %10.2f %12.2f %10.2f %10.2f %13.2f %13.2f\n' "$@"
done
echo "(emoti kernels: $e_isa; ORT: onnxruntime-node $ORT_VER, CPU EP, intra-op threads = thr," \
     "inter-op 1, sequential, all graph optimisations${ORT_SPIN:+, spinning $ORT_SPIN}; EMOTI_THREADS = thr)"
echo
echo "by machine state (pairs of all rounds; fast: both runs within 15% of that engine's fastest;"
echo "slow: emoti >= 1.35x and ORT >= 1.25x their fastest): pairs and median emoti/ORT"
printf '%-6s %3s %12s %12s %12s %12s\n' model thr "fast pairs" "emoti/ORT" "slow pairs" "emoti/ORT"
for row in "${STATES[@]}"; do
    set -- $row
    printf '%-6s %3s %12s %12s %12s %12s\n' "$@"
done

# --- peak RSS of one-image processes, and binary sizes
peak_rss() {  # command... -> peak RSS in KiB of the process, or nothing
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$@" >/dev/null 2>"$TMP/time.log" || return 1
        sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$TMP/time.log"
    else  # getrusage of the (only) child, via Python's standard library
        "$PYTHON" -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
sys.exit(r.returncode) if r.returncode else print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
    fi
}
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "n/a"; else printf "%.1f MiB", k / 1024 }'; }

echo
echo "peak RSS (one process, 1 thread; emoti: 'emoti run -m MODEL $(basename "$IMAGE")';" \
     "ORT: node, session + one run on the fixed tensor)$([ -x /usr/bin/time ] || echo ' [via getrusage]')"
[ -f "$IMAGE" ] || die "missing image $IMAGE (set IMAGE)"
node_rss=$(peak_rss node -e 0) || node_rss=""
printf '%-6s %14s %14s %14s\n' model emoti "ORT (node)" "ORT - bare node"
for m in $MODELS; do
    e=$(EMOTI_THREADS=1 peak_rss "$EMOTI" run -m "$BUILD/models/${m}_onnx.emoti" "$IMAGE") || die "emoti run failed on $m"
    o=$(peak_rss node "$JS" "$FIXTURES/$m.onnx" 1 1 --once) || die "ORT --once failed on $m"
    d=""; [ -n "$node_rss" ] && [ -n "$o" ] && d=$((o - node_rss))
    printf '%-6s %14s %14s %14s\n' "$m" "$(mib "$e")" "$(mib "$o")" "$(mib "$d")"
done
echo "(bare node process: $(mib "$node_rss"))"

echo
size_of() { stat -c %s "$1" 2>/dev/null || wc -c <"$1"; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
esz=$(size_of "$EMOTI")
ssz=""
if command -v strip >/dev/null 2>&1 && strip -o "$TMP/emoti.stripped" "$EMOTI" 2>/dev/null; then
    ssz=" ($(kib "$(size_of "$TMP/emoti.stripped")") stripped)"
fi
nat=$(find "$ORT_DIR/node_modules/onnxruntime-node/bin" -path "*/$(uname -s | tr A-Z a-z)/*" -type f \
      \( -name '*.so*' -o -name '*.node' \) ! -name '*cuda*' ! -name '*tensorrt*' -print0 2>/dev/null |
      xargs -0 -r stat -c %s | awk '{s += $1} END {print s + 0}')
libs=$(ldd "$EMOTI" 2>/dev/null | awk '$1 !~ /^\// && $1 !~ /vdso/ {sub(/\.so.*/, "", $1); printf "%s%s", n++ ? " " : "", $1}')
echo "size: ./emoti $(kib "$esz")$ssz, needs ${libs:-no shared libraries} | ORT native CPU libraries" \
     "(libonnxruntime + node binding) $(awk -v b="$nat" 'BEGIN { printf "%.1f MiB", b / 1048576 }')," \
     "plus node $(awk -v b="$(size_of "$(command -v node)")" 'BEGIN { printf "%.1f MiB", b / 1048576 }')"
exit 0
