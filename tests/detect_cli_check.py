"""Checks `emoti detect` output (tests/test_detect_cli.sh): the CSV and JSON lines agree with each
other and with the float64 reference of the algorithm (tests/mtcnn_algo_ref.py), the same faces
in the same order, boxes and landmarks within 0.5 px, scores within 1e-4 (the bounds of
tests/mtcnn_detect.c).
  detect_cli_check.py MTCNN_DIR OUT.csv OUT.jsonl MIN_FACE IMAGE..."""
import csv
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtcnn_algo_ref as ref  # noqa: E402

COLS = ["file", "face", "x1", "y1", "x2", "y2", "score"] + [
    "l%s%d" % (c, i) for i in range(1, 6) for c in "xy"]


def main(models, csv_path, jsonl_path, min_face, *images):
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == COLS, "header %s" % rows[0]
    assert all(len(r) == len(COLS) for r in rows), "a row is not %d fields" % len(COLS)
    with open(jsonl_path) as f:
        objs = [json.loads(line) for line in f]
    assert len(objs) == len(rows) - 1, "%d jsonl rows, %d csv" % (len(objs), len(rows) - 1)
    nets, bad = ref.load(models), 0
    for img in images:
        mine = [r for r in rows[1:] if r[0] == img]
        js = [o for o in objs if o["file"] == img]
        want = ref.detect(nets, np.asarray(Image.open(img).convert("RGB")), float(min_face))
        if len(want) == 0:
            ok = mine == [[img, "0"] + [""] * 15] and js == [{"file": img, "face": 0}]
        else:
            got = np.array([[float(v) for v in r[2:]] for r in mine])
            fromjs = np.array([o["box"] + [o["score"]] + sum(o["landmarks"], []) for o in js])
            ok = ([r[1] for r in mine] == [str(k + 1) for k in range(len(want))]
                  and [o["face"] for o in js] == list(range(1, len(want) + 1))
                  and got.shape == (len(want), 15) and np.array_equal(got, fromjs)
                  and np.abs(got[:, :4] - want[:, :4]).max() <= 0.5
                  and np.abs(got[:, 5:] - want[:, 5:]).max() <= 0.5
                  and np.abs(got[:, 4] - want[:, 4]).max() <= 1e-4)
        print("%s %s: %d faces (reference %d)" % ("ok  " if ok else "FAIL", img, len(mine)
                                                   if len(want) else 0, len(want)))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
