#!/usr/bin/env python3
"""Mutation fuzzer for tools/export.py's TFLite reader (the MTCNN detector, --mtcnn).

    fuzz_tflite.py seeds DIR                      write the starting corpus (three .tflite)
    fuzz_tflite.py run [-t SECONDS] CORPUS...     fuzz; new inputs go to the first CORPUS folder
    fuzz_tflite.py replay FILE|DIR...             run each input once (tests/test_tflite_fuzz.py)
    fuzz_tflite.py minimize OUT CORPUS...         a small covering subset of CORPUS into OUT

The loop, the coverage feedback (line edges of tools/export.py), the findings and the
commands are fuzz_export.py's; this file adds what is TFLite's. An input is one .tflite file;
it is converted three times, as the P-, R- and O-Net with the other two nets the valid seeds
(`read_mtcnn_net` each, then `mtcnn_container`, what `export.py --mtcnn` runs), so a net given
in another's place is covered too. A finding is anything but a clean export.ExportError:
read_mtcnn_net is called without the catch-all that convert_mtcnn puts around it, so a
struct.error or IndexError the reader let through (which --mtcnn would report as an unclear
"malformed TFLite model: list index out of range") counts.

Mutations are mostly flatbuffer-aware: the input is read once with a recording reader that
notes where every root / child offset, vtable offset, vtable size and entry, vector length,
scalar field and buffer lies, and a mutation rewrites one or more of those places (an offset
pointed elsewhere or out of the file, a vtable entry dropped or aimed at another field, a
vector length off by one or huge, a shape dimension, buffer index, stride or operator code
changed, a weight made NaN, two tables of a vector swapped); otherwise fuzz_export's byte
mutations.

Seeds: the real nets are third-party weights (not committed) and too big to mutate quickly, so
`seeds` writes miniature nets of the same structure (every layer kind, PReLU as TOCO writes it,
the softmax tail, the real files' tensor names) with few channels; the fuzzer replaces
export.MTCNN_NETS by that miniature table (MINI) so the seeds convert completely.
"""
import hashlib
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzz_export as fx  # noqa: E402

export = fx.export
NETS = ("pnet", "rnet", "onet")

# export.MTCNN_NETS with few channels (same kernels, strides, pools, heads).
MINI = {
    "pnet": ((12, 12), [("conv", 3, 3, 3, 3, 1), ("prelu", 3), ("pool", 2, 2, 0),
                        ("conv", 4, 3, 3, 3, 1), ("prelu", 4), ("conv", 5, 3, 3, 4, 1), ("prelu", 5)],
             [("conv", 2, 1, 1, 5, 1), ("conv", 4, 1, 1, 5, 1)]),
    "rnet": ((24, 24), [("conv", 3, 3, 3, 3, 1), ("prelu", 3), ("pool", 3, 2, 0),
                        ("conv", 4, 3, 3, 3, 1), ("prelu", 4), ("pool", 3, 2, 1),
                        ("conv", 5, 2, 2, 4, 1), ("prelu", 5), ("fc", 6, 45), ("prelu", 6)],
             [("fc", 2, 6), ("fc", 4, 6)]),
    "onet": ((48, 48), [("conv", 3, 3, 3, 3, 1), ("prelu", 3), ("pool", 3, 2, 0),
                        ("conv", 4, 3, 3, 3, 1), ("prelu", 4), ("pool", 3, 2, 1),
                        ("conv", 4, 3, 3, 4, 1), ("prelu", 4), ("pool", 2, 2, 0),
                        ("conv", 5, 2, 2, 4, 1), ("prelu", 5), ("fc", 6, 45), ("prelu", 6)],
             [("fc", 2, 6), ("fc", 4, 6), ("fc", 10, 6)]),
}
OPCODES = {name: code for code, name in export.TFLITE_OPS.items()}


def setup():
    export.MTCNN_NETS = MINI


# ---- a flatbuffer writer (just what the seeds need) ----------------------------------------

class Table:
    """fields f0=, f1=...: (kind, value), or a false value for an absent field; kinds: a struct format (scalar), 'table',
    'tables' (vector of tables), 'ints' (vector of int32), 'bytes', 'str'."""

    def __init__(self, **fields):
        self.fields = {int(k[1:]): v for k, v in fields.items() if v}


def flatbuffer(root, ident=b"TFL3"):
    """The bytes of a flatbuffer: each table's vtable just before it, children after their
    parent (unsigned offsets point forward), 4-byte alignment."""
    buf = bytearray(8)
    buf[4:8] = ident

    def align():
        buf.extend(bytes(-len(buf) % 4))

    def put_table(t):
        align()
        order = sorted(t.fields)
        inline = [(i,) + t.fields[i] for i in order]
        sizes = [4 if kind in ("table", "tables", "ints", "bytes", "str") else struct.calcsize("<" + kind)
                 for _, kind, _ in inline]
        count = max(order, default=-1) + 1
        vsize = 4 + 2 * count
        vtable = len(buf)
        buf.extend(bytes(vsize + (-vsize % 4)))
        pos = len(buf)
        offs, at = {}, 4
        for (i, kind, _), size in zip(inline, sizes):
            at += -at % size
            offs[i] = at
            at += size
        struct.pack_into("<HH", buf, vtable, vsize, at)
        for i, o in offs.items():
            struct.pack_into("<H", buf, vtable + 4 + 2 * i, o)
        buf.extend(bytes(at))
        struct.pack_into("<i", buf, pos, pos - vtable)
        for i, kind, value in inline:
            if kind not in ("table", "tables", "ints", "bytes", "str"):
                struct.pack_into("<" + kind, buf, pos + offs[i], value)
        for i, kind, value in inline:
            if kind in ("table", "tables", "ints", "bytes", "str"):
                child = put(kind, value)
                struct.pack_into("<I", buf, pos + offs[i], child - (pos + offs[i]))
        return pos

    def put(kind, value):
        if kind == "table":
            return put_table(value)
        align()
        pos = len(buf)
        if kind == "tables":
            buf.extend(struct.pack("<I", len(value)) + bytes(4 * len(value)))
            for k, t in enumerate(value):
                child = put_table(t)
                struct.pack_into("<I", buf, pos + 4 + 4 * k, child - (pos + 4 + 4 * k))
        elif kind == "ints":
            buf.extend(struct.pack("<I%di" % len(value), len(value), *value))
        else:
            data = value.encode() if kind == "str" else value
            buf.extend(struct.pack("<I", len(data)) + data + (b"\0" if kind == "str" else b""))
        return pos

    struct.pack_into("<I", buf, 0, put_table(root))
    return bytes(buf)


def mini_tflite(net, seed=1, builtin_code=False):
    """One miniature MTCNN net as a TFLite model, laid out like TOCO's output of the originals."""
    rnd = random.Random(seed)
    size, trunk, heads = MINI[net]
    tensors, buffers, ops = [], [Table()], []

    def tensor(name, shape, values=None, kind=None):
        if values is not None:
            buffers.append(Table(f0=("bytes", values)))
        tensors.append(Table(f0=("ints", list(shape)), f1=kind and ("b", kind),
                             f2=("I", len(buffers) - 1 if values is not None else 0), f3=("str", net + "/" + name)))
        return len(tensors) - 1

    def floats(n, scale=0.3):
        return struct.pack("<%df" % n, *(rnd.uniform(-scale, scale) for _ in range(n)))

    def op(code, ins, outs, options=None):
        ops.append(Table(f0=("I", codes.index(code)), f1=("ints", ins), f2=("ints", outs),
                         f3=options and ("B", options[0]), f4=options and ("table", options[1])))
        return outs[0]

    codes = ["CONV_2D", "RELU", "NEG", "MUL", "ADD", "MAX_POOL_2D", "FULLY_CONNECTED",
             "REDUCE_MAX", "SUB", "EXP", "SUM", "DIV"]
    act = (11, Table(f0=("b", 0)))  # AddOptions / MulOptions: no fused activation
    x = tensor("input", (1,) + size + (3,))

    def layer(desc, x, name):
        if desc[0] == "conv":
            _, out, kh, kw, cin, s = desc
            w = tensor(name + "/weights/read", (out, kh, kw, cin), floats(out * kh * kw * cin))
            b = tensor(name + "/Conv2D_bias", (out,), floats(out, 0.1))
            pad = 1 if (kh, kw) != (1, 1) else 0  # VALID; 1x1 heads are SAME in the originals
            opts = Table(f0=("b", pad), f1=("i", s), f2=("i", s), f3=("b", 0))
            return op("CONV_2D", [x, w, b], [tensor(name + "/BiasAdd", (1, 1, 1, out))], (1, opts))
        _, out, cin = desc
        w = tensor(name + "/weights/read/transpose", (out, cin), floats(out * cin))
        b = tensor(name + "/" + name.split("/")[-1] + "/MatMul_bias", (out,), floats(out, 0.1))
        opts = Table(f0=("b", 0), f1=("b", 0), f2=("B", 0))
        return op("FULLY_CONNECTED", [x, w, b], [tensor(name + "/" + name, (1, out))], (8, opts))

    convs = prelus = pools = fcs = 0
    for desc in trunk:
        if desc[0] == "prelu":
            prelus += 1
            p, c = "PReLU%d" % prelus, desc[1]
            alpha = tensor(p + "/alpha/read", (c,), floats(c))
            r1 = op("RELU", [x], [tensor(p + "/Relu", (1, 1, 1, c))])
            n1 = op("NEG", [x], [tensor(p + "/Neg", (1, 1, 1, c))])
            r2 = op("RELU", [n1], [tensor(p + "/Relu_1", (1, 1, 1, c))])
            n2 = op("NEG", [r2], [tensor(p + "/Neg_1", (1, 1, 1, c))])
            m = op("MUL", [alpha, n2], [tensor(p + "/Mul", (1, 1, 1, c))], act)
            x = op("ADD", [r1, m], [tensor(p + "/add", (1, 1, 1, c))], act)
        elif desc[0] == "pool":
            pools += 1
            _, k, s, pad = desc
            opts = Table(f0=("b", pad), f1=("i", s), f2=("i", s), f3=("i", k), f4=("i", k), f5=("b", 0))
            x = op("MAX_POOL_2D", [x], [tensor("pool%d" % pools, (1, 1, 1, 1))], (5, opts))
        else:
            convs += desc[0] == "conv"
            fcs += desc[0] == "fc"
            x = layer(desc, x, "conv%d" % (convs + fcs))
    outs = [layer(desc, x, "conv%d-%d" % (convs + fcs + 1, k + 1)) for k, desc in enumerate(heads)]
    axis = tensor("Max/reduction_indices", (), struct.pack("<i", 3), kind=2)
    axis2 = tensor("Sum/reduction_indices", (), struct.pack("<i", 3), kind=2)
    keep = (27, Table(f0=("B", 1)))
    m = op("REDUCE_MAX", [outs[0], axis], [tensor("Max", (1, 1))], keep)
    d = op("SUB", [outs[0], m], [tensor("sub", (1, 2))], act)
    e = op("EXP", [d], [tensor("Exp", (1, 2))])
    s = op("SUM", [e, axis2], [tensor("Sum", (1, 1))], keep)
    prob = op("DIV", [e, s], [tensor("prob1", (1, 2))], act)
    graph = Table(f0=("tables", tensors), f1=("ints", [0]), f2=("ints", [prob] + outs[1:]),
                  f3=("tables", ops), f4=("str", "main"))
    op_codes = [Table(f0=("b", OPCODES[c]), f3=builtin_code and ("i", OPCODES[c])) for c in codes]
    model = Table(f0=("I", 3), f1=("tables", op_codes), f2=("tables", [graph]), f3=("str", "TOCO Converted."),
                  f4=("tables", buffers))
    return flatbuffer(model)


def seeds(folder):
    os.makedirs(folder, exist_ok=True)
    for k, net in enumerate(NETS):
        with open(os.path.join(folder, "seed-%s.tflite" % net), "wb") as f:
            f.write(mini_tflite(net, seed=k + 1, builtin_code=net == "onet"))


_VALID = {}


def valid_nets():
    """The seeds' tensors per net (what the two slots an input does not take hold)."""
    if not _VALID:
        for k, net in enumerate(NETS):
            _VALID[net] = export.read_mtcnn_net(net, mini_tflite(net, seed=k + 1))
    return _VALID


def run_one(data):
    """The input as each of the three nets: None if it converts as one of them, else the
    first refusal's message; raises for anything but export.ExportError."""
    valid, first = valid_nets(), None
    for net in NETS:
        try:
            mine = export.read_mtcnn_net(net, data)
        except export.ExportError as e:
            first = first or str(e)
            continue
        tensors = [t for n in NETS for t in (mine if n == net else valid[n])]
        try:
            export.mtcnn_container(tensors, [n + ".tflite" for n in NETS])
        except export.ExportError as e:  # e.g. NaN weights: refused when the container is built
            return str(e)
        return None
    return first


# ---- flatbuffer-aware mutations ------------------------------------------------------------

class _Recording(export._Flat):
    """The exporter's flatbuffer reader, noting where each structural field lies."""

    def __init__(self, data):
        super().__init__(data)
        self.spots = []

    def table(self, pos):
        t = super().table(pos)
        _, vtable, vsize = t
        self.spots += [("soffset", pos, "i"), ("vsize", vtable, "H")]
        self.spots += [("ventry", vtable + 2 * i, "H") for i in range(2, vsize // 2)]
        return t

    def ref(self, table, i):
        pos = self.field(table, i)
        if pos is not None:
            self.spots.append(("uoffset", pos, "I"))
        return super().ref(table, i)

    def scalar(self, table, i, fmt, default=0):
        pos = self.field(table, i)
        if pos is not None:
            self.spots.append(("scalar", pos, fmt))
        return super().scalar(table, i, fmt, default)

    def vector(self, table, i, esize):
        pos, n = super().vector(table, i, esize)
        if n:
            self.spots.append(("vlen", pos - 4, "I"))
            if esize == 4:  # offsets to tables, or int32 items (shapes, tensor indices)
                self.spots += [("item", pos + 4 * k, "I") for k in range(n)]
            elif n >= 4:
                self.spots.append(("data", pos, n))
        return pos, n


_SPOTS = {}


def spots(data):
    """The structural places of `data` the reader visits (up to where it refuses)."""
    key = hashlib.sha1(data).digest()
    if key not in _SPOTS:
        if len(_SPOTS) > 4096:
            _SPOTS.clear()
        saved, rec = export._Flat, [None]

        def make(d):
            rec[0] = _Recording(d)
            return rec[0]
        export._Flat = make
        try:
            export.read_tflite(data)
        except Exception:  # noqa: B902 - a partial map is what a broken input gives
            pass
        finally:
            export._Flat = saved
        _SPOTS[key] = rec[0].spots if rec[0] else []
    return _SPOTS[key]


WIDTH = {"b": 1, "B": 1, "H": 2, "i": 4, "I": 4}


def _value(rnd, kind, old, size, others):
    if kind in ("uoffset", "soffset", "item") and others and rnd.random() < 0.3:
        return rnd.choice(others)  # aimed at another structural place (set relative below)
    if kind == "vlen":
        return rnd.choice((0, 1, old - 1, old + 1, old * 2, 0x3FFFFFFF, 0xFFFFFFFF, size,
                           export.TFLITE_MAX_ITEMS, export.TFLITE_MAX_ITEMS + 1))
    if kind == "vsize":
        return rnd.choice((0, 2, 3, 4, old - 2, old + 2, old + 1, 0xFFFF))
    if kind == "ventry":
        return rnd.choice((0, 1, 2, 4, old - 4, old + 4, old + 1, 0xFFFF))
    return rnd.choice((0, 1, 2, 3, 4, -1, old - 1, old + 1, old - 4, old + 4, old * 2, size, size - 4,
                       1 << 31, (1 << 31) - 1, 1 << 30, 0xFFFFFFFF, 65536, 255, 128, 127))


def mutate_flat(rnd, data, others):
    places = spots(data)
    if not places:
        return fx.mutate_bytes(rnd, data, others)
    data = bytearray(data)
    for _ in range(rnd.choice((1, 1, 1, 2, 3))):
        kind, pos, fmt = rnd.choice(places)
        if kind == "data":  # a weight made NaN, infinite or huge, or the bytes cut
            n = fmt
            at = pos + 4 * rnd.randrange(max(n // 4, 1))
            if at + 4 <= len(data):
                data[at:at + 4] = rnd.choice((b"\0\0\xc0\x7f", b"\0\0\x80\x7f", b"\xff\xff\x7f\x7f"))
            continue
        w = WIDTH[fmt]
        if pos + w > len(data):
            continue
        if kind == "item" and rnd.random() < 0.2:  # swap two items (reorder tables, tensors)
            other = [p for k, p, _ in places if k == "item" and p != pos]
            if other:
                q = rnd.choice(other)
                data[pos:pos + 4], data[q:q + 4] = data[q:q + 4], data[pos:pos + 4]
                continue
        old = struct.unpack_from("<" + fmt, data, pos)[0]
        targets = [p for _, p, _ in places]
        v = _value(rnd, kind, old, len(data), targets)
        if v in targets and kind in ("uoffset", "item", "soffset") and rnd.random() < 0.5:
            v = v - pos if kind != "soffset" else pos - v
        data[pos:pos + w] = (v & ((1 << 8 * w) - 1)).to_bytes(w, "little")
    return bytes(data)


def mutate(rnd, data, others):
    if rnd.random() < 0.75:
        return mutate_flat(rnd, data, others)
    return fx.mutate_bytes(rnd, data, others)


TFLITE = fx.Target("tflite", setup, run_one, mutate, seeds, os.path.join(HERE, "corpus", "tflite"))

if __name__ == "__main__":
    sys.exit(fx.main(sys.argv[1:], TFLITE, __doc__))
