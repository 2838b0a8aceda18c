#!/usr/bin/env python3
"""Two datasets for bench/vector/traversal_ab.sh, with exact ground truth (numpy):

  hard_*: 100,000 x 96 anisotropic clusters of Zipf-distributed sizes with 5%
          uniform noise, L2 (hard for graphs; never used to tune anything)
  deb_*:  the 20,000 cached MiniLM embeddings of Debian package descriptions
          (384-d, cosine; .cache/datasets/debian_minilm_20k.npy, written by
          the demo): 19,000 base rows, 1,000 queries

Usage: make_traversal_data.py OUT_DIR [DEBIAN_20K_NPY]
"""
import os
import sys

import numpy as np

out = sys.argv[1]
deb_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", ".cache", "datasets",
    "debian_minilm_20k.npy")
os.makedirs(out, exist_ok=True)
os.chdir(out)
rng = np.random.default_rng(7)
n, nq, d, k = 100_000, 1_000, 96, 300
sizes = 1.0 / np.arange(1, k + 1) ** 1.1
sizes /= sizes.sum()
centres = rng.normal(0, 3, size=(k, d)).astype(np.float32)
scales = np.exp(rng.normal(0, 0.8, size=(k, d))).astype(np.float32)  # anisotropic
def draw(m):
    c = rng.choice(k, size=m, p=sizes)
    x = centres[c] + rng.normal(0, 1, size=(m, d)).astype(np.float32) * scales[c]
    noise = rng.random(m) < 0.05
    x[noise] = rng.uniform(-8, 8, size=(noise.sum(), d)).astype(np.float32)
    return x.astype(np.float32)
def gt_of(base, q, metric):
    if metric == "cosine":
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        qq = q / np.linalg.norm(q, axis=1, keepdims=True)
        dist = -(qq @ b.T)
    else:
        dist = (base.astype(np.float64) ** 2).sum(1)[None, :] - 2 * q.astype(np.float64) @ base.T.astype(np.float64)
    idx = np.argpartition(dist, 100, axis=1)[:, :100]
    order = np.take_along_axis(dist, idx, 1).argsort(1)
    return np.take_along_axis(idx, order, 1).astype(np.int64)
base, q = draw(n), draw(nq)
np.save("hard_base.npy", base); np.save("hard_q.npy", q); np.save("hard_gt.npy", gt_of(base, q, "l2"))
deb = np.load(deb_path).astype(np.float32)
np.save("deb_base.npy", deb[:19000]); np.save("deb_q.npy", deb[19000:])
np.save("deb_gt.npy", gt_of(deb[:19000], deb[19000:], "cosine"))
print("ok", base.shape, deb.shape)
