#!/usr/bin/env python3
"""Writes an all-black PNG of any size quickly (one zlib stream of zero rows, split into
1 MiB IDAT chunks): big_png.py W H DEPTH COLOUR OUT, e.g. 8192 4096 16 6 x.png (RGBA16)."""
import struct
import sys
import zlib


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def main():
    w, h, depth, colour, out = *map(int, sys.argv[1:5]), sys.argv[5]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    rows = (b"\0" * (1 + (w * channels * depth + 7) // 8)) * 64
    z = zlib.compressobj(6)
    parts = [z.compress(rows[: len(rows) // 64 * min(64, h - y)]) for y in range(0, h, 64)]
    data = b"".join(parts) + z.flush()
    with open(out, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)))
        for i in range(0, len(data), 1 << 20):
            f.write(chunk(b"IDAT", data[i:i + (1 << 20)]))
        f.write(chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
