#!/usr/bin/env python3
"""Convert EmotiEffNet checkpoints (timm tf_efficientnet_b0 / b2) to the emoti container.

    python3 tools/export.py INPUT -o OUTPUT.emoti [--labels a,b,...]
    python3 tools/export.py --info FILE.emoti

Python 3 standard library only; numpy is used for the checksum when it is importable.
The container format is weights/FORMAT.md; `read_container(path)` reads one back and
validates it completely (tests use it, and so does `--info`).

Three readers, chosen by the file's content (not its name):

* Whole pickled models (`torch.save(model)`, a zip holding `<prefix>/data.pkl` and raw
  storages `<prefix>/data/<key>`). The pickle is read by a pickle reader of its own (PickleVM) that
  returns an inert stub class for every module class, so neither torch nor timm is needed
  and the timm version that saved the file does not matter. Only torch's tensor rebuild
  functions, storage types and a few harmless builtins are recognised. The module tree is
  then walked through each module's `_parameters`, `_buffers` and `_modules` to rebuild
  the state dict; the modules' own attributes (BatchNorm eps, conv stride and padding)
  are cross-checked against the architecture.
* Plain state-dict `.pt` files: the same zip and unpickler, the pickle holding a mapping
  of names to tensors (possibly under 'state_dict' or 'model', possibly 'module.'-prefixed).
* ONNX files, parsed by a small protobuf wire-format reader (no onnx package). BatchNorm
  is already folded there; the Conv nodes are mapped in graph order to stem, blocks and
  head and checked by shape, group, stride and padding; the Gemm (or MatMul + Add) that
  produces the graph output is the classifier. Any op outside the known set is refused.

The architecture (B0 or B2) is recognised by checking every tensor shape against the
EfficientNet definition; strides come from the definition. For .pt inputs BatchNorm is
folded in float64 (w' = w * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps)
[+ conv bias * g / sqrt(var + eps)]) and rounded to float32 only when written.

Layouts written (PyTorch -> container, NHWC kernels):
    stem conv  [out, in, kh, kw] -> [kh, kw, in, out]
    1x1 conv   [out, in, 1, 1]   -> [in, out]        (expand, SE, project, head)
    depthwise  [c, 1, k, k]      -> [k, k, c]
    Linear     [out, in]         -> [in, out]        (ONNX Gemm B is [out, in] when transB=1)
"""
import argparse
import collections
import itertools
import math
import operator
import os
import stat
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from array import array

try:
    import numpy as _np
except ImportError:  # numpy is optional: only the checksum uses it
    _np = None

EXPORTER = "emoti tools/export.py 1"
MAGIC = b"EMOTIMDL"
VERSION = 1
ALIGN = 64
HEADER = struct.Struct("<8sIIQQQQIIQ")
MASK32 = 0xFFFFFFFF
BN_EPS = 1e-3

AFFECTNET8 = ("Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class ExportError(Exception):
    """A problem with an input or output file; `path` names the file when it is not the input."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


class ContainerError(ExportError):
    """An .emoti file that does not follow weights/FORMAT.md."""


# ---------------------------------------------------------------------------------------
# The architecture: timm tf_efficientnet_b0 / b2
# ---------------------------------------------------------------------------------------

# B0 stages: (repeats, kernel, stride, expand ratio, output channels); stage 0 holds
# depthwise-separable blocks, the others inverted residuals.
B0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
             (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
Arch = collections.namedtuple("Arch", "name width depth size")
ARCHS = (Arch("tf_efficientnet_b0", 1.0, 1.0, 224), Arch("tf_efficientnet_b2", 1.1, 1.2, 260))

Block = collections.namedtuple("Block", "stage kind kernel stride cin mid cout se skip")
Spec = collections.namedtuple("Spec", "arch stem features blocks layers")
# One conv of the network. role: 'full' (stem), 'pw' (1x1, kept row-major: the SE convs),
# 'strips' (1x1 convs the GEMM reads: expand, project, head), 'dw' (depthwise); pt_conv and
# pt_bn are the timm state-dict prefixes (pt_bn None: the conv has its own bias, no BN).
Layer = collections.namedtuple("Layer", "name role shape stride pt_conv pt_bn")


def round_channels(channels, width):
    """timm's channel rounding: multiple of 8, nearest, never 10% below the target."""
    if width == 1.0:
        return channels
    target = channels * width
    rounded = max(8, int(target + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * target else rounded


def build_spec(arch):
    """Blocks and convs, in execution order, of one EfficientNet variant."""
    stem = round_channels(32, arch.width)
    blocks, cin = [], stem
    for stage, (repeats, kernel, stride, expand, channels) in enumerate(B0_STAGES):
        cout = round_channels(channels, arch.width)
        for j in range(math.ceil(repeats * arch.depth)):
            s = stride if j == 0 else 1
            blocks.append(Block(stage, 0 if stage == 0 else 1, kernel, s, cin, cin * expand,
                                cout, cin // 4, int(s == 1 and cin == cout)))
            cin = cout
    features = round_channels(1280, arch.width)
    return Spec(arch, stem, features, blocks, _layers(stem, features, blocks))


def _layers(stem, features, blocks):
    layers = [Layer("stem", "full", (stem, 3, 3, 3), 2, "conv_stem", "bn1")]
    index_in_stage = collections.Counter()
    for i, b in enumerate(blocks):
        p = "blocks.%d.%d." % (b.stage, index_in_stage[b.stage])
        index_in_stage[b.stage] += 1
        if b.kind == 1:
            layers.append(Layer("b%d.exp" % i, "strips", (b.mid, b.cin, 1, 1), 1, p + "conv_pw", p + "bn1"))
            dw_bn, proj_conv, proj_bn = p + "bn2", p + "conv_pwl", p + "bn3"
        else:
            dw_bn, proj_conv, proj_bn = p + "bn1", p + "conv_pw", p + "bn2"
        layers += [
            Layer("b%d.dw" % i, "dw", (b.mid, 1, b.kernel, b.kernel), b.stride, p + "conv_dw", dw_bn),
            Layer("b%d.se1" % i, "pw", (b.se, b.mid, 1, 1), 1, p + "se.conv_reduce", None),
            Layer("b%d.se2" % i, "pw", (b.mid, b.se, 1, 1), 1, p + "se.conv_expand", None),
            Layer("b%d.proj" % i, "strips", (b.cout, b.mid, 1, 1), 1, proj_conv, proj_bn),
        ]
    layers.append(Layer("head", "strips", (features, blocks[-1].cout, 1, 1), 1, "conv_head", "bn2"))
    return layers


SPECS = tuple(build_spec(a) for a in ARCHS)


def output_layout(count, labels):
    """(logits, valence index, arousal index, labels) for a classifier with `count` outputs."""
    if count not in (7, 8, 10):
        raise ExportError("the classifier has %d outputs; expected 7, 8 or 10 (8 logits + valence + arousal)"
                          % count)
    logits = 8 if count == 10 else count
    default = [n for n in AFFECTNET8 if count != 7 or n != "Contempt"]
    if labels is not None and len(labels) != logits:
        raise ExportError("--labels gives %d names but the model has %d class outputs" % (len(labels), logits))
    va = (8, 9) if count == 10 else (-1, -1)
    return logits, va[0], va[1], list(labels) if labels is not None else default


# ---------------------------------------------------------------------------------------
# Reader 1+2: torch zip checkpoints (whole pickled model or state dict)
# ---------------------------------------------------------------------------------------

# Bounds on what an input may declare, checked before anything is read or allocated. The
# largest real input (tf_efficientnet_b2, float32) is 31 MB; its pickle 0.2 MB, 400 members.
MAX_INPUT = 256 << 20        # bytes of an input file, and of all zip members unpacked
MAX_MEMBERS = 65536          # zip entries
MAX_PICKLE = 16 << 20        # bytes of data.pkl
MAX_CELLS = 4 << 20          # objects and container slots one pickle may build
MAX_TENSOR = 16 << 20        # elements of one tensor


def open_input(path, limit=MAX_INPUT):
    """(binary file, size) of a regular file no bigger than `limit`; never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ExportError(e.strerror or str(e), path)
    st = os.fstat(fd)
    why = None
    if stat.S_ISDIR(st.st_mode):
        why = "is a directory, not a model file"
    elif not stat.S_ISREG(st.st_mode):
        why = "not a regular file (a FIFO, device or socket)"
    elif st.st_size > limit:
        why = "%d bytes; files over %d MiB are refused (the largest model is 31 MB)" % (st.st_size, limit >> 20)
    if why:
        os.close(fd)
        raise ExportError(why, path)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), st.st_size


def read_bounded(f, limit=MAX_INPUT):
    data = f.read(limit + 1)
    if len(data) > limit:
        raise ExportError("file grew past %d MiB while being read" % (limit >> 20))
    return data


# torch storage class -> dtype of its elements
STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "UntypedStorage": "uint8",
}


class Stub:
    """Inert stand-in for any class named in the pickle; keeps the pickled attributes."""
    qualname = "?"

    def __init__(self, *args, **kwargs):
        pass  # called by REDUCE with the pickled arguments, which no stub needs

    def __setstate__(self, state):
        parts = state if isinstance(state, tuple) else (state,)
        for part in parts:
            if isinstance(part, dict):
                self.__dict__.update(part)
            elif part is not None:
                self.__dict__["_state"] = part


class StorageType:
    """torch.FloatStorage and friends, as named in a persistent id."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES.get(name, name[:40])


class Storage:
    """One raw storage file of the zip, read on first use; `numel` as the pickle declares it."""

    def __init__(self, archive, member, stype, numel=None):
        self.archive, self.member, self.dtype, self.numel = archive, member, stype.dtype, numel
        self._floats = None

    def count(self):
        return self.numel if self.numel is not None else len(self.floats())

    def floats(self):
        if self._floats is None:
            raw = self.archive.read(self.member, 4 * self.numel)
            values = array("f")
            values.frombytes(raw)
            if self.archive.byteorder != sys.byteorder:
                values.byteswap()
            self._floats = values
        return self._floats


class TensorRef:
    """A tensor as the pickle describes it: a view (offset, size, stride) of a storage."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _dims(value, what):
    """A pickled size or stride: up to 8 non-negative ints below 2**40."""
    if not isinstance(value, (tuple, list)) or len(value) > 8 or not all(
            type(v) is int and 0 <= v < 1 << 40 for v in value):
        raise ExportError("tensor with a malformed %s" % what)
    return tuple(value)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_ignored):
    if not isinstance(storage, Storage):
        raise ExportError("tensor without a storage")
    size, stride = _dims(size, "size"), _dims(stride, "stride")
    if type(storage_offset) is not int or not 0 <= storage_offset < 1 << 40 or len(size) != len(stride):
        raise ExportError("tensor with a malformed offset or stride")
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


def _rebuild_from_type_v2(func, _new_type, args, _state):
    if not callable(func) or not isinstance(args, tuple):
        raise ExportError("malformed _rebuild_from_type_v2")
    return func(*args)


REBUILDERS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
}
# Callable builtins (and torch.Size, OrderedDict) a pickle may name, and how their
# arguments are checked: 'atoms' (scalars and strings only), 'items' (one list, tuple, set
# or dict), 'pairs' (nothing, a dict, or a list of key-value pairs).
SAFE_BUILTINS = {"set": (set, "items"), "frozenset": (frozenset, "items"), "list": (list, "items"),
                 "tuple": (tuple, "items"), "dict": (dict, "pairs"), "int": (int, "atoms"),
                 "float": (float, "atoms"), "bool": (bool, "atoms"), "str": (str, "atoms"),
                 "bytes": (bytes, "atoms"), "bytearray": (bytearray, "atoms"),
                 "complex": (complex, "atoms"), "slice": (slice, "atoms")}
ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None))


def _hashable(key):
    """Keys and set members whose hash costs O(1): no nested tuples (a shared-tuple graph
    hashes in exponential time)."""
    if isinstance(key, tuple):
        return len(key) <= 16 and not any(isinstance(k, (tuple, list, dict, set)) for k in key)
    return not isinstance(key, (list, dict, set, bytearray))


class PickleVM:
    """A pickle reader that builds only inert objects: classes become Stub subclasses, torch
    tensors TensorRefs and storages Storage; no other code is called. Every length is checked
    against the data left, every object counts against MAX_CELLS, dict keys and set members
    must be cheap to hash, so a small pickle cannot make it allocate or work without bound."""

    def __init__(self, data, archive):
        self.data, self.pos, self.archive = data, 0, archive
        self.stack, self.marks, self.memo = [], [], {}
        self.storages, self.stubs, self.cells = {}, {}, 0

    def charge(self, n):
        self.cells += n
        if self.cells > MAX_CELLS:
            raise ExportError("the pickle builds more than %d objects" % MAX_CELLS)

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise ExportError("pickle truncated (an item of %d bytes at offset %d)" % (n, self.pos))
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def uint(self, n):
        return int.from_bytes(self.take(n), "little")

    def line(self):
        end = self.data.find(b"\n", self.pos, self.pos + 256)
        if end < 0:
            raise ExportError("pickle text argument without an end of line at offset %d" % self.pos)
        return self.take(end + 1 - self.pos)[:-1].decode("ascii")

    def pop_mark(self):
        if not self.marks:
            raise ExportError("pickle without a MARK")
        at = self.marks.pop()
        items = self.stack[at:]
        del self.stack[at:]
        return items

    def find_class(self, module, name):
        if (module, name) in REBUILDERS:
            return REBUILDERS[(module, name)]
        if (module, name) in (("collections", "OrderedDict"), ("torch", "Size")):
            fn, kind = (collections.OrderedDict, "pairs") if name == "OrderedDict" else (tuple, "items")
            return self.safe_call(fn, kind)
        if module in ("builtins", "__builtin__") and name in SAFE_BUILTINS:
            return self.safe_call(*SAFE_BUILTINS[name])
        if module in ("torch", "torch.storage") and name.endswith("Storage"):
            return StorageType(name)
        key = module[:200] + "." + name[:200]
        if key not in self.stubs:
            self.stubs[key] = type("Stub", (Stub,), {"qualname": key})
        return self.stubs[key]

    def safe_call(self, fn, kind):
        def call(*args):
            if kind == "atoms" or not args:
                if not all(isinstance(a, ATOMS) and len(a if isinstance(a, (str, bytes, bytearray)) else "") < 4096
                           and (type(a) is not int or -MAX_CELLS <= a <= MAX_CELLS) for a in args):
                    raise ExportError("%s() with arguments other than small scalars or strings" % fn.__name__)
                # bytes(n), bytearray(n): n zero bytes, counted like n objects
                self.charge(sum(a if type(a) is int and fn in (bytes, bytearray) else 1 for a in args))
                return fn(*args)
            if len(args) != 1 or not isinstance(args[0], (list, tuple, set, frozenset, dict)):
                raise ExportError("%s() of something other than one list, tuple, set or dict" % fn.__name__)
            items = args[0]
            self.charge(len(items))
            if kind == "pairs" and not isinstance(items, dict):
                if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in items):
                    raise ExportError("%s() of something other than key-value pairs" % fn.__name__)
                keys = [p[0] for p in items]
            else:
                keys = items if fn in (set, frozenset) else ()
            if not all(map(_hashable, keys)):
                raise ExportError("%s() with nested tuples as keys" % fn.__name__)
            return fn(items)
        return call

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType) and isinstance(pid[2], (str, int))
                and len(str(pid[2])) <= 64 and type(pid[4]) is int and 0 <= pid[4] <= MAX_INPUT):
            raise ExportError("unsupported persistent id (not a torch storage)")
        key = str(pid[2])
        if key not in self.storages:
            self.storages[key] = Storage(self.archive, self.archive.prefix + "data/" + key, pid[1], pid[4])
        storage = self.storages[key]
        if storage.numel != pid[4]:
            raise ExportError("storage %s declared with %d and %d elements" % (key, storage.numel, pid[4]))
        return storage

    def load(self):
        while True:
            op = self.take(1)
            if op == b".":
                if len(self.stack) != 1 or self.marks:
                    raise ExportError("pickle ends with %d objects on its stack" % len(self.stack))
                return self.stack[0]
            self.charge(1)
            handler = PICKLE_OPS.get(op)
            if handler is None:
                raise ExportError("unsupported pickle opcode 0x%02x at offset %d" % (op[0], self.pos - 1))
            handler(self)

    def push(self, value):
        self.stack.append(value)

    def pop(self):
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise ExportError("pickle stack underflow at offset %d" % self.pos)
        return self.stack.pop()

    def top(self):
        if not self.stack:
            raise ExportError("pickle stack underflow at offset %d" % self.pos)
        return self.stack[-1]

    def string(self, n, decode):
        raw = self.take(n)
        return raw.decode("utf-8", "surrogatepass") if decode else raw

    def memo_get(self, key):
        if key not in self.memo:
            raise ExportError("pickle refers to memo entry %d that was never stored" % key)
        self.push(self.memo[key])

    def memo_put(self, key):
        self.memo[key] = self.top()

    def set_items(self, items):
        target = self.pop()
        if not isinstance(target, dict) or len(items) % 2:
            raise ExportError("pickle SETITEMS on a %s" % type(target).__name__)
        self.charge(len(items))
        for k, v in zip(items[::2], items[1::2]):
            if not _hashable(k):
                raise ExportError("pickle dict with a nested tuple as key")
            target[k] = v
        self.push(target)

    def append_items(self, items):
        target = self.pop()
        if not isinstance(target, list):
            raise ExportError("pickle APPENDS on a %s" % type(target).__name__)
        self.charge(len(items))
        target.extend(items)
        self.push(target)

    def add_items(self, items):
        target = self.pop()
        if not isinstance(target, set) or not all(map(_hashable, items)):
            raise ExportError("pickle ADDITEMS on a %s or with nested tuples" % type(target).__name__)
        self.charge(len(items))
        target.update(items)
        self.push(target)

    def reduce(self):
        args, func = self.pop(), self.pop()
        if not callable(func) or not isinstance(args, tuple):
            raise ExportError("pickle calls a %s" % type(func).__name__)
        self.push(func(*args))

    def new_object(self, cls):
        if not (isinstance(cls, type) and issubclass(cls, Stub)):
            raise ExportError("pickle NEWOBJ of a %s" % type(cls).__name__)
        self.push(object.__new__(cls))

    def build(self):
        state, obj = self.pop(), self.top()
        if not isinstance(obj, Stub):
            raise ExportError("pickle BUILD on a %s" % type(obj).__name__)
        obj.__setstate__(state)

    def glob(self, module, name):
        if not isinstance(module, str) or not isinstance(name, str):
            raise ExportError("pickle STACK_GLOBAL without two strings")
        self.push(self.find_class(module, name))


def _int_line(vm):
    text = vm.line().rstrip("L")
    if len(text) > 40:
        raise ExportError("pickle integer of %d digits" % len(text))
    vm.push({"00": False, "01": True}.get(text) if text in ("00", "01") else int(text))


def _fresh(vm, container, fill):
    """DICT / FROZENSET: the items since the mark, into a new container."""
    items = vm.pop_mark()
    vm.push(container)
    fill(items)


def _tuple_of(n):
    def op(vm):
        items = [vm.pop() for _ in range(n)][::-1]
        vm.push(tuple(items))
    return op


def _long(width):
    def op(vm):
        n = vm.uint(width)
        if n > 64:
            raise ExportError("pickle integer of %d bytes" % n)
        vm.push(int.from_bytes(vm.take(n), "little", signed=True))
    return op


def _text(width, decode, kind=None):
    def op(vm):
        raw = vm.string(vm.uint(width), decode)
        vm.push(bytearray(raw) if kind == "bytearray" else raw.decode("ascii") if kind == "ascii" else raw)
    return op


PICKLE_OPS = {
    b"\x80": lambda vm: vm.take(1), b"\x95": lambda vm: vm.take(8),     # PROTO, FRAME
    b"(": lambda vm: vm.marks.append(len(vm.stack)), b"0": lambda vm: vm.pop(),
    b"1": lambda vm: vm.pop_mark(), b"2": lambda vm: vm.push(vm.top()),
    b"N": lambda vm: vm.push(None), b"\x88": lambda vm: vm.push(True), b"\x89": lambda vm: vm.push(False),
    b"J": lambda vm: vm.push(int.from_bytes(vm.take(4), "little", signed=True)),
    b"K": lambda vm: vm.push(vm.uint(1)), b"M": lambda vm: vm.push(vm.uint(2)),
    b"\x8a": _long(1), b"\x8b": _long(4), b"I": _int_line, b"L": _int_line,
    b"G": lambda vm: vm.push(struct.unpack(">d", vm.take(8))[0]),
    b"F": lambda vm: vm.push(float(vm.line())),
    b"X": _text(4, True), b"\x8c": _text(1, True), b"\x8d": _text(8, True),
    b"T": _text(4, False, "ascii"), b"U": _text(1, False, "ascii"),
    b"B": _text(4, False), b"C": _text(1, False), b"\x8e": _text(8, False), b"\x96": _text(8, False, "bytearray"),
    b")": lambda vm: vm.push(()), b"t": lambda vm: vm.push(tuple(vm.pop_mark())),
    b"\x85": _tuple_of(1), b"\x86": _tuple_of(2), b"\x87": _tuple_of(3),
    b"]": lambda vm: vm.push([]), b"l": lambda vm: vm.push(vm.pop_mark()),
    b"a": lambda vm: vm.append_items([vm.pop()]), b"e": lambda vm: vm.append_items(vm.pop_mark()),
    b"}": lambda vm: vm.push({}), b"d": lambda vm: _fresh(vm, {}, vm.set_items),
    b"s": lambda vm: vm.set_items([vm.pop(), vm.pop()][::-1]), b"u": lambda vm: vm.set_items(vm.pop_mark()),
    b"\x8f": lambda vm: vm.push(set()), b"\x90": lambda vm: vm.add_items(vm.pop_mark()),
    b"\x91": lambda vm: (_fresh(vm, set(), vm.add_items), vm.push(frozenset(vm.pop()))),
    b"c": lambda vm: vm.push(vm.find_class(vm.line(), vm.line())),
    b"\x93": lambda vm: (lambda name, module: vm.glob(module, name))(vm.pop(), vm.pop()),
    b"R": lambda vm: vm.reduce(),
    b"\x81": lambda vm: (vm.pop(), vm.new_object(vm.pop())),
    b"\x92": lambda vm: (vm.pop(), vm.pop(), vm.new_object(vm.pop())),
    b"b": lambda vm: vm.build(),
    b"q": lambda vm: vm.memo_put(vm.uint(1)), b"r": lambda vm: vm.memo_put(vm.uint(4)),
    b"\x94": lambda vm: vm.memo_put(len(vm.memo)), b"p": lambda vm: vm.memo_put(int(vm.line())),
    b"h": lambda vm: vm.memo_get(vm.uint(1)), b"j": lambda vm: vm.memo_get(vm.uint(4)),
    b"g": lambda vm: vm.memo_get(int(vm.line())),
    b"Q": lambda vm: vm.push(vm.persistent_load(vm.pop())),
}


class TorchArchive:
    """The zip of torch.save: `<prefix>/data.pkl`, `<prefix>/data/<key>`, `<prefix>/byteorder`.
    `source` is a path or a binary file; the zip's directory and every member's declared
    sizes are checked before anything is read."""

    def __init__(self, source):
        f, size = open_input(source) if isinstance(source, str) else (source, _file_size(source))
        try:
            end = zipfile._EndRecData(f)
            if end is None:
                raise zipfile.BadZipFile("File is not a zip file")
            if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_MEMBERS or end[zipfile._ECD_SIZE] > 256 * MAX_MEMBERS:
                raise ExportError("zip directory of %d entries / %d bytes; at most %d entries are read"
                                  % (end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE], MAX_MEMBERS))
            self.zip = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, EOFError, ValueError, OSError, struct.error, NotImplementedError) as e:
            raise ExportError("not a readable zip archive (truncated or damaged?): %s" % e)
        total = 0
        for info in self.zip.infolist():
            total += info.file_size
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ExportError("zip member %s uses compression method %d; torch.save stores members"
                                  % (info.filename[:100], info.compress_type))
            if (info.header_offset + info.compress_size > size or info.file_size > 1100 * info.compress_size + 1024
                    or (info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size)):
                raise ExportError("zip member %s declares %d bytes from %d stored: inconsistent or a zip bomb"
                                  % (info.filename[:100], info.file_size, info.compress_size))
        if total > MAX_INPUT:
            raise ExportError("zip members unpack to %d bytes; more than %d MiB is refused" % (total, MAX_INPUT >> 20))
        pickles = [n for n in self.zip.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ExportError("zip archive without a single <name>/data.pkl: not a torch.save checkpoint")
        self.prefix = pickles[0][:-len("data.pkl")]
        self.byteorder = "little"
        if self.prefix + "byteorder" in self.zip.namelist():
            self.byteorder = self.read(self.prefix + "byteorder", None, 16).decode("ascii", "replace").strip()
            if self.byteorder not in ("little", "big"):
                raise ExportError("unknown byteorder %r" % self.byteorder)

    def read(self, member, nbytes, limit=MAX_INPUT):
        """A member's bytes; exactly `nbytes` of them when that is not None."""
        try:
            info = self.zip.getinfo(member)
        except KeyError:
            raise ExportError("%s is missing from the archive" % member[:100])
        if (nbytes is not None and info.file_size != nbytes) or info.file_size > limit:
            raise ExportError("%s holds %d bytes; %s" % (member[:100], info.file_size, "expected %d" % nbytes
                                                        if nbytes is not None else "the limit is %d" % limit))
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, zlib.error) as e:
            raise ExportError("cannot read %s: %s" % (member[:100], e))

    def load(self):
        data = self.read(self.prefix + "data.pkl", None, MAX_PICKLE)
        try:
            return PickleVM(data, self).load()
        except ExportError:
            raise
        except (MemoryError, RecursionError):
            raise
        except Exception as e:  # any malformed pickle: bad types, bad text, ...
            raise ExportError("cannot unpickle %sdata.pkl: %s: %s" % (self.prefix, type(e).__name__, str(e)[:200]))


def _file_size(f):
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    return size


def _is_module(obj):
    return isinstance(obj, Stub) and isinstance(obj.__dict__.get("_modules"), dict)


def _walk_module(module, prefix, state, modules, depth=0):
    """state_dict() of a stubbed nn.Module: parameters, persistent buffers, then children."""
    if depth > 64 or len(modules) >= 4096 or module in modules.values():
        raise ExportError("module tree nested too deeply, too big or with a module twice")
    attrs = module.__dict__
    modules[prefix[:-1]] = module
    for name, tensor in _named(attrs, "_parameters", prefix).items():
        if tensor is not None:
            state[prefix + name] = tensor
    skip = attrs.get("_non_persistent_buffers_set") or ()
    if not isinstance(skip, (set, frozenset, list, tuple)):
        raise ExportError("%s_non_persistent_buffers_set is a %s" % (prefix, type(skip).__name__))
    for name, tensor in _named(attrs, "_buffers", prefix).items():
        if tensor is not None and name not in skip:
            state[prefix + name] = tensor
    for name, child in _named(attrs, "_modules", prefix).items():
        if child is not None:
            if not _is_module(child):
                raise ExportError("%s%s is not a module" % (prefix, name))
            _walk_module(child, prefix + name + ".", state, modules, depth + 1)


def _named(attrs, key, prefix):
    """A module's _parameters, _buffers or _modules: a dict keyed by names."""
    value = attrs.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and len(k) < 256 for k in value):
        raise ExportError("%s%s is not a dict of names" % (prefix, key))
    return value


def _find_state(obj, depth=0):
    """(state dict, modules by prefix) from a pickled model or a (nested) state dict."""
    if _is_module(obj):
        state, modules = collections.OrderedDict(), {}
        _walk_module(obj, "", state, modules)
        return state, modules
    if isinstance(obj, dict):
        if obj and all(isinstance(v, TensorRef) for v in obj.values()):
            if not all(isinstance(k, str) and len(k) < 256 for k in obj):
                raise ExportError("the state dict has keys that are not names")
            return _strip_prefix(obj), {}
        for key in ("state_dict", "model_state_dict", "model", "net"):
            if depth < 2 and key in obj:
                return _find_state(obj[key], depth + 1)
    kind = type(obj).qualname if isinstance(obj, Stub) else type(obj).__name__
    raise ExportError("the checkpoint holds a %s, not a model or a state dict of tensors" % kind)


def _strip_prefix(state):
    names = list(state)
    if all(n.startswith("module.") for n in names):
        return collections.OrderedDict((n[len("module."):], state[n]) for n in names)
    return collections.OrderedDict(state)


def tensor_values(tensor, name):
    """The float32 values of a TensorRef in row-major order (array('f')). The view is checked
    against the storage's declared size before the storage is read."""
    if not isinstance(tensor, TensorRef):
        raise ExportError("%s is not a tensor" % name)
    if tensor.storage.dtype != "float32":
        raise ExportError("%s is %s; only float32 checkpoints are supported" % (name, tensor.storage.dtype))
    size, stride, offset = tensor.size, tensor.stride, tensor.offset
    count, numel = math.prod(size), tensor.storage.count()
    if (len(stride) != len(size) or not isinstance(offset, int) or offset < 0
            or any(s < 0 for s in stride)
            or (count and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= numel)):
        raise ExportError("%s: view (offset %r, size %r, stride %r) lies outside its storage of %d floats"
                          % (name, offset, size, stride, numel))
    if count > min(numel, MAX_TENSOR):
        raise ExportError("%s: %d elements from a storage of %d (a broadcast view or too big)" % (name, count, numel))
    data = tensor.storage.floats()
    if _contiguous(size, stride):
        return data[offset:offset + count]
    # row by row along the last dimension: a strided slice each, no index list
    *lead, (n, s) = zip(size, stride)
    out = array("f")
    for idx in itertools.product(*(range(k) for k, _ in lead)):
        base = offset + sum(i * st for i, (_, st) in zip(idx, lead))
        out.extend(data[base:base + n * s:s] if s else array("f", data[base:base + 1]) * n)
    return out


def check_storage_use(state):
    """Each float storage no bigger than what the state's tensors reach into it (slack for
    alignment), so a padded storage is refused before it is read."""
    reach = {}
    for name, tensor in state.items():
        if isinstance(tensor, TensorRef) and tensor.storage.numel is not None:
            end = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride)) + 1
            if end > reach.get(id(tensor.storage), (0,))[0]:
                reach[id(tensor.storage)] = end, tensor.storage, name
    for end, storage, name in reach.values():
        if storage.numel > 2 * end + 4096:
            raise ExportError("%s: its storage %s holds %d elements but the tensors use %d (padded?)"
                              % (str(name)[:100], storage.member[:100], storage.numel, end))


def _contiguous(size, stride):
    expected = 1
    for n, s in zip(reversed(size), reversed(stride)):
        if n != 1 and s != expected:
            return False
        expected *= n
    return True


def load_state(source):
    """(state dict {name: TensorRef}, modules {prefix: stub}) of a torch zip checkpoint
    (a path or a binary file)."""
    state, modules = _find_state(TorchArchive(source).load())
    check_storage_use(state)
    return state, modules


def read_torch(source):
    """Reads a torch zip checkpoint; returns the parameters ready for the container."""
    state, modules = load_state(source)
    spec = _detect_from_state(state)
    _check_state_keys(state, spec)
    if modules:
        _check_module_geometry(spec, modules)
    eps_seen = set()
    params = collections.OrderedDict()
    for layer in spec.layers:
        weight = tensor_values(state[layer.pt_conv + ".weight"], layer.pt_conv + ".weight")
        bias_key = layer.pt_conv + ".bias"
        bias = tensor_values(state[bias_key], bias_key) if bias_key in state else None
        if layer.pt_bn is not None:
            eps = _bn_eps(modules.get(layer.pt_bn))
            eps_seen.add(eps)
            bn = [tensor_values(state[layer.pt_bn + "." + k], layer.pt_bn + "." + k)
                  for k in ("weight", "bias", "running_mean", "running_var")]
            scale, bias = fold_batchnorm(bias, *bn, eps=eps, name=layer.pt_bn)
        else:
            scale = None
        params[layer.name] = (layer, weight, scale, bias)
    if len(eps_seen) != 1:
        raise ExportError("BatchNorm layers use different eps values %s" % sorted(eps_seen))
    fc = "classifier.0" if "classifier.0.weight" in state else "classifier"
    weight = tensor_values(state[fc + ".weight"], fc + ".weight")
    bias = tensor_values(state[fc + ".bias"], fc + ".bias")
    return spec, params, (state[fc + ".weight"].size, weight, bias), eps_seen.pop()


def _shape(tensor):
    return tensor.size if isinstance(tensor, TensorRef) else None


def _detect_from_state(state):
    if "conv_stem.weight" not in state:
        some = ", ".join(list(state)[:3])
        raise ExportError("not an EfficientNet checkpoint: no conv_stem.weight (it has %s, ...)" % some)
    n_blocks = len({".".join(k.split(".")[:3]) for k in state if k.startswith("blocks.")})
    for spec in SPECS:
        if len(spec.blocks) == n_blocks:
            return spec
    raise ExportError("EfficientNet with %d blocks; only %s" % (n_blocks, _known_archs()))


def _known_archs():
    return " and ".join("%s (%d blocks)" % (s.arch.name, len(s.blocks)) for s in SPECS)


def _check_state_keys(state, spec):
    """Every tensor the architecture needs, with its exact shape, and nothing else."""
    expected = {}
    for layer in spec.layers:
        out = layer.shape[0]
        expected[layer.pt_conv + ".weight"] = layer.shape
        if layer.pt_bn is None:
            expected[layer.pt_conv + ".bias"] = (out,)
        else:
            for k in ("weight", "bias", "running_mean", "running_var"):
                expected[layer.pt_bn + "." + k] = (out,)
    fc = "classifier.0" if "classifier.0.weight" in state else "classifier"
    if fc + ".weight" not in state:
        raise ExportError("no classifier.0.weight or classifier.weight (not a %s checkpoint?)" % spec.arch.name)
    fc_shape = _shape(state[fc + ".weight"])
    if fc_shape is None or len(fc_shape) != 2 or fc_shape[1] != spec.features:
        raise ExportError("%s.weight has shape %s; expected [outputs, %d] for %s"
                          % (fc, _fmt(fc_shape), spec.features, spec.arch.name))
    output_layout(fc_shape[0], None)  # before any tensor is read: a huge classifier is refused here
    expected[fc + ".weight"] = fc_shape
    expected[fc + ".bias"] = fc_shape[:1]
    for key, shape in expected.items():
        if key not in state:
            raise ExportError("%s is missing (not a %s checkpoint?)" % (key, spec.arch.name))
        if _shape(state[key]) != tuple(shape):
            raise ExportError("%s has shape %s; %s expects %s"
                              % (key, _fmt(_shape(state[key])), spec.arch.name, _fmt(shape)))
    optional = {layer.pt_conv + ".bias" for layer in spec.layers if layer.pt_bn is not None}
    for key in state:
        if key in optional:
            if _shape(state[key]) != expected[key.rsplit(".", 1)[0] + ".weight"][:1]:
                raise ExportError("%s has shape %s" % (key, _fmt(_shape(state[key]))))
        elif key not in expected and not key.endswith(".num_batches_tracked"):
            raise ExportError("unexpected tensor %s: not part of %s" % (key, spec.arch.name))


def _fmt(shape):
    return "[%s]" % ", ".join(map(str, shape)) if shape is not None else "(not a tensor)"


def _check_module_geometry(spec, modules):
    """A whole pickled model also tells stride and padding: they must be TF-style."""
    for layer in spec.layers:
        conv = modules.get(layer.pt_conv)
        if conv is None:
            continue
        attrs, k = conv.__dict__, layer.shape[2]
        stride = _pair(attrs.get("stride"))
        padding = _pair(attrs.get("padding"))
        if stride is not None and stride != (layer.stride, layer.stride):
            raise ExportError("%s has stride %s; %s uses %d" % (layer.pt_conv, stride, spec.arch.name, layer.stride))
        same = "Same" in type(conv).qualname
        if layer.stride == 2 and not same:
            raise ExportError("%s is a %s with padding %s, not TF 'SAME' padding (a non-tf_ EfficientNet?)"
                              % (layer.pt_conv, type(conv).qualname, padding))
        if layer.stride == 1 and not same and padding not in (None, "same") and padding != (k // 2, k // 2):
            raise ExportError("%s has padding %s; expected %s" % (layer.pt_conv, padding, (k // 2, k // 2)))


def _pair(value):
    """A conv attribute (int, 2-sequence of ints, or a padding name) as a tuple, None when
    absent; anything else (which could be a huge shared structure) is refused unprinted."""
    if value is None or isinstance(value, str) and len(value) < 16:
        return value
    if type(value) is int:
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) <= 4 and all(type(v) is int for v in value):
        return tuple(value)
    raise ExportError("a conv has a malformed stride or padding (a %s)" % type(value).__name__)


def _bn_eps(module):
    eps = module.__dict__.get("eps") if module is not None else None
    return float(eps) if isinstance(eps, float) or type(eps) is int and abs(eps) < 1 << 53 else BN_EPS


def fold_batchnorm(bias, gamma, beta, mean, var, eps, name):
    """BatchNorm after a conv as (per-output weight scale, new bias), in float64:
    gamma * (conv(x) + bias - mean) / sqrt(var + eps) + beta = scale * conv(x) + new bias.
    The weights are multiplied by the scale when they are written (to_container_layout)."""
    scale, new_bias = [], []
    for o in range(len(gamma)):
        if not var[o] + eps > 0:
            raise ExportError("%s.running_var[%d] = %r is not positive" % (name, o, var[o]))
        s = gamma[o] / math.sqrt(var[o] + eps)
        b = beta[o] - mean[o] * s
        scale.append(s)
        new_bias.append(b + bias[o] * s if bias is not None else b)
    return scale, new_bias


# ---------------------------------------------------------------------------------------
# Reader 3: ONNX (protobuf wire format)
# ---------------------------------------------------------------------------------------

ONNX_FLOAT = 1
# Ops of the EfficientNet graph: network ops, then the shape arithmetic of TF SAME padding.
ONNX_OPS = frozenset((
    "Conv", "Sigmoid", "Mul", "ReduceMean", "Add", "GlobalAveragePool", "Flatten", "Gemm", "MatMul",
    "Pad", "Shape", "Gather", "Cast", "Div", "Ceil", "Sub", "Clip", "Concat", "ConstantOfShape",
    "Slice", "Transpose", "Reshape", "Constant", "Unsqueeze",
))


class ProtoError(ValueError):
    pass


# The b2 graph has 10,164 protobuf fields, 736 nodes, 4-D tensors and 4-element attributes.
MAX_FIELDS = 1 << 20     # protobuf fields read from one file, in all messages together
MAX_NODES = 1 << 16
MAX_LIST = 1024          # entries of one repeated int or float attribute
_FIELDS_LEFT = [0]


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint too long")


def _fields(buf):
    """(field number, wire type, value) of a protobuf message; value is an int or a memoryview."""
    if isinstance(buf, int):
        raise ProtoError("a message sent as a varint, not length-delimited")
    pos, end = 0, len(buf)
    while pos < end:
        _FIELDS_LEFT[0] -= 1
        if _FIELDS_LEFT[0] < 0:
            raise ProtoError("more than %d protobuf fields" % MAX_FIELDS)
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 2, 5):
            if wire == 2:
                size, pos = _varint(buf, pos)
            else:
                size = 8 if wire == 1 else 4
            if pos + size > end:
                raise ProtoError("field %d runs past the end of its message (truncated file?)" % number)
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise ProtoError("invalid wire type %d" % wire)
        if number == 0:
            raise ProtoError("invalid field number 0")
        yield number, wire, value


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(wire, value, limit=MAX_LIST):
    """A (packed) repeated int field's values; more than `limit` of them is an error."""
    if wire == 0:
        return [_signed(value)]
    if wire != 2:
        raise ProtoError("bad encoding of an integer field")
    out, pos = [], 0
    while pos < len(value):
        if len(out) >= limit:
            raise ProtoError("more than %d values in a repeated integer field" % limit)
        v, pos = _varint(value, pos)
        out.append(_signed(v))
    return out


def _floats(wire, value):
    if wire not in (2, 5) or len(value) % 4:
        raise ProtoError("bad encoding of a float field")
    out = array("f")
    out.frombytes(value)
    if sys.byteorder == "big":
        out.byteswap()
    return out


def _text(wire, value):
    if wire != 2:
        raise ProtoError("bad encoding of a string field")
    return bytes(value).decode("utf-8", "replace")


class OnnxTensor:
    def __init__(self, buf):
        self.name, self.dims, self.dtype, self.raw = "", [], 0, None
        self.float_data, self.external = array("f"), False
        for number, wire, value in _fields(buf):
            if number == 1:
                self.dims += _ints(wire, value, 8)
                if len(self.dims) > 8 or min(self.dims, default=0) < 0:
                    raise ProtoError("tensor with %d dimensions or a negative one" % len(self.dims))
            elif number == 2:
                self.dtype = value if wire == 0 else -1
            elif number == 4:
                self.float_data += _floats(wire, value)
            elif number == 8:
                self.name = _text(wire, value)
            elif number == 9:
                self.raw = value if wire == 2 else b"?"
            elif number == 13 or (number == 14 and value == 1):
                self.external = True

    def values(self, what):
        """The float32 data, row-major (array('f'))."""
        if self.external:
            raise ExportError("%s: tensor %s keeps its data in an external file; not supported" % (what, self.name))
        if self.dtype != ONNX_FLOAT:
            raise ExportError("%s: tensor %s has ONNX data type %d; only float32 is supported"
                              % (what, self.name, self.dtype))
        count = math.prod(self.dims)
        if self.raw is not None:
            data = _floats(2, self.raw) if len(self.raw) % 4 == 0 else None
        else:
            data = self.float_data
        if data is None or len(data) != count:
            raise ExportError("%s: tensor %s holds the wrong amount of data for shape %s"
                              % (what, self.name, _fmt(self.dims)))
        return data


class OnnxNode:
    def __init__(self, buf):
        self.inputs, self.outputs, self.op, self.domain, self.name, self.attrs = [], [], "", "", "", {}
        for number, wire, value in _fields(buf):
            if number == 1:
                self.inputs.append(_text(wire, value))
            elif number == 2:
                self.outputs.append(_text(wire, value))
            elif number == 3:
                self.name = _text(wire, value)
            elif number == 4:
                self.op = _text(wire, value)
            elif number == 5:
                name, attr = _attribute(value)
                self.attrs[name] = attr
            elif number == 7:
                self.domain = _text(wire, value)

    def label(self):
        return "%s node %s" % (self.op, self.name or self.outputs[:1])


def _attribute(buf):
    """(name, value) of an AttributeProto: float, int, bytes, tensor, float list or int list."""
    name, kind, found = "", 0, {}
    for number, wire, value in _fields(buf):
        if number == 1:
            name = _text(wire, value)
        elif number == 20:
            kind = value
        elif number == 2:
            if wire != 5:
                raise ProtoError("bad encoding of a float attribute")
            found[1] = struct.unpack("<f", value)[0]
        elif number == 3:
            found[2] = _signed(value)
        elif number == 4:
            found[3] = bytes(value)
        elif number == 5:
            found[4] = OnnxTensor(value)
        elif number == 7:
            found.setdefault(6, array("f")).extend(_floats(wire, value))
        elif number == 8:
            found.setdefault(7, []).extend(_ints(wire, value))
        if len(found.get(6, ())) + len(found.get(7, ())) > MAX_LIST:
            raise ProtoError("attribute %s has more than %d values" % (name[:100], MAX_LIST))
    if kind == 0 and len(found) == 1:  # very old files leave the type out
        kind = next(iter(found))
    return name, found.get(kind, [] if kind in (6, 7) else None)


class OnnxGraph:
    """Nodes in graph order, constant tensors by name (initializers and Constant nodes),
    graph output names, and the node producing each value."""

    def __init__(self, data):
        _FIELDS_LEFT[0] = MAX_FIELDS
        graph = None
        for number, wire, value in _fields(memoryview(data)):
            if number == 7 and wire == 2:
                graph = value
        if graph is None:
            raise ProtoError("no graph")
        self.nodes, self.consts, self.outputs = [], {}, []
        for number, wire, value in _fields(graph):
            if number == 1:
                if len(self.nodes) >= MAX_NODES:
                    raise ProtoError("more than %d nodes" % MAX_NODES)
                self.nodes.append(OnnxNode(value))
            elif number == 5:
                tensor = OnnxTensor(value)
                self.consts[tensor.name] = tensor
            elif number == 12:
                self.outputs += [_text(w, v) for n, w, v in _fields(value) if n == 1]
        self.producer = {}
        for node in self.nodes:
            for out in node.outputs:
                self.producer[out] = node
            if node.op == "Constant" and node.outputs and isinstance(node.attrs.get("value"), OnnxTensor):
                self.consts[node.outputs[0]] = node.attrs["value"]

    def const(self, name, what):
        if name not in self.consts:
            raise ExportError("%s: input %s is not a constant (initializer or Constant node)" % (what, name))
        return self.consts[name]

    def producer_op(self, name):
        node = self.producer.get(name)
        return node.op if node is not None else None


def read_onnx(data):
    """Reads an ONNX model's bytes; returns the parameters ready for the container."""
    try:
        graph = OnnxGraph(data)
    except (ProtoError, struct.error) as e:
        raise ExportError("not a PyTorch checkpoint (zip) or a readable ONNX model: %s" % e)
    if not graph.nodes:
        raise ExportError("ONNX graph without nodes")
    for node in graph.nodes:
        if node.domain not in ("", "ai.onnx") or node.op not in ONNX_OPS:
            op = node.op if node.domain in ("", "ai.onnx") else node.domain + "::" + node.op
            raise ExportError("unsupported ONNX op %s (%s): not part of an EfficientNet graph" % (op, node.label()))
    convs = [n for n in graph.nodes if n.op == "Conv"]
    spec = next((s for s in SPECS if len(s.layers) == len(convs)), None)
    if spec is None:
        raise ExportError("%d Conv nodes; %s" % (len(convs), " and ".join(
            "%s has %d" % (s.arch.name, len(s.layers)) for s in SPECS)))
    params = collections.OrderedDict()
    for i, (layer, node) in enumerate(zip(spec.layers, convs)):
        weight, bias = _onnx_conv(graph, node, layer, spec)
        params[layer.name] = (layer, weight, None, bias)
        if layer.name.endswith(".proj"):
            _check_residual(graph, spec.blocks[int(layer.name[1:].split(".")[0])], convs[i + 1])
    return spec, params, _onnx_classifier(graph, spec), BN_EPS


def _check_residual(graph, block, next_conv):
    """The conv after a block reads the residual Add exactly when the block has a skip."""
    want = "Add" if block.skip else "Conv"
    got = graph.producer_op(next_conv.inputs[0]) if next_conv.inputs else None
    if got != want:
        raise ExportError("%s reads the output of %s; expected %s (block in %d -> out %d, stride %d)"
                          % (next_conv.label(), got, want, block.cin, block.cout, block.stride))


def _onnx_conv(graph, node, layer, spec):
    """(weight, bias) of one Conv node after checking it is the conv `layer` describes."""
    what = "%s (expected %s)" % (node.label(), layer.name)
    if len(node.inputs) < 2:
        raise ExportError("%s has no weight input" % what)
    w = graph.const(node.inputs[1], what)
    if tuple(w.dims) != layer.shape:
        raise ExportError("%s has weight shape %s; %s expects %s"
                          % (what, _fmt(w.dims), spec.arch.name, _fmt(layer.shape)))
    k, s = layer.shape[2], layer.stride
    attrs = node.attrs
    checks = (
        ("group", attrs.get("group", 1), layer.shape[0] if layer.role == "dw" else 1),
        ("strides", _ints_attr(attrs, "strides", [1, 1]), [s, s]),
        ("dilations", _ints_attr(attrs, "dilations", [1, 1]), [1, 1]),
        ("kernel_shape", _ints_attr(attrs, "kernel_shape", [k, k]), [k, k]),
        ("auto_pad", attrs.get("auto_pad") or b"NOTSET", b"NOTSET"),
        ("pads", _ints_attr(attrs, "pads", [0, 0, 0, 0]), [k // 2] * 4 if s == 1 else [0] * 4),
    )
    for attr, got, want in checks:
        if got != want:
            raise ExportError("%s has %s=%s; expected %s" % (what, attr, got, want))
    if s == 2 and graph.producer_op(node.inputs[0]) != "Pad":
        raise ExportError("%s has stride 2 but no Pad before it (not TF 'SAME' padding)" % what)
    if layer.name.endswith(".se1") and graph.producer_op(node.inputs[0]) not in ("ReduceMean", "GlobalAveragePool"):
        raise ExportError("%s should squeeze a pooled input but reads the output of %s"
                          % (what, graph.producer_op(node.inputs[0])))
    if len(node.inputs) > 2 and node.inputs[2]:
        b = graph.const(node.inputs[2], what)
        if math.prod(b.dims) != layer.shape[0]:
            raise ExportError("%s has bias shape %s" % (what, _fmt(b.dims)))
        bias = b.values(what)
    else:
        bias = array("f", bytes(4 * layer.shape[0]))
    return w.values(what), bias


def _ints_attr(attrs, name, default):
    """An INTS attribute as a list (`default` when absent); another type compares unequal."""
    value = attrs.get(name)
    return default if not value else list(value) if isinstance(value, list) else type(value).__name__


def _onnx_classifier(graph, spec):
    """(shape [out, in], weight, bias) of the Gemm or MatMul + Add producing the graph output."""
    if len(graph.outputs) != 1 or graph.outputs[0] not in graph.producer:
        raise ExportError("expected one graph output, found %d" % len(graph.outputs))
    node = graph.producer[graph.outputs[0]]
    what = node.label()
    if node.op == "Gemm":
        a = node.attrs
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or len(node.inputs) != 3:
            raise ExportError("%s: only Gemm with transA=0, alpha=beta=1 and a bias is supported" % what)
        w, b, trans = graph.const(node.inputs[1], what), graph.const(node.inputs[2], what), a.get("transB", 0)
    elif node.op == "Add":
        inner = [graph.producer.get(i) for i in node.inputs]
        mm = [n for n in inner if n is not None and n.op == "MatMul"]
        bias_name = [i for i in node.inputs if i in graph.consts]
        if len(mm) != 1 or len(bias_name) != 1 or len(mm[0].inputs) != 2:
            raise ExportError("%s is not a classifier (MatMul + bias)" % what)
        w, b, trans = graph.const(mm[0].inputs[1], what), graph.consts[bias_name[0]], 0
    else:
        raise ExportError("the graph output comes from %s, not from a Gemm or MatMul + Add classifier" % what)
    if len(w.dims) != 2:
        raise ExportError("%s: classifier weight has shape %s" % (what, _fmt(w.dims)))
    out, inp = w.dims if trans else w.dims[::-1]
    if inp != spec.features or math.prod(b.dims) != out:
        raise ExportError("%s: classifier weight %s / bias %s do not fit %d features"
                          % (what, _fmt(w.dims), _fmt(b.dims), spec.features))
    output_layout(out, None)
    weight = w.values(what)
    if not trans:
        weight = to_container_layout(weight, (inp, out, 1, 1))  # [in, out] -> [out, in]
    return (out, inp), weight, b.values(what)


# ---------------------------------------------------------------------------------------
# The container
# ---------------------------------------------------------------------------------------

def to_container_layout(values, shape, scale=None):
    """Row-major [O, I, kh, kw] float32 values (array('f')) -> [kh, kw, I, O] as array('f');
    with `scale`, output channel o is multiplied by scale[o] in float64 first (BatchNorm)."""
    o, i, kh, kw = shape
    r = i * kh * kw
    columns = [values[c::r] for c in range(r)]  # column c = (i, y, x) holds all O outputs
    order = [ci * kh * kw + y * kw + x for y in range(kh) for x in range(kw) for ci in range(i)]
    out = array("f")
    for c in order:
        if scale is None:
            out.extend(columns[c])
        else:
            out.fromlist(list(map(operator.mul, columns[c], scale)))
    return out


def container_shape(role, shape):
    o, i, kh, kw = shape
    strips = (o + STRIP - 1) // STRIP
    return {"full": (kh, kw, i, o), "pw": (i, o), "strips": (strips, i, STRIP), "dw": (kh, kw, o)}[role]


STRIP = 16  # output channels per strip (FORMAT.md)


def to_strips(values, rows, cols):
    """Row-major [rows, cols] array('f') -> [ceil(cols / 16), rows, 16]: strip s holds columns
    16 s .. 16 s + 15 of every row, zero past the last column."""
    out = array("f")
    pad = array("f", bytes(4 * STRIP))
    for c0 in range(0, cols, STRIP):
        width = min(STRIP, cols - c0)
        for r in range(rows):
            out.extend(values[r * cols + c0:r * cols + c0 + width])
            if width < STRIP:
                out.extend(pad[:STRIP - width])
    return out


def container_tensors(params, fc):
    """(name, shape, array('f')) in FORMAT.md order: stem, blocks, head, fc."""
    out = []
    for layer, weight, scale, bias in params.values():
        values = to_container_layout(weight, layer.shape, scale)
        if layer.role == "strips":
            values = to_strips(values, layer.shape[1], layer.shape[0])
        out.append((layer.name + ".w", container_shape(layer.role, layer.shape), values))
        out.append((layer.name + ".b", (layer.shape[0],), array("f", bias)))
    (count, features), weight, bias = fc
    out.append(("fc.w", (features, count), to_container_layout(weight, (count, features, 1, 1))))
    out.append(("fc.b", (count,), array("f", bias)))
    return out


def container_meta(spec, count, labels, eps, source):
    logits, valence, arousal, names = output_layout(count, labels)
    rows = [v for b in spec.blocks for v in b]
    return [
        ("general.arch", "str", "efficientnet"),
        ("general.name", "str", spec.arch.name),
        ("general.source", "str", source),
        ("general.exporter", "str", EXPORTER),
        ("input.size", "i64", spec.arch.size),
        ("input.mean", "f64s", MEAN),
        ("input.std", "f64s", STD),
        ("input.resize", "str", "pil_bilinear"),
        ("net.bn_eps", "f64", eps),
        ("net.stem_channels", "i64", spec.stem),
        ("net.features", "i64", spec.features),
        ("net.blocks", "i32s", rows),
        ("out.count", "i64", count),
        ("out.logits", "i64", logits),
        ("out.labels", "strs", names),
        ("out.valence", "i64", valence),
        ("out.arousal", "i64", arousal),
    ]


META_TYPES = {"i64": 1, "f64": 2, "str": 3, "i32s": 4, "f32s": 5, "strs": 6, "f64s": 7}


def _u32(n):
    return struct.pack("<I", n)


def _encode_str(text):
    raw = text.encode("utf-8", "replace")
    if len(raw) > 65535 or b"\0" in raw:
        raise ExportError("metadata string %r is too long or holds a NUL byte" % text[:40])
    return _u32(len(raw)) + raw


def encode_meta(items):
    out = [_u32(len(items))]
    for key, kind, value in items:
        out += [_u32(len(key)), key.encode("ascii"), _u32(META_TYPES[kind])]
        if kind == "i64":
            out.append(struct.pack("<q", value))
        elif kind == "f64":
            out.append(struct.pack("<d", value))
        elif kind == "str":
            out.append(_encode_str(value))
        elif kind == "i32s":
            out.append(_u32(len(value)) + struct.pack("<%di" % len(value), *value))
        elif kind == "f32s":
            out.append(_u32(len(value)) + struct.pack("<%df" % len(value), *value))
        elif kind == "f64s":
            out.append(_u32(len(value)) + struct.pack("<%dd" % len(value), *value))
        else:
            out.append(_u32(len(value)) + b"".join(_encode_str(v) for v in value))
    return b"".join(out)


def _align(n):
    return -(-n // ALIGN) * ALIGN


def checksum(data):
    """FORMAT.md's Fletcher-style sum of the u32 words, words 14 and 15 taken as 0."""
    buf = bytearray(data)
    buf[56:64] = bytes(8)
    if _np is not None:
        words = _np.frombuffer(buf, dtype="<u4").astype(_np.uint64)
        a = int(words.sum())
        b = int(_np.cumsum(words).sum(dtype=_np.uint64))  # wraps mod 2**64: fine mod 2**32
    else:
        words = array("I")
        assert words.itemsize == 4
        words.frombytes(buf)
        if sys.byteorder == "big":
            words.byteswap()
        a = sum(words)
        b = sum(itertools.accumulate(words))
    return ((b & MASK32) << 32) | (a & MASK32)


# A little-endian float32 is NaN or infinite when its exponent bits are all ones:
# bits 0x7F of byte 3 and bit 0x80 of byte 2.
_EXP_HIGH = bytes(int(b & 0x7F == 0x7F) for b in range(256))
_EXP_LOW = bytes(int(b >= 0x80) for b in range(256))


def _all_finite(raw):
    """True when no float32 in `raw` (little-endian) is NaN or infinite; runs at C speed."""
    high = int.from_bytes(raw[3::4].translate(_EXP_HIGH), "little")
    low = int.from_bytes(raw[2::4].translate(_EXP_LOW), "little")
    return high & low == 0


def build_container(meta, tensors):
    """The bytes of a complete container: header, metadata, tensor table, aligned data."""
    meta_bytes = encode_meta(meta)
    table_size = sum(4 + len(name) + 8 + 4 * len(shape) + 16 for name, shape, _ in tensors)
    table_offset = _align(ALIGN + len(meta_bytes))
    pos = _align(table_offset + table_size)
    entries, data = [], []
    for name, shape, values in tensors:
        if sys.byteorder == "big":
            values = array("f", values)
            values.byteswap()
        raw = values.tobytes()
        if not _all_finite(raw):
            raise ExportError("tensor %s holds NaN or infinite values" % name)
        entries.append(_u32(len(name)) + name.encode("ascii") + _u32(1) + _u32(len(shape))
                       + struct.pack("<%dI" % len(shape), *shape) + struct.pack("<QQ", pos, len(raw)))
        data.append((pos, raw))
        pos = _align(pos + len(raw))
    buf = bytearray(pos)
    buf[0:64] = HEADER.pack(MAGIC, VERSION, 64, len(buf), ALIGN, len(meta_bytes),
                            table_offset, table_size, len(tensors), 0)
    buf[ALIGN:ALIGN + len(meta_bytes)] = meta_bytes
    buf[table_offset:table_offset + table_size] = b"".join(entries)
    for offset, raw in data:
        buf[offset:offset + len(raw)] = raw
    buf[56:64] = struct.pack("<Q", checksum(buf))
    return bytes(buf)


def read_container(path):
    """Validates an .emoti file completely; returns (meta {key: value}, {name: (shape, array('f'))})."""
    try:
        f, _ = open_input(path)
        with f:
            data = read_bounded(f)
    except ExportError as e:
        raise ContainerError(str(e), path)
    except OSError as e:
        raise ContainerError(e.strerror or str(e), path)
    try:
        return _parse_container(data)
    except ContainerError as e:
        e.path = path
        raise
    except (struct.error, UnicodeDecodeError, IndexError, ValueError) as e:
        raise ContainerError("malformed container: %s" % e, path)


def _parse_container(data):
    if len(data) < 64 or data[:8] != MAGIC:
        raise ContainerError("not an emoti container (bad magic)")
    (_, version, header_size, file_size, meta_offset, meta_size, table_offset, table_size,
     n_tensors, stored_sum) = HEADER.unpack_from(data)
    if version != VERSION or header_size != 64:
        raise ContainerError("unsupported version %d / header size %d" % (version, header_size))
    if file_size != len(data) or file_size % ALIGN:
        raise ContainerError("file_size %d does not match the file (%d bytes) or is not a multiple of 64"
                             % (file_size, len(data)))
    if (meta_offset % ALIGN or table_offset % ALIGN or meta_offset < 64
            or table_offset < meta_offset + meta_size or table_offset + table_size > file_size):
        raise ContainerError("section offsets out of order or bounds")
    if not 1 <= n_tensors <= 4096:
        raise ContainerError("n_tensors %d out of range" % n_tensors)
    if checksum(data) != stored_sum:
        raise ContainerError("checksum mismatch (file corrupted)")
    meta = _parse_meta(data[meta_offset:meta_offset + meta_size])
    entries = _parse_table(data[table_offset:table_offset + table_size], n_tensors)
    used = [(0, 64), (meta_offset, meta_offset + meta_size), (table_offset, table_offset + table_size)]
    tensors = {}
    for name, shape, offset, nbytes in entries:
        if offset % ALIGN or offset < table_offset + table_size or offset + nbytes > file_size:
            raise ContainerError("tensor %s lies outside the data area" % name)
        values = array("f")
        values.frombytes(data[offset:offset + nbytes])
        if sys.byteorder == "big":
            values.byteswap()
        tensors[name] = (shape, values)
        used.append((offset, offset + nbytes))
    end = 0
    for start, stop in sorted(used):
        if start < end:
            raise ContainerError("sections or tensors overlap at offset %d" % start)
        if data[end:start].count(0) != start - end:
            raise ContainerError("non-zero padding at offset %d" % end)
        end = stop
    if data[end:].count(0) != len(data) - end:
        raise ContainerError("non-zero padding at offset %d" % end)
    return meta, tensors


class _Cursor:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ContainerError("section truncated")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def text(self, lo, hi):
        n = self.u32()
        if not lo <= n <= hi:
            raise ContainerError("string length %d out of range" % n)
        raw = self.take(n)
        if b"\0" in raw:
            raise ContainerError("string with a NUL byte")
        return raw.decode("utf-8")

    def done(self):
        if self.pos != len(self.data):
            raise ContainerError("section has %d trailing bytes" % (len(self.data) - self.pos))


def _parse_meta(section):
    cur, meta = _Cursor(section), {}
    for _ in range(cur.u32()):
        key = cur.text(1, 255)
        if not all(c in "abcdefghijklmnopqrstuvwxyz0123456789._" for c in key) or key in meta:
            raise ContainerError("bad or repeated metadata key %r" % key)
        kind = cur.u32()
        if kind == 1:
            meta[key] = struct.unpack("<q", cur.take(8))[0]
        elif kind == 2:
            meta[key] = struct.unpack("<d", cur.take(8))[0]
        elif kind == 3:
            meta[key] = cur.text(0, 65535)
        elif kind in (4, 5):
            n = cur.u32()
            if n > 65535:
                raise ContainerError("array %s too long" % key)
            meta[key] = list(struct.unpack("<%d%s" % (n, "i" if kind == 4 else "f"), cur.take(4 * n)))
        elif kind == 7:
            n = cur.u32()
            if n > 65535:
                raise ContainerError("array %s too long" % key)
            meta[key] = list(struct.unpack("<%dd" % n, cur.take(8 * n)))
        elif kind == 6:
            n = cur.u32()
            if n > 4096:
                raise ContainerError("string array %s too long" % key)
            meta[key] = [cur.text(0, 65535) for _ in range(n)]
        else:
            raise ContainerError("metadata %s has unknown type %d" % (key, kind))
    cur.done()
    return meta


def _parse_table(section, n_tensors):
    cur, entries, names = _Cursor(section), [], set()
    for _ in range(n_tensors):
        name = cur.text(1, 255)
        dtype, ndim = cur.u32(), cur.u32()
        if name in names or dtype != 1 or not 1 <= ndim <= 4:
            raise ContainerError("tensor %r: repeated name, dtype %d or ndim %d" % (name, dtype, ndim))
        shape = struct.unpack("<%dI" % ndim, cur.take(4 * ndim))
        offset, nbytes = struct.unpack("<QQ", cur.take(16))
        if min(shape) < 1 or nbytes != 4 * math.prod(shape):
            raise ContainerError("tensor %s: shape %s does not match %d bytes" % (name, _fmt(shape), nbytes))
        names.add(name)
        entries.append((name, shape, offset, nbytes))
    cur.done()
    return entries


# ---------------------------------------------------------------------------------------
# MTCNN detector: TFLite flatbuffers (schema.fbs of TensorFlow Lite, read by hand)
# ---------------------------------------------------------------------------------------
# A flatbuffer holds tables reached by u32 offsets relative to where the offset is stored;
# a table starts with an i32 distance back to its vtable (u16 vtable size, u16 table size,
# then one u16 offset per field, 0 = absent). Every offset and length is checked against
# the file before it is followed, so a corrupt file is refused rather than misread.
# Fields used (schema field numbers): Model 1 operator_codes, 2 subgraphs, 4 buffers;
# OperatorCode 0 deprecated_builtin_code (byte), 3 builtin_code (int); SubGraph 0 tensors,
# 1 inputs, 2 outputs, 3 operators; Tensor 0 shape, 1 type (0 = float32), 2 buffer, 3 name;
# Operator 0 opcode_index, 1 inputs, 2 outputs, 4 builtin_options; Buffer 0 data.

TFLITE_OPS = {0: "ADD", 3: "CONV_2D", 9: "FULLY_CONNECTED", 17: "MAX_POOL_2D", 18: "MUL",
              19: "RELU", 41: "SUB", 42: "DIV", 47: "EXP", 59: "NEG", 74: "SUM", 82: "REDUCE_MAX"}
TFLITE_MAX_ITEMS = 100000  # tensors, operators, buffers per file: far above any MTCNN net
TFLITE_MAX_BYTES = 64 << 20  # the nets are 32 KB, 408 KB and 1.6 MB


class _Flat:
    def __init__(self, data):
        self.data, self.view = data, memoryview(data)  # slices of the view copy nothing

    def get(self, fmt, pos):
        size = struct.calcsize("<" + fmt)
        if not 0 <= pos <= len(self.data) - size:
            raise ExportError("flatbuffer offset %d out of the file (%d bytes)" % (pos, len(self.data)))
        return struct.unpack_from("<" + fmt, self.data, pos)[0]

    def table(self, pos):
        vtable = pos - self.get("i", pos)
        vsize = self.get("H", vtable)
        if vsize < 4 or vsize % 2 or vtable + vsize > len(self.data):
            raise ExportError("flatbuffer vtable at %d is malformed" % vtable)
        return pos, vtable, vsize

    def field(self, table, i):
        pos, vtable, vsize = table
        if 4 + 2 * i >= vsize:
            return None
        off = self.get("H", vtable + 4 + 2 * i)
        return pos + off if off else None

    def scalar(self, table, i, fmt, default=0):
        pos = self.field(table, i)
        return default if pos is None else self.get(fmt, pos)

    def ref(self, table, i):
        pos = self.field(table, i)
        return None if pos is None else pos + self.get("I", pos)

    def vector(self, table, i, esize):
        pos = self.ref(table, i)
        if pos is None:
            return 0, 0
        n = self.get("I", pos)
        if n * esize > len(self.data) - pos - 4 or (esize == 4 and n > TFLITE_MAX_ITEMS):
            raise ExportError("flatbuffer vector of %d items at %d runs past the file" % (n, pos))
        return pos + 4, n

    def tables(self, table, i):
        pos, n = self.vector(table, i, 4)
        return [self.table(pos + 4 * k + self.get("I", pos + 4 * k)) for k in range(n)]

    def ints(self, table, i):
        pos, n = self.vector(table, i, 4)
        return list(struct.unpack_from("<%di" % n, self.data, pos))

    def raw(self, table, i):
        pos, n = self.vector(table, i, 1)
        return self.view[pos:pos + n]


TfliteOp = collections.namedtuple("TfliteOp", "op inputs outputs options")
TfliteTensor = collections.namedtuple("TfliteTensor", "name shape type data")


def _tflite_options(fb, op, kind):
    """The builtin options the MTCNN ops carry, as a tuple (schema field order)."""
    pos = fb.ref(op, 4)
    if pos is None:
        return ()
    t = fb.table(pos)
    if kind == "CONV_2D":  # padding, stride_w, stride_h, fused activation, dilation w, h
        return (fb.scalar(t, 0, "b"), fb.scalar(t, 1, "i"), fb.scalar(t, 2, "i"), fb.scalar(t, 3, "b"),
                fb.scalar(t, 4, "i", 1), fb.scalar(t, 5, "i", 1))
    if kind == "MAX_POOL_2D":  # padding, stride_w, stride_h, filter_w, filter_h, activation
        return tuple(fb.scalar(t, i, "b" if i in (0, 5) else "i") for i in range(6))
    if kind in ("SUM", "REDUCE_MAX"):  # keep_dims
        return (fb.scalar(t, 0, "B"),)
    if kind == "FULLY_CONNECTED":  # activation, weights format, keep_num_dims
        return (fb.scalar(t, 0, "b"), fb.scalar(t, 1, "b"), fb.scalar(t, 2, "B"))
    return (fb.scalar(t, 0, "b"),)  # ADD, MUL, SUB, DIV: fused activation


def read_tflite(data):
    """One-subgraph float32 TFLite model -> (tensors, operators, inputs, outputs)."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ExportError("not a TFLite model (no TFL3 identifier)")
    fb = _Flat(data)
    model = fb.table(fb.get("I", 0))
    codes = []
    for code in fb.tables(model, 1):
        op = max(fb.scalar(code, 0, "b"), fb.scalar(code, 3, "i"))
        if op not in TFLITE_OPS:
            raise ExportError("unsupported TFLite operator %d" % op)
        codes.append(TFLITE_OPS[op])
    buffers = [fb.raw(b, 0) for b in fb.tables(model, 4)]
    graphs = fb.tables(model, 2)
    if len(graphs) != 1:
        raise ExportError("%d subgraphs (expected 1)" % len(graphs))
    graph = graphs[0]
    tensors = []
    for t in fb.tables(graph, 0):
        shape, kind, buf = fb.ints(t, 0), fb.scalar(t, 1, "b"), fb.scalar(t, 2, "I")
        name = bytes(fb.raw(t, 3)[:256]).decode("utf-8", "replace")
        if buf >= len(buffers) or min(shape, default=1) < 1 or len(shape) > 4:
            raise ExportError("tensor %r: buffer %d or shape %s invalid" % (name, buf, shape))
        raw = buffers[buf]
        if raw and len(raw) != 4 * math.prod(shape):
            raise ExportError("tensor %r: %d bytes for shape %s" % (name, len(raw), _fmt(shape)))
        tensors.append(TfliteTensor(name, tuple(shape), kind, raw))
    ops = []
    for op in fb.tables(graph, 3):
        index = fb.scalar(op, 0, "I")
        if index >= len(codes):
            raise ExportError("operator code %d out of range" % index)
        ins, outs = fb.ints(op, 1), fb.ints(op, 2)
        if not all(0 <= i < len(tensors) for i in ins + outs):
            raise ExportError("operator %s uses a tensor out of range" % codes[index])
        if not ins or not outs:  # every operator the nets use reads and writes a tensor
            raise ExportError("operator %s without inputs or outputs" % codes[index])
        ops.append(TfliteOp(codes[index], ins, outs, _tflite_options(fb, op, codes[index])))
    inputs, outputs = fb.ints(graph, 1), fb.ints(graph, 2)
    if not all(0 <= i < len(tensors) for i in inputs + outputs):
        raise ExportError("graph input/output out of range")
    return tensors, ops, inputs, outputs


# The three nets as the layer walk below sees them: convs (out, kh, kw, in, stride), PReLU
# (channels), max-pools (kernel, stride, TFLite padding 0 SAME / 1 VALID: with these sizes
# both equal Caffe's ceil-mode pooling), fully connected (out, in), heads (the last
# layers, all reading the trunk's output), softmax over the 2 face/non-face logits.
MTCNN_NETS = {
    "pnet": ((12, 12), [("conv", 10, 3, 3, 3, 1), ("prelu", 10), ("pool", 2, 2, 0),
                        ("conv", 16, 3, 3, 10, 1), ("prelu", 16), ("conv", 32, 3, 3, 16, 1),
                        ("prelu", 32)],
             [("conv", 2, 1, 1, 32, 1), ("conv", 4, 1, 1, 32, 1)]),
    "rnet": ((24, 24), [("conv", 28, 3, 3, 3, 1), ("prelu", 28), ("pool", 3, 2, 0),
                        ("conv", 48, 3, 3, 28, 1), ("prelu", 48), ("pool", 3, 2, 1),
                        ("conv", 64, 2, 2, 48, 1), ("prelu", 64), ("fc", 128, 576), ("prelu", 128)],
             [("fc", 2, 128), ("fc", 4, 128)]),
    "onet": ((48, 48), [("conv", 32, 3, 3, 3, 1), ("prelu", 32), ("pool", 3, 2, 0),
                        ("conv", 64, 3, 3, 32, 1), ("prelu", 64), ("pool", 3, 2, 1),
                        ("conv", 64, 3, 3, 64, 1), ("prelu", 64), ("pool", 2, 2, 0),
                        ("conv", 128, 2, 2, 64, 1), ("prelu", 128), ("fc", 256, 1152),
                        ("prelu", 256)],
             [("fc", 2, 256), ("fc", 4, 256), ("fc", 10, 256)]),
}
MTCNN_HEADS = ("prob", "box", "landmarks")
PRELU_OPS = ("RELU", "NEG", "RELU", "NEG", "MUL", "ADD")
SOFTMAX_OPS = ("REDUCE_MAX", "SUB", "EXP", "SUM", "DIV")


def _const(tensors, index, what):
    t = tensors[index]
    if not t.data or t.type != 0:
        raise ExportError("%s %r is not a float32 constant" % (what, t.name))
    values = array("f")
    values.frombytes(t.data)
    if sys.byteorder == "big":
        values.byteswap()
    return t, values


def _prelu(tensors, ops, x):
    """Checks the TOCO decomposition relu(x) - alpha * relu(-x); returns (alpha tensor, output)."""
    r1, n1, r2, n2, mul, add = ops
    if not (r1.inputs == [x] and n1.inputs == [x] and r2.inputs == n1.outputs
            and n2.inputs == r2.outputs and len(mul.inputs) == 2 and mul.inputs.count(n2.outputs[0]) == 1
            and sorted(add.inputs) == sorted(r1.outputs + mul.outputs)):
        raise ExportError("PReLU after tensor %r is not relu(x) - alpha * relu(-x)" % tensors[x].name)
    alpha = [i for i in mul.inputs if i != n2.outputs[0]][0]
    name = tensors[alpha].name.lower()
    if "prelu" not in name or "alpha" not in name or mul.options[:1] not in ((), (0,)):
        raise ExportError("PReLU multiplier %r is not a */PReLU*/alpha constant" % tensors[alpha].name)
    return _const(tensors, alpha, "PReLU alpha"), add.outputs[0]


def _mtcnn_layer(tensors, op, x, name):
    if op.op in ("MAX_POOL_2D", "CONV_2D") and len(op.options) != 6:  # no builtin options table
        raise ExportError("%s: %s without its options (padding, strides)" % (name, op.op))
    if op.op == "MAX_POOL_2D":
        pad, sw, sh, fw, fh, act = op.options
        if sw != sh or fw != fh or act or op.inputs != [x]:
            raise ExportError("%s: unsupported max-pool %s" % (name, op.options))
        return ("pool", fw, sw, pad), [], op.outputs[0]
    if op.inputs[:1] != [x] or len(op.inputs) != 3:
        raise ExportError("%s: %s does not read the previous layer with weights and bias" % (name, op.op))
    (wt, w), (bt, b) = _const(tensors, op.inputs[1], "weights"), _const(tensors, op.inputs[2], "bias")
    if op.op == "CONV_2D":
        pad, sw, sh, act, dw, dh = op.options
        if len(wt.shape) != 4 or (pad != 1 and wt.shape[1:3] != (1, 1)) or sw != sh or act \
                or (dw, dh) != (1, 1):  # SAME padding only where it is VALID too (1x1)
            raise ExportError("%s: unsupported convolution %s" % (name, op.options))
        desc = ("conv",) + wt.shape + (sw,)
    else:
        if op.options[:2] != (0, 0) or len(wt.shape) != 2:
            raise ExportError("%s: unsupported fully connected layer %s" % (name, op.options))
        desc = ("fc",) + wt.shape
    if bt.shape != wt.shape[:1]:
        raise ExportError("%s: bias shape %s for weights %s" % (name, _fmt(bt.shape), _fmt(wt.shape)))
    return desc, [("w", wt.shape, w), ("b", bt.shape, b)], op.outputs[0]


def read_mtcnn_net(net, data):
    """One MTCNN .tflite -> [(container name, shape, array('f'))], checked layer by layer."""
    size, trunk, heads = MTCNN_NETS[net]
    tensors, ops, inputs, outputs = read_tflite(data)
    if len(inputs) != 1 or len(tensors[inputs[0]].shape) != 4 or tensors[inputs[0]].shape[3] != 3:
        raise ExportError("%s: expected one NHWC RGB input" % net)
    x, pos, out, convs, fcs = inputs[0], 0, [], 0, 0
    for want in trunk:
        if pos >= len(ops):
            raise ExportError("%s: graph ends before layer %s" % (net, want))
        if want[0] == "prelu":
            if tuple(o.op for o in ops[pos:pos + 6]) != PRELU_OPS:
                raise ExportError("%s: expected a PReLU at operator %d" % (net, pos))
            (at, alpha), x = _prelu(tensors, ops[pos:pos + 6], x)
            desc, got, pos = ("prelu",) + at.shape, [("alpha", at.shape, alpha)], pos + 6
        else:
            desc, got, x = _mtcnn_layer(tensors, ops[pos], x, net)
            pos += 1
        if desc != want:
            raise ExportError("%s: layer %s where %s was expected" % (net, desc, want))
        if want[0] == "conv":
            convs += 1
        if want[0] in ("conv", "fc"):
            fcs += want[0] == "fc"
            layer = "conv%d" % convs if want[0] == "conv" else "fc%d" % fcs
        out += [("%s.%s.%s" % (net, layer, suffix), shape, values) for suffix, shape, values in got]
    for head, want in zip(MTCNN_HEADS, heads):
        if pos >= len(ops):
            raise ExportError("%s: graph ends before the %s head" % (net, head))
        desc, got, _ = _mtcnn_layer(tensors, ops[pos], x, net)
        if desc != want:
            raise ExportError("%s: %s head %s where %s was expected" % (net, head, desc, want))
        out += [("%s.%s.%s" % (net, head, suffix), shape, values) for suffix, shape, values in got]
        pos += 1
    if tuple(o.op for o in ops[pos:]) != SOFTMAX_OPS or len(outputs) != len(heads):
        raise ExportError("%s: expected the heads to end in a softmax, %d outputs" % (net, len(heads)))
    return out


def convert_mtcnn(paths):
    """{'pnet': path, ...} -> (container bytes, summary)."""
    tensors = []
    for net in MTCNN_NETS:
        path = paths[net]
        f, _ = open_input(path, TFLITE_MAX_BYTES)
        try:
            with f:
                data = read_bounded(f, TFLITE_MAX_BYTES)
        except OSError as e:
            raise ExportError(e.strerror or str(e), path)
        try:
            tensors += read_mtcnn_net(net, data)
        except ExportError as e:
            e.path = e.path or path
            raise
        except (struct.error, UnicodeDecodeError, IndexError, ValueError, TypeError) as e:
            raise ExportError("malformed TFLite model: %s" % e, path)
    return mtcnn_container(tensors, [os.path.basename(paths[n]) for n in MTCNN_NETS])


def mtcnn_container(tensors, sources):
    """The three nets' tensors (read_mtcnn_net, in MTCNN_NETS order) -> (container bytes, summary)."""
    meta = [
        ("general.arch", "str", "mtcnn"),
        ("general.name", "str", "mtcnn"),
        ("general.source", "str", ",".join(sources)),
        ("general.exporter", "str", EXPORTER),
        ("input.mean", "f64", 127.5),
        ("input.scale", "f64", 0.0078125),
        ("input.layout", "str", "transposed"),
        ("net.nets", "strs", list(MTCNN_NETS)),
    ]
    n_params = sum(len(v) for _, _, v in tensors)
    return build_container(meta, tensors), "mtcnn p/r/o-net, %d tensors, %d parameters" % (len(tensors), n_params)


def mtcnn_paths(args):
    """--mtcnn DIR, or the three files (named by p/r/onet in their file names, in any order)."""
    if len(args) == 1 and os.path.isdir(args[0]):
        return {net: os.path.join(args[0], net + ".tflite") for net in MTCNN_NETS}
    found = {}
    for path in args:
        nets = [n for n in MTCNN_NETS if n in os.path.basename(path).lower()]
        if len(nets) != 1 or nets[0] in found:
            raise ExportError("give a folder or pnet/rnet/onet .tflite files, once each", path)
        found[nets[0]] = path
    missing = [n for n in MTCNN_NETS if n not in found]
    if missing:
        raise ExportError("missing %s.tflite" % missing[0], args[0] if args else "--mtcnn")
    return found


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def convert(path, labels=None):
    """Reads any supported input; returns the container bytes and a one-line summary."""
    f, size = open_input(path)
    with f:
        return convert_file(f, size, os.path.basename(path), labels)


def convert_file(f, size, source, labels=None):
    """convert() of an open binary file of `size` bytes; `source` names it in the metadata."""
    try:
        head = f.read(4)
        if head == b"PK\x03\x04":
            f.seek(0)
            spec, params, fc, eps = read_torch(f)
        elif head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04"):
            raise ExportError("legacy torch serialization (torch < 1.6) is not supported; "
                              "re-save it with a current torch.save")
        else:
            data = head + read_bounded(f, max(size, 4) - 4)
            if data[4:8] == b"TFL3":
                raise ExportError("a TFLite model: convert the MTCNN detector with --mtcnn")
            spec, params, fc, eps = read_onnx(data)
    except OSError as e:
        raise ExportError(e.strerror or str(e))
    meta = container_meta(spec, fc[0][0], labels, eps, source)
    blob = build_container(meta, container_tensors(params, fc))
    n_params = sum(len(w) + len(b) for _, w, _, b in params.values()) + len(fc[1]) + len(fc[2])
    summary = "%s, %d blocks, %d outputs, %.2fM parameters" % (spec.arch.name, len(spec.blocks),
                                                                fc[0][0], n_params / 1e6)
    return blob, summary


def write_atomically(path, blob):
    """Writes via a temporary file in the same directory, renamed into place on success."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    except OSError as e:
        raise ExportError("cannot write: %s" % (e.strerror or e), path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:  # interrupted or failed: never leave a partial file
        os.unlink(tmp)
        if isinstance(e, OSError):
            raise ExportError("cannot write: %s" % (e.strerror or e), path)
        raise


def show_info(path):
    meta, tensors = read_container(path)
    with open(path, "rb") as f:
        header = HEADER.unpack(f.read(64))
    print("%s: emoti container v%d, %d bytes, checksum %016x (ok)" % (path, header[1], header[3], header[9]))
    print("metadata (%d):" % len(meta))
    for key, value in meta.items():
        if key == "net.blocks":
            print("  net.blocks: stage kind kernel stride in mid out se skip")
            for i in range(0, len(value), 9):
                print("    b%-3d %s" % (i // 9, " ".join("%5d" % v for v in value[i:i + 9])))
        else:
            print("  %s = %r" % (key, value))
    print("tensors (%d):" % len(tensors))
    for name, (shape, values) in tensors.items():
        print("  %-12s %-20s %9d floats" % (name, _fmt(shape), len(values)))


def _labels(text):
    names = [n.strip() for n in text.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("labels must be distinct, non-empty and comma-separated")
    return names


def _one_line(text, limit=1000):
    """A message that may quote names from the input: printable, one line, bounded."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def main(argv=None):
    parser = argparse.ArgumentParser(prog="export.py", description="Convert EmotiEffNet .pt/.onnx "
                                     "checkpoints (tf_efficientnet_b0/b2) to the emoti container.")
    parser.add_argument("input", nargs="?", help="whole-model or state-dict .pt, or .onnx")
    parser.add_argument("-o", "--output", help="the .emoti file to write")
    parser.add_argument("--labels", type=_labels, help="class names in output order, comma-separated")
    parser.add_argument("--info", metavar="FILE.emoti", help="validate and describe a container")
    parser.add_argument("--mtcnn", nargs="+", metavar="TFLITE",
                        help="the MTCNN detector: a folder holding pnet/rnet/onet.tflite, or the three files")
    args = parser.parse_args(argv)
    try:
        if args.info:
            if args.input or args.output or args.labels or args.mtcnn:
                parser.error("--info takes no other arguments")
            show_info(args.info)
            return 0
        if args.mtcnn and (args.input or args.labels):
            parser.error("--mtcnn takes the detector's files only")
        if not (args.input or args.mtcnn) or not args.output:
            parser.error("INPUT and -o OUTPUT are required")
        start = time.perf_counter()
        args.input = args.input or " ".join(args.mtcnn)
        try:
            if args.mtcnn:
                blob, summary = convert_mtcnn(mtcnn_paths(args.mtcnn))
            else:
                blob, summary = convert(args.input, args.labels)
        except ExportError:
            raise
        except Exception as e:  # malformed input that slipped past the checks: still one line
            raise ExportError("unexpected %s: %s" % (type(e).__name__, e))
        write_atomically(args.output, blob)
        print("%s -> %s: %s, %d bytes, %.1f s"
              % (args.input, args.output, summary, len(blob), time.perf_counter() - start))
        return 0
    except ExportError as e:
        print("export: %s: %s" % (e.path or args.input or args.info, _one_line(str(e))), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
