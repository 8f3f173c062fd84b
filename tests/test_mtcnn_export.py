#!/usr/bin/env python3
"""tools/export.py --mtcnn: the three MTCNN .tflite files -> one `mtcnn` container.

Checks the container's tensors against the TFLite constants read by tests/mtcnn_ref.py's
own reader (by their TF names), the refusals (truncated and byte-flipped files, an
EfficientNet .pt or an .emoti where a net belongs, a net in the wrong slot, a missing
net), and runs the float64 reference nets on random inputs.
Needs numpy and ../shared/models/mtcnn (or $EMOTI_MTCNN); exits 77 without them.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "tests")]
MODELS = os.environ.get("EMOTI_MTCNN") or os.path.join(ROOT, "..", "shared", "models", "mtcnn")
FIXTURES = os.environ.get("EMOTI_FIXTURES") or os.path.join(ROOT, "..", "shared", "fixtures")
NETS = ("pnet", "rnet", "onet")
try:
    import numpy as np
except ImportError:
    print("SKIPPED test_mtcnn_export.py: numpy is not installed")
    sys.exit(77)
if not all(os.path.isfile(os.path.join(MODELS, n + ".tflite")) for n in NETS):
    print("SKIPPED test_mtcnn_export.py: no pnet/rnet/onet.tflite in %s" % os.path.abspath(MODELS))
    sys.exit(77)
import export  # noqa: E402
import mtcnn_ref  # noqa: E402

EXPORT = os.path.join(ROOT, "tools", "export.py")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL", what)


def cli(*args):
    p = subprocess.run([sys.executable, EXPORT] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def tf_name(net, name):
    """Container tensor name -> the TF name of the constant in the .tflite file."""
    ours, kind = name.split(".")[1:]
    tf = {"pnet": {"prob": "conv4-1", "box": "conv4-2"},
          "rnet": {"fc1": "conv4", "prob": "conv5-1", "box": "conv5-2"},
          "onet": {"fc1": "conv5", "prob": "conv6-1", "box": "conv6-2", "landmarks": "conv6-3"}}[net]
    layer = tf.get(ours, ours)
    if kind == "alpha":
        n = int(ours[-1]) if ours.startswith("conv") else {"rnet": 4, "onet": 5}[net]
        return "%s/%s%d/alpha/read" % (net, "PReLU" if net == "pnet" else "prelu", n)
    fc = net != "pnet" and (layer == tf.get("fc1") or layer in ("conv4-1", "conv5-1", "conv5-2",
                                                                 "conv6-1", "conv6-2", "conv6-3"))
    if kind == "w":
        return "%s/%s/weights/read%s" % (net, layer, "/transpose" if fc else "")
    return "%s/%s/%s" % (net, layer, "%s/MatMul_bias" % layer if fc else "Conv2D_bias")


def test_tensors(tmp):
    out = os.path.join(tmp, "m.emoti")
    rc, stdout, stderr = cli("--mtcnn", MODELS, "-o", out)
    check(rc == 0 and not stderr, "convert a folder: rc %d %s" % (rc, stderr))
    meta, tensors = export.read_container(out)
    check(meta["general.arch"] == "mtcnn" and meta["net.nets"] == list(NETS), "meta %s" % meta)
    for net in NETS:
        weights = mtcnn_ref.Graph(os.path.join(MODELS, net + ".tflite")).weights()
        mine = {k: v for k, v in tensors.items() if k.startswith(net + ".")}
        check(len(mine) == len(weights), "%s: %d tensors for %d constants" % (net, len(mine), len(weights)))
        for name, (shape, values) in mine.items():
            ref = weights.get(tf_name(net, name))
            check(ref is not None and tuple(ref.shape) == tuple(shape)
                  and np.array_equal(np.asarray(values, np.float64), ref.ravel()),
                  "%s differs from %s" % (name, tf_name(net, name)))
    files = [os.path.join(MODELS, n + ".tflite") for n in ("onet", "pnet", "rnet")]
    out2 = os.path.join(tmp, "m2.emoti")
    rc, _, stderr = cli("--mtcnn", *files, "-o", out2)
    check(rc == 0 and open(out, "rb").read() == open(out2, "rb").read(), "three files: %s" % stderr)
    return out


def refused(folder, what, expect):
    out = os.path.join(folder, "out.emoti")
    rc, stdout, stderr = cli("--mtcnn", folder, "-o", out)
    lines = stderr.splitlines()
    check(rc == 1 and len(lines) == 1 and lines[0].startswith("export: ") and expect in lines[0]
          and not os.path.exists(out), "%s: rc %d, stderr %r" % (what, rc, stderr))


def folder_with(tmp, tag, **replace):
    d = os.path.join(tmp, tag)
    os.mkdir(d)
    for net in NETS:
        src = replace.get(net, os.path.join(MODELS, net + ".tflite"))
        if src is not None:
            if isinstance(src, bytes):
                with open(os.path.join(d, net + ".tflite"), "wb") as f:
                    f.write(src)
            else:
                shutil.copy(src, os.path.join(d, net + ".tflite"))
    return d


def test_refusals(tmp, emoti):
    pnet = open(os.path.join(MODELS, "pnet.tflite"), "rb").read()
    refused(folder_with(tmp, "missing", onet=None), "missing onet", "onet.tflite")
    refused(folder_with(tmp, "swapped", pnet=os.path.join(MODELS, "rnet.tflite")), "rnet as pnet",
            "pnet.tflite: pnet:")
    refused(folder_with(tmp, "emoti", rnet=emoti), "an .emoti as rnet", "not a TFLite model")
    pt = os.path.join(FIXTURES, "b0_8.pt")
    if os.path.isfile(pt):
        refused(folder_with(tmp, "pt", pnet=pt), "an EfficientNet .pt as pnet", "not a TFLite model")
    refused(folder_with(tmp, "trunc", pnet=pnet[:len(pnet) // 2]), "truncated pnet", "pnet.tflite: ")
    refused(folder_with(tmp, "ident", pnet=pnet[:4] + b"XXXX" + pnet[8:]), "bad identifier", "TFL3")
    rc, _, stderr = cli(os.path.join(MODELS, "pnet.tflite"), "-o", os.path.join(tmp, "x.emoti"))
    check(rc == 1 and "--mtcnn" in stderr and len(stderr.splitlines()) == 1, "tflite as INPUT: %r" % stderr)
    # Fuzz in process: every truncation length class and random byte flips either convert or
    # raise ExportError (one line); nothing else may escape.
    rng = random.Random(14)
    cases = [pnet[:n] for n in list(range(0, 600, 7)) + rng.sample(range(len(pnet)), 60)]
    for _ in range(400):
        b = bytearray(pnet)
        for _ in range(rng.choice((1, 2, 8))):
            b[rng.randrange(len(b) if rng.random() < 0.3 else 2000)] = rng.randrange(256)
        cases.append(bytes(b))
    outcomes = {"ok": 0, "refused": 0}
    for data in cases:
        try:
            export.read_mtcnn_net("pnet", data)
            outcomes["ok"] += 1
        except export.ExportError:
            outcomes["refused"] += 1
        except Exception as e:  # noqa: BLE001 - the point of the test
            check(False, "mutated pnet raised %s: %s" % (type(e).__name__, e))
    print("fuzzed pnet: %d converted, %d refused" % (outcomes["ok"], outcomes["refused"]))


def test_reference():
    rng = np.random.default_rng(14)
    for net, shape, outs in (("pnet", (1, 31, 40, 3), [(1, 11, 15, 2), (1, 11, 15, 4)]),
                             ("rnet", (5, 24, 24, 3), [(5, 2), (5, 4)]),
                             ("onet", (5, 48, 48, 3), [(5, 2), (5, 4), (5, 10)])):
        got = mtcnn_ref.run(os.path.join(MODELS, net + ".tflite"), rng.uniform(-1, 1, shape))
        check([o.shape for o in got] == outs, "%s output shapes %s" % (net, [o.shape for o in got]))
        prob = got[0]
        check(np.all(prob >= 0) and np.allclose(prob.sum(-1), 1, atol=1e-12), "%s probabilities" % net)


def main():
    tmp = tempfile.mkdtemp(prefix="emoti-mtcnn-")
    try:
        emoti = test_tensors(tmp)
        test_refusals(tmp, emoti)
        test_reference()
    finally:
        shutil.rmtree(tmp)
    print("test_mtcnn_export: %s" % ("FAILED: %d" % len(failures) if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
