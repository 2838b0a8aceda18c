#!/usr/bin/env python3
"""Rows an IVF search scans to reach a coarse recall, with and without spilled
assignments: the groundwork for giving IVF-PQ rows a second list.

Coarse recall at nprobe p is the share of each query's exact 10 nearest rows
that sit in one of its p nearest lists; rows scanned is the total size of
those lists. With spilling, every row (or a share of them) also sits in a
second list, chosen to minimise |x - c'|^2 + lam * <r, x - c'>^2 / |r|^2
(r = x - c, the residual to its own centroid c): a list whose residual is
not parallel to r, so the two lists' errors differ. The table gives, for each
lam and share, the rows scanned at recall 0.90 and 0.95 (interpolated over
nprobe 1-64) next to one list per row.

  ivf_spill_rows.py --base B.npy --queries Q.npy --metric cosine|l2 [--nlist 1024]

k-means is FAISS's (20 iterations, seed 1): the question is the partition's
shape, not our trainer.
"""
import argparse

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--metric", default="cosine")
    ap.add_argument("--nlist", type=int, default=1024)
    args = ap.parse_args()
    import faiss
    base = np.load(args.base).astype(np.float32)
    q = np.load(args.queries).astype(np.float32)
    if args.metric == "cosine":
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    n, d = base.shape
    nlist = args.nlist
    flat = faiss.IndexFlatL2(d)
    flat.add(base)
    gt = flat.search(q, 10)[1]
    km = faiss.Kmeans(d, nlist, niter=20, seed=1)
    km.train(base)
    cent = km.centroids
    cq = faiss.IndexFlatL2(d)
    cq.add(cent)
    near = cq.search(base, 16)[1]
    a1 = near[:, 0]
    r = base - cent[a1]
    rn2 = (r * r).sum(1) + 1e-12
    probes = cq.search(q, 64)[1]

    def curve(a2, mask):
        sizes = np.bincount(a1, minlength=nlist) + np.bincount(a2[mask], minlength=nlist)
        out = []
        for p in range(1, 65):
            pl = probes[:, :p]
            inset = np.zeros((len(q), nlist), bool)
            np.put_along_axis(inset, pl, True, 1)
            g1 = np.take_along_axis(inset, a1[gt], 1)
            g2 = np.take_along_axis(inset, a2[gt], 1) & mask[gt]
            out.append(((g1 | g2).mean(), sizes[pl].sum(1).mean()))
        return out

    def rows_at(c, t):
        for (r0, w0), (r1, w1) in zip(c, c[1:]):
            if r1 >= t:
                return w0 if r0 >= t else w0 + (t - r0) / (r1 - r0) * (w1 - w0)
        return float("nan")

    plain = curve(a1, np.zeros(n, bool))
    print(f"{n} x {d} {args.metric}, nlist {nlist}, {len(q)} queries")
    print(f"| spill | lam | share | rows @0.90 | rows @0.95 |\n|---|---|---|---|---|")
    print(f"| none | - | - | {rows_at(plain, .90):.0f} | {rows_at(plain, .95):.0f} |")
    for lam in (0.0, 1.0, 4.0):
        best = np.full(n, np.inf)
        a2 = np.zeros(n, int)
        second = np.zeros(n)
        for j in range(1, 16):
            c = near[:, j]
            rp = base - cent[c]
            dd = (rp * rp).sum(1)
            loss = dd + lam * ((r * rp).sum(1) ** 2) / rn2
            m = loss < best
            best[m], a2[m], second[m] = loss[m], c[m], dd[m]
        ratio = second / rn2
        for share in (1.0, 0.5, 0.25):
            mask = ratio <= np.quantile(ratio, share)
            c = curve(a2, mask)
            print(f"| second list | {lam} | {share} | {rows_at(c, .90):.0f} | {rows_at(c, .95):.0f} |")


if __name__ == "__main__":
    main()
