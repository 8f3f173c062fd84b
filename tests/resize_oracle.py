#!/usr/bin/python3
"""Pillow oracle for tests/test_resize.c.

Writes a batch of resize cases (sizes, input bytes, Pillow's BILINEAR output) to one binary
file that the C test reads and compares byte for byte:

    resize_oracle.py OUT.bin [--seed N] [--fixtures DIR]

File layout, all integers little-endian uint32:
    "EMRZ", version (1), case count
    per case: kind (0 generated, 1 fixture image), src_w, src_h, dst_w, dst_h, channels,
              label length, label bytes (the image path for fixtures),
              src_w*src_h*channels input bytes, dst_w*dst_h*channels expected bytes

Exits 3 with a clear message if Pillow is missing (it must be run with a python3 that has it,
Debian's /usr/bin/python3 with python3-pil).
"""
import argparse
import glob
import os
import random
import struct
import sys

try:
    import PIL
    from PIL import Image
except ImportError:
    sys.stderr.write(
        "resize_oracle: Pillow (PIL) is not installed for %s; the resize test needs it as its "
        "oracle (Debian: apt-get install python3-pil)\n" % sys.executable)
    sys.exit(3)

MAGIC = b"EMRZ"
VERSION = 1
KIND_GENERATED, KIND_FIXTURE = 0, 1
FIXTURE_SIZES = (224, 260)  # EmotiEffNet B0 and B2 input sizes

# Sizes that are easy to get wrong: degenerate, identity, single-axis, extreme ratios.
EDGE_SIZES = [
    ((1, 1), (1, 1)), ((1, 1), (5, 7)), ((5, 7), (1, 1)), ((1, 1), (300, 1)),
    ((1, 9), (1, 3)), ((9, 1), (3, 1)), ((1, 200), (1, 7)), ((200, 1), (13, 1)),
    ((1, 50), (40, 1)), ((50, 1), (1, 40)), ((1000, 1), (3, 1)), ((1, 1000), (1, 3)),
    ((1000, 1000), (3, 3)), ((1000, 4), (3, 500)), ((2, 2), (500, 500)), ((2, 3), (500, 1)),
    ((3, 2), (1, 500)), ((2, 1), (500, 1)), ((640, 480), (224, 224)), ((480, 640), (260, 260)),
    ((224, 224), (224, 224)), ((300, 17), (300, 5)), ((17, 300), (5, 300)),
    ((100, 100), (99, 101)), ((7, 7), (14, 14)), ((14, 14), (7, 7)), ((97, 89), (224, 224)),
    ((3000, 2), (1, 1)), ((2, 3000), (1, 2)), ((255, 255), (256, 254)),
    ((1000000, 1), (1, 1)), ((1, 300000), (1, 2)),
]


def resize_bytes(data, channels, src, dst):
    """Pillow BILINEAR resize of interleaved bytes; channels are resampled independently."""
    if channels in (1, 3):
        mode = "L" if channels == 1 else "RGB"
        return Image.frombytes(mode, src, data).resize(dst, Image.BILINEAR).tobytes()
    # No plain Pillow mode for 2 channels, and RGBA/LA get premultiplied: resize band by band.
    out = bytearray(dst[0] * dst[1] * channels)
    for c in range(channels):
        band = Image.frombytes("L", src, bytes(data[c::channels]))
        out[c::channels] = band.resize(dst, Image.BILINEAR).tobytes()
    return bytes(out)


def random_content(rng, n, style):
    if style == "noise":
        return rng.randbytes(n)
    if style == "extremes":  # only 0 and 255: exercises clamping and rounding at the ends
        return bytes(rng.choice((0, 255)) for _ in range(n))
    if style == "constant":
        return bytes([rng.choice((0, 1, 127, 128, 254, 255))]) * n
    # smooth ramp with a little noise
    step = rng.randint(1, 7)
    return bytes((i * step + rng.randint(0, 3)) & 255 for i in range(n))


def random_dim(rng, hi):
    """Log-uniform in 1..hi, so that small sizes (1, 2, 3) come up often."""
    return max(1, min(hi, int(round(2 ** rng.uniform(0, hi.bit_length())))))


def random_sizes(rng):
    kind = rng.choice(("shrink", "enlarge", "mixed", "any", "any"))
    sw, sh = random_dim(rng, 400), random_dim(rng, 400)
    if kind == "shrink":
        dw, dh = rng.randint(1, sw), rng.randint(1, sh)
    elif kind == "enlarge":
        dw, dh = rng.randint(sw, min(4 * sw + 8, 500)), rng.randint(sh, min(4 * sh + 8, 500))
    elif kind == "mixed":
        if rng.random() < 0.5:
            dw, dh = rng.randint(1, sw), rng.randint(sh, min(4 * sh + 8, 500))
        else:
            dw, dh = rng.randint(sw, min(4 * sw + 8, 500)), rng.randint(1, sh)
    else:
        dw, dh = random_dim(rng, 500), random_dim(rng, 500)
    return (sw, sh), (dw, dh)


def generated_cases(rng, n_random):
    sizes = list(EDGE_SIZES) + [random_sizes(rng) for _ in range(n_random)]
    for i, (src, dst) in enumerate(sizes):
        channels = rng.choice((3, 3, 3, 3, 1, 2, 4))
        style = rng.choice(("noise", "noise", "noise", "extremes", "constant", "ramp"))
        data = random_content(rng, src[0] * src[1] * channels, style)
        yield KIND_GENERATED, "case%d-%s" % (i, style), src, dst, channels, data


def fixture_cases(fixtures_dir):
    paths = sorted(glob.glob(os.path.join(fixtures_dir, "img", "*.ppm")))
    if not paths:
        sys.stderr.write("resize_oracle: no fixture images in %s/img\n" % fixtures_dir)
        sys.exit(2)
    for path in paths:
        im = Image.open(path).convert("RGB")
        for s in FIXTURE_SIZES:
            yield KIND_FIXTURE, path, im.size, (s, s), 3, im.tobytes()


def write_case(f, kind, label, src, dst, channels, data):
    expected = resize_bytes(data, channels, src, dst)
    assert len(expected) == dst[0] * dst[1] * channels
    name = label.encode()
    f.write(struct.pack("<7I", kind, src[0], src[1], dst[0], dst[1], channels, len(name)))
    f.write(name)
    f.write(data)
    f.write(expected)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--random-cases", type=int, default=220)
    ap.add_argument("--fixtures", default=None, help="fixtures dir (with img/*.ppm)")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    cases = list(generated_cases(rng, args.random_cases))
    if args.fixtures:
        cases += list(fixture_cases(args.fixtures))
    with open(args.out, "wb") as f:
        f.write(MAGIC + struct.pack("<2I", VERSION, len(cases)))
        for case in cases:
            write_case(f, *case)
    print("resize_oracle: Pillow %s, %d cases -> %s" % (PIL.__version__, len(cases), args.out))


if __name__ == "__main__":
    main()
