#!/usr/bin/env python3
"""Writes the JPEG corpus that tests/test_jpeg.c decodes, with libjpeg-turbo's decodes.

usage: jpeg_corpus.py OUTDIR [--fixtures DIR]

Encodes synthetic images (1x1 up to 257x129, sizes that are not multiples of 8 or 16) and
the fixture PPMs (DIR/img/*.ppm) with cjpeg and Pillow: every chroma subsampling, qualities
5..100, baseline / extended / progressive, optimised Huffman tables, restart intervals,
non-interleaved and custom progressive scan scripts, grey; plus files rewritten at the byte
level (split DHT/DQT segments, APPn/COM/fill bytes, Adobe and component-id colour spaces,
standard Huffman tables left out). Each is decoded with `djpeg` into NAME.pnm.

OUTDIR/manifest.txt, one file a line:
  match   NAME.jpg NAME.pnm   our decode must equal djpeg's byte for byte
  error   NAME.jpg STATUS     our decode must fail with STATUS (UNSUPPORTED or FORMAT)
  decodes NAME.jpg            our decode must succeed (no exact reference; see below)

Exit status: 0 done, 3 Pillow missing, 4 cjpeg/djpeg missing, 1 anything else.
"""
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

try:
    from PIL import Image
except ImportError:
    print("jpeg_corpus.py: Pillow (PIL) is not installed for %s" % sys.executable)
    sys.exit(3)

SIZES = [(1, 1), (2, 2), (3, 5), (7, 9), (8, 8), (16, 16), (17, 15), (33, 31), (100, 75),
         (257, 129)]
# cjpeg -sample values: 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1; None means -grayscale.
SAMPLINGS = ["1x1", "2x1", "2x2", "1x2", "4x1", None]
# Other whole ratios (and factors per component), to cover every upsampling path.
EXOTIC_SAMPLINGS = ["3x1", "1x3", "3x2", "4x2", "2x4", "1x4", "2x2,1x2,2x1", "2x2,2x2,1x1",
                    "1x1,2x2,2x2", "4x1,2x1,1x1", "2x1,1x1,2x1", "2x2,1x1,2x2"]
QUALITIES = [5, 10, 25, 50, 75, 90, 95, 100]
RESTARTS = ["1", "1B", "2B", "5B", "3"]

# Non-interleaved sequential scans, and progressive scripts with successive approximation.
SCRIPTS = {
    "seq_separate": "0;\n1;\n2;\n",
    "seq_mixed": "0;\n1 2;\n",
    "prog_sa": """0: 0-0, 0, 1;
1: 0-0, 0, 1;
2: 0-0, 0, 1;
0: 1-5, 0, 2;
2: 1-63, 0, 1;
1: 1-63, 0, 1;
0: 6-63, 0, 2;
0: 1-63, 2, 1;
0 1 2: 0-0, 1, 0;
2: 1-63, 1, 0;
1: 1-63, 1, 0;
0: 1-63, 1, 0;
""",
    "prog_deep": """0 1 2: 0-0, 0, 3;
0 1 2: 0-0, 3, 2;
0: 1-2, 0, 4;
0: 3-63, 0, 3;
1: 1-63, 0, 0;
2: 1-63, 0, 0;
0 1 2: 0-0, 2, 1;
0: 1-2, 4, 3;
0: 1-63, 3, 2;
0 1 2: 0-0, 1, 0;
0: 1-63, 2, 1;
0: 1-63, 1, 0;
""",
}
# Coefficients left unrefined: libjpeg smooths them across blocks, which we do not.
INCOMPLETE_SCRIPT = "0 1 2: 0-0, 0, 0;\n0: 1-9, 0, 1;\n1: 1-63, 0, 0;\n2: 1-63, 0, 0;\n"


def synthetic(w, h, seed):
    """A deterministic image with gradients, texture, sharp edges and noise."""
    rnd = random.Random(seed)
    rects = [(rnd.randrange(w), rnd.randrange(h), rnd.randrange(1, w + 1),
              rnd.randrange(1, h + 1), tuple(rnd.randrange(256) for _ in range(3)))
             for _ in range(4)]
    px = bytearray()
    for y in range(h):
        for x in range(w):
            r = (x * 255 // max(w - 1, 1) + rnd.randrange(-20, 21))
            g = (y * 255 // max(h - 1, 1) + ((x ^ y) & 15) * 4)
            b = ((x + y) * 7 + rnd.randrange(-40, 41))
            for x0, y0, rw, rh, col in rects:
                if x0 <= x < x0 + rw and y0 <= y < y0 + rh:
                    r, g, b = col[0] + r // 8, col[1] + g // 8, col[2] + b // 8
            px += bytes(max(0, min(255, v)) for v in (r, g, b))
    return Image.frombytes("RGB", (w, h), bytes(px))


class Corpus:
    def __init__(self, out):
        self.out = out
        self.jobs = []     # (name, cjpeg args or None, source path)
        self.lines = []
        self.crafted = []  # (name, bytes) written before the djpeg pass

    def path(self, name):
        return os.path.join(self.out, name)

    def cjpeg(self, name, src, args, kind="match"):
        self.jobs.append((name, args, src))
        self.lines.append((kind, name))

    def add_bytes(self, name, data, kind="match"):
        self.crafted.append((name, data))
        self.lines.append((kind, name))

    def run(self):
        def encode(job):
            name, args, src = job
            subprocess.run(["cjpeg"] + args + ["-outfile", self.path(name), src], check=True,
                           stderr=subprocess.DEVNULL)

        with ThreadPoolExecutor(max_workers=4) as ex:
            list(ex.map(encode, self.jobs))

    def write_crafted(self):
        for name, data in self.crafted:
            with open(self.path(name), "wb") as f:
                f.write(data)

    def finish(self):
        refs = [n for kind, n in self.lines if kind == "match"]

        def decode(name):
            ref = self.path(name[:-4] + ".pnm")
            subprocess.run(["djpeg", "-outfile", ref, self.path(name)], check=True,
                           stderr=subprocess.DEVNULL)

        with ThreadPoolExecutor(max_workers=4) as ex:
            list(ex.map(decode, refs))
        with open(self.path("manifest.txt"), "w") as f:
            for kind, name in self.lines:
                if kind == "match":
                    f.write("match %s %s\n" % (name, name[:-4] + ".pnm"))
                elif kind == "decodes":
                    f.write("decodes %s\n" % name)
                else:
                    f.write("error %s %s\n" % (name, kind.split(":")[1]))


# ---- byte-level rewriting of a JPEG's marker segments ----

def split_segments(data):
    """[(marker, payload)] up to the first SOS, and the bytes from that SOS on."""
    assert data[:2] == b"\xff\xd8"
    segs, i = [], 2
    while True:
        assert data[i] == 0xFF
        m = data[i + 1]
        if m == 0xDA:
            return segs, data[i:]
        n = data[i + 2] << 8 | data[i + 3]
        segs.append((m, data[i + 4:i + 2 + n]))
        i += 2 + n


def join_segments(segs, rest, fill=b""):
    out = bytearray(b"\xff\xd8")
    for m, payload in segs:
        out += fill + bytes([0xFF, m]) + (len(payload) + 2).to_bytes(2, "big") + payload
    return bytes(out + rest)


def split_tables(payload, entry_len):
    """Splits a DHT or DQT payload into its tables; entry_len(payload, i) gives each size."""
    parts, i = [], 0
    while i < len(payload):
        n = entry_len(payload, i)
        parts.append(payload[i:i + n])
        i += n
    return parts


def dht_len(p, i):
    return 17 + sum(p[i + 1:i + 17])


def dqt_len(p, i):
    return 1 + 64 * ((p[i] >> 4) + 1)


def with_split_tables(data):
    """Every DHT/DQT table in a segment of its own, and APP/COM segments and fill bytes."""
    segs, rest = split_segments(data)
    out = [(0xE1, b"Exif\x00\x00" + bytes(40)), (0xFE, b"a comment")]
    for m, p in segs:
        if m == 0xC4:
            out += [(m, t) for t in split_tables(p, dht_len)]
        elif m == 0xDB:
            out += [(m, t) for t in split_tables(p, dqt_len)]
        else:
            out.append((m, p))
    out.append((0xED, b"Photoshop 3.0\x00" + bytes(20)))
    return join_segments(out, rest, fill=b"\xff\xff")


def without_dht(data):
    """Leaves out the DHT segments: the decoder must use the standard tables (cjpeg without
    -optimize writes exactly those)."""
    segs, rest = split_segments(data)
    return join_segments([(m, p) for m, p in segs if m != 0xC4], rest)


def set_component_ids(data, ids):
    segs, rest = split_segments(data)
    out = []
    for m, p in segs:
        if m in (0xC0, 0xC1, 0xC2):
            p = bytearray(p)
            for k, cid in enumerate(ids):
                p[6 + 3 * k] = cid
            p = bytes(p)
        out.append((m, p))
    # The SOS headers name components by id too.
    rest = bytearray(rest)
    i = 0
    old = None
    for m, p in segs:
        if m in (0xC0, 0xC1, 0xC2):
            old = [p[6 + 3 * k] for k in range(p[5])]
    while True:
        j = rest.find(b"\xff\xda", i)
        if j < 0:
            break
        ns = rest[j + 4]
        for k in range(ns):
            rest[j + 5 + 2 * k] = ids[old.index(rest[j + 5 + 2 * k])]
        i = j + 2
    return join_segments(out, bytes(rest))


def drop_app(data, marker):
    segs, rest = split_segments(data)
    return join_segments([(m, p) for m, p in segs if m != marker], rest)


def add_segment_front(data, marker, payload):
    segs, rest = split_segments(data)
    return join_segments([(marker, payload)] + segs, rest)


JFIF = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
ADOBE_YCC = b"Adobe\x00\x64\x00\x00\x00\x00\x01"


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 1
    out = sys.argv[1]
    fixtures = "../shared/fixtures"
    if "--fixtures" in sys.argv:
        fixtures = sys.argv[sys.argv.index("--fixtures") + 1]
    missing = [t for t in ("cjpeg", "djpeg") if shutil.which(t) is None]
    if missing:
        print("jpeg_corpus.py: %s not found (Debian: apt-get install libjpeg-turbo-progs)"
              % " and ".join(missing))
        return 4
    os.makedirs(out, exist_ok=True)
    c = Corpus(out)
    src = {}
    for k, (w, h) in enumerate(SIZES):
        p = c.path("src_%dx%d.ppm" % (w, h))
        synthetic(w, h, k).save(p)
        src[(w, h)] = p

    # Every size x subsampling: baseline, progressive, optimised + restarts.
    n = 0
    for (w, h), p in src.items():
        for s in SAMPLINGS:
            samp = ["-grayscale"] if s is None else ["-sample", s]
            tag = "%dx%d_%s" % (w, h, s or "grey")
            q1, q2 = QUALITIES[n % 8], QUALITIES[(n + 3) % 8]
            rst = RESTARTS[n % len(RESTARTS)]
            n += 1
            c.cjpeg(tag + "_base_q%d.jpg" % q1, p, samp + ["-quality", str(q1)])
            c.cjpeg(tag + "_prog_q%d.jpg" % q2, p, samp + ["-progressive", "-quality", str(q2)])
            c.cjpeg(tag + "_opt_rst%s.jpg" % rst, p, samp + ["-optimize", "-restart", rst])
            if (w, h) in ((17, 15), (100, 75)):
                c.cjpeg(tag + "_prog_rst%s.jpg" % rst, p,
                        samp + ["-progressive", "-restart", rst])
    # Stable names for test_jpeg.c's cut and flipped-byte tests.
    c.cjpeg("damage_base_rst.jpg", src[(33, 31)],
            ["-sample", "2x2", "-optimize", "-restart", "1B"])
    c.cjpeg("damage_prog.jpg", src[(17, 15)], ["-sample", "1x1", "-progressive"])
    c.cjpeg("damage_prog_rst.jpg", src[(100, 75)],
            ["-sample", "2x1", "-progressive", "-restart", "2B"])
    c.cjpeg("damage_440_prog_rst.jpg", src[(100, 75)],
            ["-sample", "1x2", "-progressive", "-restart", "5B"])
    # Quality sweep (low qualities without -baseline get 16-bit tables, SOF1).
    for q in QUALITIES + [1, 15, 35, 60, 85, 98]:
        c.cjpeg("q_%d_base.jpg" % q, src[(100, 75)], ["-sample", "2x2", "-quality", str(q)])
        c.cjpeg("q_%d_baseline_tables.jpg" % q, src[(33, 31)],
                ["-sample", "2x1", "-baseline", "-quality", str(q)])
        c.cjpeg("q_%d_prog.jpg" % q, src[(100, 75)],
                ["-sample", "1x1", "-progressive", "-quality", str(q)])
    for s in EXOTIC_SAMPLINGS:
        for size in ((33, 31), (100, 75), (7, 9)):
            tag = "exotic_%s_%dx%d" % (s.replace(",", "_"), size[0], size[1])
            c.cjpeg(tag + "_base.jpg", src[size], ["-sample", s])
            c.cjpeg(tag + "_prog.jpg", src[size], ["-sample", s, "-progressive"])
    # Scan scripts: non-interleaved sequential, successive approximation.
    for name, text in list(SCRIPTS.items()) + [("incomplete", INCOMPLETE_SCRIPT)]:
        script = c.path("script_%s.txt" % name)
        with open(script, "w") as f:
            f.write(text)
        for size in ((17, 15), (100, 75)):
            for s in ("1x1", "2x2", "2x1"):
                jpg = "script_%s_%dx%d_%s.jpg" % (name, size[0], size[1], s)
                args = ["-sample", s, "-scans", script, "-restart", "2B"]
                c.cjpeg(jpg, src[size], args, kind="decodes" if name == "incomplete" else "match")
    # Unsupported kinds that cjpeg can make.
    c.cjpeg("unsupported_arithmetic.jpg", src[(33, 31)], ["-arithmetic"], kind="error:UNSUPPORTED")
    c.cjpeg("unsupported_arithmetic_prog.jpg", src[(33, 31)], ["-arithmetic", "-progressive"],
            kind="error:UNSUPPORTED")
    # The fixtures: default, 4:2:0 progressive optimised, grey, 4:2:2 with restarts.
    img_dir = os.path.join(fixtures, "img")
    fixture_ppms = sorted(f for f in os.listdir(img_dir) if f.endswith(".ppm")) \
        if os.path.isdir(img_dir) else []
    if not fixture_ppms:
        print("jpeg_corpus.py: no fixture images in %s (set FIXTURES); synthetic only" % img_dir)
    for f in fixture_ppms:
        p, base = os.path.join(img_dir, f), "fixture_" + f[:-4]
        c.cjpeg(base + "_default.jpg", p, [])
        c.cjpeg(base + "_444_q95.jpg", p, ["-sample", "1x1", "-quality", "95"])
        c.cjpeg(base + "_420_prog_opt.jpg", p, ["-progressive", "-optimize", "-quality", "85"])
        c.cjpeg(base + "_grey.jpg", p, ["-grayscale"])
        c.cjpeg(base + "_422_rst.jpg", p, ["-sample", "2x1", "-restart", "1", "-quality", "60"])
        c.cjpeg(base + "_440_q30.jpg", p, ["-sample", "1x2", "-quality", "30"])
        c.cjpeg(base + "_411_prog.jpg", p, ["-sample", "4x1", "-progressive"])
    # Colour spaces: RGB JPEGs (Adobe transform 0, ids 'R','G','B').
    c.cjpeg("rgb_base.jpg", src[(33, 31)], ["-rgb"])
    c.cjpeg("rgb_prog_sub.jpg", src[(100, 75)], ["-rgb", "-progressive", "-sample", "2x2"])
    c.cjpeg("tables_source.jpg", src[(100, 75)], ["-sample", "2x2", "-quality", "80"])
    c.cjpeg("tables_source_prog.jpg", src[(100, 75)], ["-progressive", "-sample", "2x1"])
    c.cjpeg("tables_source_grey.jpg", src[(33, 31)], ["-grayscale", "-restart", "1B"])
    c.run()

    def read(name):
        with open(c.path(name), "rb") as f:
            return f.read()

    rgb = read("rgb_base.jpg")
    c.add_bytes("rgb_adobe_ids123.jpg", set_component_ids(rgb, [1, 2, 3]))  # Adobe: RGB
    c.add_bytes("rgb_ids_no_adobe.jpg", drop_app(rgb, 0xEE))  # ids R,G,B: RGB
    c.add_bytes("rgb_as_ycc.jpg", set_component_ids(drop_app(rgb, 0xEE), [1, 2, 3]))  # YCbCr
    c.add_bytes("rgb_jfif_wins.jpg", add_segment_front(rgb, 0xE0, JFIF))  # JFIF: YCbCr
    ycc = read("tables_source.jpg")
    c.add_bytes("ycc_adobe_transform1.jpg", add_segment_front(drop_app(ycc, 0xE0), 0xEE, ADOBE_YCC))
    c.add_bytes("ycc_odd_ids.jpg", set_component_ids(drop_app(ycc, 0xE0), [7, 8, 9]))
    for name in ("tables_source.jpg", "tables_source_prog.jpg", "tables_source_grey.jpg"):
        data = read(name)
        c.add_bytes("split_" + name, with_split_tables(data))
    c.add_bytes("std_tables_omitted.jpg", without_dht(ycc))
    c.add_bytes("std_tables_omitted_grey.jpg", without_dht(read("tables_source_grey.jpg")))

    # Pillow's encoder (libjpeg too, but its own settings): subsampling, progressive, grey.
    chelsea = os.path.join(img_dir, "chelsea.ppm")
    base = Image.open(chelsea).convert("RGB") if os.path.exists(chelsea) \
        else synthetic(160, 120, 99)
    for sub in (0, 1, 2):
        for q, prog in ((90, False), (40, True), (100, False)):
            name = "pillow_sub%d_q%d%s.jpg" % (sub, q, "_prog" if prog else "")
            base.save(c.path(name), quality=q, subsampling=sub, progressive=prog,
                      optimize=prog)
            c.lines.append(("match", name))
    base.convert("L").save(c.path("pillow_grey.jpg"), quality=80)
    c.lines.append(("match", "pillow_grey.jpg"))
    Image.new("CMYK", (20, 10), (10, 20, 30, 40)).save(c.path("unsupported_cmyk.jpg"))
    c.lines.append(("error:UNSUPPORTED", "unsupported_cmyk.jpg"))

    c.write_crafted()
    c.finish()
    print("jpeg_corpus.py: %d files in %s" % (len(c.lines), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
