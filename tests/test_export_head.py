#!/usr/bin/env python3
"""tools/export_head.py: a PyTorch nn.Linear stack (state dict .pt) and a Keras-layout .h5 become
head containers whose `emoti predict --values` outputs equal the framework's forward pass.
Skips (77) without numpy; the .pt leg needs python3-torch, the .h5 leg python3-h5py."""
import os
import shutil
import subprocess
import sys
import tempfile

# numpy/sklearn/torch come from Debian packages: use Debian's python when $PYTHON lacks them.
if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
    try:
        import numpy  # noqa: F401
    except ImportError:
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
try:
    import numpy as np
except ImportError:
    print("SKIPPED: numpy missing")
    sys.exit(77)

EMOTI = os.environ.get("EMOTI", "./emoti")
TMP = tempfile.mkdtemp(prefix="emoti_head_")
failures, legs = 0, 0


def fake_extract(x):
    """x as the embedding of `emoti extract` output: one video, frames 1..n."""
    np.save(os.path.join(TMP, "f.features.npy"), x.astype(np.float32))
    np.save(os.path.join(TMP, "f.outputs.npy"), np.zeros((len(x), 8), np.float32))
    with open(os.path.join(TMP, "f.index.csv"), "w") as f:
        f.write("row,key,video,frame,source\n" + "".join("%d,vid/%05d.jpg,vid,%d,x\n" % (i, i + 1, i) for i in range(len(x))))


def predict(head):
    out = subprocess.run([EMOTI, "predict", "-H", head, "-i", os.path.join(TMP, "f"), "-k", "0", "--values"],
                         check=True, capture_output=True, text=True).stdout.split("\n")[1:]
    return np.array([[float(v) for v in l.split(",")[1:]] for l in out if l])


def export(src, dst, *extra):
    subprocess.run([sys.executable, "tools/export_head.py", src, "-o", dst] + list(extra), check=True,
                   capture_output=True)


rng = np.random.default_rng(3)
x = rng.normal(size=(40, 32)).astype(np.float32)
fake_extract(x)
try:
    import torch
    legs += 1
    net = torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.ReLU(), torch.nn.Linear(16, 12))
    torch.save(net.state_dict(), os.path.join(TMP, "au.pt"))
    export(os.path.join(TMP, "au.pt"), os.path.join(TMP, "au.emoti"), "--task", "au")
    want = torch.sigmoid(net(torch.tensor(x))).detach().numpy()
    err = np.abs(predict(os.path.join(TMP, "au.emoti")) - want).max()
    print("PyTorch state dict -> head: max |emoti - torch| = %.2e" % err)
    failures += err > 1e-5
except ImportError:
    print("(python3-torch not installed: .pt leg skipped)")
try:
    import h5py
    legs += 1
    k1, b1 = rng.normal(size=(32, 16)).astype(np.float32), rng.normal(size=16).astype(np.float32)
    k2, b2 = rng.normal(size=(16, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32)
    with h5py.File(os.path.join(TMP, "expr.h5"), "w") as f:  # what Keras' model.save writes
        f.attrs["model_config"] = ('{"class_name": "Sequential", "config": {"layers": ['
                                   '{"class_name": "Dense", "config": {"name": "dense", "activation": "relu"}},'
                                   '{"class_name": "Dense", "config": {"name": "dense_1", "activation": "softmax"}}]}}')
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [b"dense", b"dense_1"]
        for name, k, b in (("dense", k1, b1), ("dense_1", k2, b2)):
            g = mw.create_group(name).create_group(name)
            g["kernel:0"], g["bias:0"] = k, b
    export(os.path.join(TMP, "expr.h5"), os.path.join(TMP, "expr.emoti"), "--task", "expr")
    z = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    err = np.abs(predict(os.path.join(TMP, "expr.emoti")) - want).max()
    print("Keras .h5 -> head: max |emoti - numpy| = %.2e" % err)
    failures += err > 1e-5
except ImportError:
    print("(python3-h5py not installed: .h5 leg skipped)")
shutil.rmtree(TMP, True)
if not legs:
    print("SKIPPED: neither torch nor h5py installed")
    sys.exit(77)
sys.exit(1 if failures else 0)
