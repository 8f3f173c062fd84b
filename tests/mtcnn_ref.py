#!/usr/bin/env python3
"""Independent float64 reference of MTCNN's P-Net, R-Net and O-Net (numpy).

It shares no code with tools/export.py: it reads a .tflite file with its own small
flatbuffer walker and then interprets the graph's operator list generically in float64
(whatever ops the file holds, in its order), so the exporter's layer matching and the C
nets are both checked against what the TFLite graph itself computes.

    run(path, x) -> list of graph outputs for the NHWC input x (float64)

The nets take images transposed (x[n, i, j, c] is pixel column i, row j), normalised as
(v - 127.5) * 0.0078125; see docs/MTCNN.md.
"""
import struct

import numpy as np

OPS = {0: "ADD", 3: "CONV_2D", 9: "FULLY_CONNECTED", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU",
       41: "SUB", 42: "DIV", 47: "EXP", 59: "NEG", 74: "SUM", 82: "REDUCE_MAX"}


class Graph:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.d = f.read()
        m = self._table(self._u("I", 0))
        codes = [OPS[max(self._u("b", p) if p else 0, self._u("i", q) if q else 0)]
                 for c in self._tables(m, 1) for p, q in [(self._field(c, 0), self._field(c, 3))]]
        bufs = [self._bytes(b, 0) for b in self._tables(m, 4)]
        g = self._tables(m, 2)[0]
        self.consts, self.shapes, self.names = {}, [], []
        for k, t in enumerate(self._tables(g, 0)):
            shape, kind = self._ints(t, 0), self._scalar(t, 1, "b")
            raw = bufs[self._scalar(t, 2, "I")]
            self.shapes.append(shape)
            self.names.append(self._bytes(t, 3).decode())
            if raw:
                self.consts[k] = np.frombuffer(raw, "<f4" if kind == 0 else "<i4").astype(
                    np.float64 if kind == 0 else np.int64).reshape(shape)
        self.ops = []
        for o in self._tables(g, 3):
            opts = self._field(o, 4)
            opts = self._table(opts + self._u("I", opts)) if opts else None
            self.ops.append((codes[self._scalar(o, 0, "I")], self._ints(o, 1), self._ints(o, 2), opts))
        self.inputs, self.outputs = self._ints(g, 1), self._ints(g, 2)

    # flatbuffer access (schema field numbers as in TensorFlow Lite's schema.fbs)
    def _u(self, fmt, pos):
        return struct.unpack_from("<" + fmt, self.d, pos)[0]

    def _table(self, pos):
        return pos, pos - self._u("i", pos)

    def _field(self, t, i):
        if t is None:
            return None
        pos, vt = t
        off = self._u("H", vt + 4 + 2 * i) if 4 + 2 * i < self._u("H", vt) else 0
        return pos + off if off else None

    def _scalar(self, t, i, fmt, default=0):
        p = self._field(t, i)
        return default if p is None else self._u(fmt, p)

    def _vec(self, t, i):
        p = self._field(t, i)
        if p is None:
            return 0, 0
        p += self._u("I", p)
        return p + 4, self._u("I", p)

    def _tables(self, t, i):
        p, n = self._vec(t, i)
        return [self._table(p + 4 * k + self._u("I", p + 4 * k)) for k in range(n)]

    def _ints(self, t, i):
        p, n = self._vec(t, i)
        return list(struct.unpack_from("<%di" % n, self.d, p))

    def _bytes(self, t, i):
        p, n = self._vec(t, i)
        return self.d[p:p + n]

    def weights(self):
        """{tensor name: float64 constant}."""
        return {self.names[k]: v for k, v in self.consts.items() if v.dtype == np.float64}

    def run(self, x):
        v = dict(self.consts)
        v[self.inputs[0]] = np.asarray(x, np.float64)
        for op, ins, outs, opts in self.ops:
            a = [v[i] for i in ins]
            v[outs[0]] = self._op(op, a, opts)
        return [v[i] for i in self.outputs]

    def _op(self, op, a, o):
        if op == "CONV_2D":  # input NHWC, weights OHWI, VALID (1x1 SAME is the same)
            x, w, b = a
            s = self._scalar(o, 1, "i")
            kh, kw = w.shape[1:3]
            oh, ow = (x.shape[1] - kh) // s + 1, (x.shape[2] - kw) // s + 1
            out = np.zeros(x.shape[:1] + (oh, ow, w.shape[0]))
            for i in range(kh):
                for j in range(kw):
                    out += x[:, i:i + s * oh:s, j:j + s * ow:s, :] @ w[:, i, j, :].T
            return out + b
        if op == "MAX_POOL_2D":
            x = a[0]
            same, s, k = self._scalar(o, 0, "b") == 0, self._scalar(o, 1, "i"), self._scalar(o, 3, "i")
            size = [(-(-n // s) if same else (n - k) // s + 1) for n in x.shape[1:3]]
            pad = [max(0, (m - 1) * s + k - n) for m, n in zip(size, x.shape[1:3])]
            xp = np.full((x.shape[0], x.shape[1] + pad[0], x.shape[2] + pad[1], x.shape[3]), -np.inf)
            t, l = pad[0] // 2, pad[1] // 2
            xp[:, t:t + x.shape[1], l:l + x.shape[2]] = x
            return np.max([xp[:, i:i + s * size[0]:s, j:j + s * size[1]:s]
                           for i in range(k) for j in range(k)], axis=0)
        if op == "FULLY_CONNECTED":
            x, w, b = a
            return x.reshape(x.shape[0], -1) @ w.T + b
        if op in ("SUM", "REDUCE_MAX"):
            f = np.sum if op == "SUM" else np.max
            return f(a[0], axis=tuple(np.atleast_1d(a[1]) % a[0].ndim), keepdims=True)
        unary = {"RELU": lambda x: np.maximum(x, 0), "NEG": np.negative, "EXP": np.exp}
        if op in unary:
            return unary[op](a[0])
        return {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.divide}[op](*a)


def run(path, x):
    return Graph(path).run(x)
