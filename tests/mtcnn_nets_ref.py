#!/usr/bin/env python3
"""Writes the reference records tests/mtcnn_nets.c checks: random and real inputs, each net's
float64 outputs from tests/mtcnn_ref.py.   mtcnn_nets_ref.py MODELS_DIR IMG_DIR OUT.bin"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtcnn_ref  # noqa: E402


def real_inputs(img_dir, side):
    """Centre squares of the fixture photos, box-resized, normalised and transposed (docs/MTCNN.md)."""
    try:
        from PIL import Image
    except ImportError:
        return []
    out = []
    for name in ("face_tight", "face_small", "face_wide", "chelsea"):
        path = os.path.join(img_dir, name + ".ppm")
        if os.path.isfile(path):
            im = Image.open(path).convert("RGB")
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            if side:
                im = im.resize((side, side), Image.BOX)
            x = (np.asarray(im, np.float64) - 127.5) * 0.0078125
            out.append(x.transpose(1, 0, 2))
    return out


def main(models, img_dir, dest):
    rng = np.random.default_rng(14)
    records = []
    for k, (net, side) in enumerate((("pnet", None), ("rnet", 24), ("onet", 48))):
        graph = mtcnn_ref.Graph(os.path.join(models, net + ".tflite"))
        shapes = [(12, 12), (13, 17), (40, 31), (64, 64)] if side is None else [(side, side)] * 3
        inputs = [rng.uniform(-1, 1, s + (3,)) for s in shapes] + real_inputs(img_dir, side)
        for x in inputs:
            x = x.astype(np.float32)
            outs = graph.run(x.astype(np.float64)[None])
            ref = np.concatenate([o.reshape(-1, o.shape[-1]) for o in outs], axis=1)
            records.append(struct.pack("<3i", k, *x.shape[:2]) + x.astype("<f4").tobytes()
                           + struct.pack("<i", ref.size) + ref.astype("<f8").tobytes())
    with open(dest, "wb") as f:
        f.write(b"".join(records))
    print("%d reference records" % len(records))


if __name__ == "__main__":
    main(*sys.argv[1:4])
