#!/usr/bin/env bash
# make firmware / make check-firmware: examples/firmware.c on the Cortex-M55 board qemu models
# (mps3-an547: firmware/m55), built with arm-none-eabi-gcc and newlib (printf over semihosting)
# on the freestanding core with its scalar kernels, B0 (b0_8.pt converted), an AU head (one
# sigmoid layer of fixed-seed weights, made here) and a fixture face linked in (tools/embed.py).
# check: the board's outputs and embedding within the parity bounds (3e-5, 1e-4), its head's
# probabilities within 1e-5 with the same AUs on, against the same program built for this host
# with the scalar kernels
# (EMOTI_ISA=scalar), the same top class, every refusal as expected; it says the emulated time
# of the run (not a speed claim). Without arm-none-eabi-gcc + newlib, qemu-system-arm or the
# model: SKIPPED, saying which (exit 77; 0 with FIRMWARE_OPTIONAL=1).
# Usage: tests/firmware.sh build|check. Env: BUILD, MODELS, FIXTURES, PYTHON, MAKE, CC.
set -u
mode=${1:-check}
BUILD=${BUILD:-build}
MODELS=${MODELS:-$BUILD/models}
FIXTURES=${FIXTURES:-../shared/fixtures}
PYTHON=${PYTHON:-python3}
MAKE=${MAKE:-make}
CC=${CC:-cc}
ARM_CC=arm-none-eabi-gcc
out=$BUILD/firmware
model=$MODELS/b0_8_pt.emoti
image=$FIXTURES/img/face_small.ppm

skip() {
    echo "SKIPPED: check-firmware: $*"
    [ -n "${FIRMWARE_OPTIONAL:-}" ] && exit 0
    exit 77
}
fail() { echo "FAIL: check-firmware: $*"; exit 1; }

[ -f "$model" ] && [ -f "$image" ] || skip "no $model or $image (make check converts the fixtures)"
command -v "$ARM_CC" >/dev/null && echo '#include <string.h>' | "$ARM_CC" -x c -fsyntax-only - 2>/dev/null ||
    skip "no $ARM_CC with newlib (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
[ "$mode" = build ] || command -v qemu-system-arm >/dev/null || skip "no qemu-system-arm (apt-get install qemu-system-arm)"

mkdir -p "$out/m55" "$out/host"
"$PYTHON" tools/embed.py "$model" -o "$out/model.S" --name fw_model >/dev/null || fail "embed $model"
"$PYTHON" tools/embed.py --raw "$image" -o "$out/image.S" --name fw_image >/dev/null || fail "embed $image"
# an AU head on B0's embedding: one sigmoid layer, weights of a fixed seed, its thresholds
"$PYTHON" - "$out/au.emoti" <<'EOF' || fail "making the AU head"
import random, sys
sys.path.insert(0, "tools")
import export, export_head
rng = random.Random(5)
w = [rng.uniform(-0.05, 0.05) for _ in range(1280 * 12)]
b = [rng.uniform(-0.5, 0.5) for _ in range(12)]
blob = export_head.head_container([(w, 1280, 12, b)], "au", "embedding", name="fw_au",
                                  thresholds=[0.3 + 0.03 * i for i in range(12)])
export.write_atomically(sys.argv[1], blob)
EOF
"$PYTHON" tools/embed.py "$out/au.emoti" -o "$out/head.S" --name fw_head >/dev/null || fail "embed the head"
core=$($MAKE -s --no-print-directory print-freestanding-src | tr ' ' '\n' | grep -vE '^kernels/(avx2|avx512|neon)\.c$')
m55="-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -O2 -std=c11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections"
incs="-Iinclude -Iengine/base -Iengine/net -Iengine/media -Ikernels"
t0=$(date +%s)
objs=()
for src in $core; do
    obj=$out/m55/$(basename "${src%.c}").o
    # shellcheck disable=SC2086
    "$ARM_CC" $m55 -ffreestanding -DEMOTI_FREESTANDING -DEMOTI_NO_MESSAGES $incs -c "$src" -o "$obj" || fail "$src for Cortex-M55"
    objs+=("$obj")
done
# shellcheck disable=SC2086
"$ARM_CC" $m55 -DFW_DDR -Iinclude examples/firmware.c firmware/m55/start.c "$out/model.S" "$out/image.S" \
    "$out/head.S" \
    "${objs[@]}" --specs=rdimon.specs -T firmware/m55/an547.ld -Wl,--gc-sections -Wl,--no-warn-execstack -lm \
    -o "$out/m55/firmware.elf" ||
    fail "linking the Cortex-M55 firmware"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -Iinclude examples/firmware.c "$out/model.S" "$out/image.S" \
    "$out/head.S" \
    "$BUILD/libemoti.a" -lm -o "$out/host/firmware" || fail "building the host's firmware program"
code=$(arm-none-eabi-size "$out/m55/firmware.elf" | awk 'NR == 2 { print $1 }')
echo "firmware: $out/m55/firmware.elf ($code bytes of code and read-only data in ITCM / DDR, weights included) and $out/host/firmware, built in $(( $(date +%s) - t0 )) s"
[ "$mode" = build ] && exit 0

EMOTI_ISA=scalar "$out/host/firmware" >"$out/host.txt" || fail "the host's run: $(tail -n 1 "$out/host.txt")"
t0=$(date +%s%N)
timeout 900 qemu-system-arm -M mps3-an547 -nographic -semihosting -kernel "$out/m55/firmware.elf" \
    </dev/null >"$out/m55.txt" 2>&1
rc=$?
secs=$(awk -v n=$(( $(date +%s%N) - t0 )) 'BEGIN { printf "%.1f", n / 1e9 }')
[ $rc -eq 0 ] || fail "qemu exited $rc after $secs s: $(tail -n 3 "$out/m55.txt" | tr '\n' ' ')"
"$PYTHON" - "$out/host.txt" "$out/m55.txt" "$secs" <<'EOF' || exit 1
import struct, sys
def read(path):
    rows = {}
    for line in open(path):
        f = line.split()
        if f: rows.setdefault(f[0], []).append(f[1:])
    return rows
host, board, secs = read(sys.argv[1]), read(sys.argv[2]), sys.argv[3]
def floats(rows, key):
    return [struct.unpack("<f", struct.pack("<I", int(v[1], 16)))[0] for v in rows.get(key, [])]
if "firmware" not in board or "firmware" not in host:
    sys.exit("FAIL: check-firmware: no 'firmware ok' line (board: %s)" % " ".join(sum(board.get("FAIL", [[]]), [])))
worst = {}
for key, bound in (("out", 3e-5), ("emb", 1e-4), ("prob", 1e-5)):
    a, b = floats(host, key), floats(board, key)
    if not a or len(a) != len(b):
        sys.exit("FAIL: check-firmware: %d %s values on the host, %d on the board" % (len(a), key, len(b)))
    worst[key] = max(abs(x - y) for x, y in zip(a, b))
    if worst[key] > bound:
        sys.exit("FAIL: check-firmware: %s differs by %.2e (bound %.0e)" % (key, worst[key], bound))
if [p[2:] for p in host["prob"]] != [p[2:] for p in board["prob"]]:
    sys.exit("FAIL: check-firmware: the AU decisions differ")
if host["top"] != board["top"] or host["refusal"] != board["refusal"]:
    sys.exit("FAIL: check-firmware: top class or refusals differ: %s / %s" % (host["top"], board["top"]))
m = board["model"][0]
print("check-firmware: Cortex-M55 (qemu mps3-an547), %s, %s-byte blob in %s bytes of memory, image %s: "
      "outputs within %.2e and embedding within %.2e of the host's scalar build (bounds 3e-05 / 1e-04), "
      "top %s on both; AU head (%s bytes of memory) within %.2e, the same %d of %d AUs on; refusals %s; "
      "emulated run %s s (qemu TCG on this host, not a speed claim)"
      % (m[0], m[2], m[4], m[6], worst["out"], worst["emb"], " ".join(board["top"][0]),
         board["head"][0][2], worst["prob"], sum(p[3] == "1" for p in board["prob"]),
         len(board["prob"]), ", ".join(r[0] for r in board["refusal"]), secs))
EOF
echo "check-firmware: ok"
