#!/usr/bin/env python3
"""Side-by-side vector index benchmark: ailake vs hnswlib, FAISS and USearch.

One command runs every library on the same data in the same run:

  .venv-bench/bin/python bench/vector/run.py --dataset synthetic --n 1000000
  .venv-bench/bin/python bench/vector/run.py --dataset debian

Datasets
  synthetic  n x 128 clustered Gaussian vectors (1000 centres), L2
  debian     384-d MiniLM embeddings of Debian package descriptions, cosine
             (/work/main/.cache/datasets/debian_minilm.npy or --debian PATH);
             the last --nq rows are the queries, the rest the base set
  npy        any --base-npy / --queries-npy pair under --metric (for example
             the anisotropic Zipf clusters of make_traversal_data.py)

For each library: build time with --threads threads (2), single-thread QPS at
recall@10 of 0.90 / 0.95 / 0.99 (read off the recall/QPS curve of a parameter
sweep, interpolating between the two sweep points around the target), the highest recall
over the sweep (HNSW ef up to 1024), index bytes, and ratios to the best peer. Ground truth by
exact search (FAISS IndexFlat). Prints a table and writes JSON (--json).
With --batch-threads N the sweep is run again with all queries searched as
one batch on N threads (all cores), and a second table gives wall-clock QPS.

Every library runs in this process through its Python package (ailake's from
--build-dir, default build/release: `cmake --preset release
-DAILAKE_BUILD_PYTHON=ON && cmake --build --preset release --target _ailake`).
All indexes of a kind are built first; then at each sweep point the libraries
are timed in alternation, --reps rounds with a different one first each
round, and each keeps its best round. Machine speed drifts by 10-20% over
minutes on a shared host; alternating puts that drift on every library alike.
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = (0.90, 0.95, 0.99)
EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
NPROBE_SWEEP = [1, 2, 4, 8, 16, 32, 64, 128]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data
def synthetic(n, nq, dim=128, centres=1000, seed=42):
    rng = np.random.default_rng(seed)
    c = rng.normal(0.0, 1.0, size=(centres, dim)).astype(np.float32) * 4.0

    def draw(m):
        out = np.empty((m, dim), dtype=np.float32)
        for s in range(0, m, 100000):
            e = min(m, s + 100000)
            out[s:e] = c[rng.integers(0, centres, e - s)] + rng.normal(
                0.0, 1.0, size=(e - s, dim)).astype(np.float32)
        return out

    return draw(n), draw(nq)


def load_dataset(args, cache):
    if args.dataset == "synthetic":
        path = os.path.join(cache, f"synthetic_{args.n}_{args.nq}.npz")
        if not os.path.exists(path):
            log(f"generating synthetic {args.n} x 128")
            base, queries = synthetic(args.n, args.nq)
            np.savez(path, base=base, queries=queries)
        z = np.load(path)
        return z["base"], z["queries"], "l2"
    if args.dataset == "npy":
        base = np.ascontiguousarray(np.load(args.base_npy), dtype=np.float32)
        queries = np.ascontiguousarray(np.load(args.queries_npy)[: args.nq], dtype=np.float32)
        return base, queries, args.metric
    data = np.load(args.debian, mmap_mode="r")
    if args.n and args.n < data.shape[0] - args.nq:
        base = np.ascontiguousarray(data[: args.n], dtype=np.float32)
    else:
        base = np.ascontiguousarray(data[: data.shape[0] - args.nq], dtype=np.float32)
    queries = np.ascontiguousarray(data[data.shape[0] - args.nq:], dtype=np.float32)
    return base, queries, "cosine"


def ground_truth(base, queries, metric, k=100):
    import faiss
    d = base.shape[1]
    if metric == "cosine":
        b = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
        index = faiss.IndexFlatIP(d)
        index.add(b)
        _, ids = index.search(q, k)
    else:
        index = faiss.IndexFlatL2(d)
        index.add(base)
        _, ids = index.search(queries, k)
    return ids.astype(np.int64)


class Truth:
    """Exact neighbours (ids, nq x 100) and, for ties, each query's k-th exact
    distance: a returned row whose exact distance is within 1e-5 of it counts
    as a hit even when the ground truth listed another row of that distance
    (real sets hold duplicate rows: 387 of the first 49,000 Debian MiniLM
    embeddings, 61 of 1,000 queries with a tie at the 10th place; which of
    the tied rows the exact search lists is arbitrary)."""

    def __init__(self, ids, base, queries, metric, k):
        self.ids, self.k, self.metric = ids, k, metric
        if metric == "cosine":
            base = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
            queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
        self.base, self.queries = base, queries
        self.kth = self.distances(np.arange(len(queries)), ids[:, k - 1:k])[:, 0]

    def distances(self, qi, rows):
        b = self.base[np.maximum(rows, 0)].astype(np.float64)
        q = self.queries[qi][:, None, :].astype(np.float64)
        if self.metric == "cosine":
            return 1.0 - (b * q).sum(-1)
        return ((b - q) ** 2).sum(-1)


def recall(ids, truth, k=10):
    ids = np.asarray(ids)[:, :k]
    tied = truth.distances(np.arange(len(ids)), ids) <= truth.kth[:, None] + 1e-5
    hits = 0
    for qi, (row, want) in enumerate(zip(ids, truth.ids[:, :k])):
        want = set(int(x) for x in want)
        got = set(int(x) for j, x in enumerate(row) if x >= 0 and (x in want or tied[qi, j]))
        hits += min(len(got), k)
    return hits / (len(ids) * k)


# ---------------------------------------------------------------- peers
def cpu_seconds():
    """CPU seconds of this process, all threads (steadier than wall time on a
    shared machine)."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


class Timer:
    def __enter__(self):
        self.w, self.c = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, cpu_seconds() - self.c


class Built:
    """One library's index, built and ready: its build cost, its size, and a
    search(param, queries, k, threads=1) -> ids (one batch on `threads` threads)."""

    def __init__(self, library, index, timer, size, search, queries, sweep_param, **extra):
        self.info = {"library": library, "index": index, "build_s": round(timer.wall, 4),
                     "build_cpu_s": round(timer.cpu, 4), "index_bytes": int(size),
                     "sweep_param": sweep_param, **extra}
        self.search = search
        self.queries = queries


def interleaved_sweep(built, params, gt, k, reps, threads=1):
    """Times every library at every sweep point, alternating libraries within
    each point (reps rounds, a different library first each round) and keeping
    each library's best round, so that drift in machine speed during the run
    falls on all libraries alike. A library leaves the sweep once its recall
    reaches 0.999. threads > 1: each library searches the queries as one
    batch on that many threads (wall-clock QPS is the figure then)."""
    points = {id(b): [] for b in built}
    active = list(built)
    for p in params:
        if not active:
            break
        best = {id(b): [float("inf"), float("inf"), None] for b in active}
        for b in active:
            b.search(p, b.queries[:50], k, threads)  # warm-up
        for rep in range(reps):
            order = active[rep % len(active):] + active[:rep % len(active)]
            for b in order:
                with Timer() as t:
                    ids = b.search(p, b.queries, k, threads)
                e = best[id(b)]
                e[0], e[1] = min(e[0], t.wall), min(e[1], t.cpu)
                e[2] = ids
        for b in list(active):
            wall, cpu, ids = best[id(b)]
            nq = len(b.queries)
            points[id(b)].append({"param": p, "recall": round(recall(ids, gt, k), 4),
                                  "qps": round(nq / wall, 1), "qps_cpu": round(nq / max(cpu, 1e-9), 1)})
            log(f"  {b.info['library']} {b.info['sweep_param']}={p}: {points[id(b)][-1]}")
            if points[id(b)][-1]["recall"] >= 0.999:
                active.remove(b)
    out = []
    for b in built:
        r = dict(b.info)
        r["points"] = points[id(b)]
        out.append(r)
    return out


def saved_size(save):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "index")
        save(path)
        return os.path.getsize(path)


# ---------------------------------------------------------------- libraries
def ailake_module(args):
    sys.path.insert(0, os.path.join(args.build_dir, "python"))
    import ailake
    return ailake


def pq4_m(args, dim):
    """Sub-spaces of the 4-bit (fast-scan) IVF-PQ indexes: --pq4-m, else dim / 2."""
    return args.pq4_m or dim // 2


def build_ailake(kind, base, queries, metric, args, nbits=8):
    ailake = ailake_module(args)
    params = ({"m": args.M, "ef_construction": args.efc, "traversal": args.hnsw_traversal}
              if kind == "hnsw" else
              {"nlist": args.nlist, "refine_factor": args.refine, "pq_bits": nbits,
               "pq_m": args.pq_m if nbits == 8 else pq4_m(args, base.shape[1])})
    with Timer() as t:
        index = ailake.build_index(base, kind, "cosine" if metric == "cosine" else "euclidean",
                                   num_threads=args.threads, **params)
    key = "ef" if kind == "hnsw" else "nprobe"

    extra = {"refine_factor": args.hnsw_refine} if kind == "hnsw" and args.hnsw_refine else {}

    def search(p, q, k, threads=1):
        return index.search(q, k, num_threads=threads, **{key: p}, **extra).ids

    label = kind if nbits == 8 else "ivf_pq4"
    if kind == "hnsw":
        label += f"_{args.hnsw_traversal}" + (f"_refine{args.hnsw_refine}" if args.hnsw_refine else "")
    return Built("ailake", label, t, saved_size(index.save), search, queries, key)


def build_hnswlib(base, queries, metric, args):
    import hnswlib
    space = "cosine" if metric == "cosine" else "l2"
    index = hnswlib.Index(space=space, dim=base.shape[1])
    with Timer() as t:
        index.init_index(max_elements=base.shape[0], M=args.M, ef_construction=args.efc,
                         random_seed=42)
        index.set_num_threads(args.threads)
        index.add_items(base, np.arange(base.shape[0]))
    size = saved_size(index.save_index)
    index.set_num_threads(1)

    def search(ef, q, k, threads=1):
        index.set_ef(max(ef, k))
        ids, _ = index.knn_query(q, k=k, num_threads=threads)
        return ids

    return Built("hnswlib", "hnsw", t, size, search, queries, "ef")


def faiss_data(base, queries, metric):
    if metric != "cosine":
        return base, queries
    nb = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
    nq = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
    return nb.astype(np.float32), nq.astype(np.float32)


def build_faiss_hnsw(base, queries, metric, args, sq8=False):
    """IndexHNSWFlat, or with sq8 IndexHNSWSQ (8-bit scalar codes, searched on
    the codes alone: FAISS keeps no exact vectors to re-rank with)."""
    import faiss
    b, q = faiss_data(base, queries, metric)
    mt = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    faiss.omp_set_num_threads(args.threads)
    if sq8:
        index = faiss.IndexHNSWSQ(b.shape[1], faiss.ScalarQuantizer.QT_8bit, args.M, mt)
        with Timer() as tt:
            index.train(b)
    else:
        index = faiss.IndexHNSWFlat(b.shape[1], args.M, mt)
    index.hnsw.efConstruction = args.efc
    faiss.omp_set_num_threads(args.threads)
    with Timer() as t:
        index.add(b)
    size = len(faiss.serialize_index(index))
    del b

    def search(ef, qq, k, threads=1):
        faiss.omp_set_num_threads(threads)
        index.hnsw.efSearch = max(ef, k)
        return index.search(qq, k)[1]

    if sq8:
        t.wall, t.cpu = t.wall + tt.wall, t.cpu + tt.cpu
    return Built("faiss", "hnsw_sq8" if sq8 else "hnsw", t, size, search, q, "ef")


def build_faiss_ivfpq(base, queries, metric, args, fast_scan=False):
    """IVF-PQ with exact re-ranking (IndexRefineFlat). fast_scan: 4-bit codes
    scanned in SIMD blocks (IndexIVFPQFastScan, the factory's "PQ{m}x4fs")."""
    import faiss
    b, q = faiss_data(base, queries, metric)
    d = b.shape[1]
    mt = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    quant = faiss.IndexFlatIP(d) if metric == "cosine" else faiss.IndexFlatL2(d)
    if fast_scan:
        ivf = faiss.IndexIVFPQFastScan(quant, d, args.nlist, pq4_m(args, d), 4, mt)
    else:
        ivf = faiss.IndexIVFPQ(quant, d, args.nlist, args.pq_m, 8, mt)
    index = faiss.IndexRefineFlat(ivf)
    faiss.omp_set_num_threads(args.threads)
    with Timer() as tt:
        index.train(b)
    with Timer() as ta:
        index.add(b)
    size = len(faiss.serialize_index(index))
    del b

    def search(nprobe, qq, k, threads=1, keep=(quant, ivf)):  # keep: the wrapped indexes stay alive
        faiss.omp_set_num_threads(threads)
        ivf.nprobe = nprobe
        index.k_factor = args.refine
        return index.search(qq, k)[1]

    t = Timer()
    t.wall, t.cpu = tt.wall + ta.wall, tt.cpu + ta.cpu
    return Built("faiss", "ivf_pq4fs" if fast_scan else "ivf_pq", t, size, search, q, "nprobe",
                 train_s=round(tt.wall, 4), train_cpu_s=round(tt.cpu, 4))


def build_usearch(base, queries, metric, args, dtype="f32"):
    """USearch HNSW storing f32 vectors, or i8 (searched on the i8 copy)."""
    from usearch.index import Index
    index = Index(ndim=base.shape[1], metric="cos" if metric == "cosine" else "l2sq",
                  dtype=dtype, connectivity=args.M, expansion_add=args.efc)
    with Timer() as t:
        index.add(np.arange(base.shape[0]), base, threads=args.threads)
    size = saved_size(index.save)

    def search(ef, q, k, threads=1):
        index.expansion_search = max(ef, k)
        return index.search(q, k, threads=threads).keys.astype(np.int64)

    return Built("usearch", "hnsw" if dtype == "f32" else f"hnsw_{dtype}", t, size, search, queries,
                 "expansion_search")


def flat_compare(base, queries, gt, metric, args, libs):
    """Exact search, one thread: queries one at a time and as one batch, the
    libraries alternating within each of --reps rounds (best round kept)."""
    entries = []
    if "ailake-flat" in libs:
        ailake = ailake_module(args)
        index = ailake.build_index(base, "flat", "cosine" if metric == "cosine" else "euclidean")
        entries.append(("ailake", lambda qq, k: index.search(qq, k, num_threads=1).ids, queries))
    if "faiss-flat" in libs:
        import faiss
        b, q = faiss_data(base, queries, metric)
        findex = faiss.IndexFlatIP(b.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(b.shape[1])
        findex.add(b)
        del b

        def fsearch(qq, k):
            faiss.omp_set_num_threads(1)
            return findex.search(qq, k)[1]

        entries.append(("faiss", fsearch, q))
    nq = min(len(queries), args.flat_single)
    best = {name: [float("inf")] * 4 + [None] for name, _, _ in entries}
    for rep in range(args.reps):
        order = entries[rep % max(1, len(entries)):] + entries[:rep % max(1, len(entries))]
        for name, search, q in order:
            with Timer() as ts:
                for i in range(nq):
                    search(q[i:i + 1], args.k)
            with Timer() as tb:
                ids = search(q, args.k)
            e = best[name]
            e[0], e[1], e[2], e[3], e[4] = (min(e[0], ts.wall), min(e[1], ts.cpu),
                                            min(e[2], tb.wall), min(e[3], tb.cpu), ids)
    bandwidth = memory_bandwidth(args)
    scan_bytes = base.shape[0] * base.shape[1] * 4
    out = []
    for name, _, q in entries:
        sw, sc, bw, bc, ids = best[name]
        r = {"library": name, "index": "flat", "recall": round(recall(ids, gt, args.k), 4),
             "single_qps_cpu": round(nq / sc, 1), "single_qps": round(nq / sw, 1),
             "batch_qps_cpu": round(len(q) / bc, 1), "batch_qps": round(len(q) / bw, 1),
             "single_scan_gbps": round(scan_bytes * nq / sw / 1e9, 2)}
        if bandwidth:
            r["memory_bandwidth_gbps"] = round(bandwidth / 1e9, 2)
            r["bandwidth_fraction"] = round(scan_bytes * nq / sw / bandwidth, 3)
        out.append(r)
    return out


def memory_bandwidth(args):
    """Bytes/s of a plain streaming read on one thread (BM_MemoryBandwidth of
    ailake_vec_bench: 512 MiB read with four running sums), the yardstick of
    the single-query scan. None when the binary was not built."""
    exe = os.path.join(args.build_dir, "bin", "ailake_vec_bench")
    if not os.path.exists(exe):
        log(f"{exe} not built (cmake --build --preset release --target ailake_vec_bench): "
            "no bandwidth figure")
        return None
    import subprocess
    out = subprocess.run([exe, "--benchmark_filter=BM_MemoryBandwidth", "--benchmark_format=json",
                          "--benchmark_repetitions=3"], check=True, capture_output=True,
                         text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    return max(b["bytes_per_second"] for b in runs)


# ---------------------------------------------------------------- report
def qps_at(points, target, key):
    """QPS at recall `target` on the library's recall/QPS curve: the sweep
    points are joined by straight lines (recall rises and QPS falls along the
    sweep), so a target between two points gets the QPS between them rather
    than the slower point's. None when no point reaches the target."""
    best = None
    for lo, hi in zip([None] + points[:-1], points):
        if hi["recall"] < target:
            continue
        if lo is None or lo["recall"] >= target or hi["recall"] <= lo["recall"]:
            q = hi[key]
        else:
            f = (target - lo["recall"]) / (hi["recall"] - lo["recall"])
            q = lo[key] + f * (hi[key] - lo[key])
        best = q if best is None else max(best, q)
    return None if best is None else round(best, 1)


def summarize(results):
    for r in results:
        r["qps_at"] = {str(t): qps_at(r["points"], t, "qps") for t in TARGETS}
        r["qps_cpu_at"] = {str(t): qps_at(r["points"], t, "qps_cpu") for t in TARGETS}
    for kind in ("hnsw", "ivf_pq"):
        peers = [r for r in results if r["library"] != "ailake"]
        for r in results:
            same = [p for p in peers if p is not r]
            r.setdefault("ratio_to_best_peer", {})
            for t in TARGETS:
                for key, name in (("qps_at", "qps"), ("qps_cpu_at", "qps_cpu")):
                    mine = r[key][str(t)]
                    best = max((p[key][str(t)] or 0 for p in same), default=0)
                    r["ratio_to_best_peer"][f"{name}@{t}"] = (
                        round(mine / best, 3) if mine and best else None)
            for key in ("build_s", "build_cpu_s"):
                fastest = min((p[key] for p in same), default=None)
                r["ratio_to_best_peer"][key.replace("_s", "")] = (
                    round(r[key] / fastest, 3) if fastest else None)
            smallest = min((p["index_bytes"] for p in same), default=None)
            r["ratio_to_best_peer"]["bytes"] = round(r["index_bytes"] / smallest, 3) if smallest else None
        break
    return results


def table(results, title, batched=0):
    lines = [f"### {title}", "",
             (f"QPS = wall-clock queries per second, queries searched as one batch on {batched} "
              "threads; " if batched else
              "QPS = single-thread queries per CPU-second (wall-clock QPS in the JSON); ") +
             "build = CPU seconds (wall in brackets); max recall = the highest over the sweep "
             "(a library leaves it at 0.999); ratios are to the best other library.", "",
             "| library | index | build CPU s (wall) | QPS@0.90 | QPS@0.95 | QPS@0.99 | max recall | "
             "index MB | QPS@0.90 ratio | QPS@0.95 ratio | QPS@0.99 ratio | build ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v: "-" if v is None else f"{v:,.0f}"
    g = lambda v: "-" if v is None else f"{v:.2f}"
    for r in results:
        q = r["qps_at" if batched else "qps_cpu_at"]
        rr = r["ratio_to_best_peer"]
        rk = "qps" if batched else "qps_cpu"
        lines.append(f"| {r['library']} | {r['index']} | {r['build_cpu_s']:.1f} ({r['build_s']:.1f}) | "
                     f"{f(q['0.9'])} | {f(q['0.95'])} | {f(q['0.99'])} | "
                     f"{max((p['recall'] for p in r['points']), default=0):.4f} | "
                     f"{r['index_bytes'] / 1e6:.1f} | {g(rr[rk + '@0.9'])} | "
                     f"{g(rr[rk + '@0.95'])} | {g(rr[rk + '@0.99'])} | {g(rr['build_cpu'])} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["synthetic", "debian", "npy"], default="synthetic",
                    help="npy: --base-npy and --queries-npy under --metric")
    ap.add_argument("--base-npy", dest="base_npy", help="--dataset npy: base rows (n x d float32)")
    ap.add_argument("--queries-npy", dest="queries_npy", help="--dataset npy: queries")
    ap.add_argument("--metric", choices=["l2", "cosine"], default="l2", help="--dataset npy only")
    ap.add_argument("--n", type=int, default=1000000, help="base vectors (debian: at most the file)")
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--hnsw-traversal", default="auto", choices=["exact", "sq8", "sq4", "auto"],
                    help="what ailake's HNSW walks on (auto, the default: chosen per index by measuring)")
    ap.add_argument("--hnsw-refine", type=int, default=0,
                    help="ailake HNSW: re-rank the k * this nearest rows of the beam (0: all ef)")
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--pq-m", dest="pq_m", type=int, default=16)
    ap.add_argument("--pq4-m", dest="pq4_m", type=int, default=0,
                    help="sub-spaces of the 4-bit indexes (ailake-ivfpq4, faiss-ivfpq4fs); 0 = dim / 2")
    ap.add_argument("--refine", type=int, default=16, help="IVF-PQ re-ranking factor (both libraries)")
    ap.add_argument("--libs", default="ailake-hnsw,hnswlib,faiss-hnsw,faiss-hnswsq,usearch,usearch-i8,ailake-ivfpq,"
                    "faiss-ivfpq,ailake-ivfpq4,faiss-ivfpq4fs,ailake-flat,faiss-flat")
    ap.add_argument("--flat-single", dest="flat_single", type=int, default=200,
                    help="queries timed one at a time for the exact-search comparison")
    ap.add_argument("--debian", default="/work/main/.cache/datasets/debian_minilm.npy")
    ap.add_argument("--batch-threads", dest="batch_threads", type=int, default=0,
                    help="after the single-thread sweep, sweep again with the queries as one batch "
                         "on this many threads (0: not)")
    ap.add_argument("--reps", type=int, default=3,
                    help="alternating timing rounds per sweep point (best kept)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"),
                    help="build tree holding the ailake Python module (python/ailake)")
    ap.add_argument("--json", default=None, help="write results here")
    args = ap.parse_args()

    cache = os.path.join(ROOT, ".cache", "bench")
    os.makedirs(cache, exist_ok=True)
    base, queries, metric = load_dataset(args, cache)
    log(f"dataset {args.dataset}: base {base.shape}, queries {queries.shape}, metric {metric}")
    tag = f"{args.dataset}_{base.shape[0]}_{queries.shape[0]}"
    if args.dataset == "npy":
        tag = f"npy_{os.path.basename(args.base_npy).rsplit('.', 1)[0]}_{base.shape[0]}_{queries.shape[0]}"
    files = {"base": os.path.join(cache, f"{tag}_base.npy"),
             "queries": os.path.join(cache, f"{tag}_queries.npy"),
             "gt": os.path.join(cache, f"{tag}_gt.npy")}
    if not os.path.exists(files["gt"]):
        np.save(files["base"], base)
        np.save(files["queries"], queries)
        t0 = time.perf_counter()
        np.save(files["gt"], ground_truth(base, queries, metric))
        log(f"ground truth in {time.perf_counter() - t0:.1f}s")
    gt = Truth(np.load(files["gt"]), base, queries, metric, args.k)

    builders = {
        "ailake-hnsw": lambda: build_ailake("hnsw", base, queries, metric, args),
        "hnswlib": lambda: build_hnswlib(base, queries, metric, args),
        "faiss-hnsw": lambda: build_faiss_hnsw(base, queries, metric, args),
        "usearch": lambda: build_usearch(base, queries, metric, args),
        "usearch-i8": lambda: build_usearch(base, queries, metric, args, dtype="i8"),
        "faiss-hnswsq": lambda: build_faiss_hnsw(base, queries, metric, args, sq8=True),
        "ailake-ivfpq": lambda: build_ailake("ivf_pq", base, queries, metric, args),
        "faiss-ivfpq": lambda: build_faiss_ivfpq(base, queries, metric, args),
        "ailake-ivfpq4": lambda: build_ailake("ivf_pq", base, queries, metric, args, nbits=4),
        "faiss-ivfpq4fs": lambda: build_faiss_ivfpq(base, queries, metric, args, fast_scan=True),
    }
    libs = args.libs.split(",")
    unknown = [x for x in libs if x not in builders and x not in ("ailake-flat", "faiss-flat")]
    if unknown:
        ap.error(f"unknown --libs entries: {unknown}")
    results, batched = [], []
    for kind, sweep in (("hnsw", EF_SWEEP), ("ivf_pq", NPROBE_SWEEP)):
        built = []
        for name in libs:
            if name in builders and ("ivfpq" in name) == (kind == "ivf_pq"):
                log(f"== build {name}")
                built.append(builders[name]())
                log(json.dumps(built[-1].info, default=str))
        if built:
            log(f"== {kind} sweep, {args.reps} alternating rounds per point")
            results += interleaved_sweep(built, sweep, gt, args.k, args.reps)
            if args.batch_threads:
                log(f"== {kind} sweep, batches on {args.batch_threads} threads")
                batched += interleaved_sweep(built, sweep, gt, args.k, args.reps, args.batch_threads)
        del built
    if "ailake-flat" in libs or "faiss-flat" in libs:
        log("== exact search")
        results += flat_compare(base, queries, gt, metric, args, libs)
    flat = [r for r in results if r["index"] == "flat"]
    hnsw = summarize([r for r in results if r["index"].startswith("hnsw")])
    ivf = summarize([r for r in results if r["index"].startswith("ivf_pq")])
    hnsw_b = summarize([r for r in batched if r["index"].startswith("hnsw")])
    ivf_b = summarize([r for r in batched if r["index"].startswith("ivf_pq")])
    title = (f"{args.dataset}: {base.shape[0]:,} x {base.shape[1]}, {metric}, {queries.shape[0]} "
             f"queries, k={args.k}, M={args.M}, ef_construction={args.efc}, build threads={args.threads}")
    print(table(hnsw, "HNSW — " + title))
    print()
    ivf_title = (f"IVF-PQ (nlist={args.nlist}, m={args.pq_m}, 4-bit m={pq4_m(args, base.shape[1])}, "
                 f"refine x{args.refine}) — " + title)
    print(table(ivf, ivf_title))
    for rs, t in ((hnsw_b, "HNSW — " + title), (ivf_b, ivf_title)):
        if rs:
            print()
            print(table(rs, f"{t}, batches on {args.batch_threads} threads", args.batch_threads))
    if flat:
        print()
        print("### Exact search (flat), one thread, queries per CPU-second")
        print()
        print("| library | single-query QPS | single-query scan GB/s (share of memory bandwidth) "
              "| batched QPS | recall@10 |")
        print("|---|---|---|---|---|")
        for r in flat:
            share = (f" ({r['bandwidth_fraction']:.0%} of {r['memory_bandwidth_gbps']} GB/s)"
                     if "bandwidth_fraction" in r else "")
            print(f"| {r['library']} | {r['single_qps_cpu']:,.0f} | {r['single_scan_gbps']}{share} | "
                  f"{r['batch_qps_cpu']:,.0f} | {r['recall']} |")
    doc = {"dataset": args.dataset, "n": int(base.shape[0]), "dim": int(base.shape[1]),
           "metric": metric, "queries": int(queries.shape[0]), "k": args.k,
           "threads": args.threads, "M": args.M, "ef_construction": args.efc,
           "nlist": args.nlist, "pq_m": args.pq_m, "pq4_m": pq4_m(args, base.shape[1]),
           "refine": args.refine,
           "command": " ".join(sys.argv), "hnsw": hnsw, "ivf_pq": ivf, "flat": flat,
           "batch_threads": args.batch_threads, "hnsw_batched": hnsw_b, "ivf_pq_batched": ivf_b}
    print(json.dumps(doc))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
