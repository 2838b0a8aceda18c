#!/usr/bin/env python3
"""Table benchmark: ailake vs the reference ailake (PyPI 0.1.18) vs LanceDB.

One command runs every system on the same data, each in its own process
(the reference in .venv-ref's interpreter, since its import name is `ailake`
too), and prints one table:

  nice -n 10 .venv-bench/bin/python bench/table/run.py --dataset debian
  nice -n 10 .venv-bench/bin/python bench/table/run.py --dataset synthetic --rows 1000000

Datasets
  synthetic  rows x 128 clustered Gaussian vectors (bench/vector/run.py's
             generator, seed 42), L2 (squared euclidean)
  debian     384-d MiniLM sentence embeddings (.cache/datasets/debian_minilm.npy),
             cosine; the last --nq rows are the queries, held out of the data

Per system, on a fresh table directory:
  ingest     the rows in --fragments batches (one file/fragment each) through
             its deferred path where it has one: ailake write_batch_deferred +
             wait_for_indexing; reference write_batch_auto_deferred + commit,
             then waiting for its index jobs; LanceDB create_table/add per batch,
             then create_index. Reported: seconds until every row is queryable,
             and until every row is indexed.
  sweep      its search parameter (ailake `ef`, reference `ef_search`, LanceDB
             nprobes x ef / refine_factor) from cheap to expensive; the cheapest
             setting reaching recall@10 >= --target (ground truth: exact search,
             FAISS IndexFlat) is the operating point.
  latency    at that point: --nq queries one at a time on one thread (QPS,
             p50, p99), then the same queries from a pool of --threads Python
             threads (all cores) — every system returns the `id` column.
  bytes      everything under the table directory (data + index + metadata).

A system that exceeds --time-limit seconds is killed; what it finished is kept
(each system writes its JSON after every phase). Results: a markdown table on
stdout, JSON in --json (default bench/table/results/<dataset>_<rows>.json).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
SYSTEMS = ("ailake", "reference", "lancedb")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def dir_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(d, f))
            except OSError:
                pass
    return total


def recall_at(found, gt, k):
    hits = 0
    for row, want in zip(found, gt[:, :k]):
        hits += len(set(int(x) for x in row[:k]) & set(int(x) for x in want))
    return hits / (len(found) * k)


# ====================================================================== child
# Runs inside the system's own interpreter: only numpy + that system's package.

class Child:
    def __init__(self, spec):
        self.spec = spec
        self.k = spec["k"]
        self.base = np.load(spec["base"], mmap_mode="r")
        self.queries = np.load(spec["queries"])
        self.gt = np.load(spec["gt"])
        self.rows, self.dim = self.base.shape
        self.out = {"system": spec["system"], "phases": []}
        self.table = spec["table"]
        self.live_bytes = None  # bytes the latest version references, when the system says
        self.cpu0 = time.process_time()  # CPU seconds of this process, all its threads
        shutil.rmtree(self.table, ignore_errors=True)
        os.makedirs(os.path.dirname(self.table), exist_ok=True)

    def save(self, phase):
        self.out["phases"].append(phase)
        self.out[f"cpu_s_at_{phase}"] = round(time.process_time() - self.cpu0, 2)
        with open(self.spec["result"], "w") as f:
            json.dump(self.out, f, indent=1)
        log(f"[{self.spec['system']}] {phase} done: "
            + json.dumps({k: v for k, v in self.out.items() if k not in ("sweep", "phases")}))

    def batches(self):
        n, f = self.rows, self.spec["fragments"]
        edges = [round(i * n / f) for i in range(f + 1)]
        for s, e in zip(edges, edges[1:]):
            yield s, e, np.ascontiguousarray(self.base[s:e], dtype=np.float32)

    # The query loop common to every system. `search(q, params)` returns the
    # ids of the k nearest rows.
    def sweep(self, search, grid, n_sweep):
        """grid: list of rows; each row is a list of params from cheap to
        expensive; a row stops at its first point reaching the target."""
        target = self.spec["target"]
        qs = self.queries[:n_sweep]
        points = []
        t_end = time.monotonic() + self.spec["sweep_budget"]
        for row in grid:
            row_recalls = []
            for p in row:
                for q in qs[:5]:
                    search(q, p)  # warm-up
                t0 = time.perf_counter()
                found = [search(q, p) for q in qs]
                dt = time.perf_counter() - t0
                r = recall_at(found, self.gt[: len(qs)], self.k)
                points.append({"params": p, "recall": round(r, 4), "qps": round(len(qs) / dt, 1),
                               "queries": len(qs)})
                log(f"[{self.spec['system']}] sweep {p}: recall {r:.4f}, {len(qs) / dt:.1f} QPS")
                if r >= target or time.monotonic() > t_end:
                    break
                # This row has levelled off (e.g. LanceDB's nprobes or SQ codes
                # bound the recall, not ef): go to the next row.
                row_recalls.append(r)
                if len(row_recalls) >= 3 and row_recalls[-1] - row_recalls[-3] < 0.003:
                    break
            if time.monotonic() > t_end:
                log(f"[{self.spec['system']}] sweep budget spent")
                break
        self.out["sweep"] = points
        ok = [p for p in points if p["recall"] >= target]
        if not ok:
            return None
        return max(ok, key=lambda p: p["qps"])["params"]

    def measure(self, search, params, n_measure):
        from concurrent.futures import ThreadPoolExecutor
        qs = self.queries[:n_measure]
        for q in qs[:10]:
            search(q, params)
        lat = []
        found = []
        t0 = time.perf_counter()
        for q in qs:
            a = time.perf_counter()
            found.append(search(q, params))
            lat.append(time.perf_counter() - a)
        wall = time.perf_counter() - t0
        lat_ms = np.array(lat) * 1e3
        threads = self.spec["threads"]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda q: search(q, params), qs[: min(len(qs), 4 * threads)]))
            t1 = time.perf_counter()
            found_mt = list(pool.map(lambda q: search(q, params), qs))
            wall_mt = time.perf_counter() - t1
        self.out.update(
            params=params, queries=len(qs),
            recall=round(recall_at(found, self.gt[: len(qs)], self.k), 4),
            recall_mt=round(recall_at(found_mt, self.gt[: len(qs)], self.k), 4),
            qps_1t=round(len(qs) / wall, 1), p50_ms=round(float(np.percentile(lat_ms, 50)), 3),
            p99_ms=round(float(np.percentile(lat_ms, 99)), 3),
            qps_mt=round(len(qs) / wall_mt, 1), threads=threads)

    def n_queries_for(self, search, params):
        """All queries, unless one query takes so long that --nq of them
        would not fit the sweep budget (the reference re-opens its index on
        every call): then as many as fit, at least 50. One query first, so that
        opening files and loading indexes once is not counted per query."""
        search(self.queries[-1], params)
        t0 = time.perf_counter()
        for q in self.queries[:3]:
            search(q, params)
        per = (time.perf_counter() - t0) / 3
        self.out["first_query_s"] = round(per, 4)
        n = len(self.queries)
        fit = int(self.spec["sweep_budget"] / 6 / max(per, 1e-6))
        return max(50, min(n, fit))

    def finish(self, search, grid):
        n = self.n_queries_for(search, grid[0][0])
        if n < len(self.queries):
            log(f"[{self.spec['system']}] {self.out['first_query_s']:.3f} s/query: "
                f"sweeping and measuring on {n} queries")
        best = self.sweep(search, grid, n)
        self.out["sweep_queries"] = n
        if best is None:
            self.out["note"] = f"no swept setting reached recall {self.spec['target']}"
            best = max(self.out["sweep"], key=lambda p: p["recall"])["params"]
        self.save("sweep")
        self.measure(search, best, n)
        self.out["bytes"] = dir_bytes(self.table)
        if self.live_bytes:
            self.out["live_bytes"] = self.live_bytes()
        self.save("measure")


def child_ailake(c):
    import pyarrow as pa
    import ailake
    c.out["version"] = getattr(ailake, "__version__", "?")
    metric = "euclidean" if c.spec["metric"] == "l2" else "cosine"
    w = ailake.TableWriter(c.table, vector_column="embedding", dim=c.dim, metric=metric,
                           precision="f32", index="hnsw", m=c.spec["m"],
                           ef_construction=c.spec["ef_construction"])
    t0 = time.perf_counter()
    for s, e, x in c.batches():
        w.write_batch_deferred(pa.table({"id": pa.array(np.arange(s, e, dtype=np.int64))}),
                               embeddings=x)
    c.out["queryable_s"] = round(time.perf_counter() - t0, 3)
    c.save("queryable")
    w.wait_for_indexing()
    c.out["indexed_s"] = round(time.perf_counter() - t0, 3)
    w.close()
    t = ailake.open_table(c.table)
    frags = t.fragments()
    c.out["fragments"] = len(frags)
    c.out["rows_after"] = t.num_rows
    c.out["indexed_files"] = sum(1 for fr in frags for f in fr.files
                                 if f.index_state == "indexed")
    c.save("indexed")

    # Deferred indexing rewrites each data file with its index; the first
    # versions still reference the unindexed files until they are cleaned up.
    c.live_bytes = lambda: sum(os.path.getsize(f) for f in t.data_files())

    def search(q, p):
        r = t.search(q, k=c.k, columns=["id"], ef=p["ef"], num_threads=1)
        return r.column("id").to_numpy()

    c.finish(search, [[{"ef": ef} for ef in EF_SWEEP]])


def ref_job_states(table):
    states = []
    for f in glob.glob(os.path.join(table, "metadata", "index-jobs", "*.json")):
        try:
            with open(f) as fh:
                states.append(json.load(fh)["status"])
        except (OSError, ValueError, KeyError):
            states.append("unreadable")  # the reference rewrites these in place
    return states


def child_reference(c):
    import pyarrow.parquet as pq
    import ailake
    c.out["version"] = getattr(ailake, "__version__", "0.1.18")
    metric = "euclidean" if c.spec["metric"] == "l2" else "cosine"

    def writer(path):
        return ailake.TableWriter(path, dim=c.dim, metric=metric, precision="f32",
                                  hnsw_m=c.spec["m"], hnsw_ef_construction=c.spec["ef_construction"])

    table = c.table
    if c.spec["ref_mode"] in ("deferred", "both"):
        # One writer, one deferred batch per fragment, one commit (the
        # reference's writer commits once); its index jobs run in background
        # threads of this process and record their state under metadata/index-jobs.
        t0 = time.perf_counter()
        w = writer(table)
        for s, e, x in c.batches():
            w.write_batch_auto_deferred([""] * (e - s), x.tolist(),
                                        extra_columns={"id": list(range(s, e))})
        w.commit()
        c.out["queryable_s"] = round(time.perf_counter() - t0, 3)
        c.out["rows_at_queryable"] = ailake.info(table)["rows"]
        c.save("queryable")
        while True:
            st = ref_job_states(table)
            if st and all(s in ("succeeded", "failed", "cancelled") for s in st):
                break
            time.sleep(0.5)
        c.out["indexed_s"] = round(time.perf_counter() - t0, 3)
        c.out["job_states"] = sorted(st)
        time.sleep(2.0)
        info = ailake.info(table)
        c.out["deferred_info"] = {k: info[k] for k in ("files", "indexed_files", "rows")}
        c.out["deferred_bytes"] = dir_bytes(table)
        c.save("indexed")
        if info["rows"] != c.rows:
            c.out["deferred_lost_rows"] = True
            c.out["note"] = (f"deferred path: all {len(st)} index jobs {sorted(set(st))}, but the "
                             f"table then holds {info['rows']} of {c.rows} rows "
                             f"({info['files']} files); queries use the synchronous path")
            log(f"[reference] {c.out['note']}")
    if c.spec["ref_mode"] == "sync" or c.out.get("deferred_lost_rows"):
        table = c.table + "_sync"
        shutil.rmtree(table, ignore_errors=True)
        t0 = time.perf_counter()
        w = writer(table)
        for s, e, x in c.batches():
            w.write_batch([""] * (e - s), x.tolist(), extra_columns={"id": list(range(s, e))})
        w.commit()
        c.out["sync_indexed_s"] = round(time.perf_counter() - t0, 3)
        info = ailake.info(table)
        c.out["sync_info"] = {k: info[k] for k in ("files", "indexed_files", "rows")}
        c.save("sync")
        c.table = table

    # The pointer-only search returns (file, row in file); map to ids once.
    ids = {}
    for f in glob.glob(os.path.join(c.table, "data", "*.parquet")):
        ids["file://" + os.path.abspath(f)] = pq.read_table(f, columns=["id"]).column(0).to_numpy()

    def search(q, p):
        r = ailake.search(c.table, q.tolist(), top_k=c.k, ef_search=p["ef"]).to_list()
        return [int(ids[h["file"]][h["row_id"]]) for h in r]

    c.finish(search, [[{"ef": ef} for ef in EF_SWEEP]])


def child_lancedb(c):
    import lancedb
    import pyarrow as pa
    c.out["version"] = lancedb.__version__
    metric = "l2" if c.spec["metric"] == "l2" else "cosine"
    db = lancedb.connect(os.path.dirname(c.table))
    name = os.path.basename(c.table)
    t0 = time.perf_counter()
    tbl = None
    for s, e, x in c.batches():
        data = pa.table({"id": pa.array(np.arange(s, e, dtype=np.int64)),
                         "vector": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)),
                                                                     c.dim)})
        if tbl is None:
            tbl = db.create_table(name, data=data, mode="overwrite")
        else:
            tbl.add(data)
    c.out["queryable_s"] = round(time.perf_counter() - t0, 3)
    c.table = tbl.to_lance().uri  # <dir>/<name>.lance
    c.out["fragments"] = len(tbl.to_lance().get_fragments())
    c.save("queryable")
    kind = c.spec["lance_index"]
    parts = c.spec["lance_partitions"] or max(1, int(round(np.sqrt(c.rows))) if kind == "IVF_PQ"
                                              else c.rows // 100_000 + 1)
    kw = dict(metric=metric, vector_column_name="vector", index_type=kind, num_partitions=parts)
    if kind == "IVF_PQ":
        kw["num_sub_vectors"] = c.dim // 8
    else:
        kw.update(m=c.spec["m"], ef_construction=c.spec["ef_construction"])
    tbl.create_index(**kw)
    c.out["indexed_s"] = round(time.perf_counter() - t0, 3)
    c.out["index"] = {k: v for k, v in kw.items() if k != "vector_column_name"}
    idx = tbl.list_indices()
    st = tbl.index_stats(idx[0].name) if idx else None
    c.out["unindexed_rows"] = getattr(st, "num_unindexed_rows", None)
    c.save("indexed")

    def lance_live():
        ds = tbl.to_lance()
        n = sum(os.path.getsize(os.path.join(c.table, "data", f.path))
                for fr in ds.get_fragments() for f in fr.data_files())
        return n + dir_bytes(os.path.join(c.table, "_indices"))
    c.live_bytes = lance_live

    def search(q, p):
        b = tbl.search(q, vector_column_name="vector").distance_type(metric).limit(c.k)
        b = b.nprobes(p["nprobes"])
        if "ef" in p:
            b = b.ef(p["ef"])
        if p.get("refine"):
            b = b.refine_factor(p["refine"])
        return b.select(["id"]).to_arrow().column("id").to_numpy()

    probes = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256) if n <= parts] or [1]
    if kind == "IVF_PQ":
        grid = [[{"nprobes": n, "refine": r} for n in probes] for r in (0, 5, 10, 20, 50)]
    else:
        # Lance wants ef >= the candidates it fetches (k, or k x refine_factor).
        grid = []
        for n in probes[:5]:
            grid.append([{"nprobes": n, "ef": ef} for ef in EF_SWEEP if ef >= c.k])
            if c.spec["lance_index"] != "IVF_HNSW_FLAT":  # SQ codes: re-rank exactly
                grid.append([{"nprobes": n, "ef": ef, "refine": 5} for ef in EF_SWEEP
                             if ef >= 5 * c.k])
    c.finish(search, grid)


def child_main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    c = Child(spec)
    {"ailake": child_ailake, "reference": child_reference, "lancedb": child_lancedb}[
        spec["system"]](c)
    return 0


# ===================================================================== driver

def load_synthetic(rows, nq):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "vector_run", os.path.join(ROOT, "bench", "vector", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.synthetic(rows, nq)


def prepare(args, work):
    tag = f"{args.dataset}_{args.rows or 'all'}_{args.nq}"
    d = os.path.join(work, "data", tag)
    files = {k: os.path.join(d, f"{k}.npy") for k in ("base", "queries", "gt")}
    if all(os.path.exists(p) for p in files.values()):
        base = np.load(files["base"], mmap_mode="r")
        return files, base.shape, ("l2" if args.dataset == "synthetic" else "cosine")
    os.makedirs(d, exist_ok=True)
    t0 = time.perf_counter()
    if args.dataset == "synthetic":
        base, queries = load_synthetic(args.rows or 1_000_000, args.nq)
        metric = "l2"
    else:
        data = np.load(args.debian, mmap_mode="r")
        avail = data.shape[0] - args.nq
        n = min(args.rows, avail) if args.rows else avail
        base = np.ascontiguousarray(data[:n], dtype=np.float32)
        queries = np.ascontiguousarray(data[data.shape[0] - args.nq:], dtype=np.float32)
        metric = "cosine"
    log(f"data {base.shape} + {queries.shape[0]} queries in {time.perf_counter() - t0:.1f} s")
    import faiss
    t0 = time.perf_counter()
    if metric == "cosine":
        nb = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        nq = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(nb.astype(np.float32))
        _, gt = index.search(nq.astype(np.float32), 100)
    else:
        index = faiss.IndexFlatL2(base.shape[1])
        index.add(base)
        _, gt = index.search(queries, 100)
    log(f"ground truth (exact, FAISS IndexFlat) in {time.perf_counter() - t0:.1f} s")
    np.save(files["base"], base)
    np.save(files["queries"], queries)
    np.save(files["gt"], gt.astype(np.int64))
    return files, base.shape, metric


def run_system(system, args, files, metric, work):
    res = os.path.join(work, f"{system}.json")
    spec = dict(system=system, base=files["base"], queries=files["queries"], gt=files["gt"],
                metric=metric, k=args.k, fragments=args.fragments, target=args.target,
                m=args.m, ef_construction=args.ef_construction, threads=args.threads,
                table=os.path.join(work, "tables", system), result=res,
                sweep_budget=args.sweep_budget, ref_mode=args.ref_mode,
                lance_index=args.lance_index, lance_partitions=args.lance_partitions)
    spec_path = os.path.join(work, f"{system}.spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    if os.path.exists(res):
        os.remove(res)
    env = dict(os.environ)
    if system == "reference":
        py = args.ref_python
        env.pop("PYTHONPATH", None)
    elif system == "ailake":
        py = args.ailake_python
        env["PYTHONPATH"] = args.ailake_path
    else:
        py = sys.executable
        # Lance warns on every query that projects columns without _distance.
        env.setdefault("LANCE_LOG", "error")
        env.setdefault("RUST_LOG", "error")
    cmd = [py, os.path.abspath(__file__), "--child", spec_path]
    log(f"== {system}: {' '.join(cmd)}")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, start_new_session=True)
    timed_out = False
    try:
        rc = p.wait(timeout=args.time_limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
    out = {"system": system}
    if os.path.exists(res):
        with open(res) as f:
            out = json.load(f)
    out.update(rc=rc, wall_s=round(time.perf_counter() - t0, 1), timed_out=timed_out)
    if timed_out:
        out["note"] = (out.get("note", "") + f" killed after {args.time_limit} s "
                       f"(phases done: {out.get('phases', [])})").strip()
    if "bytes" not in out and os.path.exists(spec["table"]):
        out["bytes"] = dir_bytes(spec["table"])
    log(f"== {system}: rc {rc}, {out['wall_s']} s")
    return out


def fmt(v, spec=",.1f"):
    return "-" if v is None else format(v, spec)


def report(doc):
    res = {r["system"]: r for r in doc["results"]}
    ours = res.get("ailake", {})
    lines = [f"{doc['dataset']}: {doc['rows']:,} x {doc['dim']}, {doc['metric']}, "
             f"{doc['fragments']} fragments, k={doc['k']}, target recall@10 >= {doc['target']}, "
             f"HNSW M={doc['m']} ef_construction={doc['ef_construction']}, "
             f"all-cores = {doc['threads']} threads", "",
             "| system | queryable s | indexed s | setting | recall@10 | QPS 1 thread | p50 ms | "
             "p99 ms | QPS all cores | MB on disk | MB live |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in doc["systems"]:
        r = res.get(name, {})
        setting = ",".join(f"{k}={v}" for k, v in (r.get("params") or {}).items()) or "-"
        idx = r.get("indexed_s")
        if name == "reference" and r.get("deferred_lost_rows"):
            idx_s = f"{fmt(idx)} (rows lost; sync {fmt(r.get('sync_indexed_s'))})"
        else:
            idx_s = fmt(idx)
        if r.get("cpu_s_at_indexed") is not None:
            idx_s += f" ({fmt(r['cpu_s_at_indexed'])} CPU)"
        lines.append(
            f"| {name} | {fmt(r.get('queryable_s'))} | {idx_s} | {setting} | "
            f"{fmt(r.get('recall'), '.3f')} | {fmt(r.get('qps_1t'))} | {fmt(r.get('p50_ms'), '.2f')} | "
            f"{fmt(r.get('p99_ms'), '.2f')} | {fmt(r.get('qps_mt'))} | "
            f"{fmt(r['bytes'] / 1e6 if r.get('bytes') else None)} |"
            f" {fmt(r['live_bytes'] / 1e6 if r.get('live_bytes') else None)} |")
    lines += ["", "| ailake / peer | queryable time | indexed time | QPS 1 thread | p99 | "
              "QPS all cores | bytes |", "|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        if name == "ailake":
            continue

        def ratio(key, peer_key=None):
            a, b = ours.get(key), r.get(peer_key or key)
            return f"{a / b:.3f}" if a and b else "-"
        lines.append(f"| {name} | {ratio('queryable_s')} | {ratio('indexed_s')} | "
                     f"{ratio('qps_1t')} | {ratio('p99_ms')} | {ratio('qps_mt')} | "
                     f"{ratio('bytes')} |")
    notes = [f"* {n}: {res[n]['note']}" for n in res if res[n].get("note")]
    if any(res[n].get("queries", doc["nq"]) < doc["nq"] for n in res):
        notes += [f"* {n}: measured on {res[n]['queries']} queries" for n in res
                  if res[n].get("queries", doc["nq"]) < doc["nq"]]
    return "\n".join(lines + ([""] + notes if notes else []))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--dataset", choices=["synthetic", "debian"], default="synthetic")
    ap.add_argument("--rows", type=int, default=0,
                    help="rows of data (synthetic: default 1,000,000; debian: default all)")
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--fragments", type=int, default=10)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", dest="ef_construction", type=int, default=150)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="client threads of the all-cores measurement (default: nproc)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--time-limit", dest="time_limit", type=float, default=2400,
                    help="seconds one system may take (killed after)")
    ap.add_argument("--sweep-budget", dest="sweep_budget", type=float, default=600,
                    help="seconds of parameter sweep per system")
    ap.add_argument("--ref-mode", dest="ref_mode", choices=["deferred", "sync", "both"],
                    default="deferred",
                    help="reference ingest: its deferred path (falls back to sync when rows "
                         "are lost), or its synchronous write_batch")
    ap.add_argument("--lance-index", dest="lance_index", default="IVF_HNSW_SQ",
                    choices=["IVF_PQ", "IVF_HNSW_SQ", "IVF_HNSW_FLAT", "IVF_HNSW_PQ"])
    ap.add_argument("--lance-partitions", dest="lance_partitions", type=int, default=0)
    ap.add_argument("--debian", default=os.path.join(ROOT, ".cache", "datasets",
                                                     "debian_minilm.npy"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench_table"))
    ap.add_argument("--ailake-path", dest="ailake_path",
                    default=os.path.join(ROOT, "build", "release", "python"),
                    help="PYTHONPATH of our package (a build's python/ folder)")
    ap.add_argument("--ailake-python", dest="ailake_python", default=sys.executable)
    ap.add_argument("--ref-python", dest="ref_python",
                    default=os.path.join(ROOT, ".venv-ref", "bin", "python"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--reuse", default="",
                    help="systems whose result of an earlier run on the same data "
                         "(<work>/<dataset>_<rows>/<system>.json) is taken instead of rerunning")
    ap.add_argument("--keep-tables", dest="keep_tables", action="store_true")
    args = ap.parse_args()
    if args.child:
        return child_main(args.child)

    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if s not in SYSTEMS:
            ap.error(f"unknown system {s}")
    files, shape, metric = prepare(args, args.work)
    rows, dim = shape
    work = os.path.join(args.work, f"{args.dataset}_{rows}")
    os.makedirs(work, exist_ok=True)
    doc = dict(dataset=args.dataset, rows=int(rows), dim=int(dim), metric=metric, nq=args.nq,
               k=args.k, fragments=args.fragments, target=args.target, m=args.m,
               ef_construction=args.ef_construction, threads=args.threads, systems=systems,
               command=" ".join([os.path.relpath(sys.executable, ROOT)
                                 if sys.executable.startswith(ROOT) else sys.executable]
                                + [os.path.relpath(os.path.abspath(__file__), ROOT)]
                                + sys.argv[1:]),
               started=time.strftime("%Y-%m-%d %H:%M:%S"), nproc=os.cpu_count(),
               loadavg_start=os.getloadavg(), lance_index=args.lance_index, results=[])
    reuse = [s for s in args.reuse.split(",") if s]
    for s in systems:
        prev = os.path.join(work, f"{s}.json")
        if s in reuse and os.path.exists(prev):
            with open(prev) as f:
                r = json.load(f)
            r["reused"] = time.strftime("%Y-%m-%d %H:%M:%S",
                                        time.localtime(os.path.getmtime(prev)))
            log(f"== {s}: reusing {prev} (written {r['reused']})")
            doc["results"].append(r)
            continue
        doc["results"].append(run_system(s, args, files, metric, work))
        doc[f"loadavg_after_{s}"] = os.getloadavg()
        if not args.keep_tables:
            for t in glob.glob(os.path.join(work, "tables", s + "*")):
                shutil.rmtree(t, ignore_errors=True)
    text = report(doc)
    doc["table"] = text
    print(text)
    path = args.json or os.path.join(ROOT, "bench", "table", "results",
                                     f"{args.dataset}_{rows}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
