#!/usr/bin/env python3
"""Import heads trained elsewhere into the emoti container (`general.arch` = `mlp`,
weights/FORMAT.md): PyTorch state dicts of nn.Linear stacks (.pt, read without torch through
tools/export.py's checkpoint reader) and Keras .h5 files as the paper's notebook saves them
(model.save or save_weights; needs h5py).

  export_head.py head.pt -o expr.emoti --task expr
  export_head.py au_model.h5 -o au.emoti --task au --thresholds 0.8,0.8,0.7,0.5,0.5,0.5,0.6,0.8,0.8,0.8,0.3,0.7

Dense layers are taken in file order; hidden activations default to relu, the last to the
task's (va tanh, expr softmax, au sigmoid); Keras files give their own activations."""
import argparse
import json
import os
import sys
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402  (build_container, write_atomically, load_state, tensor_values)

TASK_OUT = {"va": ("tanh", ["valence", "arousal"]),
            "expr": ("softmax", ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]),
            "au": ("sigmoid", ["AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"])}
ACTS = ("none", "relu", "tanh", "sigmoid", "softmax")
DEFAULT_K = {"va": 50, "expr": 50, "au": 5}


def head_container(layers, task, input_kind, acts=None, smooth_k=None, thresholds=None, name=None,
                   source="", note=""):
    """layers: [(kernel [in][out] as a flat row-major sequence, in, out, bias)]; returns bytes."""
    final, labels = TASK_OUT[task]
    if acts is None:
        acts = ["relu"] * (len(layers) - 1) + [final]
    sizes = [layers[0][1]] + [out for _, _, out, _ in layers]
    for (_, n_in, _, _), prev in zip(layers[1:], sizes[1:]):
        if n_in != prev:
            raise export.ExportError("layer sizes do not chain: %s" % sizes)
    if any(a not in ACTS for a in acts) or len(acts) != len(layers):
        raise export.ExportError("activations %s: one of %s per layer" % (acts, ", ".join(ACTS)))
    n_out = sizes[-1]
    if task == "va" and n_out != 2:
        raise export.ExportError("a va head has 2 outputs, this one %d" % n_out)
    if len(labels) != n_out:
        labels = ["out%d" % i for i in range(n_out)]
    meta = [("general.arch", "str", "mlp"), ("general.name", "str", name or task + "_head"),
            ("general.source", "str", source), ("general.exporter", "str", "export_head.py"),
            ("head.task", "str", task), ("head.input", "str", input_kind),
            ("head.layers", "i32s", sizes), ("head.activations", "strs", acts),
            ("out.labels", "strs", labels),
            ("post.smooth_k", "i64", DEFAULT_K[task] if smooth_k is None else smooth_k)]
    if task == "au":
        thresholds = thresholds or [0.5] * n_out
        if len(thresholds) != n_out:
            raise export.ExportError("%d thresholds for %d AUs" % (len(thresholds), n_out))
        meta.append(("post.thresholds", "f64s", [float(t) for t in thresholds]))
    if note:
        meta.append(("head.note", "str", note))
    tensors = []
    for i, (kernel, n_in, n_out_l, bias) in enumerate(layers):
        tensors.append(("dense%d.w" % i, (n_in, n_out_l), array("f", kernel)))
        tensors.append(("dense%d.b" % i, (n_out_l,), array("f", bias)))
    return export.build_container(meta, tensors)


def _transpose(values, rows, cols):
    """[rows][cols] row-major -> [cols][rows]."""
    return [values[r * cols + c] for c in range(cols) for r in range(rows)]


def read_torch_linear(path):
    state, _ = export.load_state(path)
    layers = []
    for key, t in state.items():
        if not isinstance(t, export.TensorRef):  # a pickled module's parameter can be anything
            raise export.ExportError("%s is not a tensor" % key)
        if not key.endswith(".weight") or len(t.size) != 2:
            continue
        out, n_in = t.size
        w = export.tensor_values(t, key)
        bkey = key[:-len("weight")] + "bias"
        b = export.tensor_values(state[bkey], bkey) if bkey in state else [0.0] * out
        layers.append((_transpose(w, out, n_in), n_in, out, b))  # nn.Linear: y = x W^T + b
    if not layers:
        raise export.ExportError("no nn.Linear weights (2-D '*.weight') in the state dict")
    return layers, None


def read_keras_h5(path):
    try:
        import h5py
        import numpy as np
    except ImportError:
        raise export.ExportError("reading Keras .h5 needs h5py and numpy (apt-get install python3-h5py)")
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        acts = {}
        if "model_config" in f.attrs:
            cfg = f.attrs["model_config"]
            cfg = json.loads(cfg.decode() if isinstance(cfg, bytes) else cfg)
            for layer in cfg.get("config", {}).get("layers", []):
                if layer.get("class_name") == "Dense":
                    a = layer["config"].get("activation", "linear")
                    acts[layer["config"]["name"]] = "none" if a == "linear" else a
        names = [n.decode() if isinstance(n, bytes) else n for n in root.attrs.get("layer_names", list(root))]
        layers, act_list = [], []
        for name in names:
            found = {}

            def visit(key, item):  # returning anything but None would stop the walk
                if isinstance(item, h5py.Dataset):
                    found.setdefault(key.split("/")[-1].split(":")[0], item[()])
            root[name].visititems(visit)
            if "kernel" not in found:
                continue
            k = np.asarray(found["kernel"], dtype=np.float32)
            b = np.asarray(found["bias"], dtype=np.float32) if "bias" in found else np.zeros(k.shape[1], np.float32)
            layers.append((k.ravel().tolist(), k.shape[0], k.shape[1], b.tolist()))
            act_list.append(acts.get(name))
    if not layers:
        raise export.ExportError("no Dense kernels in the .h5 file")
    return layers, act_list if acts and all(act_list) else None


def main(argv=None):
    ap = argparse.ArgumentParser(description="Import a PyTorch or Keras head into an emoti head container.")
    ap.add_argument("input", help="state dict .pt of nn.Linear layers, or Keras .h5")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--task", required=True, choices=sorted(TASK_OUT))
    ap.add_argument("--input-kind", choices=("embedding", "logits"),
                    help="what the head reads (default: logits for va, else embedding)")
    ap.add_argument("--activations", help="comma-separated, one per layer (none relu tanh sigmoid softmax)")
    ap.add_argument("--smooth-k", type=int)
    ap.add_argument("--thresholds", help="AU thresholds, comma-separated")
    a = ap.parse_args(argv)
    try:
        if a.input.endswith((".h5", ".hdf5", ".keras")):
            layers, acts = read_keras_h5(a.input)
        else:
            layers, acts = read_torch_linear(a.input)
        if a.activations:
            acts = a.activations.split(",")
        blob = head_container(layers, a.task, a.input_kind or ("logits" if a.task == "va" else "embedding"),
                              acts, a.smooth_k, [float(t) for t in a.thresholds.split(",")] if a.thresholds else None,
                              source=os.path.basename(a.input))
        export.write_atomically(a.output, blob)
    except export.ExportError as e:
        print("export_head: %s: %s" % (e.path or a.input, e), file=sys.stderr)
        return 1
    print("%s -> %s: %s head, layers %s" % (a.input, a.output, a.task,
                                            "-".join(str(s) for s in [layers[0][1]] + [l[2] for l in layers])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
