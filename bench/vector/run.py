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

For each library: build time with --threads threads (2), single-thread QPS at
recall@10 of 0.90 / 0.95 / 0.99 (best QPS over a parameter sweep among points
reaching the recall), index bytes, and ratios to the best peer. Ground truth by
exact search (FAISS IndexFlat). Prints a table and writes JSON (--json).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = (0.90, 0.95, 0.99)
EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
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


def recall(ids, gt, k=10):
    hits = 0
    for row, want in zip(ids, gt[:, :k]):
        hits += len(set(int(x) for x in row[:k] if x >= 0) & set(int(x) for x in want))
    return hits / (len(gt) * k)


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


def timed_sweep(search, params, queries, gt, k):
    points = []
    for p in params:
        search(p, queries[:50], k)  # warm-up
        with Timer() as t:
            ids = search(p, queries, k)
        points.append({"param": p, "recall": round(recall(ids, gt, k), 4),
                       "qps": round(len(queries) / t.wall, 1),
                       "qps_cpu": round(len(queries) / t.cpu, 1)})
        if points[-1]["recall"] >= 0.999:
            break
    return points


def run_hnswlib(base, queries, gt, metric, args):
    import hnswlib
    space = "cosine" if metric == "cosine" else "l2"
    index = hnswlib.Index(space=space, dim=base.shape[1])
    with Timer() as t:
        index.init_index(max_elements=base.shape[0], M=args.M, ef_construction=args.efc,
                         random_seed=42)
        index.set_num_threads(args.threads)
        index.add_items(base, np.arange(base.shape[0]))
    with tempfile.NamedTemporaryFile() as f:
        index.save_index(f.name)
        size = os.path.getsize(f.name)
    index.set_num_threads(1)

    def search(ef, q, k):
        index.set_ef(max(ef, k))
        ids, _ = index.knn_query(q, k=k, num_threads=1)
        return ids

    return {"library": "hnswlib", "index": "hnsw", "build_s": t.wall, "build_cpu_s": t.cpu,
            "index_bytes": size,
            "sweep_param": "ef", "points": timed_sweep(search, EF_SWEEP, queries, gt, args.k)}


def faiss_data(base, queries, metric):
    if metric != "cosine":
        return base, queries
    nb = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
    nq = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
    return nb.astype(np.float32), nq.astype(np.float32)


def run_faiss_hnsw(base, queries, gt, metric, args):
    import faiss
    b, q = faiss_data(base, queries, metric)
    mt = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    index = faiss.IndexHNSWFlat(b.shape[1], args.M, mt)
    index.hnsw.efConstruction = args.efc
    faiss.omp_set_num_threads(args.threads)
    with Timer() as t:
        index.add(b)
    size = len(faiss.serialize_index(index))
    faiss.omp_set_num_threads(1)

    def search(ef, qq, k):
        index.hnsw.efSearch = max(ef, k)
        _, ids = index.search(qq, k)
        return ids

    return {"library": "faiss", "index": "hnsw", "build_s": t.wall, "build_cpu_s": t.cpu,
            "index_bytes": size,
            "sweep_param": "ef", "points": timed_sweep(search, EF_SWEEP, q, gt, args.k)}


def run_faiss_ivfpq(base, queries, gt, metric, args):
    import faiss
    b, q = faiss_data(base, queries, metric)
    d = b.shape[1]
    mt = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    quant = faiss.IndexFlatIP(d) if metric == "cosine" else faiss.IndexFlatL2(d)
    ivf = faiss.IndexIVFPQ(quant, d, args.nlist, args.pq_m, 8, mt)
    index = faiss.IndexRefineFlat(ivf)
    faiss.omp_set_num_threads(args.threads)
    with Timer() as tt:
        index.train(b)
    with Timer() as ta:
        index.add(b)
    size = len(faiss.serialize_index(index))
    faiss.omp_set_num_threads(1)

    def search(nprobe, qq, k):
        ivf.nprobe = nprobe
        index.k_factor = args.refine
        _, ids = index.search(qq, k)
        return ids

    return {"library": "faiss", "index": "ivf_pq", "build_s": tt.wall + ta.wall,
            "build_cpu_s": tt.cpu + ta.cpu, "train_s": tt.wall, "train_cpu_s": tt.cpu,
            "index_bytes": size, "sweep_param": "nprobe",
            "points": timed_sweep(search, NPROBE_SWEEP, q, gt, args.k)}


def run_faiss_flat(base, queries, gt, metric, args):
    """Exact search: single queries and one batch, one thread each."""
    import faiss
    b, q = faiss_data(base, queries, metric)
    index = faiss.IndexFlatIP(b.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(b.shape[1])
    index.add(b)
    faiss.omp_set_num_threads(1)
    nq = min(len(q), args.flat_single)
    with Timer() as ts:
        for i in range(nq):
            index.search(q[i:i + 1], args.k)
    with Timer() as tb:
        _, ids = index.search(q, args.k)
    return {"library": "faiss", "index": "flat", "recall": round(recall(ids, gt, args.k), 4),
            "single_qps_cpu": round(nq / ts.cpu, 1), "single_qps": round(nq / ts.wall, 1),
            "batch_qps_cpu": round(len(q) / tb.cpu, 1), "batch_qps": round(len(q) / tb.wall, 1)}


def run_ailake_flat(files, metric, args):
    exe = os.path.join(args.build_dir, "bin", "ailake_ann_bench")
    cmd = [exe, "--base", files["base"], "--queries", files["queries"], "--gt", files["gt"],
           "--metric", metric, "--index", "flat", "--k", str(args.k), "--sweep", "0",
           "--single-queries", str(args.flat_single)]
    log(" ".join(cmd))
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {"library": "ailake", "index": "flat", "recall": r["batch"]["recall"],
            "single_qps_cpu": r["points"][0]["qps_cpu"], "single_qps": r["points"][0]["qps"],
            "batch_qps_cpu": r["batch"]["qps_cpu"], "batch_qps": r["batch"]["qps"]}


def run_usearch(base, queries, gt, metric, args):
    from usearch.index import Index
    index = Index(ndim=base.shape[1], metric="cos" if metric == "cosine" else "l2sq",
                  dtype="f32", connectivity=args.M, expansion_add=args.efc)
    with Timer() as t:
        index.add(np.arange(base.shape[0]), base, threads=args.threads)
    with tempfile.NamedTemporaryFile() as f:
        index.save(f.name)
        size = os.path.getsize(f.name)

    def search(ef, q, k):
        index.expansion_search = max(ef, k)
        return index.search(q, k, threads=1).keys.astype(np.int64)

    return {"library": "usearch", "index": "hnsw", "build_s": t.wall, "build_cpu_s": t.cpu,
            "index_bytes": size,
            "sweep_param": "expansion_search",
            "points": timed_sweep(search, EF_SWEEP, queries, gt, args.k)}


def run_ailake(kind, files, metric, args, nbase, dim):
    exe = os.path.join(args.build_dir, "bin", "ailake_ann_bench")
    cmd = [exe, "--base", files["base"], "--queries", files["queries"], "--gt", files["gt"],
           "--metric", metric, "--index", kind, "--threads", str(args.threads),
           "--m", str(args.M), "--ef-construction", str(args.efc), "--k", str(args.k),
           "--nlist", str(args.nlist), "--pq-m", str(args.pq_m), "--refine", str(args.refine),
           "--sweep", ",".join(map(str, EF_SWEEP if kind == "hnsw" else NPROBE_SWEEP))]
    log(" ".join(cmd))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    # Our blob holds no vectors (they live in the Parquet column); count them
    # so the size compares like for like with peers that store them.
    r["blob_bytes"] = r["index_bytes"]
    r["index_bytes"] = r["blob_bytes"] + nbase * dim * 4
    return r


# ---------------------------------------------------------------- report
def qps_at(points, target, key):
    ok = [p[key] for p in points if p["recall"] >= target]
    return max(ok) if ok else None


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


def table(results, title):
    lines = [f"### {title}", "",
             "QPS = single-thread queries per CPU-second (wall-clock QPS in the JSON); "
             "build = CPU seconds (wall in brackets); ratios are to the best other library.", "",
             "| library | index | build CPU s (wall) | QPS@0.90 | QPS@0.95 | QPS@0.99 | index MB | "
             "QPS@0.90 ratio | QPS@0.95 ratio | QPS@0.99 ratio | build ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v: "-" if v is None else f"{v:,.0f}"
    g = lambda v: "-" if v is None else f"{v:.2f}"
    for r in results:
        q = r["qps_cpu_at"]
        rr = r["ratio_to_best_peer"]
        lines.append(f"| {r['library']} | {r['index']} | {r['build_cpu_s']:.1f} ({r['build_s']:.1f}) | "
                     f"{f(q['0.9'])} | {f(q['0.95'])} | {f(q['0.99'])} | "
                     f"{r['index_bytes'] / 1e6:.1f} | {g(rr['qps_cpu@0.9'])} | "
                     f"{g(rr['qps_cpu@0.95'])} | {g(rr['qps_cpu@0.99'])} | {g(rr['build_cpu'])} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["synthetic", "debian"], default="synthetic")
    ap.add_argument("--n", type=int, default=1000000, help="base vectors (debian: at most the file)")
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--pq-m", dest="pq_m", type=int, default=16)
    ap.add_argument("--refine", type=int, default=16, help="IVF-PQ re-ranking factor (both libraries)")
    ap.add_argument("--libs", default="ailake-hnsw,hnswlib,faiss-hnsw,usearch,ailake-ivfpq,"
                    "faiss-ivfpq,ailake-flat,faiss-flat")
    ap.add_argument("--flat-single", dest="flat_single", type=int, default=200,
                    help="queries timed one at a time for the exact-search comparison")
    ap.add_argument("--debian", default="/work/main/.cache/datasets/debian_minilm.npy")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--json", default=None, help="write results here")
    args = ap.parse_args()

    cache = os.path.join(ROOT, ".cache", "bench")
    os.makedirs(cache, exist_ok=True)
    base, queries, metric = load_dataset(args, cache)
    log(f"dataset {args.dataset}: base {base.shape}, queries {queries.shape}, metric {metric}")
    tag = f"{args.dataset}_{base.shape[0]}_{queries.shape[0]}"
    files = {"base": os.path.join(cache, f"{tag}_base.npy"),
             "queries": os.path.join(cache, f"{tag}_queries.npy"),
             "gt": os.path.join(cache, f"{tag}_gt.npy")}
    if not os.path.exists(files["gt"]):
        np.save(files["base"], base)
        np.save(files["queries"], queries)
        t0 = time.perf_counter()
        np.save(files["gt"], ground_truth(base, queries, metric))
        log(f"ground truth in {time.perf_counter() - t0:.1f}s")
    gt = np.load(files["gt"])

    runners = {
        "ailake-hnsw": lambda: run_ailake("hnsw", files, metric, args, *base.shape),
        "ailake-ivfpq": lambda: run_ailake("ivf_pq", files, metric, args, *base.shape),
        "hnswlib": lambda: run_hnswlib(base, queries, gt, metric, args),
        "faiss-hnsw": lambda: run_faiss_hnsw(base, queries, gt, metric, args),
        "faiss-ivfpq": lambda: run_faiss_ivfpq(base, queries, gt, metric, args),
        "usearch": lambda: run_usearch(base, queries, gt, metric, args),
        "ailake-flat": lambda: run_ailake_flat(files, metric, args),
        "faiss-flat": lambda: run_faiss_flat(base, queries, gt, metric, args),
    }
    results = []
    for name in args.libs.split(","):
        log(f"== {name}")
        r = runners[name]()
        log(json.dumps(r))
        results.append(r)
    flat = [r for r in results if r["index"] == "flat"]
    hnsw = summarize([r for r in results if r["index"] == "hnsw"])
    ivf = summarize([r for r in results if r["index"] == "ivf_pq"])
    title = (f"{args.dataset}: {base.shape[0]:,} x {base.shape[1]}, {metric}, {queries.shape[0]} "
             f"queries, k={args.k}, M={args.M}, ef_construction={args.efc}, build threads={args.threads}")
    print(table(hnsw, "HNSW — " + title))
    print()
    print(table(ivf, f"IVF-PQ (nlist={args.nlist}, m={args.pq_m}, refine x{args.refine}) — " + title))
    if flat:
        print()
        print("### Exact search (flat), one thread, queries per CPU-second")
        print()
        print("| library | single-query QPS | batched QPS | recall@10 |")
        print("|---|---|---|---|")
        for r in flat:
            print(f"| {r['library']} | {r['single_qps_cpu']:,.0f} | {r['batch_qps_cpu']:,.0f} | "
                  f"{r['recall']} |")
    doc = {"dataset": args.dataset, "n": int(base.shape[0]), "dim": int(base.shape[1]),
           "metric": metric, "queries": int(queries.shape[0]), "k": args.k,
           "threads": args.threads, "M": args.M, "ef_construction": args.efc,
           "nlist": args.nlist, "pq_m": args.pq_m, "refine": args.refine,
           "command": " ".join(sys.argv), "hnsw": hnsw, "ivf_pq": ivf, "flat": flat}
    print(json.dumps(doc))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
