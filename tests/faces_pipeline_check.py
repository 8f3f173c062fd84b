"""The face pipeline on the clip of tests/faces_clip.py (tests/test_faces_pipeline.sh).

Tracking: two ids in shot 1, stable through the crossing and A's missed frame 5 (filled, the
same id), no row of B after it left, one new id after the cut. Per-track timelines: each
track's rows equal `emoti video` (the single-face pipeline) run on a folder of that track's
crops (cut from the frames as emoti_run_face cuts them, the missed frame an undecodable file,
which that pipeline gap-fills the same way): the value columns compared as text, exactly, for
the centred box and causal smoothing. extract --faces and run --faces: the same numbers as
extract / run on the crops, bit for bit.
Usage: faces_pipeline_check.py EMOTI MODEL DETECTOR CLIP TMP"""
import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

EMOTI, MODEL, DET, CLIP, TMP = sys.argv[1:6]
bad = 0


def fail(msg):
    global bad
    bad += 1
    print("FAIL:", msg)


def emoti(*args, ok=(0,)):
    p = subprocess.run([EMOTI, *args], capture_output=True, text=True)
    if p.returncode not in ok:
        fail("emoti %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p.stdout


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def frame(i):
    return np.asarray(Image.open(os.path.join(CLIP, "%05d.ppm" % (i + 1))).convert("RGB"))


def crop(img, box):
    """emoti_run_face's crop: truncated toward zero, clipped to the image."""
    h, w = img.shape[:2]
    lim = (w, h, w, h)
    b = [0 if not v > 0 else lim[k] if v >= lim[k] else int(v) for k, v in enumerate(box)]
    return img[b[1]:b[3], b[0]:b[2]]


def by_track(body):
    out = {}
    for r in body:
        out.setdefault(int(r[2]), []).append(r)
    return out


def crops_folder(track, trows):
    """The track's crops as frames 00001.ppm ... (a missed frame: an undecodable file)."""
    d = os.path.join(TMP, "track%d" % track)
    os.makedirs(d, exist_ok=True)
    for j, r in enumerate(trows):
        path = os.path.join(d, "%05d.ppm" % (j + 1))
        if r[8] == "1":
            open(path, "wb").write(b"P6\n10 10\n255\n")  # truncated: no face here
        else:
            Image.fromarray(crop(frame(int(r[0])), [float(v) for v in r[3:7]])).save(path)
    return d


def check_tracks(body):
    tracks = by_track(body)
    keys = [(int(r[0]), int(r[2])) for r in body]
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        fail("rows not in frame order, then track id")
    shot1 = {int(r[2]) for r in body if int(r[0]) < 14}
    shot2 = {int(r[2]) for r in body if int(r[0]) >= 14}
    if len(shot1) != 2 or len(shot2) != 1 or shot2 & shot1 or min(shot2) <= max(shot1):
        fail("ids: shot 1 %s, shot 2 %s (want 2, then 1 new)" % (shot1, shot2))
        return tracks
    top = [t for t in shot1 if float(tracks[t][0][4]) < 60]  # A runs along the top
    if len(top) != 1:
        fail("no single track along the top: %s" % shot1)
        return tracks
    a, b = top[0], (shot1 - set(top)).pop()
    fa, fb = [int(r[0]) for r in tracks[a]], [int(r[0]) for r in tracks[b]]
    if fa != list(range(14)) or fb != list(range(11)):
        fail("track frames: A %s, B %s" % (fa, fb))
    filled = [(int(r[0]), int(r[2])) for r in body if r[8] == "1"]
    if filled != [(5, a)] or tracks[a][5][7] != "0":
        fail("filled rows %s (want A's frame 5 alone, score 0)" % filled)
    for t, tr in tracks.items():  # each id stays on its face: x moves one way
        xs = [float(r[3]) for r in tr if r[8] == "0"]
        d = np.diff(xs)
        if t != max(shot2) and not (np.all(d > 0) or np.all(d < 0)):
            fail("track %d jumps between faces: x1 %s" % (t, xs))
    return tracks


def same_as_single(tracks, opts, what):
    n = 0
    for t, tr in tracks.items():
        d = crops_folder(t, tr)
        single = rows(emoti("video", "-m", MODEL, *opts, d, ok=(0, 1)))[1:]
        want = [r[2:] for r in single]
        got = [r[8:] for r in tr]
        if got != want:
            fail("%s: track %d's rows differ from emoti video on its crops:\n%s\n%s" % (what, t, got[:3], want[:3]))
        n += len(got)
    print("%s: %d rows of %d tracks equal the single-face pipeline on their crops" % (what, n, len(tracks)))


def main():
    base = ["video", "--faces", "-m", MODEL, "-d", DET]
    out = rows(emoti(*base, "-k", "2", "--fps", "25", "--plot", os.path.join(TMP, "p.svg"), CLIP))
    head, body = out[0], out[1:]
    want = ["frame", "time", "track", "x1", "y1", "x2", "y2", "score", "filled", "valence", "arousal", "expression"]
    if head[:12] != want:
        fail("header %s" % head)
    if any(abs(float(r[1]) - int(r[0]) / 25) > 5e-4 for r in body):
        fail("time column is not frame / 25")
    tracks = check_tracks(body)
    for t in tracks:
        if not os.path.isfile(os.path.join(TMP, "p-track%d.svg" % t)):
            fail("no plot p-track%d.svg" % t)
    if os.path.exists(os.path.join(TMP, "p.svg")):
        fail("p.svg written besides the per-track plots")
    same_as_single(tracks, ["-k", "2"], "centred -k 2")
    live = rows(emoti(*base, "-k", "2", "--causal", "1", CLIP))[1:]
    if [r[:9] for r in live] != [r[:1] + [""] + r[2:9] for r in body]:
        fail("--causal: other frames, tracks or boxes than the centred run")
    same_as_single(by_track(live), ["-k", "2", "--causal", "1"], "causal 1 -k 2")
    three = os.path.join(TMP, "three")  # jsonl on the first frames (cheaper under ASan)
    os.makedirs(three)
    for i in range(3):
        Image.fromarray(frame(i)).save(os.path.join(three, "%05d.ppm" % (i + 1)))
    js = [json.loads(line) for line in emoti(*base, "--fps", "25", "-f", "jsonl", three).splitlines()]
    want = [(int(r[0]), float(r[1]), int(r[2]), [float(v) for v in r[3:7]]) for r in body[:6]]
    if [(j["frame"], j["time"], j["track"], j["box"]) for j in js] != want or any(j["filled"] for j in js):
        fail("jsonl: %s, want %s" % (js[:1], want[:1]))

    # extract --faces: keys <video>/<track>/<frame>, features of each crop
    pre = os.path.join(TMP, "ex")
    emoti("extract", "--faces", "-m", MODEL, "-d", DET, CLIP, "-o", pre)
    idx = rows(open(pre + ".index.csv").read())[1:]
    name = os.path.basename(CLIP.rstrip("/"))
    want = ["%s/%s/%05d.ppm" % (name, r[2], int(r[0]) + 1) for r in body if r[8] == "0"]
    if [r[1] for r in idx] != want or any(r[2] != r[1].rsplit("/", 1)[0] for r in idx):
        fail("extract --faces keys: %s ... (want %s ...)" % ([r[1] for r in idx[:3]], want[:3]))
    feat = np.load(pre + ".features.npy")
    for t, tr in tracks.items():
        one = os.path.join(TMP, "one%d" % t)
        emoti("extract", "-m", MODEL, crops_folder(t, tr), "-o", one, ok=(0, 1))
        mine = feat[[i for i, r in enumerate(idx) if r[2] == "%s/%d" % (name, t)]]
        if not np.array_equal(mine, np.load(one + ".features.npy")):
            fail("extract --faces: track %d's features differ from extract on its crops" % t)
    print("extract --faces: %d rows, features equal extract on the crops" % len(idx))

    # run --faces: frame 1 has two faces, frame 6 A is missing; the crops' own rows agree
    f1, f6 = os.path.join(CLIP, "00001.ppm"), os.path.join(CLIP, "00006.ppm")
    got = rows(emoti("run", "--faces", "-f", "csv", "-m", MODEL, "-d", DET, f1, f6))
    if got[0][:8] != ["file", "face", "x1", "y1", "x2", "y2", "score", "label"] or len(got) != 4:
        fail("run --faces: %s" % got)
    for r in got[1:]:
        c = os.path.join(TMP, "crop%s.ppm" % r[1])
        Image.fromarray(crop(np.asarray(Image.open(r[0]).convert("RGB")), [float(v) for v in r[2:6]])).save(c)
        one = rows(emoti("run", "-f", "csv", "-m", MODEL, c))[1]
        if one[1:] != r[7:]:
            fail("run --faces %s face %s: %s, the crop alone %s" % (r[0], r[1], r[7:], one[1:]))
    if [r[1] for r in got[1:]] != ["1", "2", "1"]:
        fail("run --faces numbering %s" % [r[:2] for r in got])
    print("run --faces: %d faces in 2 images, equal run on the crops" % (len(got) - 1))
    return bad


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
