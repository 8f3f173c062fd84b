#!/usr/bin/env python3
"""Writes tiny but complete emoti model containers (weights/FORMAT.md) as fuzzing seeds.

    make_tiny_model.py OUTDIR

A real converted model is 16 MB or more, far too big for a fuzzer to mutate usefully. These
are miniature EfficientNets (input 16..32 px, 1-3 blocks of 2-8 channels, every block kind,
stride, kernel size and output layout) of 2-4 KB each, written with the exporter's own
encoder (tools/export.py build_container), so they load and run like a full model.
Python 3 standard library only.
"""
import os
import random
import sys
from array import array

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import export  # noqa: E402  (tools/export.py)


def tiny_model(name, size, stem, blocks, features, count, labels, valence=-1, arousal=-1,
               seed=1, row_major=False):
    """blocks: rows (stage, kind, kernel, stride, in, mid, out, se); skip is derived.
    row_major: 1x1 weights as [in, out], the layout of exporters before the strips (for
    testing that emoti rejects it clearly)."""
    rnd = random.Random(seed)

    def values(n):
        return array("f", (rnd.uniform(-0.5, 0.5) for _ in range(n)))

    def pw(name, rows, cols):  # a 1x1 weight: 16-column strips (FORMAT.md)
        v = values(rows * cols)
        if row_major:
            return (name, (rows, cols), v)
        return (name, (-(-cols // 16), rows, 16), export.to_strips(v, rows, cols))

    rows, tensors = [], [("stem.w", (3, 3, 3, stem), values(27 * stem)),
                         ("stem.b", (stem,), values(stem))]
    for i, (stage, kind, k, stride, cin, mid, cout, se) in enumerate(blocks):
        skip = int(stride == 1 and cin == cout)
        rows += [stage, kind, k, stride, cin, mid, cout, se, skip]
        if kind == 1:
            tensors += [pw("b%d.exp.w" % i, cin, mid),
                        ("b%d.exp.b" % i, (mid,), values(mid))]
        tensors += [("b%d.dw.w" % i, (k, k, mid), values(k * k * mid)),
                    ("b%d.dw.b" % i, (mid,), values(mid)),
                    ("b%d.se1.w" % i, (mid, se), values(mid * se)),
                    ("b%d.se1.b" % i, (se,), values(se)),
                    ("b%d.se2.w" % i, (se, mid), values(se * mid)),
                    ("b%d.se2.b" % i, (mid,), values(mid)),
                    pw("b%d.proj.w" % i, mid, cout),
                    ("b%d.proj.b" % i, (cout,), values(cout))]
    last = blocks[-1][6]
    tensors += [pw("head.w", last, features),
                ("head.b", (features,), values(features)),
                ("fc.w", (features, count), values(features * count)),
                ("fc.b", (count,), values(count))]
    meta = [
        ("general.arch", "str", "efficientnet"),
        ("general.name", "str", name),
        ("general.source", "str", name + ".pt"),
        ("general.exporter", "str", "fuzz/make_tiny_model.py"),
        ("input.size", "i64", size),
        ("input.mean", "f64s", export.MEAN),
        ("input.std", "f64s", export.STD),
        ("input.resize", "str", "pil_bilinear"),
        ("net.bn_eps", "f64", 1e-3),
        ("net.stem_channels", "i64", stem),
        ("net.features", "i64", features),
        ("net.blocks", "i32s", rows),
        ("out.count", "i64", count),
        ("out.logits", "i64", len(labels)),
        ("out.labels", "strs", labels),
        ("out.valence", "i64", valence),
        ("out.arousal", "i64", arousal),
    ]
    return export.build_container(meta, tensors)


MODELS = {
    # one depthwise-separable block with a skip, 3 classes
    "tiny_ds": dict(size=16, stem=4, blocks=[(0, 0, 3, 1, 4, 4, 4, 1)], features=8, count=3,
                    labels=["a", "b", "c"]),
    # DS block, then an inverted residual with stride 2 and kernel 5; valence / arousal
    "tiny_va": dict(size=24, stem=4, blocks=[(0, 0, 3, 1, 4, 4, 2, 1), (1, 1, 5, 2, 2, 6, 3, 1)],
                    features=6, count=5, labels=["neg", "pos", "neutral"], valence=3, arousal=4,
                    seed=2),
    # three stages, a residual inverted block, AffectNet's 8 labels
    "tiny_ir": dict(size=32, stem=3, blocks=[(0, 0, 3, 2, 3, 3, 4, 2), (1, 1, 3, 1, 4, 8, 4, 2),
                                             (2, 1, 7, 2, 4, 4, 5, 1)],
                    features=4, count=8, labels=list(export.AFFECTNET8), seed=3),
}


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    os.makedirs(argv[1], exist_ok=True)
    for name, spec in MODELS.items():
        blob = tiny_model(name, **spec)
        with open(os.path.join(argv[1], name + ".emoti"), "wb") as f:
            f.write(blob)
        print("%s.emoti: %d bytes" % (name, len(blob)))


if __name__ == "__main__":
    main(sys.argv)
