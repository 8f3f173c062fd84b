#!/usr/bin/env python3
"""Mutation fuzzer for tools/export.py's readers (zip + pickle, ONNX protobuf).

    fuzz_export.py seeds DIR                      write the starting corpus (.pt and .onnx)
    fuzz_export.py run [-t SECONDS] CORPUS...     fuzz; new inputs go to the first CORPUS folder
    fuzz_export.py replay FILE|DIR...             run each input once (tests/test_export_fuzz.py)
    fuzz_export.py minimize OUT CORPUS...         a small covering subset of CORPUS into OUT

atheris is not available, so this is a plain mutation loop: pick an input, mutate it (bytes,
pickle opcodes, or one zip member unpacked, mutated and re-zipped so that the CRC still
holds), run the exporter in-process (`export.convert_file`) and keep the input when its
outcome is new (success, or the refusal message with its numbers and names blanked out: a
coarse signal) or when it covers a new pair of consecutive lines in tools/export.py (line
tracing with sys.settrace, the coverage feedback). Any exception other than export.ExportError, more than
LIMIT_S seconds or the address-space limit (MemoryError) is a finding: the input is written
to ARTIFACTS (build/fuzz/artifacts/export-*) with its traceback, and the run exits 1.

Seeds: miniature EfficientNets of the B0 stage table at width and depth 0.1 (7 blocks,
30k parameters) as a state dict, a whole pickled model and an ONNX graph, written without
torch or onnx. The fuzzer registers that architecture with the exporter (TINY) so the
seeds convert completely and mutations reach every stage (fold, layouts, container).
"""
import collections
import hashlib
import io
import os
import random
import re
import resource
import struct
import sys
import time
import traceback
import types
import zipfile
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import export  # noqa: E402
import make_statedict_pt as sdpt  # noqa: E402

TINY = export.build_spec(export.Arch("tf_efficientnet_tiny", 0.1, 0.1, 32))
LIMIT_S = 5.0
MEMORY = 2 << 30
ARTIFACTS = os.path.join(HERE, "..", "build", "fuzz", "artifacts")


def register_tiny():
    if TINY not in export.SPECS:
        export.SPECS = export.SPECS + (TINY,)


# ---- seeds ---------------------------------------------------------------------------------

def tiny_tensors(count=8, seed=1):
    """{state-dict name: (shape, array('f'))} of the tiny network, plausible BatchNorm."""
    rnd = random.Random(seed)
    out = collections.OrderedDict()
    for layer in TINY.layers:
        n = 1
        for d in layer.shape:
            n *= d
        out[layer.pt_conv + ".weight"] = (layer.shape, array("f", (rnd.uniform(-.3, .3) for _ in range(n))))
        o = layer.shape[0]
        if layer.pt_bn is None:
            out[layer.pt_conv + ".bias"] = ((o,), array("f", (rnd.uniform(-.1, .1) for _ in range(o))))
        else:
            for k, lo, hi in (("weight", .5, 1.5), ("bias", -.1, .1), ("running_mean", -.1, .1),
                              ("running_var", .5, 2)):
                out[layer.pt_bn + "." + k] = ((o,), array("f", (rnd.uniform(lo, hi) for _ in range(o))))
    out["classifier.weight"] = ((count, TINY.features), array("f", (rnd.uniform(-.1, .1) for _ in range(count * TINY.features))))
    out["classifier.bias"] = ((count,), array("f", [0.01 * i for i in range(count)]))
    return out


def _strides(shape):
    s, n = [], 1
    for d in reversed(shape):
        s.insert(0, n)
        n *= d
    return tuple(s)


def write_state_dict(path, count=8):
    state, storages = collections.OrderedDict(), {}
    for i, (name, (shape, values)) in enumerate(tiny_tensors(count).items()):
        storages[str(i)] = values.tobytes()
        state[name] = sdpt.Tensor(sdpt.Storage("FloatStorage", str(i), len(values)), 0, shape, _strides(shape))
    sdpt.write_state_dict(path, state, storages, prefix="tiny")


def _fake_class(module, name):
    """A class pickle writes as GLOBAL module.name, registered so the pickler finds it."""
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    cls = type(name, (), {"__module__": module, "__qualname__": name})
    setattr(sys.modules[module], name, cls)
    return cls


def write_whole_model(path):
    """A whole pickled model: module stubs with _parameters, _buffers, _modules."""
    classes = {}

    def module(kind, **attrs):
        if kind not in classes:
            mod, _, name = kind.rpartition(".")
            classes[kind] = _fake_class("fuzzseed." + mod, name)
        m = classes[kind]()
        m.__dict__.update(training=False, _parameters=collections.OrderedDict(),
                          _buffers=collections.OrderedDict(), _non_persistent_buffers_set=set(),
                          _modules=collections.OrderedDict(), **attrs)
        return m

    tensors, storages = tiny_tensors(10, seed=2), {}
    strides = {layer.pt_conv: layer.stride for layer in TINY.layers}
    root = module("m.EfficientNet")

    def place(name, shape, values):
        key = str(len(storages))
        storages[key] = values.tobytes()
        parts = name.split(".")
        node = root
        for depth, p in enumerate(parts[:-1]):
            stride = strides.get(".".join(parts[:depth + 1]), 1)
            if p not in node._modules:
                is_conv = p.startswith("conv") or p in ("conv_reduce", "conv_expand")
                node._modules[p] = module("conv2d_same.Conv2dSame" if is_conv else "norm_act.BatchNormAct2d"
                                          if p.startswith("bn") else "container.Sequential",
                                          stride=(stride, stride), padding=(0, 0), eps=1e-3)
            node = node._modules[p]
        target = node._buffers if parts[-1].startswith("running") else node._parameters
        target[parts[-1]] = sdpt.Tensor(sdpt.Storage("FloatStorage", key, len(values)), 0, shape, _strides(shape))

    for name, (shape, values) in tensors.items():
        place(name, shape, values)
    with open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        buf = io.BytesIO()
        sdpt._TorchPickler(buf, protocol=2).dump(root)
        z.writestr("whole/data.pkl", buf.getvalue())
        z.writestr("whole/byteorder", b"little")
        for key, data in storages.items():
            z.writestr("whole/data/" + key, data)


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, value):
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value & (1 << 64) - 1)
    value = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _attr_ints(name, values):
    return _field(1, name) + b"".join(_field(8, v) for v in values) + _field(20, 7)


def _attr_int(name, v):
    return _field(1, name) + _field(3, v) + _field(20, 2)


def _tensor(name, dims, values):
    return b"".join(_field(1, d) for d in dims) + _field(2, 1) + _field(8, name) + _field(9, values.tobytes())


def _node(op, inputs, outputs, *attrs):
    return (b"".join(_field(1, i) for i in inputs) + b"".join(_field(2, o) for o in outputs)
            + _field(4, op) + b"".join(_field(5, a) for a in attrs))


def write_onnx(path, count=8):
    """The tiny network as an ONNX graph with BatchNorm folded (weights as they are)."""
    tensors = tiny_tensors(count, seed=3)
    nodes, inits, n = [], [], [0]

    def value():
        n[0] += 1
        return "v%d" % n[0]

    def conv(x, layer):
        w, b = layer.name + ".w", layer.name + ".b"
        inits.append(_tensor(w, layer.shape, tensors[layer.pt_conv + ".weight"][1]))
        inits.append(_tensor(b, layer.shape[:1], array("f", [0.01] * layer.shape[0])))
        if layer.stride == 2:
            p = value()
            nodes.append(_node("Pad", [x], [p]))
            x = p
        k, s = layer.shape[2], layer.stride
        y = value()
        nodes.append(_node("Conv", [x, w, b], [y], _attr_int("group", layer.shape[0] if layer.role == "dw" else 1),
                           _attr_ints("strides", [s, s]), _attr_ints("kernel_shape", [k, k]),
                           _attr_ints("pads", [k // 2] * 4 if s == 1 else [0] * 4)))
        return y

    x, layers = "input", iter(TINY.layers)
    x = conv(x, next(layers))
    for block in TINY.blocks:
        inp = x
        if block.kind == 1:
            x = conv(x, next(layers))
        x = conv(x, next(layers))
        pooled = value()
        nodes.append(_node("ReduceMean", [x], [pooled]))
        s = conv(conv(pooled, next(layers)), next(layers))
        gated = value()
        nodes.append(_node("Mul", [x, s], [gated]))
        x = conv(gated, next(layers))
        if block.skip:
            y = value()
            nodes.append(_node("Add", [x, inp], [y]))
            x = y
    x = conv(x, next(layers))
    pooled = value()
    nodes.append(_node("GlobalAveragePool", [x], [pooled]))
    inits.append(_tensor("fc.w", (count, TINY.features), tensors["classifier.weight"][1]))
    inits.append(_tensor("fc.b", (count,), tensors["classifier.bias"][1]))
    nodes.append(_node("Gemm", [pooled, "fc.w", "fc.b"], ["logits"], _attr_int("transB", 1)))
    graph = (b"".join(_field(1, nd) for nd in nodes) + _field(2, "tiny")
             + b"".join(_field(5, t) for t in inits) + _field(12, _field(1, "logits")))
    with open(path, "wb") as f:
        f.write(_field(1, 7) + _field(7, graph))


def seeds(folder):
    os.makedirs(folder, exist_ok=True)
    write_state_dict(os.path.join(folder, "seed-statedict.pt"))
    write_state_dict(os.path.join(folder, "seed-statedict-va.pt"), count=10)
    write_whole_model(os.path.join(folder, "seed-whole.pt"))
    write_onnx(os.path.join(folder, "seed-graph.onnx"))
    write_onnx(os.path.join(folder, "seed-graph7.onnx"), count=7)


# ---- running one input ---------------------------------------------------------------------

def run_one(data):
    """None on success or a clean refusal's message; raises for anything else (a finding)."""
    try:
        export.convert_file(io.BytesIO(data), len(data), "fuzz")
    except export.ExportError as e:
        return str(e)
    return None


def outcome(message):
    """What kind of outcome a message is: its words, numbers and quoted names blanked."""
    if message is None:
        return "ok"
    return re.sub(r"'[^']*'|\[[^\]]*\]|\d+|0x[0-9a-f]+", "#", message)[:120]


EXPORT_FILE = export.__file__
EDGES = set()   # (previous line, line) pairs seen in tools/export.py: the coverage
_last = [0]


def _trace_line(frame, event, _arg):
    if event == "line":
        here = frame.f_code.co_firstlineno << 16 | frame.f_lineno
        EDGES.add(_last[0] << 32 | here)
        _last[0] = here
    return _trace_line


def _trace_call(frame, _event, _arg):
    return _trace_line if frame.f_code.co_filename == EXPORT_FILE else None


def covered(data, target=None):
    """check(data) with line-edge tracing of tools/export.py: (outcome, finding, new edges)."""
    before = len(EDGES)
    sys.settrace(_trace_call)
    try:
        result, finding = check(data, target)
    finally:
        sys.settrace(None)
    if finding and finding.startswith("slow"):  # tracing is slow: time it again without
        result, finding = check(data, target)
    return result, finding, len(EDGES) - before


def check(data, target=None):
    """(outcome, None) or (None, finding text)."""
    start = time.perf_counter()
    try:
        result = outcome((target or EXPORT).run_one(data))
    except BaseException as e:  # noqa: B902 - every other exception is what we look for
        if isinstance(e, KeyboardInterrupt):
            raise
        return None, "".join(traceback.format_exception(e))
    took = time.perf_counter() - start
    if took > LIMIT_S:
        return None, "slow: %.1f s" % took
    return result, None


# ---- mutations -----------------------------------------------------------------------------

PICKLE_TOKENS = [b"\x96" + struct.pack("<Q", 40 << 30), b"\x8e" + struct.pack("<Q", 1 << 40),
                 b"r\xf0\xff\xff\xff", b"j\xf0\xff\xff\xff", b"X\xff\xff\xff\x7f", b"\x8b\xff\xff\xff\x7f",
                 b"(", b"t", b")", b"]", b"}", b"e", b"u", b"s", b"R", b"b", b"\x81", b"Q", b"0", b"1", b"2",
                 b"\x85", b"\x86", b"\x87", b"\x8f", b"\x90", b"\x91", b"\x93", b"\x94", b"N", b"\x88",
                 b"K\x00", b"J\xff\xff\xff\xff", b"\x8a\x08" + b"\xff" * 8, b"G" + b"\x7f\xf0" + bytes(6),
                 b"c__builtin__\nbytearray\n", b"c__builtin__\nset\n", b"ccollections\nOrderedDict\n",
                 b"ctorch._utils\n_rebuild_tensor_v2\n", b"ctorch\nFloatStorage\n", b"cos\nsystem\n",
                 b"h\x00", b"h\x01", b"q\x00", b"M\xff\xff", b"K\x00K\x00"]
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 31, 40 << 30]


def mutate_bytes(rnd, data, others):
    data = bytearray(data)
    for _ in range(rnd.choice((1, 1, 2, 4, 8))):
        op = rnd.randrange(9)
        pos = rnd.randrange(len(data) + 1) if data else 0
        if op == 0 and data:  # flip a bit
            data[min(pos, len(data) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1 and data:  # a random byte
            data[min(pos, len(data) - 1)] = rnd.randrange(256)
        elif op == 2:  # delete a run
            del data[pos:pos + rnd.choice((1, 2, 4, 16, 256))]
        elif op == 3:  # duplicate a run
            n = rnd.choice((1, 4, 16, 256))
            data[pos:pos] = data[pos:pos + n]
        elif op == 4:  # an interesting integer
            v = rnd.choice(INTERESTING)
            w = rnd.choice((1, 2, 4, 8))
            data[pos:pos + w] = (v & ((1 << 8 * w) - 1)).to_bytes(w, rnd.choice(("little", "big")))
        elif op == 5:  # a pickle token
            data[pos:pos] = rnd.choice(PICKLE_TOKENS)
        elif op == 6 and others:  # splice in a piece of another input
            other = rnd.choice(others)
            a = rnd.randrange(len(other) + 1)
            data[pos:pos + rnd.randrange(64)] = other[a:a + rnd.randrange(1, 512)]
        elif op == 7:  # a protobuf varint
            data[pos:pos] = _varint(rnd.choice(INTERESTING + [rnd.randrange(1 << 20)]))
        elif op == 8:  # truncate
            del data[pos:]
    return bytes(data)


def mutate_member(rnd, data, others):
    """Unzips, mutates one member (data.pkl most often) and zips again (CRCs fixed)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [(i.filename, z.read(i)) for i in z.infolist()]
    except Exception:  # noqa: B902 - not a zip we can open: mutate the raw bytes
        return mutate_bytes(rnd, data, others)
    if not members:
        return data
    pkl = [i for i, (n, _) in enumerate(members) if n.endswith("data.pkl")]
    k = rnd.choice(pkl) if pkl and rnd.random() < 0.8 else rnd.randrange(len(members))
    name, body = members[k]
    r = rnd.random()
    if r < 0.05:
        del members[k]
    elif r < 0.1:
        members[k] = (name + rnd.choice(("x", "/", "")), body)
    else:
        members[k] = (name, mutate_bytes(rnd, body, [b for _, b in members]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for n, b in members:
            z.writestr(n, b)
    return out.getvalue()


def mutate(rnd, data, others):
    if data[:4] == b"PK\x03\x04" and rnd.random() < 0.8:
        return mutate_member(rnd, data, others)
    return mutate_bytes(rnd, data, others)


# ---- commands ------------------------------------------------------------------------------

# What a fuzzer fuzzes: its name (artifact prefix), setup() before any input runs, run_one(data)
# (None or a clean refusal's message; raises otherwise), mutate(rnd, data, pool), seeds(folder)
# and the committed corpus folder. fuzz_tflite.py defines the MTCNN one.
Target = collections.namedtuple("Target", "name setup run_one mutate seeds corpus")
EXPORT = Target("export", register_tiny, run_one, mutate, seeds, os.path.join(HERE, "corpus", "export"))


def read_inputs(paths):
    files = []
    for p in paths:
        names = sorted(os.path.join(p, n) for n in os.listdir(p)) if os.path.isdir(p) else [p]
        files += [n for n in names if os.path.isfile(n)]
    return files


def save(folder, prefix, data, note=None):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, prefix + hashlib.sha1(data).hexdigest())
    with open(path, "wb") as f:
        f.write(data)
    if note:
        with open(path + ".txt", "w") as f:
            f.write(note)
    return path


def fuzz(seconds, folders, target=EXPORT, seed=None):
    target.setup()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    rnd = random.Random(seed)
    pool = []
    seen = collections.Counter()
    for path in read_inputs(folders):
        if path.endswith(".txt"):
            continue
        with open(path, "rb") as f:
            data = f.read()
        result, finding, _ = covered(data, target)
        if finding:
            print("fuzz_%s: corpus input %s fails:\n%s" % (target.name, path, finding))
            return 1
        seen[result] += 1
        pool.append(data)
    print("fuzz_%s: %d inputs, %d outcomes, %d edges, %d s"
          % (target.name, len(pool), len(seen), len(EDGES), seconds), flush=True)
    start = last = time.time()
    runs = found = 0
    while time.time() - start < seconds:
        data = target.mutate(rnd, rnd.choice(pool), pool)
        runs += 1
        result, finding, new = covered(data, target)
        if finding:
            path = save(ARTIFACTS, target.name + "-crash-", data, finding)
            print("fuzz_%s: FOUND after %d runs: %s\n%s" % (target.name, runs, path, finding), flush=True)
            found += 1
            if found >= 5:
                break
            continue
        if (new or result not in seen) and len(data) < 1 << 20:
            save(folders[0], "", data)
            pool.append(data)
        seen[result] += 1
        if time.time() - last > 60:
            last = time.time()
            print("fuzz_%s: %d runs, %.0f/s, %d outcomes, %d edges, pool %d"
                  % (target.name, runs, runs / (last - start), len(seen), len(EDGES), len(pool)), flush=True)
    took = time.time() - start
    print("fuzz_%s: DONE %d runs in %.0f s (%.0f/s), %d outcomes, %d edges, pool %d, %d findings"
          % (target.name, runs, took, runs / max(took, 1e-9), len(seen), len(EDGES), len(pool), found))
    return 1 if found else 0


def minimize(out, paths, target=EXPORT, budget=2 << 20):
    """Copies to `out` a small set of the inputs under `paths` that covers what they cover:
    greedily the input with the most uncovered edges per byte, until nothing new or
    `budget` bytes (the named regression inputs, crash-* / seed-*, are always kept)."""
    target.setup()
    cover, total = {}, 0
    for path in read_inputs(paths):
        if path.endswith(".txt"):
            continue
        with open(path, "rb") as f:
            data = f.read()
        EDGES.clear()
        _last[0] = 0
        result, finding, _ = covered(data, target)
        if finding:
            print("%s: %s" % (path, finding))
            return 1
        cover[path] = (frozenset(EDGES) | {result}, data)
    keep = [p for p in cover if os.path.basename(p).startswith(("crash-", "seed-"))]
    have = set().union(*(cover[p][0] for p in keep)) if keep else set()
    total = sum(len(cover[p][1]) for p in keep)
    while True:
        gain = {p: len(e - have) / (len(d) + 256) for p, (e, d) in cover.items() if p not in keep}
        best = max(gain, key=gain.get, default=None)
        if best is None or not gain[best] or total + len(cover[best][1]) > budget:
            break
        keep.append(best)
        have |= cover[best][0]
        total += len(cover[best][1])
    os.makedirs(out, exist_ok=True)
    for p in keep:
        name = os.path.basename(p)
        if not name.startswith(("crash-", "seed-")):
            name = hashlib.sha1(cover[p][1]).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(cover[p][1])
    print("fuzz_%s: kept %d of %d inputs, %d bytes, %d edges" % (target.name, len(keep), len(cover), total, len(have)))
    return 0


def replay(paths, target=EXPORT):
    target.setup()
    bad = 0
    for path in read_inputs(paths):
        if path.endswith(".txt"):
            continue
        with open(path, "rb") as f:
            result, finding = check(f.read(), target)
        if finding:
            print("%s: %s" % (path, finding))
            bad += 1
    return bad


def main(argv, target=EXPORT, doc=__doc__):
    if len(argv) == 2 and argv[0] == "seeds":
        target.seeds(argv[1])
        return 0
    if argv and argv[0] == "run":
        seconds, rest = 60, argv[1:]
        if rest[:1] == ["-t"]:
            seconds, rest = int(rest[1]), rest[2:]
        return fuzz(seconds, rest or [target.corpus], target)
    if len(argv) >= 3 and argv[0] == "minimize":
        return minimize(argv[1], argv[2:], target)
    if argv and argv[0] == "replay":
        return 1 if replay(argv[1:] or [target.corpus], target) else 0
    print(doc.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
