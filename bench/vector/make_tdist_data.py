#!/usr/bin/env python3
"""A cosine data set hard for quantized graph walks, never used to tune:
100,000 x 256 (plus 1,000 queries) drawn as a rank-24 mixture with Student-t
(3 degrees of freedom) weights plus Gaussian noise, so a few rows and
dimensions carry heavy tails. Writes base.npy, q.npy and gt.npy (int64, the
100 nearest by cosine, exact) to OUT_DIR.

Usage: make_tdist_data.py OUT_DIR
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(123)
n, nq, d, r = 100_000, 1000, 256, 24
A = rng.normal(size=(r, d)).astype(np.float32)


def draw(m):
    z = rng.standard_t(3, size=(m, r)).astype(np.float32)
    return (z @ A + 0.6 * rng.normal(size=(m, d)).astype(np.float32)).astype(np.float32)


base, queries = draw(n), draw(nq)
bn = base / np.linalg.norm(base, axis=1, keepdims=True)
qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
gt = np.argsort(-(qn @ bn.T), axis=1)[:, :100].astype(np.int64)
np.save(os.path.join(out, "base.npy"), base)
np.save(os.path.join(out, "q.npy"), queries)
np.save(os.path.join(out, "gt.npy"), gt)
