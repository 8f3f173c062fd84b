#!/usr/bin/env python3
"""A synthetic Aff-Wild2-like data set with planted structure, in the shapes `emoti extract`
writes and the annotation layout ABAW distributes, for testing `emoti fit/tune/predict/eval` and
comparing them with PyTorch (tools/train_torch.py).

Each video is a sequence of segments: an expression class held for 20-120 frames, AUs switched
on by the class (plus their own random episodes), valence/arousal following a smooth random
walk pulled towards the class' typical VA. The 1280-d "embedding" is a class direction plus AU
directions plus per-frame Gaussian noise (strong enough that per-frame decisions are imperfect
and temporal smoothing pays off); the 10 "outputs" are 8 noisy logits plus noisy V and A.
Some frames have no face (absent from the index), some labels are invalid (-1 / -5).

Writes OUT/feat.{features.npy,outputs.npy,index.csv} and OUT/{EXPR,AU,VA}_Set/{Train_Set,
Validation_Set}/<video>.txt."""
import argparse
import os

import numpy as np

EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
AU_HEADER = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"
# Typical VA per class (Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise, Other).
CLASS_VA = np.array([[0, 0], [-.6, .6], [-.5, .3], [-.5, .7], [.7, .4], [-.6, -.4], [.2, .8], [0, .2]])
# AUs each class tends to switch on.
CLASS_AUS = [[], [2, 3, 4], [3, 5], [0, 1, 2, 10], [3, 6, 10], [0, 2, 7], [0, 1, 10, 11], [8]]


def make_video(rng, n, dim, proto, au_dirs, noise):
    cls = np.empty(n, int)
    t = 0
    while t < n:
        length = int(rng.integers(20, 120))
        cls[t:t + length] = rng.choice(8, p=[.3, .08, .05, .05, .22, .12, .1, .08])
        t += length
    aus = np.zeros((n, 12), int)
    for j in range(12):
        on = np.array([j in CLASS_AUS[c] for c in cls])
        episode = np.zeros(n, bool)
        for start in rng.integers(0, n, size=max(1, n // 150)):
            episode[start:start + int(rng.integers(5, 40))] = True
        flip = rng.random(n) < 0.03
        aus[:, j] = (on | episode) ^ flip
    va = np.zeros((n, 2))
    cur = CLASS_VA[cls[0]].copy()
    for i in range(n):
        cur += 0.05 * (CLASS_VA[cls[i]] - cur) + rng.normal(0, 0.02, 2)
        va[i] = np.clip(cur, -1, 1)
    feat = proto[cls] + aus @ au_dirs + rng.normal(0, noise, (n, dim))
    logits = 2.0 * np.eye(8)[cls] + rng.normal(0, 1.2, (n, 8))
    outs = np.concatenate([logits, va + rng.normal(0, 0.35, (n, 2))], axis=1)
    return cls, aus, va, feat.astype(np.float32), outs.astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=12, help="training videos")
    ap.add_argument("--val", type=int, default=8, help="validation videos")
    ap.add_argument("--frames", type=int, default=300, help="mean frames per video")
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--noise", type=float, default=2.5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    proto = rng.normal(0, 1, (8, a.dim)) * (1.2 / np.sqrt(a.dim)) * 6
    au_dirs = rng.normal(0, 1, (12, a.dim)) * (1.0 / np.sqrt(a.dim)) * 6
    feats, outs, index = [], [], []
    for split, count in (("Train_Set", a.train), ("Validation_Set", a.val)):
        for task in ("EXPR_Set", "AU_Set", "VA_Set"):
            os.makedirs(os.path.join(a.out, task, split), exist_ok=True)
        for v in range(count):
            name = "%s%03d" % ("t" if split == "Train_Set" else "v", v)
            # One very short video (shorter than the smoothing windows) in each split.
            n = 7 if v == 1 else int(rng.integers(a.frames // 2, a.frames * 3 // 2))
            cls, aus, va, f, o = make_video(rng, n, a.dim, proto, au_dirs, a.noise)
            face = rng.random(n) > 0.05
            face[:3] = v % 3 != 0   # leading gaps in some videos
            face[-2:] = v % 4 != 1  # trailing gaps in others
            face[0] |= n < 10
            e_lab = np.where(rng.random(n) < 0.04, -1, cls)
            au_lab = aus.copy()
            au_lab[rng.random(n) < 0.03] = -1
            va_lab = np.where(rng.random((n, 1)) < 0.03, -5.0, va)
            with open(os.path.join(a.out, "EXPR_Set", split, name + ".txt"), "w") as fh:
                fh.write(EXPR_HEADER + "\n" + "".join("%d\n" % c for c in e_lab))
            with open(os.path.join(a.out, "AU_Set", split, name + ".txt"), "w") as fh:
                fh.write(AU_HEADER + "\n" + "".join(",".join(map(str, r)) + "\n" for r in au_lab))
            with open(os.path.join(a.out, "VA_Set", split, name + ".txt"), "w") as fh:
                fh.write("valence,arousal\n" + "".join("%.4f,%.4f\n" % tuple(r) for r in va_lab))
            for i in np.flatnonzero(face):
                index.append("%d,%s/%05d.jpg,%s,%d,synthetic/%s\n" % (len(index), name, i + 1, name, i, name))
            feats.append(f[face])
            outs.append(o[face])
    np.save(os.path.join(a.out, "feat.features.npy"), np.concatenate(feats))
    np.save(os.path.join(a.out, "feat.outputs.npy"), np.concatenate(outs))
    with open(os.path.join(a.out, "feat.index.csv"), "w") as fh:
        fh.write("row,key,video,frame,source\n" + "".join(index))
    print("synthetic Aff-Wild2: %d train + %d validation videos, %d frames with a face -> %s"
          % (a.train, a.val, len(index), a.out))


if __name__ == "__main__":
    main()
