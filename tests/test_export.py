#!/usr/bin/env python3
"""Tests of tools/export.py against the reference fixtures (../shared/fixtures).

Run from the repository root:  python3 tests/test_export.py
EMOTI_FIXTURES overrides the fixtures folder. Without the fixtures every test is skipped,
with the reason printed. With numpy, the exported containers also run a float64 forward
pass that must reproduce the fixtures' golden outputs (an independent check of layouts,
BatchNorm folding and the block table).
"""
import collections
import concurrent.futures
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile
from array import array

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "tests")]
import export  # noqa: E402
import make_statedict_pt as sdpt  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None

EXPORT = os.path.join(ROOT, "tools", "export.py")
FIXTURES = os.environ.get("EMOTI_FIXTURES") or os.path.join(ROOT, "..", "shared", "fixtures")
NEEDED = ("b0_8.pt", "b0_8.onnx", "b0_va_mtl.pt", "b2_8.onnx", "manifest_b0.json", "manifest_b2.json")
MISSING = [f for f in NEEDED if not os.path.isfile(os.path.join(FIXTURES, f))]
SKIP_REASON = "fixtures missing in %s: %s" % (os.path.abspath(FIXTURES), ", ".join(MISSING))
AFFECTNET8 = ["Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise"]
SEVEN = ["a", "b", "c", "d", "e", "f", "g"]

TMP = None      # scratch folder of this run
RESULTS = {}    # conversion tag -> (returncode, stdout, stderr, seconds, output path)
CONTAINERS = {}  # conversion tag -> read_container() of its output


def fixture(name):
    return os.path.join(FIXTURES, name)


def run_export(*args):
    start = time.perf_counter()
    p = subprocess.run([sys.executable, EXPORT] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - start


# ---- state-dict inputs built from b0_8.pt's storages ------------------------------------

def b0_state():
    """(OrderedDict name -> sdpt.Tensor, {key: bytes}) with b0_8.pt's tensors and storages."""
    state, _ = export.load_state(fixture("b0_8.pt"))
    types = {"float32": ("FloatStorage", 4), "int64": ("LongStorage", 8)}
    out, storages = collections.OrderedDict(), {}
    with zipfile.ZipFile(fixture("b0_8.pt")) as z:
        for name, t in state.items():
            key = t.storage.member.rsplit("/", 1)[1]
            storages[key] = z.read(t.storage.member)
            kind, size = types[t.storage.dtype]
            out[name] = sdpt.Tensor(sdpt.Storage(kind, key, len(storages[key]) // size), t.offset, t.size, t.stride)
    return out, storages


def transposed_classifier(state, storages, first):
    """Stores classifier.0.weight [8, 1280] transposed, then views its rows first..7 through
    an offset and strides (1, 8): a non-contiguous tensor; the bias becomes an offset view."""
    w = state["classifier.0.weight"]
    values = array("f", storages[w.storage.key])
    storages["wT"] = array("f", [values[o * 1280 + i] for i in range(1280) for o in range(8)]).tobytes()
    state["classifier.0.weight"] = sdpt.Tensor(sdpt.Storage("FloatStorage", "wT", 8 * 1280), first,
                                               (8 - first, 1280), (1, 8))
    b = state["classifier.0.bias"]
    state["classifier.0.bias"] = sdpt.Tensor(b.storage, b.offset + first, (8 - first,), (1,))


def contiguous(storage_key, shape):
    """A fresh FloatStorage tensor of `shape` (row-major) and its bytes."""
    strides, n = [], 1
    for d in reversed(shape):
        strides.insert(0, n)
        n *= d
    data = array("f", [0.01 * k for k in range(n)]).tobytes()
    return sdpt.Tensor(sdpt.Storage("FloatStorage", storage_key, n), 0, shape, tuple(strides)), data


def make_state_dict_inputs():
    """The state-dict variants the tests convert or refuse; returns {tag: path}."""
    paths = {}

    def write(tag, filename, obj, storages):
        folder = os.path.join(TMP, tag)
        os.makedirs(folder)
        paths[tag] = os.path.join(folder, filename)
        sdpt.write_state_dict(paths[tag], obj, storages)

    state, storages = b0_state()
    write("sd_plain", "b0_8.pt", state, storages)

    nested, st = collections.OrderedDict(state), dict(storages)
    transposed_classifier(nested, st, 0)
    nested = collections.OrderedDict(("module." + k, v) for k, v in nested.items())
    write("sd_nested", "b0_8.pt", {"epoch": 3, "state_dict": nested}, st)

    seven = collections.OrderedDict(state)
    st = dict(storages)
    transposed_classifier(seven, st, 1)
    write("sd_7", "b0_7.pt", seven, st)

    missing = collections.OrderedDict(state)
    del missing["blocks.5.2.bn2.running_var"]
    write("sd_missing", "missing.pt", missing, storages)

    wrong = collections.OrderedDict(state)
    head = wrong["conv_head.weight"]
    wrong["blocks.3.0.conv_dw.weight"] = sdpt.Tensor(head.storage, 0, (240, 1, 5, 5), (25, 25, 5, 1))
    write("sd_wrong_shape", "wrong.pt", wrong, storages)

    half = collections.OrderedDict(state)
    stem = half["conv_stem.weight"]
    half["conv_stem.weight"] = sdpt.Tensor(sdpt.Storage("HalfStorage", "h", 864), 0, stem.size, stem.stride)
    write("sd_half", "half.pt", half, dict(storages, h=bytes(2 * 864)))

    resnet, res_storages = collections.OrderedDict(), {}
    shapes = [("conv1.weight", (4, 3, 7, 7)), ("bn1.weight", (4,)), ("bn1.bias", (4,)),
              ("layer1.0.conv1.weight", (4, 4, 3, 3)), ("fc.weight", (10, 4)), ("fc.bias", (10,))]
    for i, (name, shape) in enumerate(shapes):
        resnet[name], res_storages[str(i)] = contiguous(str(i), shape)
    write("sd_resnet", "resnet18.pt", resnet, res_storages)
    return paths


# ---- module setup: build inputs, run the conversions two at a time -----------------------

def setUpModule():
    global TMP
    if MISSING:
        print("\n*** SKIPPING tests/test_export.py: %s ***\n" % SKIP_REASON, file=sys.stderr)
        return
    TMP = tempfile.mkdtemp(prefix="emoti_export_test_")
    inputs = make_state_dict_inputs()
    jobs = {
        "b0_8.pt": (fixture("b0_8.pt"),), "b0_8.onnx": (fixture("b0_8.onnx"),),
        "b0_va_mtl.pt": (fixture("b0_va_mtl.pt"),), "b2_8.onnx": (fixture("b2_8.onnx"),),
        "sd_plain": (inputs["sd_plain"],), "sd_nested": (inputs["sd_nested"],),
        "sd_7_labels": (inputs["sd_7"], "--labels", ",".join(SEVEN)),
    }

    def convert(tag):
        out = os.path.join(TMP, tag.replace(".", "_") + ".emoti")
        rc, so, se, sec = run_export(*jobs[tag], "-o", out)
        return tag, (rc, so, se, sec, out)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        RESULTS.update(pool.map(convert, jobs))
    RESULTS["inputs"] = inputs


def tearDownModule():
    if TMP:
        print("\nconversion times (%s, 2 at a time):" % sys.executable, file=sys.stderr)
        for tag, r in RESULTS.items():
            if tag != "inputs":
                print("  %-13s %5.1f s" % (tag, r[3]), file=sys.stderr)
        shutil.rmtree(TMP, ignore_errors=True)


def converted(test, tag):
    """(meta, tensors) of a successful conversion, read back once."""
    rc, so, se, _, out = RESULTS[tag]
    test.assertEqual(rc, 0, "export of %s failed: %s" % (tag, se))
    if tag not in CONTAINERS:
        CONTAINERS[tag] = export.read_container(out)
    return CONTAINERS[tag]


# ---- expectations from the manifests (independent of the exporter's own definition) -----

def expected_blocks(model):
    """net.blocks rows from a manifest: shapes from the state dict, strides from the repr."""
    sd, rows = model["state_dict"], []
    dw = re.findall(r"\(conv_dw\): Conv2d(?:Same)?\((\d+), \d+, kernel_size=\((\d+), \d+\), stride=\((\d+), \d+\)",
                    model["repr"])
    prefixes = sorted({".".join(k.split(".")[:3]) for k in sd if k.startswith("blocks.")},
                      key=lambda p: tuple(int(x) for x in p.split(".")[1:]))
    for p, (mid, k, stride) in zip(prefixes, dw):
        kind = int(p + ".conv_pwl.weight" in sd)
        proj = sd[p + (".conv_pwl.weight" if kind else ".conv_pw.weight")]
        cin = sd[p + ".conv_pw.weight"][1] if kind else int(mid)
        cout, se = proj[0], sd[p + ".se.conv_reduce.weight"][0]
        rows += [int(p.split(".")[1]), kind, int(k), int(stride), cin, int(mid), cout, se,
                 int(stride == "1" and cin == cout)]
    assert len(dw) == len(prefixes)
    return rows


def manifest(name):
    with open(fixture("manifest_%s.json" % name)) as f:
        return json.load(f)["models"]


class TestUnits(unittest.TestCase):
    """Pieces that need no fixtures."""

    def test_default_labels(self):
        self.assertEqual(export.output_layout(7, None), (7, -1, -1, [n for n in AFFECTNET8 if n != "Contempt"]))
        self.assertEqual(export.output_layout(8, None), (8, -1, -1, AFFECTNET8))
        self.assertEqual(export.output_layout(10, None), (8, 8, 9, AFFECTNET8))
        with self.assertRaisesRegex(export.ExportError, "1000 outputs"):
            export.output_layout(1000, None)

    def test_strided_view(self):
        storage = export.Storage(None, "m", export.StorageType("FloatStorage"))
        storage._floats = array("f", range(12))
        view = export.TensorRef(storage, 1, (2, 3), (1, 4))  # a transposed 3x4, minus column 0
        self.assertEqual(list(export.tensor_values(view, "t")), [1, 5, 9, 2, 6, 10])
        outside = export.TensorRef(storage, 4, (3, 4), (4, 1))
        with self.assertRaisesRegex(export.ExportError, "outside its storage"):
            export.tensor_values(outside, "t")

    def test_checksum_matches_the_definition(self):
        data = bytearray(struct.pack("<%dI" % 64, *[(i * 2654435761) & 0xFFFFFFFF for i in range(64)]))
        a = b = 0
        for i, w in enumerate(struct.unpack("<64I", data)):
            a = (a + (0 if i in (14, 15) else w)) & 0xFFFFFFFF
            b = (b + a) & 0xFFFFFFFF
        saved = export._np
        try:
            for numpy in (saved, None):
                export._np = numpy
                self.assertEqual(export.checksum(data), (b << 32) | a)
        finally:
            export._np = saved

    def test_container_round_trip(self):
        meta = [("general.arch", "str", "x"), ("a.i", "i64", -5), ("a.f", "f64", 0.25), ("a.ints", "i32s", [1, -2]),
                ("a.floats", "f32s", [0.5]), ("a.strs", "strs", ["p", "q"])]
        tensors = [("t1", (2, 3), array("f", range(6))), ("t2", (1,), array("f", [7.0]))]
        path = os.path.join(tempfile.mkdtemp(), "t.emoti")
        export.write_atomically(path, export.build_container(meta, tensors))
        got_meta, got = export.read_container(path)
        self.assertEqual(got_meta, {k: v for k, _, v in meta})
        self.assertEqual({k: (s, list(v)) for k, (s, v) in got.items()},
                         {"t1": ((2, 3), list(range(6))), "t2": ((1,), [7])})
        self.assertEqual(os.path.getsize(path) % 64, 0)
        shutil.rmtree(os.path.dirname(path))

    def test_container_damage_is_detected(self):
        meta = [("general.arch", "str", "x")]
        blob = export.build_container(meta, [("t", (4, 16), array("f", range(64)))])
        folder = tempfile.mkdtemp()
        path = os.path.join(folder, "t.emoti")
        swapped = blob[:256] + blob[260:264] + blob[256:260] + blob[264:]
        for bad, why in ((blob[:70] + b"y" + blob[71:], "checksum"), (swapped, "checksum"),
                         (blob[:-64], "file_size"), (b"EMOTIMDX" + blob[8:], "magic")):
            with open(path, "wb") as f:
                f.write(bad)
            with self.assertRaisesRegex(export.ContainerError, why):
                export.read_container(path)
        shutil.rmtree(folder)

    def test_non_finite_weights_are_refused(self):
        with self.assertRaisesRegex(export.ExportError, "t holds NaN"):
            export.build_container([], [("t", (2,), array("f", [1.0, float("nan")]))])

    def test_onnx_classifier_forms(self):
        """Gemm transB=1, Gemm transB=0 and MatMul + Add give the same classifier."""
        w = [((i * 37) % 101) / 100.0 for i in range(8 * 1280)]
        wt = [w[o * 1280 + i] for i in range(1280) for o in range(8)]
        bias = tensor("b", [8], range(8))
        forms = [
            ([node("Gemm", ["x", "W", "b"], ["y"], transB=1)], [tensor("W", [8, 1280], w)]),
            ([node("Gemm", ["x", "W", "b"], ["y"])], [tensor("W", [1280, 8], wt)]),
            ([node("MatMul", ["x", "W"], ["m"]), node("Add", ["m", "b"], ["y"])], [tensor("W", [1280, 8], wt)]),
        ]
        for nodes, consts in forms:
            graph = export.OnnxGraph.__new__(export.OnnxGraph)
            graph.nodes, graph.outputs = nodes, ["y"]
            graph.consts = {t.name: t for t in consts + [bias]}
            graph.producer = {o: n for n in nodes for o in n.outputs}
            shape, weight, b = export._onnx_classifier(graph, export.SPECS[0])
            self.assertEqual((shape, list(weight), list(b)), ((8, 1280), [float(v) for v in array("f", w)],
                                                              list(range(8))))


def node(op, inputs, outputs, **attrs):
    n = export.OnnxNode(b"")
    n.op, n.inputs, n.outputs, n.attrs = op, inputs, outputs, attrs
    return n


def tensor(name, dims, values):
    t = export.OnnxTensor(b"")
    t.name, t.dims, t.dtype, t.float_data = name, dims, export.ONNX_FLOAT, array("f", values)
    return t


@unittest.skipIf(MISSING, SKIP_REASON)
class TestConversions(unittest.TestCase):
    CASES = {  # tag: (manifest, model, name, size, features, outputs, valence, arousal, blocks)
        "b0_8.pt": ("b0", "b0_8", "tf_efficientnet_b0", 224, 1280, 8, -1, -1, 16),
        "b0_8.onnx": ("b0", "b0_8", "tf_efficientnet_b0", 224, 1280, 8, -1, -1, 16),
        "b0_va_mtl.pt": ("b0", "b0_va_mtl", "tf_efficientnet_b0", 224, 1280, 10, 8, 9, 16),
        "b2_8.onnx": ("b2", "b2_8", "tf_efficientnet_b2", 260, 1408, 8, -1, -1, 23),
    }

    def test_metadata(self):
        for tag, (man, model, name, size, feat, outs, val, aro, nblocks) in self.CASES.items():
            with self.subTest(tag):
                meta, tensors = converted(self, tag)
                self.assertEqual(meta["general.arch"], "efficientnet")
                self.assertEqual(meta["general.name"], name)
                self.assertEqual(meta["general.source"], tag)
                self.assertTrue(meta["general.exporter"])
                self.assertEqual(meta["input.size"], size)
                self.assertEqual(meta["input.resize"], "pil_bilinear")
                for got, want in zip(meta["input.mean"] + meta["input.std"], export.MEAN + export.STD):
                    self.assertAlmostEqual(got, want, places=7)
                self.assertEqual(meta["net.bn_eps"], 1e-3)
                self.assertEqual(meta["net.stem_channels"], 32)
                self.assertEqual(meta["net.features"], feat)
                self.assertEqual((meta["out.count"], meta["out.logits"]), (outs, 8))
                self.assertEqual((meta["out.valence"], meta["out.arousal"]), (val, aro))
                self.assertEqual(meta["out.labels"], AFFECTNET8)
                rows = meta["net.blocks"]
                self.assertEqual(len(rows), 9 * nblocks)
                self.assertEqual(rows, expected_blocks(manifest(man)[model]))
                self.assertEqual(tensors["fc.w"][0], (feat, outs))
                self.assertEqual(tensors["stem.w"][0], (3, 3, 3, 32))

    def test_tensor_shapes_follow_the_block_table(self):
        meta, tensors = converted(self, "b2_8.onnx")
        rows = meta["net.blocks"]
        names = ["stem.w", "stem.b"]
        for i in range(0, len(rows), 9):
            stage, kind, k, stride, cin, mid, cout, se, skip = rows[i:i + 9]
            b = "b%d." % (i // 9)
            strips = lambda rows, cols: (-(-cols // 16), rows, 16)  # noqa: E731
            want = ([(b + "exp.w", strips(cin, mid)), (b + "exp.b", (mid,))] if kind else []) + [
                (b + "dw.w", (k, k, mid)), (b + "dw.b", (mid,)), (b + "se1.w", (mid, se)), (b + "se1.b", (se,)),
                (b + "se2.w", (se, mid)), (b + "se2.b", (mid,)), (b + "proj.w", strips(mid, cout)),
                (b + "proj.b", (cout,))]
            for name, shape in want:
                self.assertEqual(tensors[name][0], shape, name)
            names += [n for n, _ in want]
        names += ["head.w", "head.b", "fc.w", "fc.b"]
        self.assertEqual(list(tensors), names)
        self.assertEqual(tensors["head.w"][0], (1408 // 16, rows[-3], 16))
        # the columns past the last of a strips tensor are zero (B2's 120- and 88-wide layers)
        for name, (shape, values) in tensors.items():
            if len(shape) == 3 and shape[2] == 16:
                cols = len(tensors[name[:-1] + "b"][1])
                last = values[(shape[0] - 1) * shape[1] * 16:]
                pad = [last[r * 16 + c] for r in range(shape[1]) for c in range(cols % 16 or 16, 16)]
                self.assertEqual(pad, [0.0] * len(pad), name)

    def test_strips_layout(self):
        w = array("f", range(3 * 20))  # 3 x 20, row-major
        s = export.to_strips(w, 3, 20)
        self.assertEqual(len(s), 2 * 3 * 16)
        self.assertEqual(list(s[:16]), list(range(16)))                    # strip 0, row 0
        self.assertEqual(list(s[16:32]), list(range(20, 36)))              # strip 0, row 1
        self.assertEqual(list(s[48:52]) + list(s[52:64]), [16, 17, 18, 19] + [0] * 12)  # strip 1, row 0

    def test_pt_and_onnx_agree(self):
        _, a = converted(self, "b0_8.pt")
        _, b = converted(self, "b0_8.onnx")
        self.assertEqual(list(a), list(b))
        worst, where = 0.0, None
        for name, (shape, va) in a.items():
            shape_b, vb = b[name]
            self.assertEqual(shape, shape_b, name)
            diff = max(map(abs, map(float.__sub__, va, vb)))
            rel = diff / max(max(map(abs, vb)), 1e-30)
            if rel >= worst:
                worst, where = rel, name
        print("\nb0_8 .pt vs .onnx: worst per-tensor max|a-b|/max|b| = %.3g (%s)" % (worst, where),
              file=sys.stderr)
        self.assertLess(worst, 1e-6)

    def test_cli_prints_a_summary(self):
        rc, so, se, _, out = RESULTS["b2_8.onnx"]
        self.assertEqual((rc, se), (0, ""))
        self.assertIn("tf_efficientnet_b2, 23 blocks, 8 outputs", so)
        rc, so, se, _ = run_export("--info", out)
        self.assertEqual(rc, 0, se)
        self.assertIn("general.name = 'tf_efficientnet_b2'", so)
        self.assertIn("fc.w", so)


@unittest.skipIf(MISSING, SKIP_REASON)
class TestStateDicts(unittest.TestCase):
    def test_plain_state_dict_gives_the_same_bytes(self):
        converted(self, "sd_plain")
        with open(RESULTS["sd_plain"][4], "rb") as f, open(RESULTS["b0_8.pt"][4], "rb") as g:
            self.assertEqual(f.read(), g.read())

    def test_nested_prefixed_strided_state_dict_gives_the_same_bytes(self):
        converted(self, "sd_nested")
        with open(RESULTS["sd_nested"][4], "rb") as f, open(RESULTS["b0_8.pt"][4], "rb") as g:
            self.assertEqual(f.read(), g.read())

    def test_seven_classes_with_offset_view_and_labels(self):
        meta, tensors = converted(self, "sd_7_labels")
        _, full = converted(self, "b0_8.pt")
        self.assertEqual((meta["out.count"], meta["out.logits"], meta["out.labels"]), (7, 7, SEVEN))
        self.assertEqual((meta["out.valence"], meta["out.arousal"]), (-1, -1))
        shape, w7 = tensors["fc.w"]
        w8 = full["fc.w"][1]
        self.assertEqual(shape, (1280, 7))
        self.assertEqual(list(w7), [w8[i * 8 + o] for i in range(1280) for o in range(1, 8)])
        self.assertEqual(list(tensors["fc.b"][1]), list(full["fc.b"][1])[1:])


@unittest.skipIf(MISSING, SKIP_REASON)
class TestRefusals(unittest.TestCase):
    def refuse(self, path, *words, args=()):
        folder = tempfile.mkdtemp(dir=TMP)
        out = os.path.join(folder, "out.emoti")
        rc, so, se, _ = run_export(path, "-o", out, *args)
        self.assertEqual(rc, 1, "expected a refusal, got rc %d: %s%s" % (rc, so, se))
        lines = se.strip().splitlines()
        self.assertEqual(len(lines), 1, se)
        self.assertTrue(lines[0].startswith("export: %s: " % path), se)
        for word in words:
            self.assertIn(word, lines[0])
        self.assertEqual(os.listdir(folder), [], "output left behind")

    def copy_modified(self, name, change, new_name=None):
        with open(fixture(name), "rb") as f:
            data = change(f.read())
        path = os.path.join(TMP, new_name or "mod_" + name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_truncated_pt(self):
        self.refuse(self.copy_modified("b0_8.pt", lambda d: d[:len(d) // 2]), "zip")

    def test_truncated_onnx(self):
        self.refuse(self.copy_modified("b0_8.onnx", lambda d: d[:len(d) // 2]), "ONNX")

    def test_garbled_pt(self):
        garble = lambda d: d[:len(d) // 2] + bytes(range(256)) + d[len(d) // 2 + 256:]  # noqa: E731
        self.refuse(self.copy_modified("b0_8.pt", garble), "CRC")

    def test_not_a_model(self):
        path = os.path.join(TMP, "notes.pt")
        with open(path, "w") as f:
            f.write("these are not the weights you are looking for\n" * 10)
        self.refuse(path, "not a PyTorch checkpoint (zip) or a readable ONNX model")

    def test_unknown_onnx_op(self):
        path = self.copy_modified("b0_8.onnx", lambda d: d.replace(b"Sigmoid", b"Sigmoie"))
        self.refuse(path, "unsupported ONNX op Sigmoie")

    def test_resnet_state_dict(self):
        self.refuse(RESULTS["inputs"]["sd_resnet"], "not an EfficientNet", "conv1.weight")

    def test_missing_tensor(self):
        self.refuse(RESULTS["inputs"]["sd_missing"], "blocks.5.2.bn2.running_var is missing")

    def test_wrong_shape(self):
        self.refuse(RESULTS["inputs"]["sd_wrong_shape"], "blocks.3.0.conv_dw.weight has shape [240, 1, 5, 5]",
                    "expects [240, 1, 3, 3]")

    def test_half_precision(self):
        self.refuse(RESULTS["inputs"]["sd_half"], "conv_stem.weight is float16", "float32")

    def test_wrong_label_count(self):
        self.refuse(RESULTS["inputs"]["sd_7"], "--labels gives 8 names", args=("--labels", ",".join(AFFECTNET8)))

    def test_symmetric_stride2_padding(self):
        """A whole model whose stride-2 convs are plain Conv2d (timm's non-tf_ EfficientNet)."""
        _, modules = export.load_state(fixture("b0_8.pt"))
        spec = export.SPECS[0]
        export._check_module_geometry(spec, modules)
        stem = modules["conv_stem"]
        stem.__class__ = type("Conv2d", (export.Stub,), {"qualname": "torch.nn.modules.conv.Conv2d"})
        stem.padding = (1, 1)
        with self.assertRaisesRegex(export.ExportError, "conv_stem is a torch.nn.modules.conv.Conv2d with padding"):
            export._check_module_geometry(spec, modules)

    def test_missing_file(self):
        self.refuse(os.path.join(TMP, "no_such_model.pt"), "No such file")

    def test_directory(self):
        self.refuse(TMP, "directory")

    def test_usage_errors(self):
        self.assertEqual(run_export(fixture("b0_8.pt"))[0], 2)
        self.assertEqual(run_export(fixture("b0_8.pt"), "-o", os.path.join(TMP, "x"), "--labels", "a,,b")[0], 2)
        self.assertFalse(os.path.exists(os.path.join(TMP, "x")))


@unittest.skipIf(MISSING, SKIP_REASON)
class TestContainer(unittest.TestCase):
    def test_flipped_byte_fails_the_checksum(self):
        rc, _, se, _, out = RESULTS["b0_8.onnx"]
        self.assertEqual(rc, 0, se)
        with open(out, "rb") as f:
            data = bytearray(f.read())
        data[len(data) // 2] ^= 0x10  # inside a tensor
        path = os.path.join(TMP, "flipped.emoti")
        with open(path, "wb") as f:
            f.write(data)
        with self.assertRaisesRegex(export.ContainerError, "checksum"):
            export.read_container(path)


@unittest.skipIf(MISSING, SKIP_REASON)
@unittest.skipIf(np is None, "numpy not importable: the float64 forward-pass check needs it")
class TestForwardPass(unittest.TestCase):
    """Runs each container in float64 NHWC and compares with the fixtures' float64 outputs."""

    def test_outputs_match_the_golden_float64_reference(self):
        for tag, man, model in (("b0_8.pt", "b0", "b0_8"), ("b0_va_mtl.pt", "b0", "b0_va_mtl"),
                                ("b2_8.onnx", "b2", "b2_8")):
            with self.subTest(tag):
                meta, tensors = converted(self, tag)
                info = manifest(man)[model]
                s = meta["input.size"]
                x = np.fromfile(fixture(info["inputs"]["file"]), "<f4", count=3 * s * s).reshape(3, s, s)
                feats, out = forward(meta, tensors, x.transpose(1, 2, 0).astype(np.float64))
                n = meta["out.count"]
                ref = np.fromfile(fixture(info["ref_f64_output"]["file"]), "<f4", count=n)
                ref_f = np.fromfile(fixture(info["ref_f64_features"]["file"]), "<f4", count=meta["net.features"])
                err, err_f = np.abs(out - ref).max(), np.abs(feats - ref_f).max()
                print("\n%s: forward pass vs float64 reference: outputs %.2g, features %.2g (max abs)"
                      % (tag, err, err_f), file=sys.stderr)
                self.assertLess(err, 2e-5)
                self.assertLess(err_f, 2e-5)


def forward(meta, tensors, x):
    """Float64 reference forward pass over a container: x [S, S, 3] normalised -> (features, outputs)."""
    t = {k: np.asarray(v, np.float64).reshape(shape) for k, (shape, v) in tensors.items()}
    for k, w in t.items():  # 1x1 weights in 16-column strips [s, in, 16] -> [in, out]
        if k.endswith(("exp.w", "proj.w", "head.w")):  # not a 16-channel depthwise [k, k, 16]
            t[k] = w.transpose(1, 0, 2).reshape(w.shape[1], -1)[:, :len(t[k[:-1] + "b"])]
    swish = lambda v: v / (1.0 + np.exp(-v))  # noqa: E731

    def conv(v, w, stride, depthwise):
        k = w.shape[0]
        h, wd = v.shape[:2]
        if stride == 1:
            pad = [(k // 2, k // 2)] * 2
        else:
            pad = [(tot // 2, tot - tot // 2) for tot in
                   (max((-(-n // 2) - 1) * 2 + k - n, 0) for n in (h, wd))]
        vp = np.pad(v, pad + [(0, 0)])
        ho, wo = -(-h // stride), -(-wd // stride)
        acc = 0
        for dy in range(k):
            for dx in range(k):
                patch = vp[dy:dy + stride * (ho - 1) + 1:stride, dx:dx + stride * (wo - 1) + 1:stride]
                acc = acc + (patch * w[dy, dx] if depthwise else patch @ w[dy, dx])
        return acc

    v = swish(conv(x, t["stem.w"], 2, False) + t["stem.b"])
    rows = meta["net.blocks"]
    for i in range(0, len(rows), 9):
        _, kind, _, stride, _, _, _, _, skip = rows[i:i + 9]
        b = "b%d." % (i // 9)
        h = swish(v @ t[b + "exp.w"] + t[b + "exp.b"]) if kind else v
        h = swish(conv(h, t[b + "dw.w"], stride, True) + t[b + "dw.b"])
        s = swish(h.mean(axis=(0, 1)) @ t[b + "se1.w"] + t[b + "se1.b"])
        h = h / (1.0 + np.exp(-(s @ t[b + "se2.w"] + t[b + "se2.b"])))
        h = h @ t[b + "proj.w"] + t[b + "proj.b"]
        v = h + v if skip else h
    feats = swish(v @ t["head.w"] + t["head.b"]).mean(axis=(0, 1))
    return feats, feats @ t["fc.w"] + t["fc.b"]


if __name__ == "__main__":
    unittest.main(verbosity=2)
