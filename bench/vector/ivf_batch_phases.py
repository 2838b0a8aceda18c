#!/usr/bin/env python3
"""Where a batched IVF-PQ 4-bit search spends its time, ailake next to FAISS.

Both search the queries as one batch on one thread (as bench/vector/run.py
times them), at several nprobe:

  ailake: the list-grouped batch path (SearchBatch without a filter) against
          the per-query path (the same search with an all-true `allowed`
          mask, which SearchBatch runs query by query), alternated in one
          process; both return the same ids.
  FAISS:  IndexRefineFlat(IndexIVFPQFastScan) with k_factor = --refine
          against the fast-scan index alone returning 10 x refine
          candidates: the difference is FAISS's re-ranking.

  ivf_batch_phases.py --base B.npy --queries Q.npy --gt GT.npy --metric cosine|l2
                      [--pq-m 192] [--nlist 1024] [--refine 16] [--index-cache F]
  ivf_batch_phases.py --make-synthetic DIR   (132,876 + 1,000 unit rows, 384-d,
                      2,000 Gaussian clusters, exact top-100 by inner product)
"""
import argparse
import os
import sys
import time

import numpy as np


def make_synthetic(out):
    import faiss
    rng = np.random.default_rng(0)
    n, d, nq = 132876, 384, 1000
    cent = rng.standard_normal((2000, d)).astype(np.float32)
    x = cent[rng.integers(0, 2000, n + nq)] + 0.6 * rng.standard_normal((n + nq, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact = faiss.IndexFlatIP(d)
    exact.add(x[:n])
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "base.npy"), x[:n])
    np.save(os.path.join(out, "q.npy"), x[n:])
    np.save(os.path.join(out, "gt.npy"), exact.search(x[n:], 100)[1].astype(np.int64))


def cpu(f):
    t = time.process_time()
    r = f()
    return time.process_time() - t, r


def recall(ids, gt):
    return float(np.mean([len(set(ids[i]) & set(gt[i])) / 10 for i in range(len(gt))]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-synthetic")
    ap.add_argument("--base")
    ap.add_argument("--queries")
    ap.add_argument("--gt")
    ap.add_argument("--metric", default="cosine")
    ap.add_argument("--pq-m", type=int, default=0, help="0 = dim / 2")
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--nprobe", default="8,16,32")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--refine", type=int, default=16, help="re-ranking factor of both")
    ap.add_argument("--index-cache", help="ailake index file, built once")
    ap.add_argument("--build-dir", default="build/ci")
    args = ap.parse_args()
    if args.make_synthetic:
        return make_synthetic(args.make_synthetic)
    sys.path.insert(0, os.path.join(args.build_dir, "python"))
    import ailake
    import faiss
    base = np.load(args.base).astype(np.float32)
    q = np.load(args.queries).astype(np.float32)
    gt = np.load(args.gt)[:, :10]
    n, d = base.shape
    m = args.pq_m or d // 2
    metric = "cosine" if args.metric == "cosine" else "euclidean"
    if args.index_cache and os.path.exists(args.index_cache):
        ai = ailake.load_index(args.index_cache)
    else:
        ai = ailake.build_index(base, "ivf_pq", metric, num_threads=2, nlist=args.nlist,
                                refine_factor=16, pq_bits=4, pq_m=m)
        if args.index_cache:
            ai.save(args.index_cache)
    fb, fq = base, q
    if args.metric == "cosine":
        fb = base / np.linalg.norm(base, axis=1, keepdims=True)
        fq = q / np.linalg.norm(q, axis=1, keepdims=True)
    mt = faiss.METRIC_INNER_PRODUCT if args.metric == "cosine" else faiss.METRIC_L2
    quant = faiss.IndexFlatIP(d) if args.metric == "cosine" else faiss.IndexFlatL2(d)
    ivf = faiss.IndexIVFPQFastScan(quant, d, args.nlist, m, 4, mt)
    ref = faiss.IndexRefineFlat(ivf)
    faiss.omp_set_num_threads(2)
    ref.train(fb)
    ref.add(fb)
    faiss.omp_set_num_threads(1)
    ref.k_factor = args.refine
    mask = np.ones(n, dtype=bool)
    nq = len(q)
    print(f"{n} x {d} {args.metric}, nlist {args.nlist}, m {m} x 4 bits, refine {args.refine}, "
          f"{nq} queries in one batch, one thread (QPS from CPU time, medians of {args.rounds})")
    for npb in [int(x) for x in args.nprobe.split(",")]:
        ivf.nprobe = npb
        t = {"grouped": [], "per_query": [], "faiss": [], "faiss_base": []}
        for _ in range(args.rounds):
            s, a = cpu(lambda: ai.search(q, 10, nprobe=npb, refine_factor=args.refine, num_threads=1))
            t["grouped"].append(s)
            s, b = cpu(lambda: ai.search(q, 10, nprobe=npb, refine_factor=args.refine, num_threads=1,
                                         allowed=mask))
            t["per_query"].append(s)
            s, f = cpu(lambda: ref.search(fq, 10)[1])
            t["faiss"].append(s)
            s, _ = cpu(lambda: ivf.search(fq, 10 * args.refine))
            t["faiss_base"].append(s)
        med = {k: float(np.median(v)) for k, v in t.items()}
        qps = {k: nq / v for k, v in med.items()}
        print(f"nprobe {npb:3d}: ailake grouped {qps['grouped']:8,.0f} per-query "
              f"{qps['per_query']:8,.0f} ({med['per_query'] / med['grouped']:.3f}x, same ids "
              f"{np.mean(a.ids == b.ids):.4f}, recall {recall(a.ids, gt):.4f}) | FAISS "
              f"{qps['faiss']:8,.0f} (recall {recall(f, gt):.4f}; re-rank "
              f"{(med['faiss'] - med['faiss_base']) / med['faiss']:.0%} of its time) | "
              f"grouped / FAISS {med['faiss'] / med['grouped']:.3f}x", flush=True)


if __name__ == "__main__":
    main()
