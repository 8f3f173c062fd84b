#!/usr/bin/env python3
"""Float64 reference of the whole MTCNN detection algorithm (facenet-pytorch 2.5, as issue 14 and
docs/MTCNN.md "The algorithm" state it) on the nets of tests/mtcnn_ref.py (a float64 interpreter
of the .tflite graphs). Written from the algorithm's description, not from engine/detect.

    detect(nets, rgb, min_face=40, thresholds=(0.6, 0.7, 0.7), factor=0.709, keep=0.9)
        -> float64 array [n][15]: x1 y1 x2 y2 score, then 5 landmarks (x, y), largest area first

Area resampling is torch's interpolate(mode="area"), i.e. adaptive average pooling: output cell
i of n averages input rows floor(i * H / n) .. ceil((i + 1) * H / n) - 1. The work caps of
emoti.h (EMOTI_DETECT_MAX_*) are applied at the same points, ties in score kept in order of
discovery (level by level; within a level by image x, then y)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtcnn_ref  # noqa: E402

MAX_LEVEL, MAX_PNET, MAX_RNET, MAX_ONET = 1024, 4096, 1024, 256


def load(models):
    return [mtcnn_ref.Graph(os.path.join(models, n + ".tflite")) for n in ("pnet", "rnet", "onet")]


def area(img, oh, ow):
    """Adaptive average pooling of img [H][W][3] to [oh][ow][3] (float64)."""
    H, W = img.shape[:2]
    s = np.zeros((H + 1, W + 1, 3))
    s[1:, 1:] = img.astype(np.float64).cumsum(0).cumsum(1)
    i, j = np.arange(oh), np.arange(ow)
    r0, r1 = i * H // oh, -(-(i + 1) * H // oh)
    c0, c1 = j * W // ow, -(-(j + 1) * W // ow)
    tot = s[r1][:, c1] - s[r0][:, c1] - s[r1][:, c0] + s[r0][:, c0]
    return tot / ((r1 - r0)[:, None, None] * (c1 - c0)[None, :, None])


def net_input(img, oh, ow):
    """Resampled, normalised, transposed (the nets take axis 1 = image x: docs/MTCNN.md)."""
    return ((area(img, oh, ow) - 127.5) * 0.0078125).transpose(1, 0, 2)


def order(score, seq):
    """Indices by score descending, ties by seq ascending."""
    return np.lexsort((seq, -score))


def nms(b, thr, mode):
    """Greedy NMS of boxes b[:, :4] already in score order; returns the kept row indices."""
    one = 1.0 if mode == "Min" else 0.0
    ar = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    kept = []
    for i in range(len(b)):
        if kept:
            k = np.array(kept)
            iw = np.minimum(b[i, 2], b[k, 2]) - np.maximum(b[i, 0], b[k, 0]) + one
            ih = np.minimum(b[i, 3], b[k, 3]) - np.maximum(b[i, 1], b[k, 1]) + one
            inter = np.maximum(iw, 0) * np.maximum(ih, 0)
            o = inter / (np.minimum(ar[i], ar[k]) if mode == "Min" else ar[i] + ar[k] - inter)
            if np.any(o > thr):
                continue
        kept.append(i)
    return np.array(kept, dtype=np.int64)


def rerec(b):
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    side = np.maximum(w, h)
    b[:, 0] += w * 0.5 - side * 0.5
    b[:, 1] += h * 0.5 - side * 0.5
    b[:, 2], b[:, 3] = b[:, 0] + side, b[:, 1] + side


def bbreg(b, reg, one):
    w, h = b[:, 2] - b[:, 0] + one, b[:, 3] - b[:, 1] + one
    b[:, :4] += reg * np.stack([w, h, w, h], 1)


def pnet_stage(pnet, img, min_face, t, factor):
    h, w = img.shape[:2]
    m = 12.0 / min_face
    minl, scale = min(h, w) * m, m
    rows, seq = [], 0  # rows: x1 y1 x2 y2 score reg4 seq
    allb = np.zeros((0, 10))
    while minl >= 12:
        hs, ws = int(h * scale + 1), int(w * scale + 1)
        prob, reg = pnet.run(net_input(img, hs, ws)[None])
        p = prob[0, :, :, 1]  # [image x][image y]
        gi, gj = np.nonzero(p >= t)  # x-major, as discovered
        n = len(gi)
        lv = np.zeros((n, 10))
        lv[:, 0] = np.floor((2.0 * gi + 1) / scale)
        lv[:, 1] = np.floor((2.0 * gj + 1) / scale)
        lv[:, 2] = np.floor((2.0 * gi + 12) / scale)
        lv[:, 3] = np.floor((2.0 * gj + 12) / scale)
        lv[:, 4] = p[gi, gj]
        lv[:, 5:9] = reg[0, gi, gj, :]
        lv[:, 9] = seq + np.arange(n)
        seq += n
        lv = lv[order(lv[:, 4], lv[:, 9])][:MAX_LEVEL]
        lv = lv[nms(lv, 0.5, "Union")]
        allb = np.concatenate([allb, lv])
        if len(allb) > MAX_PNET:
            allb = allb[order(allb[:, 4], allb[:, 9])][:MAX_PNET]
        scale *= factor
        minl *= factor
    allb = allb[order(allb[:, 4], allb[:, 9])]
    allb = allb[nms(allb, 0.7, "Union")][:MAX_RNET]
    b = allb[:, :5].copy()
    bbreg(b, allb[:, 5:9], 0.0)
    rerec(b)
    return b


def crops(img, b, side):
    """Each box's in-image part (truncated, clamped to [1, w] x [1, h] 1-based), area-resized."""
    h, w = img.shape[:2]
    xs, keep = [], []
    for k, (x1, y1, x2, y2) in enumerate(np.trunc(b[:, :4]).astype(np.int64)):
        x, y, ex, ey = max(x1, 1), max(y1, 1), min(x2, w), min(y2, h)
        if ex >= x and ey >= y:
            xs.append(net_input(img[y - 1:ey, x - 1:ex], side, side))
            keep.append(k)
    return np.array(xs).reshape(-1, side, side, 3), np.array(keep, dtype=np.int64)


def refine(net, img, b, side, t):
    x, keep = crops(img, b, side)
    if not len(keep):
        return np.zeros((0, 5)), np.zeros((0, 4)), np.zeros((0, 10))
    res = [net.run(x[i:i + 64]) for i in range(0, len(x), 64)]
    outs = [np.concatenate([r[j] for r in res]) for j in range(len(res[0]))]
    score = outs[0][:, 1]
    ok = score > t
    bb = b[keep][ok].copy()
    bb[:, 4] = score[ok]
    seq = np.arange(len(bb))
    o = order(bb[:, 4], seq)
    lm = outs[2][ok][o] if len(outs) > 2 else np.zeros((len(o), 10))
    return bb[o], outs[1][ok][o], lm


def detect(nets, img, min_face=40, thresholds=(0.6, 0.7, 0.7), factor=0.709, keep=0.9):
    img = np.asarray(img)
    b = pnet_stage(nets[0], img, min_face, thresholds[0], factor)
    b, reg, _ = refine(nets[1], img, b, 24, thresholds[1])
    k = nms(b, 0.7, "Union")[:MAX_ONET]
    b, reg = b[k], reg[k]
    bbreg(b, reg, 1.0)
    rerec(b)
    b, reg, lm = refine(nets[2], img, b, 48, thresholds[2])
    w, h = b[:, 2] - b[:, 0] + 1, b[:, 3] - b[:, 1] + 1
    px = w[:, None] * lm[:, :5] + b[:, :1] - 1
    py = h[:, None] * lm[:, 5:] + b[:, 1:2] - 1
    bbreg(b, reg, 1.0)
    k = nms(b, 0.7, "Min")
    out = np.concatenate([b[k], np.stack([px[k], py[k]], 2).reshape(-1, 10)], 1)
    out = out[out[:, 4] > keep]
    ar = (out[:, 2] - out[:, 0]) * (out[:, 3] - out[:, 1])
    return out[np.lexsort((np.arange(len(out)), -ar))]


# ---- the records tests/mtcnn_detect.c checks ----

def face_patch(img, box, pad=0.25):
    """A face cut from img around a detected box with a margin of pad of its size on each side,
    and the box in the patch's coordinates."""
    x1, y1, x2, y2 = box[:4]
    mx, my = (x2 - x1) * pad, (y2 - y1) * pad
    h, w = img.shape[:2]
    x0, y0 = max(int(x1 - mx), 0), max(int(y1 - my), 0)
    return (img[y0:min(int(y2 + my), h), x0:min(int(x2 + mx), w)],
            np.array([x1 - x0, y1 - y0, x2 - x0, y2 - y0]))


def paste(scene, face, x, y, side):
    """Pastes a face patch scaled to side pixels wide at (x, y); parts outside the scene are cut
    off. Returns where its face box lands."""
    from PIL import Image
    patch, box = face
    ph, pw = patch.shape[:2]
    sh = max(1, round(side * ph / pw))
    p = np.asarray(Image.fromarray(patch).resize((side, sh), Image.BICUBIC))
    H, W = scene.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + side, W), min(y + sh, H)
    if x1 > x0 and y1 > y0:
        scene[y0:y1, x0:x1] = p[y0 - y:y1 - y, x0 - x:x1 - x]
    return np.array([x, y, x, y]) + box * (side / pw)


def background(h, w, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([90 + 60 * np.sin(xx / 57.0 + c) * np.cos(yy / 43.0 - c) for c in range(3)], 2)
    return np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def scenes(nets, faces):
    """Synthetic scenes: faces pasted at known places and sizes. faces: patches to paste."""
    out = []
    s = background(480, 640, 1)
    placed = [paste(s, faces[0], 40, 60, 200), paste(s, faces[1 % len(faces)], 330, 200, 110),
              paste(s, faces[0], 520, 40, 64)]
    out.append(("scene_three", s, 40, placed))
    s = background(480, 640, 2)
    placed = [paste(s, faces[0], -60, 150, 180), paste(s, faces[1 % len(faces)], 480, 360, 220),
              paste(s, faces[0], 250, -40, 140)]
    out.append(("scene_edges", s, 40, []))  # cut faces: compared, not required
    s = background(360, 480, 3)
    placed = [paste(s, faces[0], 30 + 70 * k, 40 + 60 * (k % 3), 26 + 4 * k) for k in range(6)]
    out.append(("scene_tiny", s, 20, placed[2:]))
    s = background(400, 400, 4)
    placed = [paste(s, faces[1 % len(faces)], 20, 10, 360)]
    out.append(("scene_large", s, 40, placed))
    out.append(("scene_none", background(480, 640, 5), 40, []))
    s = background(480, 640, 7)
    out.append(("scene_one", s, 40, [paste(s, faces[0], 250, 120, 180)]))
    return out


def iou(a, b):
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return iw * ih / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih)


def images(img_dir):
    """(name, rgb, min_face) of the real photos: skimage's, then the fixtures."""
    import skimage.data as d
    from PIL import Image
    out = [("astronaut", d.astronaut(), 40), ("astronaut_min20", d.astronaut(), 20),
           ("camera", np.repeat(d.camera()[:, :, None], 3, 2), 40), ("coffee", d.coffee(), 40),
           ("rocket", d.rocket(), 40), ("immunohistochemistry", d.immunohistochemistry(), 40)]
    for n in ("face_tight", "face_small", "face_wide", "chelsea", "noise"):
        p = os.path.join(img_dir, n + ".ppm")
        if os.path.isfile(p):
            out.append((n, np.asarray(Image.open(p).convert("RGB")), 20 if n == "face_small" else 40))
    return out


def record(name, img, min_face, faces):
    import struct
    h, w = img.shape[:2]
    n = -1 if faces is None else len(faces)
    body = b"" if faces is None else np.asarray(faces, "<f8").tobytes()
    return (name.encode()[:31].ljust(32, b"\0") + struct.pack("<2id", w, h, min_face)
            + np.ascontiguousarray(img, np.uint8).tobytes() + struct.pack("<i", n) + body)


def main(models, img_dir, dest):
    nets = load(models)
    recs, photos = [], images(img_dir)
    for name, img, mf in photos:
        f = detect(nets, img, mf)
        print("%-22s %4dx%-4d min %2d: %d faces" % (name, img.shape[1], img.shape[0], mf, len(f)))
        recs.append(record(name, img, mf, f))
        if name == "astronaut":
            patches = [face_patch(img, f[0])]
        if name == "face_tight" and len(f):
            patches.append((img, f[0, :4]))
    bad = 0
    for name, img, mf, placed in scenes(nets, patches):
        f = detect(nets, img, mf)
        found = [max([iou(r, g) for g in f[:, :4]] + [0]) for r in placed]
        print("%-22s %4dx%-4d min %2d: %d faces; pasted ones matched, IoU %s" % (
            name, img.shape[1], img.shape[0], mf, len(f), " ".join("%.2f" % v for v in found)))
        # every pasted face (whole, at least min_face wide) is found where it was put
        bad += sum(v < 0.6 for v in found) + (name == "scene_none" and len(f) > 0)
        recs.append(record(name, img, mf, f))
    # hundreds of faces: run by the C side for bounded work only (caps bind; not compared)
    crowd = background(480, 640, 6)
    for k in range(16 * 12):
        paste(crowd, patches[k % len(patches)], 40 * (k % 16), 40 * (k // 16), 36)
    recs.append(record("crowd_192", crowd, 20, None))
    with open(dest, "wb") as fh:
        fh.write(b"".join(recs))
    if bad:
        print("FAIL: the reference misses %d pasted faces (or finds one in scene_none)" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
