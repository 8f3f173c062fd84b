"""Writes a generated clip of PPM frames with faces pasted (tests/test_faces_pipeline.sh):
shot 1 (frames 0-13): face A moves right along the top, face B left along the bottom, their
paths crossing; A is absent on frame 5 (a missed frame), B leaves the picture after frame 10;
a scene cut (other colours) then shot 2 (frames 14-21): A again, where it was. Also a clip of
the same backgrounds without faces. Usage: faces_clip.py FIXTURE_IMG_DIR OUT_DIR NOFACE_DIR"""
import os
import sys

import numpy as np
from PIL import Image

W, H, SIDE = 320, 240, 96


def background(seed, tint):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    base = np.stack([90 + 60 * np.sin(xx / 57.0 + c) * np.cos(yy / 43.0 - c) for c in range(3)], 2)
    return np.clip(base * tint + rng.normal(0, 8, (H, W, 3)), 0, 255).astype(np.uint8)


def paste(scene, patch, x, y):
    h, w = patch.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 > x0 and y1 > y0:
        scene[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]


def patch(path):
    im = Image.open(path).convert("RGB")
    return np.asarray(im.resize((SIDE, round(SIDE * im.height / im.width)), Image.BICUBIC))


def main(img, out, noface):
    a, b = patch(os.path.join(img, "face_wide.ppm")), patch(os.path.join(img, "face_tight.ppm"))
    bg1, bg2 = background(1, np.array([1.0, 1.0, 1.0])), background(2, np.array([0.35, 0.8, 2.0]))
    os.makedirs(out, exist_ok=True)
    os.makedirs(noface, exist_ok=True)
    for f in range(22):
        s = (bg1 if f < 14 else bg2).copy()
        if f < 14:
            if f != 5:
                paste(s, a, 4 + 14 * f, 4)
            if f <= 10:
                paste(s, b, 220 - 14 * f, 62)
        else:
            paste(s, a, 4 + 14 * 13, 4)
        Image.fromarray(s).save(os.path.join(out, "%05d.ppm" % (f + 1)))
        if f % 4 == 0:
            Image.fromarray(bg1 if f < 14 else bg2).save(os.path.join(noface, "%05d.ppm" % (f + 1)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
