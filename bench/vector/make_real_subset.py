#!/usr/bin/env python3
"""A real-embedding benchmark set from the first N rows of the Debian MiniLM
embeddings (scripts/datasets/make_debian_embeddings.py), usable while that job
is still running: rows come from .cache/datasets/debian_minilm.npy when it
exists, else from the finished chunks under debian_minilm.parts/ (contiguous
from row 0). 1,000 rows drawn at random (seed 7) become the queries, the rest
the base; ground truth is exact cosine top-100 (numpy).

Usage: make_real_subset.py N OUT_DIR   (writes base.npy, q.npy, gt.npy)
"""
import glob
import os
import re
import sys

import numpy as np

n, out = int(sys.argv[1]), sys.argv[2]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".cache", "datasets")
full = os.path.join(root, "debian_minilm.npy")
if os.path.exists(full):
    x = np.load(full, mmap_mode="r")[:n]
else:
    parts = []
    for path in glob.glob(os.path.join(root, "debian_minilm.parts", "*", "rows_*.npy")):
        a, b = map(int, re.search(r"rows_(\d+)_(\d+)\.npy$", path).groups())
        parts.append((a, b, path))
    parts.sort()
    chunks, at = [], 0
    for a, b, path in parts:
        if a != at or at >= n:
            break
        chunks.append(np.load(path))
        at = b
    if at < n:
        sys.exit(f"only rows 0..{at} are embedded so far; asked for {n}")
    x = np.concatenate(chunks)[:n]
x = np.ascontiguousarray(x, dtype=np.float32)
rng = np.random.default_rng(7)
qi = np.sort(rng.choice(n, size=1000, replace=False))
mask = np.ones(n, bool)
mask[qi] = False
base, q = x[mask], x[qi]
bn = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
dist = -(qn @ bn.T)
idx = np.argpartition(dist, 100, axis=1)[:, :100]
gt = np.take_along_axis(idx, np.take_along_axis(dist, idx, 1).argsort(1), 1).astype(np.int64)
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "base.npy"), base)
np.save(os.path.join(out, "q.npy"), q)
np.save(os.path.join(out, "gt.npy"), gt)
print("ok", base.shape, q.shape)
