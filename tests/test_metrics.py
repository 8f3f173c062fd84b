#!/usr/bin/env python3
"""The C metrics and post-processing (engine/train/metrics.c, engine/timeline/temporal.c) against oracles:
scikit-learn's f1_score (macro over the 8 classes, binary, AU mean) and direct numpy versions of
CCC and docs/PIPELINE.md section 4 (gap filling, both interpolation variants; box smoothing truncated
at both ends; the causal window), on random data and edge cases. Tolerance 1e-9.
Uses build/tests/test_heads as the driver. Exit 77 (skip) without numpy/scikit-learn."""
import atexit
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
    from sklearn.metrics import f1_score
except ImportError as e:
    print("SKIPPED: %s (apt-get install python3-numpy python3-sklearn)" % e)
    sys.exit(77)

BUILD = os.environ.get("BUILD", "build")
DRIVER = os.path.join(BUILD, "tests", "test_heads")
if not os.access(DRIVER, os.X_OK):
    print("SKIPPED: %s not built" % DRIVER)
    sys.exit(77)
TMP = tempfile.mkdtemp(prefix="emoti_metrics_")
atexit.register(shutil.rmtree, TMP, True)
TOL = 1e-9
failures = 0
counts = {}


def save(name, arr):
    path = os.path.join(TMP, name + ".npy")
    np.save(path, np.asarray(arr, dtype=np.float32))
    return path


def run(*args):
    out = subprocess.run([DRIVER] + [str(a) for a in args], check=True, capture_output=True, text=True).stdout
    return np.array([float(v) for v in out.split()])


def check(what, got, want):
    global failures
    got, want = np.asarray(got, dtype=np.float64).ravel(), np.asarray(want, dtype=np.float64).ravel()
    counts[what] = counts.get(what, 0) + 1
    if got.shape != want.shape or not np.all(np.abs(got - want) <= TOL):
        failures += 1
        err = np.max(np.abs(got - want)) if got.shape == want.shape else "shape %s vs %s" % (got.shape, want.shape)
        print("FAIL %s: max error %s" % (what, err))


def ccc_np(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    mx, my = x.mean(), y.mean()
    vx, vy = ((x - mx) ** 2).mean(), ((y - my) ** 2).mean()
    cov = ((x - mx) * (y - my)).mean()
    den = vx + vy + (mx - my) ** 2
    return 2 * cov / den if den > 0 else 0.0  # 0/0 (both constant and equal): 0 by convention


def fill_np(seq, valid, paper):
    seq = seq.astype(np.float64).copy()
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        return seq
    seq[:idx[0]] = seq[idx[0]]
    seq[idx[-1] + 1:] = seq[idx[-1]]
    for p, n in zip(idx[:-1], idx[1:]):
        for f in range(p + 1, n):
            w = (f - p) / (n - p)
            seq[f] = w * seq[p] + (1 - w) * seq[n] if paper else (1 - w) * seq[p] + w * seq[n]
    return seq


def smooth_np(seq, d):
    seq = seq.astype(np.float64)
    return np.stack([seq[max(i - d, 0):i + d + 1].mean(axis=0) for i in range(len(seq))])


def causal_np(seq, k, lag):
    seq = seq.astype(np.float64)
    return np.stack([seq[max(i + lag - 2 * k, 0):i + lag + 1].mean(axis=0) for i in range(len(seq))])


rng = np.random.default_rng(2023)

# ---- CCC ----
cases = [(rng.normal(size=n), rng.normal(size=n)) for n in (1, 2, 17, 1000)]
x = rng.normal(size=500)
cases += [(x, 0.7 * x + 0.1 * rng.normal(size=500) + 0.3), (x, x), (x, -x),
          (np.full(50, 0.3), rng.normal(size=50)),       # constant prediction
          (rng.uniform(-1, 1, 50), np.full(50, -0.2)),   # constant truth
          (np.full(20, 0.5), np.full(20, 0.5)),          # both constant and equal: 0/0 -> 0
          (np.full(20, 0.5), np.full(20, -0.5))]         # both constant, different means
for a, b in cases:
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    check("ccc", run("ccc", save("x", a32), save("y", b32)), ccc_np(a32, b32))

# ---- F1 ----
for trial in range(30):
    n = int(rng.integers(1, 400))
    t = rng.integers(0, 8, n)
    p = rng.integers(0, 8, n)
    if trial % 3 == 1:
        p[p == 3] = 4  # a class never predicted
    if trial % 3 == 2:
        t[t == 6] = 0  # a class never in the truth
        p = np.where(rng.random(n) < 0.7, t, p)
    want = f1_score(t, p, average="macro", labels=list(range(8)), zero_division=0)
    check("f1 macro", run("f1macro", save("t", t), save("p", p), 8), want)
    tb, pb = (rng.random(n) < 0.3).astype(int), (rng.random(n) < 0.4).astype(int)
    check("f1 binary", run("f1bin", save("t", tb), save("p", pb)), f1_score(tb, pb, zero_division=0))
for tb, pb in [(np.zeros(10, int), np.zeros(10, int)), (np.zeros(10, int), np.ones(10, int)),
               (np.ones(10, int), np.zeros(10, int)), (np.ones(5, int), np.ones(5, int))]:
    check("f1 binary", run("f1bin", save("t", tb), save("p", pb)), f1_score(tb, pb, zero_division=0))
for trial in range(10):
    n = int(rng.integers(5, 300))
    T = (rng.random((n, 12)) < rng.uniform(0.05, 0.5, 12)).astype(int)
    P = (rng.random((n, 12)) < 0.3).astype(int)
    T[:, trial % 12] = 0  # an AU never positive in the truth
    P[:, (trial + 5) % 12] = 0  # an AU never predicted
    want = np.mean([f1_score(T[:, j], P[:, j], zero_division=0) for j in range(12)])
    check("f1 AU mean", run("f1au", save("t", T), save("p", P)), want)

# ---- gap filling ----
for trial in range(24):
    n, d = int(rng.integers(1, 60)), int(rng.choice([1, 2, 12]))
    seq = rng.uniform(-1, 1, (n, d)).astype(np.float32)
    valid = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
    if trial % 4 == 0 and n > 4:
        valid[:3] = 0  # leading gap
    if trial % 4 == 1 and n > 4:
        valid[-3:] = 0  # trailing gap
    if trial == 5:
        valid[:] = 0  # no face at all: untouched
    if trial == 6:
        valid[:] = 1
    for paper in (0, 1):
        got = run("fill", save("s", seq), save("v", valid), paper).reshape(n, d)
        check("fill %s" % ("paper" if paper else "linear"), got, fill_np(seq, valid, paper))

# ---- smoothing ----
for trial in range(24):
    n, d = int(rng.integers(1, 120)), int(rng.choice([1, 2, 8, 12]))
    seq = rng.uniform(-1, 1, (n, d)).astype(np.float32)
    for k in (0, 1, 5, 50, 200):  # 50 and 200 exceed most of these videos
        check("smooth box", run("smooth", save("s", seq), k).reshape(n, d), smooth_np(seq, k))
        for lag in sorted({0, k // 2, k}):
            check("smooth causal", run("causal", save("s", seq), k, lag).reshape(n, d), causal_np(seq, k, lag))

for what, c in counts.items():
    print("%-14s %4d cases equal the oracle to %g" % (what, c, TOL))
if failures:
    print("%d failures" % failures)
    sys.exit(1)
print("metrics ok")
