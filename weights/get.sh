#!/usr/bin/env bash
# make weights          fetch EmotiEffLib's official models and convert them to weights/*.emoti
# make weights SRC=DIR  convert the .pt/.onnx files already in DIR (no network), and the
#                       MTCNN detector when DIR holds pnet.tflite, rnet.tflite and onet.tflite
# DEST=DIR writes the .emoti files there instead of weights/ (the tests use it).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SRC=${SRC:-}
DEST=${DEST:-weights}
BASE=https://github.com/sb-ai-lab/EmotiEffLib/raw/main/models/affectnet_emotions
NAMES="enet_b0_8_best_vgaf enet_b0_8_best_afew enet_b0_8_va_mtl enet_b2_8 enet_b2_7"
status=0

convert() { # source file -> $DEST/<base>.emoti
    local src=$1 name
    name=$(basename "${src%.*}")
    if $PYTHON tools/export.py "$src" -o "$DEST/$name.emoti"; then
        echo "$DEST/$name.emoti  <- $src"
    else
        status=1
    fi
}

convert_detector() { # folder with {p,r,o}net.tflite -> $DEST/mtcnn.emoti (export.py names a missing one)
    if $PYTHON tools/export.py --mtcnn "$1" -o "$DEST/mtcnn.emoti"; then
        echo "$DEST/mtcnn.emoti  <- $1/{pnet,rnet,onet}.tflite"
    else
        status=1
    fi
}

mkdir -p "$DEST" || exit 1
if [ -n "$SRC" ]; then
    [ -d "$SRC" ] || { echo "weights: $SRC: not a directory" >&2; exit 2; }
    found=0
    for f in "$SRC"/*.pt "$SRC"/*.onnx; do
        [ -f "$f" ] || continue
        found=1
        # x.pt and x.onnx would both become x.emoti: the .pt (the upstream checkpoint, what
        # plain `make weights` downloads) is converted, the .onnx left out, and said so.
        if [ "${f##*.}" = onnx ] && [ -f "${f%.onnx}.pt" ]; then
            name=$(basename "${f%.onnx}")
            echo "weights: WARNING: $f skipped: ${f%.onnx}.pt converts to the same $DEST/$name.emoti" \
                 "(to have both: $PYTHON tools/export.py $f -o $DEST/$name.onnx.emoti)" >&2
            continue
        fi
        convert "$f"
    done
    if [ -f "$SRC/pnet.tflite" ] || [ -f "$SRC/rnet.tflite" ] || [ -f "$SRC/onet.tflite" ]; then
        found=1
        convert_detector "$SRC"
    fi
    [ $found = 1 ] || { echo "weights: no .pt, .onnx or MTCNN .tflite files in $SRC" >&2; exit 1; }
    exit $status
fi

mkdir -p weights/src
for n in $NAMES; do
    dst=weights/src/$n.pt
    if [ ! -s "$dst" ]; then
        if ! curl -fsSL --connect-timeout 10 -o "$dst.part" "$BASE/$n.pt"; then
            rm -f "$dst.part"
            echo "weights: cannot download $n.pt (offline?). Put the files in a folder and run 'make weights SRC=DIR'." >&2
            status=1; continue
        fi
        mv "$dst.part" "$dst"
    fi
    convert "$dst"
done
# EmotiEffLib publishes its MTCNN .tflite files only inside its mobile app's sources, at no
# address known to stay put: the detector is converted from a folder (SRC=DIR) only.
if [ ! -f weights/mtcnn.emoti ]; then
    echo "weights: the face detector is not downloaded (no stable address): put pnet.tflite," \
         "rnet.tflite and onet.tflite in a folder and run 'make weights SRC=DIR'." >&2
fi
exit $status
