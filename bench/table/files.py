#!/usr/bin/env python3
"""Table search cost against the number of data files: ailake vs LanceDB.

The same rows are written as 1, 10, 200 and 2000 separate appends (one data
file / fragment each), brought to each system's optimized state, and searched:

  PYTHONPATH=build/release/python nice -n 10 .venv-bench/bin/python bench/table/files.py \\
      --rows 200000 --files 1,10,200,2000 --index hnsw,ivf_pq --nq 200 \\
      --systems ailake,lancedb --json bench/table/results/files_200000.json

Data: --rows x 128 clustered Gaussian vectors and --nq queries from
bench/vector/run.py's synthetic() (1000 centres, seed 42), L2; or with
--dataset debian the first --rows 384-d MiniLM embeddings of Debian's package
descriptions (--debian, made by scripts/datasets/make_debian_embeddings.py)
and its last --nq rows as queries, L2 on unit rows (the ranking of cosine).
Ground truth: exact top-10 (FAISS IndexFlatL2). Row i has id i; recall@10
matches on `id`.

Both systems run in this process, one after the other: for each index kind,
for each file count, ailake then LanceDB, each on a fresh directory under
--workdir. Per (system, index, files):

  ingest     the rows split into F equal appends, one file each, timed.
             ailake: TableWriter(index=hnsw|ivf_pq, auto_optimize=True,
             background_threads=1), one write_batch per append (fragments are
             merged in the background while appending).
             LanceDB: create_table with the first append, tbl.add for the rest.
  optimize   seconds from the last append to the optimized table.
             ailake: wait_for_indexing(), close(), open_table(), optimize().
             LanceDB: tbl.optimize() (compaction), then create_index
             (hnsw -> IVF_HNSW_SQ, ivf_pq -> IVF_PQ; parameters below).
             Fragment counts after, and ailake's optimize() report.
  sweep      the search parameter from cheap to expensive, ending at the first
             point with recall@10 >= 0.995: ailake HNSW `ef` (10..256), ailake
             IVF-PQ `nprobe` (1..128, refine_factor --refine); LanceDB
             IVF_HNSW_SQ nprobes (1..32, up to its partitions) x `ef`, plain and
             then with refine_factor 2 and 5 (a row that levels off gives way to
             the next), LanceDB IVF_PQ `nprobes` (1..128, refine_factor --refine).
             LanceDB is queried through lancedb's query builder (--lance-api
             pylance: pylance's dataset.to_table(nearest=...) on the same table).
             At each point, after 20 warm-up queries, the --nq queries one at a
             time (k=10, returning `id`): wall QPS, p50 and p99 latency,
             recall@10. ailake also answers all --nq queries in one batched call
             (Table.search with a 2-D query matrix; None where the build lacks
             it): QPS = nq / seconds, best of 3. --time-limit stops a step's
             sweep (after its first point) once the step has run that long.
  bytes      everything under the table directory after removing old versions
             (ailake cleanup(retain_versions=1, grace_seconds=0); LanceDB
             cleanup_old_versions(timedelta(0))).

Reported per (index, files): QPS and p99 at recall 0.90 / 0.95 / 0.99, read off
the recall/QPS Pareto front of the sweep with linear interpolation in recall
(None when no point reaches the target), batched QPS at 0.95 likewise, the
ingest and optimize seconds, bytes and fragments. Prints a markdown table and
writes JSON (--json) after every (system, index, files) step, so a killed run
keeps what it finished.

Parameters shared by both systems: HNSW M=--m, ef_construction=--ef-construction;
IVF-PQ nlist / num_partitions = --nlist (default: the power of two nearest
sqrt(rows)), --pq-m sub-quantizers of 8 bits, re-ranking --refine x k.
LanceDB's IVF_HNSW_SQ gets --lance-partitions IVF partitions (default: one per
1,048,576 rows, as LanceDB's HnswSq documentation advises: "Setting this to 1
works well for most tables").
Searches use --threads threads in ailake (0 = all cores); LanceDB uses its own
thread pool.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import sys
import time
import warnings
from datetime import timedelta

import numpy as np
import pyarrow as pa

# LanceDB logs a deprecation warning per query (lancedb's and lance's loggers).
os.environ.setdefault("LANCE_LOG", "error")
os.environ.setdefault("LANCEDB_LOG", "error")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K = 10
DIM = 128  # set by load_data
DATASET = "synthetic"
TARGETS = (0.90, 0.95, 0.99)
STOP_RECALL = 0.995
WARMUP = 20
EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256]
NPROBE_SWEEP = [1, 2, 4, 8, 16, 32, 64, 128]
LANCE_NPROBES = [1, 2, 4, 8, 16, 32]
LANCE_HNSW_REFINE = [0, 2, 5]  # LanceDB IVF_HNSW_SQ refine_factor rows (0: none)
LANCE_INDEX = {"hnsw": "IVF_HNSW_SQ", "ivf_pq": "IVF_PQ"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ data
def load_data(args):
    """The base rows, the queries and their exact top-K ids: bench/vector/run.py's
    synthetic(rows, nq), or the first --rows MiniLM embeddings of --debian with
    its last --nq rows as queries (unit rows: L2 ranks them as cosine does)."""
    global DIM, DATASET
    rows, nq = args.rows, args.nq
    if args.dataset == "debian":
        data = np.load(args.debian, mmap_mode="r")
        if rows + nq > data.shape[0]:
            raise SystemExit(f"{args.debian} has {data.shape[0]} rows, fewer than "
                             f"--rows {rows} + --nq {nq}")
        base = np.ascontiguousarray(data[:rows], dtype=np.float32)
        queries = np.ascontiguousarray(data[-nq:], dtype=np.float32)
        DATASET = "MiniLM (Debian package descriptions, unit rows)"
    else:
        spec = importlib.util.spec_from_file_location(
            "vector_run", os.path.join(ROOT, "bench", "vector", "run.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        base, queries = mod.synthetic(rows, nq, dim=DIM)
        DATASET = "synthetic"
    DIM = base.shape[1]
    import faiss
    flat = faiss.IndexFlatL2(DIM)
    flat.add(base)
    _, gt = flat.search(queries, K)
    return base, queries, gt.astype(np.int64)


def appends(rows, files):
    """[start, end) of each of `files` equal appends."""
    edges = [round(i * rows / files) for i in range(files + 1)]
    return list(zip(edges, edges[1:]))


def recall(found, gt):
    hits = sum(len(set(map(int, f[:K])) & set(map(int, g[:K]))) for f, g in zip(found, gt))
    return hits / (len(gt) * K)


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


# ------------------------------------------------------------------ sweep
def measure_point(search, queries, gt):
    """The queries one at a time after WARMUP untimed ones: wall QPS, p50/p99 ms, recall."""
    for q in queries[:WARMUP]:
        search(q)
    lat, found = np.empty(len(queries)), []
    t0 = time.perf_counter()
    for i, q in enumerate(queries):
        a = time.perf_counter()
        found.append(search(q))
        lat[i] = time.perf_counter() - a
    wall = time.perf_counter() - t0
    return {"recall": round(recall(found, gt), 4), "qps": round(len(queries) / wall, 1),
            "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 3),
            "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 3)}


def run_sweep(rows, search, queries, gt, batched=None, deadline=None):
    """rows: lists of parameter dicts, each from cheap to expensive. The
    sweep ends at the first point with recall >= STOP_RECALL; a row other
    than the last also ends when it levels off (three points within 0.003:
    e.g. LanceDB's SQ codes, not ef, bound its recall). batched(params) ->
    {recall, qps} or None. Past `deadline` (perf_counter seconds) no further
    point is started, the first excepted. Returns (points, cut short)."""
    points = []
    for i, row in enumerate(rows):
        last = i == len(rows) - 1
        seen = []
        for p in row:
            if points and deadline is not None and time.perf_counter() > deadline:
                return points, True
            pt = {"params": p, **measure_point(lambda q: search(q, p), queries, gt)}
            if batched is not None:
                pt["batched"] = batched(p)
            points.append(pt)
            log(f"    {p}: " + json.dumps({k: v for k, v in pt.items() if k != "params"}))
            if pt["recall"] >= STOP_RECALL:
                return points, False
            seen.append(pt["recall"])
            if not last and len(seen) >= 3 and seen[-1] - seen[-3] < 0.003:
                break
    return points, False


def front(points):
    """The recall/QPS Pareto front, ascending in recall (QPS descending)."""
    out, best = [], -1.0
    for p in sorted(points, key=lambda p: (-p["recall"], -p["qps"])):
        if p["qps"] > best:
            out.append(p)
            best = p["qps"]
    return out[::-1]


def at_recall(points, target, keys=("qps", "p99_ms")):
    """`keys` at recall `target`, interpolated linearly in recall between the
    two front points around it; None when no point reaches it."""
    f = front(points)
    for i, hi in enumerate(f):
        if hi["recall"] < target:
            continue
        lo = f[i - 1] if i > 0 else None
        if lo is None or hi["recall"] == target:
            return {k: hi[k] for k in keys}
        w = (target - lo["recall"]) / (hi["recall"] - lo["recall"])
        return {k: round(lo[k] + w * (hi[k] - lo[k]), 3) for k in keys}
    return {k: None for k in keys}


def summarize(r):
    pts = r.get("points", [])
    for t in TARGETS:
        v = at_recall(pts, t)
        r[f"qps@{t}"], r[f"p99_ms@{t}"] = v["qps"], v["p99_ms"]
    b = [p["batched"] for p in pts if p.get("batched")]
    r["batched_qps@0.95"] = at_recall(b, 0.95, ("qps",))["qps"] if b else None
    r["max_recall"] = max((p["recall"] for p in pts), default=None)


# ------------------------------------------------------------------ ailake
def import_ailake():
    try:
        import ailake
    except ImportError:
        for d in ("build/release/python", "build/ci/python"):
            if os.path.isdir(os.path.join(ROOT, d, "ailake")):
                sys.path.insert(0, os.path.join(ROOT, d))
                break
        import ailake
    return ailake


def ids_per_query(result, nq):
    """A batched result (one row per hit, `_query` = the query's row) as ids per query."""
    q = result.column("_query").to_numpy()
    ids = result.column("id").to_numpy()
    order = np.argsort(q, kind="stable")
    q, ids = q[order], ids[order]
    bounds = np.searchsorted(q, np.arange(nq + 1))
    return [ids[bounds[i]:bounds[i + 1]] for i in range(nq)]


def step_ailake(kind, files, base, queries, gt, path, args, deadline):
    ailake = import_ailake()
    r = {"version": ailake.__version__}
    params = (dict(m=args.m, ef_construction=args.ef_construction) if kind == "hnsw" else
              dict(nlist=args.nlist, pq_m=args.pq_m, refine_factor=args.refine))
    r["index_params"] = params

    w = ailake.TableWriter(path, dim=DIM, metric="euclidean", index=kind, auto_optimize=True,
                           background_threads=1, **params)
    t0 = time.perf_counter()
    for s, e in appends(len(base), files):
        w.write_batch(pa.table({"id": pa.array(np.arange(s, e, dtype=np.int64))}),
                      embeddings=base[s:e])
    r["ingest_s"] = round(time.perf_counter() - t0, 3)
    r["fragments_at_last_append"] = len(w.table.fragments())

    t0 = time.perf_counter()
    w.wait_for_indexing()
    w.close()
    t = ailake.open_table(path)
    r["fragments_before_optimize"] = len(t.fragments())
    r["optimize"] = t.optimize().to_dict()
    r["optimize_s"] = round(time.perf_counter() - t0, 3)
    r["fragments"] = len(t.fragments())
    r["rows"] = t.num_rows
    log(f"  ingest {r['ingest_s']} s, to optimized {r['optimize_s']} s, "
        f"fragments {r['fragments_before_optimize']} -> {r['fragments']}, {r['optimize']}")

    key = "ef" if kind == "hnsw" else "nprobe"
    extra = {} if kind == "hnsw" else {"refine_factor": args.refine}
    sweep = EF_SWEEP if kind == "hnsw" else [n for n in NPROBE_SWEEP if n <= args.nlist]

    def search(q, p):
        res = t.search(q, k=K, columns=["id"], num_threads=args.threads, **p)
        return res.column("id").to_numpy()

    search(queries[0], {key: sweep[0], **extra})
    r["search_stats"] = t.last_search_stats().to_dict()

    batched_ok = [True]

    def batched(p):
        if not batched_ok[0]:
            return None
        try:
            best, found = math.inf, None
            for _ in range(3):
                res, dt = timed(lambda: t.search(queries, k=K, columns=["id"],
                                                 num_threads=args.threads, **p))
                best, found = min(best, dt), ids_per_query(res, len(queries))
        except Exception as e:  # not built yet: no batched figures
            batched_ok[0] = False
            r["batched_error"] = f"{type(e).__name__}: {e}"
            log(f"  batched search unavailable: {r['batched_error']}")
            return None
        return {"recall": round(recall(found, gt), 4), "qps": round(len(queries) / best, 1)}

    rows = [[{key: v, **extra} for v in sweep]]
    r["points"], r["sweep_truncated"] = run_sweep(
        rows, search, queries, gt, batched=batched, deadline=deadline)

    r["cleanup"] = t.cleanup(retain_versions=1, grace_seconds=0).to_dict()
    r["bytes"] = dir_bytes(path)
    return r


# ------------------------------------------------------------------ LanceDB
def step_lancedb(kind, files, base, queries, gt, path, args, deadline):
    import lancedb
    from lancedb.index import HnswSq, IvfPq
    r = {"version": lancedb.__version__}
    try:
        import lance
        r["pylance_version"] = lance.__version__
    except ImportError:
        pass

    db = lancedb.connect(path)
    tbl = None
    t0 = time.perf_counter()
    for s, e in appends(len(base), files):
        data = pa.table({
            "id": pa.array(np.arange(s, e, dtype=np.int64)),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(base[s:e].reshape(-1)), DIM)})
        if tbl is None:
            tbl = db.create_table("t", data=data, mode="overwrite")
        else:
            tbl.add(data)
    r["ingest_s"] = round(time.perf_counter() - t0, 3)
    r["fragments_before_optimize"] = len(tbl.to_lance().get_fragments())

    if kind == "hnsw":
        parts = args.lance_partitions or max(1, math.ceil(len(base) / 1_048_576))
        config = HnswSq(distance_type="l2", num_partitions=parts, m=args.m,
                        ef_construction=args.ef_construction)
    else:
        parts = args.nlist
        config = IvfPq(distance_type="l2", num_partitions=parts, num_sub_vectors=args.pq_m,
                       num_bits=8)
    r["index_params"] = {"index_type": LANCE_INDEX[kind], "num_partitions": parts,
                         **({"m": args.m, "ef_construction": args.ef_construction}
                            if kind == "hnsw" else {"num_sub_vectors": args.pq_m})}

    t0 = time.perf_counter()
    try:  # compaction before indexing: one index over few fragments
        tbl.optimize()
        r["compacted"] = True
    except Exception as e:
        r["compacted"] = f"{type(e).__name__}: {e}"
    r["compact_s"] = round(time.perf_counter() - t0, 3)
    tbl.create_index("vector", config=config)
    r["optimize_s"] = round(time.perf_counter() - t0, 3)
    r["fragments"] = len(tbl.to_lance().get_fragments())
    r["rows"] = tbl.count_rows()
    log(f"  ingest {r['ingest_s']} s, to optimized {r['optimize_s']} s "
        f"(compaction {r['compact_s']} s), fragments {r['fragments_before_optimize']} -> "
        f"{r['fragments']}")

    if kind == "hnsw":
        # Per nprobes, ef alone, then ef with exact re-ranking of the SQ
        # candidates (refine_factor r), which LanceDB allows only for
        # ef >= k * r.
        rows = []
        for n in [n for n in LANCE_NPROBES if n <= parts] or [1]:
            for rf in LANCE_HNSW_REFINE:
                rows.append([{"nprobes": n, "ef": ef, **({"refine_factor": rf} if rf else {})}
                             for ef in EF_SWEEP if ef >= K * max(rf, 1)])
    else:
        rows = [[{"nprobes": n, "refine_factor": args.refine}
                 for n in NPROBE_SWEEP if n <= parts]]

    if args.lance_api == "lancedb":
        def search(q, p):
            b = tbl.search(q, vector_column_name="vector").distance_type("l2").limit(K)
            b = b.nprobes(p["nprobes"])
            if "ef" in p:
                b = b.ef(p["ef"])
            if "refine_factor" in p:
                b = b.refine_factor(p["refine_factor"])
            return b.select(["id"]).to_arrow().column("id").to_numpy()
    else:  # the Lance dataset underneath, through pylance
        ds = tbl.to_lance()

        def search(q, p):
            nearest = {"column": "vector", "q": q, "k": K, "metric": "l2", **p}
            return ds.to_table(columns=["id"], nearest=nearest).column("id").to_numpy()

    r["points"], r["sweep_truncated"] = run_sweep(rows, search, queries, gt, deadline=deadline)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            st = tbl.cleanup_old_versions(older_than=timedelta(0), delete_unverified=True)
        r["cleanup"] = {"bytes_removed": getattr(st, "bytes_removed", None),
                        "old_versions": getattr(st, "old_versions", None)}
    except Exception as e:
        r["cleanup"] = f"{type(e).__name__}: {e}"
    r["bytes"] = dir_bytes(path)
    return r


STEPS = {"ailake": step_ailake, "lancedb": step_lancedb}


# ------------------------------------------------------------------ report
def fmt(v, spec=",.0f"):
    return "-" if v is None else format(v, spec)


def report(doc):
    res = {(r["system"], r["index"], r["files"]): r for r in doc["results"]}
    lines = [f"{doc['rows']:,} x {DIM} {DATASET}, L2, {doc['nq']} queries one at a time, "
             f"k={K}; QPS and p99 at recall@10 = 0.95 (interpolated)", "",
             "| index | files | ailake QPS | vs 1 file | LanceDB QPS | ailake/LanceDB | "
             "ailake p99 ms | LanceDB p99 ms | ailake batched QPS | ailake ingest s | "
             "LanceDB ingest s | ailake optimize s | LanceDB optimize s | ailake MB | "
             "LanceDB MB | fragments (ailake/LanceDB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind in doc["index"]:
        one = res.get(("ailake", kind, 1), {}).get("qps@0.95")
        for files in doc["files"]:
            a = res.get(("ailake", kind, files), {})
            b = res.get(("lancedb", kind, files), {})
            if not a and not b:
                continue
            qa, qb = a.get("qps@0.95"), b.get("qps@0.95")
            mb = lambda r: r["bytes"] / 1e6 if r.get("bytes") else None
            lines.append(
                f"| {kind} | {files} | {fmt(qa)} | {fmt(qa / one if qa and one else None, '.2f')} | "
                f"{fmt(qb)} | {fmt(qa / qb if qa and qb else None, '.2f')} | "
                f"{fmt(a.get('p99_ms@0.95'), '.2f')} | {fmt(b.get('p99_ms@0.95'), '.2f')} | "
                f"{fmt(a.get('batched_qps@0.95'))} | {fmt(a.get('ingest_s'), '.1f')} | "
                f"{fmt(b.get('ingest_s'), '.1f')} | {fmt(a.get('optimize_s'), '.1f')} | "
                f"{fmt(b.get('optimize_s'), '.1f')} | {fmt(mb(a), '.1f')} | {fmt(mb(b), '.1f')} | "
                f"{a.get('fragments', '-')}/{b.get('fragments', '-')} |")
    notes = []
    for r in doc["results"]:
        tag = f"{r['system']} {r['index']} {r['files']} files"
        if r.get("error"):
            notes.append(f"* {tag}: failed: {r['error']}")
        elif r.get("qps@0.95") is None:
            notes.append(f"* {tag}: recall 0.95 not reached (best {r.get('max_recall')})")
        if r.get("sweep_truncated"):
            notes.append(f"* {tag}: sweep cut short by --time-limit")
    return "\n".join(lines + ([""] + notes if notes else []))


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dataset", choices=["synthetic", "debian"], default="synthetic")
    ap.add_argument("--debian", default=os.path.join(ROOT, ".cache", "datasets", "debian_minilm.npy"),
                    help="MiniLM embeddings (.npy) for --dataset debian "
                         "(scripts/datasets/make_debian_embeddings.py)")
    ap.add_argument("--files", default="1,10,200,2000", help="comma list of append counts")
    ap.add_argument("--index", default="hnsw,ivf_pq", help="comma list: hnsw, ivf_pq")
    ap.add_argument("--systems", default="ailake,lancedb")
    ap.add_argument("--nq", type=int, default=200)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", dest="ef_construction", type=int, default=150)
    ap.add_argument("--nlist", type=int, default=0,
                    help="IVF lists of both systems (0: power of two nearest sqrt(rows))")
    ap.add_argument("--pq-m", dest="pq_m", type=int, default=16)
    ap.add_argument("--refine", type=int, default=10, help="IVF-PQ re-ranking factor")
    ap.add_argument("--lance-partitions", dest="lance_partitions", type=int, default=0,
                    help="IVF partitions of LanceDB's IVF_HNSW_SQ (0: one per 1,048,576 rows)")
    ap.add_argument("--lance-api", dest="lance_api", choices=["lancedb", "pylance"],
                    default="lancedb",
                    help="LanceDB queries through lancedb's query builder (default) or "
                         "pylance's dataset.to_table(nearest=...) on the same table")
    ap.add_argument("--threads", type=int, default=0,
                    help="ailake search threads (0 = all cores)")
    ap.add_argument("--time-limit", dest="time_limit", type=float, default=0,
                    help="seconds per (system, index, files) step after which its sweep "
                         "stops (0 = none)")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "bench_files"))
    ap.add_argument("--keep", action="store_true", help="keep the tables after each step")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    files = [int(x) for x in args.files.split(",") if x]
    kinds = [x for x in args.index.split(",") if x]
    systems = [x for x in args.systems.split(",") if x]
    for x in kinds:
        if x not in LANCE_INDEX:
            ap.error(f"unknown index {x}")
    for x in systems:
        if x not in STEPS:
            ap.error(f"unknown system {x}")
    if args.nlist <= 0:
        args.nlist = 2 ** round(math.log2(math.sqrt(args.rows)))

    t0 = time.perf_counter()
    base, queries, gt = load_data(args)
    log(f"data {base.shape}, {len(queries)} queries, ground truth in "
        f"{time.perf_counter() - t0:.1f} s")

    doc = {"command": " ".join(sys.argv), "dataset": DATASET, "rows": args.rows, "dim": DIM,
           "nq": args.nq,
           "k": K, "files": files, "index": kinds, "systems": systems,
           "params": {k: getattr(args, k) for k in ("m", "ef_construction", "nlist", "pq_m",
                                                     "refine", "lance_partitions", "lance_api",
                                                     "threads")},
           "nproc": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
           "results": []}

    def save():
        if args.json:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=1)

    for kind in kinds:
        for n in files:
            for system in systems:
                path = os.path.join(args.workdir, f"{system}_{kind}_{n}")
                shutil.rmtree(path, ignore_errors=True)
                os.makedirs(args.workdir, exist_ok=True)
                log(f"== {system} {kind}, {n} files")
                deadline = time.perf_counter() + args.time_limit if args.time_limit else None
                r = {"system": system, "index": kind, "files": n}
                t1 = time.perf_counter()
                try:
                    r.update(STEPS[system](kind, n, base, queries, gt, path, args, deadline))
                except Exception as e:
                    r["error"] = f"{type(e).__name__}: {e}"
                    log(f"  failed: {r['error']}")
                r["step_s"] = round(time.perf_counter() - t1, 1)
                summarize(r)
                doc["results"].append(r)
                doc["loadavg"] = os.getloadavg()
                save()
                if not args.keep:
                    shutil.rmtree(path, ignore_errors=True)
    print(report(doc))


if __name__ == "__main__":
    main()
