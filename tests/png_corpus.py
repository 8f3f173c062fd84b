#!/usr/bin/env python3
"""PNG / zlib test corpus for tests/test_png.c, with Pillow as the oracle.

    png_corpus.py OUTDIR             write the corpus and OUTDIR/manifest.txt
    png_corpus.py --make-bench FILE  write a ~1 MP RGB PNG for benchmarking
    png_corpus.py --bench FILE [N]   time Pillow's decode and zlib.decompress on FILE

Manifest lines (fields separated by one tab):
    png   NAME W H      NAME.png decodes to NAME.rgb (Pillow's convert('RGB') bytes)
    bad   NAME TEXT     decoding NAME.png fails with a message containing TEXT
    zlib  NAME          NAME.z is a zlib stream of NAME.out
    raw   NAME          NAME.deflate is raw DEFLATE data of NAME.out
Files named mut_* are small valid PNGs that the C test truncates and corrupts.

Pillow writes the non-interlaced 1/8-bit and 16-bit grey images; everything else (every
colour type and bit depth, Adam7, chosen filters, zlib settings, split IDATs, ancillary
chunks, malformed files) comes from the small encoder below. Needs Pillow and numpy.
"""
import io
import os
import struct
import sys
import time
import warnings
import zlib

try:
    import numpy as np
    from PIL import Image
except ImportError as exc:  # the C test reports this line and fails
    sys.exit("png_corpus.py: FAILED: Pillow and numpy are required (%s); run with a Python "
             "that has them, e.g. PYTHON=/usr/bin/python3" % exc)

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]
STRATEGIES = [zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE,
              zlib.Z_FIXED]

rng = np.random.default_rng(20240611)
# convert('RGB') of a palette image with tRNS warns that alpha is dropped: that is the point
warnings.filterwarnings("ignore", "Palette images with Transparency")


# ---------------------------------------------------------------------------------------
# A small PNG encoder
# ---------------------------------------------------------------------------------------

def chunk(ctype, body):
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def ihdr(w, h, depth, colour, interlace=0, compression=0, filter_method=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, compression,
                                      filter_method, interlace))


def pack_lines(samples, depth):
    """(rows, cols, channels) sample array -> (rows, line_bytes) uint8 scanlines."""
    rows, cols, ch = samples.shape
    flat = samples.reshape(rows, cols * ch).astype(np.uint32)
    if depth == 16:
        out = np.empty((rows, cols * ch * 2), np.uint8)
        out[:, 0::2] = flat >> 8
        out[:, 1::2] = flat & 255
        return out
    if depth == 8:
        return flat.astype(np.uint8)
    per_byte = 8 // depth
    padded = np.zeros((rows, -(-flat.shape[1] // per_byte) * per_byte), np.uint32)
    padded[:, :flat.shape[1]] = flat
    out = np.zeros((rows, padded.shape[1] // per_byte), np.uint32)
    for k in range(per_byte):  # leftmost sample in the high bits
        out |= padded[:, k::per_byte] << (8 - depth * (k + 1))
    return out.astype(np.uint8)


def paeth_predict(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_lines(lines, bpp, choose):
    """Filters each scanline with the type choose(row) returns; prepends the type byte."""
    out = bytearray()
    prev = np.zeros(lines.shape[1], np.int32)
    for y, line in enumerate(lines):
        cur = line.astype(np.int32)
        left = np.concatenate([np.zeros(bpp, np.int32), cur[:-bpp]])[:cur.size]
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])[:cur.size]
        ftype = choose(y)
        pred = [np.zeros_like(cur), left, prev, (left + prev) >> 1,
                paeth_predict(left, prev, upleft)][ftype]
        out.append(ftype)
        out += ((cur - pred) & 255).astype(np.uint8).tobytes()
        prev = cur
    return bytes(out)


def image_data(samples, depth, interlace, choose):
    """The filtered (uncompressed) image data for a (h, w, channels) sample array."""
    bpp = max(1, samples.shape[2] * depth // 8)
    if not interlace:
        return filter_lines(pack_lines(samples, depth), bpp, choose)
    out = b""
    for x0, y0, dx, dy in ADAM7:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            out += filter_lines(pack_lines(sub, depth), bpp, choose)
    return out


def compress(raw, level=6, wbits=15, strategy=zlib.Z_DEFAULT_STRATEGY, pieces=1,
             flush=zlib.Z_SYNC_FLUSH):
    """zlib stream of raw; pieces > 1 flushes between pieces (more, and stored, blocks)."""
    co = zlib.compressobj(level, zlib.DEFLATED, wbits, 9, strategy)
    out, step = b"", max(1, -(-len(raw) // pieces))
    for i in range(0, len(raw), step):
        out += co.compress(raw[i:i + step])
        if i + step < len(raw):
            out += co.flush(flush)
    return out + co.flush()


def split_stream(stream, how):
    if how == "one":
        return [stream]
    if how == "bytes":
        return [stream[i:i + 1] for i in range(len(stream))]
    parts, i = [], 0  # random sizes, zero-length IDATs included
    while i < len(stream):
        n = int(rng.integers(0, 40))
        parts.append(stream[i:i + n])
        i += n
    return parts


def build_png(w, h, colour, depth, stream, interlace=0, palette=None, trns=None, before=(),
              after=(), split="one"):
    out = SIGNATURE + ihdr(w, h, depth, colour, interlace)
    for c in before:
        out += c
    if palette is not None:
        out += chunk(b"PLTE", palette)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    for part in split_stream(stream, split):
        out += chunk(b"IDAT", part)
    for c in after:
        out += c
    return out + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------
# Sample content
# ---------------------------------------------------------------------------------------

def random_samples(w, h, ch, maxval, smooth):
    """Noise, or gradients with some noise (compressible: long matches at many distances)."""
    if not smooth:
        return rng.integers(0, maxval + 1, (h, w, ch))
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * (3 + c) + y * (5 - c)) * max(1, maxval // 64) for c in range(ch)], -1)
    noise = rng.integers(0, maxval + 1, (h, w, ch)) * (rng.random((h, w, 1)) < 0.1)
    return (base + noise) % (maxval + 1)


def content(w, h, colour, depth, smooth):
    """Samples, PLTE and tRNS bodies for one image."""
    ch, maxval = CHANNELS[colour], (1 << depth) - 1
    samples, palette, trns = random_samples(w, h, ch, maxval, smooth), None, None
    if colour == 3:
        entries = int(rng.integers(1, min(256, maxval + 1) + 1))
        samples %= entries
        palette = rng.integers(0, 256, entries * 3).astype(np.uint8).tobytes()
        if rng.random() < 0.5:
            trns = rng.integers(0, 256, int(rng.integers(1, entries + 1))).astype(np.uint8).tobytes()
    elif colour == 0 and depth == 16 and rng.random() < 0.7:
        # half the pixels below 256: Pillow keeps those and clips the others
        small = rng.random((h, w, 1)) < 0.5
        samples = np.where(small, samples % 256, samples)
    if colour in (0, 2) and rng.random() < 0.3:
        trns = b"".join(struct.pack(">H", int(v) & maxval) for v in samples[0, 0])
    return samples, palette, trns


# ---------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------

class Corpus:
    def __init__(self, outdir):
        self.outdir, self.lines, self.names = outdir, [], set()

    def _name(self, name):
        assert name not in self.names, name
        self.names.add(name)
        return os.path.join(self.outdir, name)

    def png(self, name, data):
        """A valid PNG; its expected pixels come from Pillow."""
        im = Image.open(io.BytesIO(data))
        rgb = im.convert("RGB")
        path = self._name(name)
        with open(path + ".png", "wb") as f:
            f.write(data)
        with open(path + ".rgb", "wb") as f:
            f.write(rgb.tobytes())
        self.lines.append("png\t%s\t%d\t%d" % (name, rgb.size[0], rgb.size[1]))

    def bad(self, name, data, text):
        path = self._name(name)
        with open(path + ".png", "wb") as f:
            f.write(data)
        self.lines.append("bad\t%s\t%s" % (name, text))

    def stream(self, kind, name, compressed, plain):
        path = self._name(name)
        with open(path + (".z" if kind == "zlib" else ".deflate"), "wb") as f:
            f.write(compressed)
        with open(path + ".out", "wb") as f:
            f.write(plain)
        self.lines.append("%s\t%s" % (kind, name))

    def finish(self):
        with open(os.path.join(self.outdir, "manifest.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def add_pillow_written(c):
    """Images saved by Pillow itself (its own filter choice and zlib settings)."""
    sizes = [(1, 1), (3, 5), (17, 9), (33, 65), (64, 64), (100, 37), (256, 3)]
    level = 0
    for w, h in sizes:
        rgb = random_samples(w, h, 3, 255, smooth=(w * h) % 2 == 1).astype(np.uint8)
        base = Image.fromarray(rgb, "RGB")
        alpha = Image.fromarray(rng.integers(0, 256, (h, w)).astype(np.uint8), "L")
        grey16 = Image.fromarray(random_samples(w, h, 1, 65535, True)[:, :, 0].astype(np.uint16))
        variants = {
            "rgb": base, "grey": base.convert("L"), "bilevel": base.convert("1"),
            "grey16": grey16, "palette": base.quantize(colors=200),
        }
        rgba = base.copy()
        rgba.putalpha(alpha)
        variants["rgba"] = rgba
        variants["la"] = rgba.convert("LA")
        for name, im in variants.items():
            buf = io.BytesIO()
            im.save(buf, "PNG", compress_level=level % 10)
            level += 1
            c.png("pil_%s_%dx%d" % (name, w, h), buf.getvalue())
        for bits in (1, 2, 4):
            buf = io.BytesIO()
            base.quantize(colors=1 << bits).save(buf, "PNG", bits=bits)
            c.png("pil_palette%d_%dx%d" % (bits, w, h), buf.getvalue())
        buf = io.BytesIO()
        base.quantize(colors=64).save(buf, "PNG", transparency=3)
        c.png("pil_palette_trns_%dx%d" % (w, h), buf.getvalue())
        buf = io.BytesIO()
        base.save(buf, "PNG", optimize=True)
        c.png("pil_rgb_optimized_%dx%d" % (w, h), buf.getvalue())


def add_all_formats(c):
    """Every colour type x bit depth x interlace x size, cycling filters and zlib settings."""
    sizes = [(1, 1), (3, 5), (17, 9), (33, 65), (8, 8), (9, 1), (1, 11)]
    filter_modes = ["f0", "f1", "f2", "f3", "f4", "cycle", "random"]
    splits = ["one", "random", "one", "bytes"]
    n = 0
    for colour, depths in DEPTHS.items():
        for depth in depths:
            for interlace in (0, 1):
                for (w, h) in sizes:
                    for fm in (filter_modes if (w, h) in ((17, 9), (33, 65)) else ["random"]):
                        n += 1
                        if fm == "cycle":
                            choose = lambda y: y % 5
                        elif fm == "random":
                            choose = lambda y: int(rng.integers(0, 5))
                        else:
                            choose = lambda y, f=int(fm[1]): f
                        samples, palette, trns = content(w, h, colour, depth, smooth=n % 2 == 0)
                        raw = image_data(samples, depth, interlace, choose)
                        stream = compress(raw, level=n % 10, wbits=9 + n % 7,
                                          strategy=STRATEGIES[n % 5], pieces=1 + n % 3)
                        split = splits[n % 4] if len(stream) < 4000 else "random"
                        data = build_png(w, h, colour, depth, stream, interlace, palette, trns,
                                         split=split)
                        c.png("fmt_c%d_d%d_i%d_%dx%d_%s" % (colour, depth, interlace, w, h, fm),
                              data)


def add_zlib_variants(c):
    """One image under every zlib level, strategy, window size and block layout."""
    samples = random_samples(61, 47, 3, 255, smooth=True)
    raw = image_data(samples, 8, 0, lambda y: y % 5)
    for level in range(10):
        c.png("zlevel%d" % level, build_png(61, 47, 2, 8, compress(raw, level=level)))
    for i, strategy in enumerate(STRATEGIES):
        c.png("zstrategy%d" % i, build_png(61, 47, 2, 8, compress(raw, strategy=strategy)))
    for wbits in range(9, 16):
        c.png("zwbits%d" % wbits, build_png(61, 47, 2, 8, compress(raw, wbits=wbits)))
    for name, flush in (("sync", zlib.Z_SYNC_FLUSH), ("full", zlib.Z_FULL_FLUSH),
                        ("block", zlib.Z_BLOCK), ("partial", zlib.Z_PARTIAL_FLUSH)):
        for pieces in (2, 7, 50):
            c.png("zflush_%s%d" % (name, pieces),
                  build_png(61, 47, 2, 8, compress(raw, pieces=pieces, flush=flush)))
    # stored blocks longer than 65535 bytes: several of them in a row
    big = random_samples(300, 250, 3, 255, smooth=False)
    c.png("zstored_big", build_png(300, 250, 2, 8, compress(image_data(big, 8, 0, lambda y: 0),
                                                               level=0)))
    c.png("zdefault_big", build_png(300, 250, 2, 8, compress(image_data(big, 8, 1, lambda y: 4),
                                                                level=9), interlace=1))


def add_special_cases(c):
    """Chunk layouts and Pillow quirks."""
    w, h = 13, 7
    samples, palette, trns = content(w, h, 2, 8, True)
    stream = compress(image_data(samples, 8, 0, lambda y: y % 5))
    text = chunk(b"tEXt", b"Comment\x00hello")
    extras = [chunk(b"gAMA", struct.pack(">I", 45455)), chunk(b"sRGB", b"\x00"),
              chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1)), chunk(b"prVt", b"private"),
              chunk(b"bKGD", b"\x00\x01\x00\x02\x00\x03"), text]
    c.png("ancillary_before", build_png(w, h, 2, 8, stream, before=extras))
    c.png("ancillary_after", build_png(w, h, 2, 8, stream, after=[text, chunk(b"zzZz", b"")]))
    c.png("rgb_with_suggested_palette", build_png(w, h, 2, 8, stream, palette=b"\x01\x02\x03" * 5))
    c.png("trailing_bytes_after_iend", build_png(w, h, 2, 8, stream) + b"junk after IEND")
    c.png("idat_one_byte_chunks", build_png(w, h, 2, 8, stream, split="bytes"))
    c.png("idat_with_empty_chunks", build_png(w, h, 2, 8, stream, split="random"))
    gs = content(w, h, 0, 8, True)[0]
    c.png("grey_with_palette", build_png(w, h, 0, 8, compress(image_data(gs, 8, 0, lambda y: 1)),
                                         palette=b"\x10\x20\x30" * 3))
    # palette indices beyond the PLTE entries: Pillow shows them as grey (i, i, i)
    idx = rng.integers(0, 256, (h, w, 1))
    c.png("palette_short_plte", build_png(w, h, 3, 8, compress(image_data(idx, 8, 0, lambda y: 0)),
                                          palette=bytes(range(30))))
    idx4 = rng.integers(0, 16, (h, w, 1))
    c.png("palette4_short_plte", build_png(w, h, 3, 4, compress(image_data(idx4, 4, 1, lambda y: 2)),
                                           interlace=1, palette=bytes(range(9))))
    # 16-bit grey across the clip point, grey + tRNS at every depth
    ramp = np.arange(0, 65536, 97).reshape(1, -1, 1)[:, :600]
    c.png("grey16_ramp", build_png(600, 1, 0, 16, compress(image_data(ramp, 16, 0, lambda y: 1))))
    for depth in DEPTHS[0]:
        s = content(9, 9, 0, depth, False)[0]
        c.png("grey%d_trns" % depth, build_png(9, 9, 0, depth, compress(image_data(s, depth, 1, lambda y: 3)),
                                              interlace=1, trns=struct.pack(">H", int(s[0, 0, 0]))))
    # a longer image with every filter, to run the fast inflate loop
    big = random_samples(640, 480, 3, 255, smooth=True)
    c.png("rgb_640x480_random_filters",
          build_png(640, 480, 2, 8, compress(image_data(big, 8, 0, lambda y: int(rng.integers(0, 5))))))
    c.png("rgba16_200x150_adam7",
          build_png(200, 150, 6, 16, compress(image_data(random_samples(200, 150, 4, 65535, True),
                                                         16, 1, lambda y: y % 5)), interlace=1))


def add_mutation_bases(c):
    """Small valid files that the C test truncates at every length and corrupts at random."""
    s = content(7, 5, 2, 8, True)[0]
    st = compress(image_data(s, 8, 0, lambda y: y % 5))
    c.png("mut_rgb8", build_png(7, 5, 2, 8, st, before=[chunk(b"tEXt", b"k\x00v")], split="random"))
    s, pal, trns = content(9, 9, 3, 4, False)
    c.png("mut_palette4_adam7",
          build_png(9, 9, 3, 4, compress(image_data(s, 4, 1, lambda y: 4)), 1, pal, b"\x00\x80"))
    s = content(5, 4, 6, 16, False)[0]
    c.png("mut_rgba16_adam7", build_png(5, 4, 6, 16, compress(image_data(s, 16, 1, lambda y: 3)), 1))
    s = content(13, 3, 0, 2, False)[0]
    c.png("mut_grey2", build_png(13, 3, 0, 2, compress(image_data(s, 2, 0, lambda y: 2), level=1)))
    s = content(6, 6, 4, 8, True)[0]
    c.png("mut_la8_fixed", build_png(6, 6, 4, 8, compress(image_data(s, 8, 0, lambda y: 1),
                                                          strategy=zlib.Z_FIXED)))


# ---- hand-made DEFLATE bit streams for the error cases ----

class BitWriter:
    def __init__(self):
        self.bits = []

    def value(self, v, n):  # header fields and extra bits: LSB first
        self.bits += [(v >> i) & 1 for i in range(n)]

    def code(self, v, n):  # Huffman codes: MSB first
        self.bits += [(v >> i) & 1 for i in reversed(range(n))]

    def fixed_literal(self, sym):
        if sym < 144:
            self.code(0x30 + sym, 8)
        elif sym < 256:
            self.code(0x190 + sym - 144, 9)
        elif sym < 280:
            self.code(sym - 256, 7)
        else:
            self.code(0xC0 + sym - 280, 8)

    def data(self):
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(sum(b << i for i, b in enumerate(bits[k:k + 8])) for k in range(0, len(bits), 8))


def zlib_wrap(deflate, plain=b""):
    return b"\x78\x9c" + deflate + struct.pack(">I", zlib.adler32(plain))


def dynamic_header(bw, hlit, hdist, cl_lengths):
    """Dynamic block header with the code length code given as {symbol: length}."""
    order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    bw.value(1, 1)
    bw.value(2, 2)
    bw.value(hlit - 257, 5)
    bw.value(hdist - 1, 5)
    bw.value(19 - 4, 4)
    for sym in order:
        bw.value(cl_lengths.get(sym, 0), 3)


def bad_deflate_streams():
    """(name, deflate bytes, expected message) for broken DEFLATE data."""
    out = []
    bw = BitWriter()
    bw.value(1, 1)
    bw.value(1, 2)
    bw.fixed_literal(257)  # length 3 ...
    bw.code(0, 5)  # ... distance 1, with nothing output yet
    bw.fixed_literal(256)
    out.append(("distance_too_far", bw.data(), "reaches back before the start"))
    bw = BitWriter()
    bw.value(1, 1)
    bw.value(1, 2)
    bw.fixed_literal(65)
    bw.fixed_literal(286)
    out.append(("literal_286", bw.data(), "invalid literal/length symbol 286"))
    bw = BitWriter()
    bw.value(1, 1)
    bw.value(1, 2)
    bw.fixed_literal(65)
    bw.fixed_literal(257)
    bw.code(30, 5)
    out.append(("distance_30", bw.data(), "invalid distance symbol 30"))
    bw = BitWriter()
    bw.value(1, 1)
    bw.value(3, 2)
    out.append(("block_type_3", bw.data() + b"\x00" * 8, "invalid block type 3"))
    out.append(("stored_nlen", b"\x01\x05\x00\x00\x00" + b"x" * 5, "does not match its complement"))
    out.append(("stored_short", b"\x01\x64\x00\x9b\xff" + b"x" * 3, "truncated stored block"))
    bw = BitWriter()
    dynamic_header(bw, 257, 1, {s: 1 for s in range(19)})
    out.append(("cl_oversubscribed", bw.data(), "over-subscribed code length code"))
    bw = BitWriter()
    dynamic_header(bw, 257, 1, {0: 2})
    out.append(("cl_incomplete", bw.data(), "incomplete code length code"))
    bw = BitWriter()
    dynamic_header(bw, 257, 1, {0: 1, 16: 1})
    bw.code(1, 1)  # 16 first: repeat of nothing
    bw.value(0, 2)
    out.append(("repeat_first", bw.data(), "repeat with no previous length"))
    bw = BitWriter()
    dynamic_header(bw, 257, 1, {0: 1, 17: 2, 18: 2})
    for extra in (127, 109):  # 138 + 120 = 258 zero lengths: no end-of-block code
        bw.code(3, 2)
        bw.value(extra, 7)
    out.append(("no_end_of_block", bw.data(), "no end-of-block code"))
    bw = BitWriter()
    dynamic_header(bw, 257, 1, {0: 1, 17: 2, 18: 2})
    for extra in (127, 127):
        bw.code(3, 2)
        bw.value(extra, 7)
    out.append(("lengths_overrun", bw.data(), "run past the 258 declared"))
    bw = BitWriter()
    dynamic_header(bw, 286, 30, {})
    bw.bits[3:13] = [1] * 10  # HLIT 288, HDIST 32
    out.append(("too_many_codes", bw.data(), "at most 286 and 30"))
    return out


def add_bad_files(c):
    w, h = 16, 16
    s = content(w, h, 0, 8, True)[0]
    raw = image_data(s, 8, 0, lambda y: 1)
    good_stream = compress(raw)

    def grey(stream, **kw):
        return build_png(w, h, 0, 8, stream, **kw)

    good = grey(good_stream)
    c.png("bad_base", good)

    def with_fixed_crc(data, offset, new_bytes):
        """Overwrites bytes inside a chunk body and repairs that chunk's CRC."""
        data = bytearray(data)
        data[offset:offset + len(new_bytes)] = new_bytes
        pos = 8
        while pos < len(data):
            length = struct.unpack(">I", data[pos:pos + 4])[0]
            if pos + 8 <= offset < pos + 8 + length:
                body = bytes(data[pos + 4:pos + 8 + length])
                data[pos + 8 + length:pos + 12 + length] = struct.pack(">I", zlib.crc32(body))
            pos += length + 12
        return bytes(data)

    idat_body = 8 + 25 + 8  # signature, IHDR chunk, IDAT length + type
    adler_at = idat_body + len(good_stream) - 4
    c.bad("bad_adler", with_fixed_crc(good, adler_at, b"\x01\x02\x03\x04"), "Adler-32 mismatch")
    c.bad("bad_crc_ihdr", good[:29] + bytes([good[29] ^ 1]) + good[30:], "CRC mismatch in 'IHDR'")
    c.bad("bad_crc_idat", good[:adler_at + 4] + bytes([good[adler_at + 4] ^ 0x80]) + good[adler_at + 5:],
          "CRC mismatch in 'IDAT'")
    c.bad("bad_crc_iend", good[:-1] + bytes([good[-1] ^ 0x10]), "CRC mismatch in 'IEND'")
    bad_raw = bytearray(raw)
    bad_raw[(w + 1) * 5] = 5
    c.bad("bad_filter_type", grey(compress(bytes(bad_raw))), "bad filter type 5 on row 5")
    bad_raw = bytearray(image_data(s, 8, 1, lambda y: 0))
    bad_raw[-(w + 1)] = 200  # filter byte of the last row of pass 7
    c.bad("bad_filter_type_adam7", build_png(w, h, 0, 8, compress(bytes(bad_raw)), interlace=1),
          "bad filter type 200 on row 7 of interlace pass 7")
    c.bad("data_too_long", grey(compress(raw + b"\x00" * 17)), "exceeds the 272-byte limit")
    c.bad("data_too_short", grey(compress(raw[:-1])), "too short: 271 bytes, the header implies 272")
    c.bad("zlib_bomb", grey(compress(b"\x00" * (64 << 20), level=9)), "exceeds the 272-byte limit")
    c.bad("zlib_truncated", grey(good_stream[:len(good_stream) // 2]), "truncated")
    c.bad("zlib_no_adler", grey(good_stream[:-4]), "Adler-32 trailer missing")
    c.bad("zlib_method", grey(b"\x77" + good_stream[1:]), "unknown compression method 7")
    c.bad("zlib_fcheck", grey(b"\x78\x00" + good_stream[2:]), "header check bits")
    c.bad("zlib_fdict", grey(b"\x78\xbb" + good_stream[2:]), "preset dictionaries")
    c.bad("zlib_window", grey(b"\x88\x98" + good_stream[2:]), "window size 2^16")
    c.bad("zlib_empty", grey(b""), "zlib: truncated header")
    for name, deflate, text in bad_deflate_streams():
        c.bad("deflate_" + name, grey(zlib_wrap(deflate)), text)

    # chunk structure
    sig_ihdr = SIGNATURE + ihdr(w, h, 8, 0)
    idat, iend = chunk(b"IDAT", good_stream), chunk(b"IEND", b"")
    c.bad("no_iend", sig_ihdr + idat, "before the IEND chunk")
    c.bad("no_idat", sig_ihdr + iend, "no IDAT chunk")
    c.bad("no_ihdr", SIGNATURE + idat + iend, "first chunk is 'IDAT', not IHDR")
    c.bad("two_ihdr", sig_ihdr + ihdr(w, h, 8, 0) + idat + iend, "more than one IHDR")
    c.bad("split_idat", sig_ihdr + chunk(b"IDAT", good_stream[:10]) + chunk(b"tEXt", b"a\x00b") +
          chunk(b"IDAT", good_stream[10:]) + iend, "separated from the earlier IDATs")
    c.bad("critical_unknown", sig_ihdr + chunk(b"CrIt", b"") + idat + iend,
          "unknown critical chunk 'CrIt'")
    c.bad("chunk_type_digits", sig_ihdr + chunk(b"ab1d", b"") + idat + iend, "bad chunk type")
    c.bad("chunk_length_huge", sig_ihdr + b"\x80\x00\x00\x00tEXt" + idat + iend, "over 2^31-1")
    c.bad("chunk_length_past_end", sig_ihdr + b"\x00\x10\x00\x00tEXt" + idat + iend,
          "truncated 'tEXt' chunk")
    c.bad("stray_bytes", sig_ihdr + idat + b"\x00\x00", "stray bytes")
    pal = build_png(4, 4, 3, 8, compress(image_data(np.zeros((4, 4, 1), int), 8, 0, lambda y: 0)))
    c.bad("palette_without_plte", pal, "without a PLTE")
    pal_ihdr = SIGNATURE + ihdr(4, 4, 8, 3)
    pal_idat = chunk(b"IDAT", compress(b"\x00" * 20))
    c.bad("plte_twice", pal_ihdr + chunk(b"PLTE", b"abc") + chunk(b"PLTE", b"abc") + pal_idat + iend,
          "more than one PLTE")
    c.bad("plte_after_idat", pal_ihdr + pal_idat + chunk(b"PLTE", b"abc") + iend, "PLTE chunk after IDAT")
    c.bad("plte_length", pal_ihdr + chunk(b"PLTE", b"abcd") + pal_idat + iend, "PLTE chunk of 4 bytes")
    c.bad("plte_empty", pal_ihdr + chunk(b"PLTE", b"") + pal_idat + iend, "PLTE chunk of 0 bytes")
    c.bad("signature_text_mode", b"\x89PNG\n\x1a\n" + good[8:], "damaged signature")
    c.bad("signature_short", SIGNATURE[:5], "truncated: 5 bytes")
    c.bad("not_png", b"GIF89a" + good[6:], "not a PNG file")

    # IHDR values
    def bad_ihdr(name, text, **fields):
        f = dict(w=w, h=h, depth=8, colour=0, interlace=0, compression=0, filter_method=0)
        f.update(fields)
        head = SIGNATURE + ihdr(f["w"], f["h"], f["depth"], f["colour"], f["interlace"],
                                f["compression"], f["filter_method"])
        c.bad("ihdr_" + name, head + idat + iend, text)

    bad_ihdr("width0", "image size 0x16", w=0)
    bad_ihdr("height0", "image size 16x0", h=0)
    bad_ihdr("width_2g", "image size 2147483648x16", w=1 << 31)
    bad_ihdr("too_many_pixels", "too large (limit 268435456 pixels)", w=16385, h=16384)
    bad_ihdr("colour1", "colour type 1", colour=1)
    bad_ihdr("colour7", "colour type 7", colour=7)
    bad_ihdr("grey_depth3", "bit depth 3 with colour type 0", depth=3)
    bad_ihdr("grey_depth0", "bit depth 0 with colour type 0", depth=0)
    bad_ihdr("rgb_depth4", "bit depth 4 with colour type 2", colour=2, depth=4)
    bad_ihdr("palette_depth16", "bit depth 16 with colour type 3", colour=3, depth=16)
    bad_ihdr("rgba_depth1", "bit depth 1 with colour type 6", colour=6, depth=1)
    bad_ihdr("compression1", "compression method 1", compression=1)
    bad_ihdr("filter1", "filter method 1", filter_method=1)
    bad_ihdr("interlace2", "interlace method 2", interlace=2)
    short = SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBB", w, h, 8, 0, 0, 0))
    c.bad("ihdr_short", short + idat + iend, "IHDR chunk is 12 bytes")


def add_zlib_streams(c):
    """Streams for the inflate API itself."""
    text = b" ".join(b"word%d" % (i % 997) for i in range(40000))
    datasets = {
        "empty": b"",
        "one": b"A",
        "noise_1k": rng.integers(0, 256, 1000).astype(np.uint8).tobytes(),
        "noise_70k": rng.integers(0, 256, 70000).astype(np.uint8).tobytes(),
        "zeros_300k": b"\x00" * 300000,
        "text": text,
        "pattern3": b"abc" * 50000,
        "smallalpha": rng.integers(0, 4, 200000).astype(np.uint8).tobytes(),
    }
    n = 0
    for name, plain in datasets.items():
        for level in (0, 1, 6, 9):
            n += 1
            strategy = STRATEGIES[n % 5]
            c.stream("zlib", "z_%s_l%d" % (name, level), compress(plain, level, 9 + n % 7, strategy,
                                                                 pieces=1 + n % 4), plain)
        co = zlib.compressobj(6, zlib.DEFLATED, -15)
        c.stream("raw", "raw_%s" % name, co.compress(plain) + co.flush(), plain)


def make_corpus(outdir):
    os.makedirs(outdir, exist_ok=True)
    c = Corpus(outdir)
    add_pillow_written(c)
    add_all_formats(c)
    add_zlib_variants(c)
    add_special_cases(c)
    add_mutation_bases(c)
    add_bad_files(c)
    add_zlib_streams(c)
    c.finish()
    print("png_corpus.py: %d entries in %s" % (len(c.lines), outdir))


# ---------------------------------------------------------------------------------------
# Benchmark helpers
# ---------------------------------------------------------------------------------------

def make_bench(path):
    """~1 MP photo-like RGB: a fixture photo scaled up if there is one, else smooth noise."""
    fixtures = os.environ.get("FIXTURES", os.path.join(os.path.dirname(__file__), "..", "..",
                                                        "shared", "fixtures"))
    photo = os.path.join(fixtures, "img", "chelsea.ppm")
    if os.path.exists(photo):
        im = Image.open(photo).convert("RGB").resize((1024, 1024), Image.BICUBIC)
        arr = np.asarray(im).astype(np.int32)
        arr = np.clip(arr + rng.integers(-3, 4, arr.shape), 0, 255).astype(np.uint8)  # sensor noise
        im = Image.fromarray(arr)
    else:
        small = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
        im = Image.fromarray(small).resize((1024, 1024), Image.BICUBIC)
    im.save(path, "PNG")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def idat_stream(data):
    pos, out = 8, b""
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        if data[pos + 4:pos + 8] == b"IDAT":
            out += data[pos + 8:pos + 8 + length]
        pos += length + 12
    return out


def best_of(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3


def bench(path, n):
    data = open(path, "rb").read()
    stream = idat_stream(data)
    plain = zlib.decompress(stream)
    im = Image.open(io.BytesIO(data))
    print("%s: %dx%d, %d bytes, zlib stream %d -> %d bytes" % (path, im.size[0], im.size[1], len(data),
                                                               len(stream), len(plain)))
    print("python zlib.decompress:                 %.2f ms (best of %d)" % (best_of(lambda: zlib.decompress(stream), n), n))
    print("Pillow Image.open().convert('RGB'):     %.2f ms (best of %d)" % (
        best_of(lambda: Image.open(io.BytesIO(data)).convert("RGB"), n), n))


def main(argv):
    if len(argv) == 3 and argv[1] == "--make-bench":
        make_bench(argv[2])
    elif len(argv) in (3, 4) and argv[1] == "--bench":
        bench(argv[2], int(argv[3]) if len(argv) == 4 else 20)
    elif len(argv) == 2 and not argv[1].startswith("-"):
        make_corpus(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
