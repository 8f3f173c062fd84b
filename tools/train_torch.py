#!/usr/bin/env python3
"""The paper's head training in PyTorch, to compare with `emoti fit` on the same data and
hyper-parameters (issue 5: within 1 point of F1/CCC). Reads `emoti extract` output and an
Aff-Wild2 annotation tree (<Task>_Set/{Train_Set,Validation_Set}/<video>.txt), trains

  VA   Dense(2, tanh) on the outputs, 1 - (CCC_V + CCC_A)/2 on batch statistics (eps 1e-7)
       + L2 1/1024 on the kernel
  EXPR 1280 -> 128 ReLU -> 8 softmax, class-weighted CE (w_c = max_count / count_c)
  AU   1280 -> 128 ReLU -> 12 sigmoid, mean of w0^(1-y) w1^y BCE (w0 = N/2neg, w1 = N/2pos)

with Adam (lr 1e-3, eps 1e-7 as Keras), glorot-uniform kernels and zero biases, reshuffling
every epoch, keeping the epoch with the best validation metric (per frame, no smoothing) -
the same recipe as engine/train/train.c - and prints the validation metric per epoch. With --emoti
it also runs `emoti fit` with the same settings and prints both; with --export-dir it writes
the PyTorch heads as emoti containers (tools/export_head.py), e.g. for `emoti predict`.

  tools/train_torch.py DATA [--tasks expr,au,va] [--emoti ./emoti] [--epochs N] [--batch N]"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PAPER = {"va": dict(batch=1024, epochs=20, l2=1 / 1024, hidden=[]),
         "expr": dict(batch=256, epochs=10, l2=0.0, hidden=[128]),
         "au": dict(batch=512, epochs=5, l2=0.0, hidden=[128])}
COLS = {"va": 2, "expr": 1, "au": 12}
OUT = {"va": 2, "expr": 8, "au": 12}


def read_annotations(folder, task):
    ann = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".txt"):
            rows = [l.strip().split(",") for l in open(os.path.join(folder, name)).read().split("\n")[1:] if l.strip()]
            ann[name[:-4]] = np.array(rows, dtype=np.float64).reshape(len(rows), COLS[task])
    return ann


def join(prefix, folder, task, use_logits):
    x = np.load(prefix + (".outputs.npy" if use_logits else ".features.npy"))
    index = [l.split(",") for l in open(prefix + ".index.csv").read().split("\n")[1:] if l]
    ann = read_annotations(folder, task)
    rows, ys = [], []
    for r, (_, key, video, _, _) in enumerate(index):
        if video not in ann:
            continue
        frame = int(re.match(r"(\d+)", key.rsplit("/", 1)[1]).group(1))
        y = ann[video][frame - 1]
        valid = y[0] != -1 if task == "expr" else (y != -1).all() if task == "au" else (y != -5).all()
        if valid:
            rows.append(r)
            ys.append(y)
    return torch.tensor(x[rows]), torch.tensor(np.array(ys))


def ccc(x, y, eps=0.0):
    mx, my = x.mean(0), y.mean(0)
    vx, vy = ((x - mx) ** 2).mean(0), ((y - my) ** 2).mean(0)
    cov = ((x - mx) * (y - my)).mean(0)
    return 2 * cov / (vx + vy + (mx - my) ** 2 + eps)


def f1(t, p):
    tp, fp, fn = ((t == 1) & (p == 1)).sum(), ((t != 1) & (p == 1)).sum(), ((t == 1) & (p != 1)).sum()
    return 0.0 if 2 * tp + fp + fn == 0 else float(2 * tp) / float(2 * tp + fp + fn)


def metric(task, out, y):
    if task == "va":
        return float(ccc(out.double(), y.double()).mean())
    if task == "expr":
        p, t = out.argmax(1), y[:, 0].long()
        return float(np.mean([f1((t == c).int(), (p == c).int()) for c in range(8)]))
    p = (out >= 0.5).int()
    return float(np.mean([f1(y[:, j].int(), p[:, j]) for j in range(12)]))


def build(task, n_in, hidden):
    sizes = [n_in] + hidden + [OUT[task]]
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
    return layers


def forward(layers, x):
    for i, lin in enumerate(layers):
        x = lin(x)
        if i < len(layers) - 1:
            x = torch.relu(x)
    return x  # logits of the last layer


def train(task, data, cfg, seed, log):
    use_logits = task == "va"
    xt, yt = join(os.path.join(data, "feat"), os.path.join(data, task.upper() + "_Set", "Train_Set"), task, use_logits)
    xv, yv = join(os.path.join(data, "feat"), os.path.join(data, task.upper() + "_Set", "Validation_Set"), task, use_logits)
    torch.manual_seed(seed)
    layers = build(task, xt.shape[1], cfg["hidden"])
    params = [p for l in layers for p in l.parameters()]
    opt = torch.optim.Adam(params, lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-7)
    n = len(xt)
    if task == "expr":
        counts = torch.bincount(yt[:, 0].long(), minlength=8).double()
        cw = torch.where(counts > 0, counts.max() / counts.clamp(min=1), torch.zeros(8, dtype=torch.float64)).float()
    if task == "au":
        pos = yt.sum(0)
        w0 = torch.where(n - pos > 0, n / (2 * (n - pos).clamp(min=1)), torch.zeros(12, dtype=torch.float64)).float()
        w1 = torch.where(pos > 0, n / (2 * pos.clamp(min=1)), torch.zeros(12, dtype=torch.float64)).float()
    final = {"va": torch.tanh, "expr": lambda z: torch.softmax(z, 1), "au": torch.sigmoid}[task]
    best, best_state, best_epoch = -np.inf, None, 0
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(1, cfg["epochs"] + 1):
        perm = torch.randperm(n, generator=gen)
        total, batches = 0.0, 0
        for at in range(0, n, cfg["batch"]):
            idx = perm[at:at + cfg["batch"]]
            z, y = forward(layers, xt[idx]), yt[idx]
            if task == "expr":
                t = y[:, 0].long()
                loss = (cw[t] * torch.nn.functional.cross_entropy(z, t, reduction="none")).mean()
            elif task == "au":
                yf = y.float()
                w = w0 ** (1 - yf) * w1 ** yf
                loss = (w * torch.nn.functional.binary_cross_entropy_with_logits(z, yf, reduction="none")).mean()
            else:
                loss = 1 - ccc(torch.tanh(z), y.float(), 1e-7).mean()
                loss = loss + cfg["l2"] * sum((l.weight ** 2).sum() for l in layers)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, batches = total + float(loss), batches + 1
        with torch.no_grad():
            m = metric(task, final(forward(layers, xv)), yv)
        log("  torch %-4s epoch %2d  loss %.5f  val %.4f" % (task, epoch, total / batches, m))
        if m > best:
            best, best_epoch = m, epoch
            best_state = [(l.weight.detach().clone(), l.bias.detach().clone()) for l in layers]
    return best, best_epoch, best_state


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="folder with feat.{index.csv,features.npy,outputs.npy} and <Task>_Set/")
    ap.add_argument("--tasks", default="expr,au,va")
    ap.add_argument("--epochs", type=int, help="override every task's epochs")
    ap.add_argument("--batch", type=int, help="override every task's batch size")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--emoti", help="the emoti binary: run `emoti fit` with the same settings too")
    ap.add_argument("--export-dir", help="write the PyTorch heads here as <task>_torch.emoti")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    log = (lambda s: None) if a.quiet else (lambda s: print(s, flush=True))
    rows = []
    for task in a.tasks.split(","):
        cfg = dict(PAPER[task], lr=a.lr)
        if a.epochs:
            cfg["epochs"] = a.epochs
        if a.batch:
            cfg["batch"] = a.batch
        t0 = time.time()
        best, epoch, state = train(task, a.data, cfg, a.seed, log)
        t_torch = time.time() - t0
        row = [task, cfg["batch"], cfg["epochs"], best, epoch, t_torch]
        if a.export_dir:
            import export_head
            layers = [(w.t().contiguous().flatten().tolist(), w.shape[1], w.shape[0], b.tolist()) for w, b in state]
            blob = export_head.head_container(layers, task, "logits" if task == "va" else "embedding",
                                              source="train_torch.py", note="PyTorch, best epoch %d" % epoch)
            export_head.export.write_atomically(os.path.join(a.export_dir, task + "_torch.emoti"), blob)
        if a.emoti:
            out = os.path.join(a.export_dir or a.data, task + "_emoti.emoti")
            cmd = [a.emoti, "fit", "-t", task, "-i", os.path.join(a.data, "feat"),
                   "-a", os.path.join(a.data, task.upper() + "_Set"), "-o", out, "--epochs", str(cfg["epochs"]),
                   "--batch", str(cfg["batch"]), "--lr", str(a.lr), "--seed", str(a.seed), "-q"]
            t0 = time.time()
            res = subprocess.run(cmd, capture_output=True, text=True)
            t_emoti = time.time() - t0
            if res.returncode:
                sys.exit("emoti fit failed: %s" % res.stderr)
            m = re.search(r"best epoch (\d+)/\d+, validation \w+ ([-0-9.]+)", res.stdout)
            row += [float(m.group(2)), int(m.group(1)), t_emoti]
        rows.append(row)
    metric = {"va": "CCC", "expr": "F1", "au": "F1"}
    print("\n%-5s %-6s %-6s %-22s %s" % ("task", "batch", "epochs", "PyTorch (best epoch)", "emoti fit (best epoch)   difference"))
    for r in rows:
        line = "%-5s %-6d %-6d %s %.4f (%2d) %5.1fs" % (r[0], r[1], r[2], metric[r[0]].ljust(4), r[3], r[4], r[5])
        if len(r) > 6:
            line += "   %.4f (%2d) %5.1fs   %+.2f points" % (r[6], r[7], r[8], 100 * (r[6] - r[3]))
        print(line)


if __name__ == "__main__":
    main()
