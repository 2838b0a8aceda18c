#!/usr/bin/env python3
"""Tables on a local S3-compatible server (moto_server): ailake vs LanceDB.

The same rows are written to s3:// tables on one moto_server that this script
starts (and always stops), brought to each system's optimized state, and
opened and searched in fresh processes; the HTTP requests the server receives
are counted per phase:

  PYTHONPATH=build/ci/python nice -n 10 .venv-bench/bin/python bench/table/s3.py \\
      --rows 100000 --files 10 --index hnsw,ivf_pq --nq 100 --cold-runs 5 \\
      --systems ailake,lancedb --json bench/table/results/s3_100000.json

Data: --rows x 128 clustered Gaussian vectors from bench/vector/run.py's
synthetic() (1000 centres, seed 42), L2, with --nq measured queries plus
--warmup warm-up queries drawn after them. Ground truth: exact top-10 (FAISS
IndexFlatL2). Row i has id i; recall@10 matches on `id`.

Server: --moto-server (default .venv/bin/moto_server) on 127.0.0.1 and a free
port, its output in --workdir/moto_server.log; one bucket, one prefix per
(system, index), removed after the step unless --keep.
Requests are counted from that log: werkzeug writes one line per request
("GET /bucket/key HTTP/1.1" 206 -, some in ANSI colours, which are removed)
before it sends the response body, so a request the client has finished is
already logged. A phase is delimited by
marker requests (GET /moto-api/?mark=<uuid>, not counted): after a phase the
process sends a marker and reads the log up to the marker's line. Kinds: GET
(206 = ranged), HEAD, PUT, POST (multipart), DELETE, LIST (GET on the
bucket). ailake's own counters are reported next to the server's count:
io_stats()["requests"] after the open, last_search_stats()["requests"] of the
searches (summed over the warm queries).

Both systems run in this process for the writes, one after the other; every
open and search runs in a fresh subprocess (this script with --child), for
both systems: so neither ailake's process-wide read cache nor LanceDB's/
Lance's process-wide session caches (index and metadata caches that a new
lancedb.connect in the same process may share) survive from the writes or
from an earlier open. ailake also calls clear_read_cache() before its open.
Per (index, system):

  ingest     the rows split into --files equal appends, one data file each,
             timed: rows/s. ailake: TableWriter(s3 uri, index=hnsw|ivf_pq,
             auto_optimize=True, background_threads=1, storage_options), one
             write_batch per append (background merges and index builds may
             still run after the last append; they count to optimize).
             LanceDB: lancedb.connect(s3 uri, storage_options), create_table
             with the first append, tbl.add for the rest.
  optimize   seconds from the last append to the optimized, indexed table.
             ailake: wait_for_indexing(), close(), open_table(), optimize().
             LanceDB: tbl.optimize() (compaction), then create_index
             (hnsw -> IVF_HNSW_SQ, ivf_pq -> IVF_PQ). Then old versions are
             removed (ailake cleanup(retain_versions=1, grace_seconds=0);
             LanceDB cleanup_old_versions(timedelta(0))) and the bytes under
             the table's prefix are listed.
  cold       --cold-runs fresh processes, each: open the table (ailake:
             clear_read_cache(), open_table; LanceDB: connect + open_table),
             then one query (run i searches query i). Open and first-query
             milliseconds (p50 over the runs) and requests (mean). Then, in
             the same process, a new open and the same query again ("reopen":
             ailake after clear_read_cache(), so it reads everything anew;
             LanceDB through a new lancedb.connect, which may reuse what the
             process cached): the difference to the first query is the
             process's own start-up cost, or the reuse of process-wide caches.
  warm       one fresh process: open, the --warmup warm-up queries (not among
             the measured ones), then the --nq queries one at a time (k=10,
             returning `id`): p50 / p99 milliseconds, recall@10, requests per
             query (server count over the loop / nq). Then the same --nq
             queries again ("repeat"): requests per query once every query's
             pages have been read before.
A search is timed up to its Arrow result (both systems return a pyarrow
Table); the ids are read out of it untimed (pyarrow's first to_numpy() in a
process imports pandas, ~0.2 s, which would land in the cold query).

Fixed search parameters (stated in the output): ailake HNSW ef=--ef; ailake
IVF-PQ nprobe=--nprobe, refine_factor=--refine; LanceDB IVF_HNSW_SQ
nprobes=--lance-hnsw-nprobes (default: all its partitions), ef=--lance-ef,
refine_factor=--lance-hnsw-refine (0 = none); LanceDB IVF_PQ
nprobes=--lance-nprobes, refine_factor=--lance-refine. Both recalls are
reported: compare the latencies and request counts only where the recalls
are close. Index parameters shared by both: HNSW M=--m,
ef_construction=--ef-construction; IVF-PQ nlist / num_partitions=--nlist
(default: the power of two nearest sqrt(rows)), --pq-m sub-quantizers of 8
bits. LanceDB's IVF_HNSW_SQ gets --lance-partitions partitions (default one
per 1,048,576 rows). ailake searches use --threads threads (0 = all cores).

Reported per index: each system's figures and the ratio, oriented so that
> 1 means ailake is better: ailake/LanceDB for rows/s, LanceDB/ailake for
seconds, milliseconds and requests. Prints a markdown table and writes JSON
(--json) after every (index, system) step.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta

import numpy as np
import pyarrow as pa

# LanceDB logs a deprecation warning per query (lancedb's and lance's loggers).
os.environ.setdefault("LANCE_LOG", "error")
os.environ.setdefault("LANCEDB_LOG", "error")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K = 10
DIM = 128
DATASET = "synthetic"
BUCKET = "bench"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
               "aws_region": "us-east-1"}
LANCE_INDEX = {"hnsw": "IVF_HNSW_SQ", "ivf_pq": "IVF_PQ"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ data
def load_data(args):
    """bench/vector/run.py's synthetic(rows, nq + warmup): the base rows, the
    --nq measured queries, the --warmup warm-up queries, and the exact top-K
    ids of the measured queries."""
    spec = importlib.util.spec_from_file_location(
        "vector_run", os.path.join(ROOT, "bench", "vector", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    base, q = mod.synthetic(args.rows, args.nq + args.warmup, dim=DIM)
    queries, warm = np.ascontiguousarray(q[:args.nq]), np.ascontiguousarray(q[args.nq:])
    import faiss
    flat = faiss.IndexFlatL2(DIM)
    flat.add(base)
    _, gt = flat.search(queries, K)
    return base, queries, warm, gt.astype(np.int64)


def appends(rows, files):
    """[start, end) of each of `files` equal appends."""
    edges = [round(i * rows / files) for i in range(files + 1)]
    return list(zip(edges, edges[1:]))


def recall(found, gt):
    hits = sum(len(set(map(int, f[:K])) & set(map(int, g[:K]))) for f, g in zip(found, gt))
    return hits / (len(gt) * K)


def pct(xs, p):
    return round(float(np.percentile(np.asarray(xs), p)), 3) if len(xs) else None


# ------------------------------------------------------------------ moto_server
REQUEST = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours some lines (206, 404, ...)


def request_kind(method, target, status):
    path = urllib.parse.urlsplit(target).path
    key = path.lstrip("/").partition("/")[2]
    if method == "GET" and not key:
        return "LIST"
    return "GET" if method == "GET" and status != "206" else (
        "GET206" if method == "GET" else method)


class ServerLog:
    """Counts the S3 requests moto_server logged, phase by phase (see the
    docstring: marker requests delimit a phase)."""

    def __init__(self, path, endpoint, from_end=True):
        self.path, self.endpoint = path, endpoint
        self.pos = os.path.getsize(path) if from_end else 0
        self.buf = b""

    def mark(self, timeout=60):
        """Requests by kind since the previous mark (or since construction)."""
        tag = uuid.uuid4().hex
        urllib.request.urlopen(f"{self.endpoint}/moto-api/?mark={tag}", timeout=30).read()
        counts = Counter()
        deadline = time.time() + timeout
        with open(self.path, "rb") as f:
            found = False
            while not found:
                f.seek(self.pos)
                chunk = f.read()
                self.pos += len(chunk)
                self.buf += chunk
                while not found and b"\n" in self.buf:
                    raw, _, self.buf = self.buf.partition(b"\n")
                    line = ANSI.sub("", raw.decode("utf-8", "replace"))
                    if tag in line:  # what follows belongs to the next phase
                        found = True
                        continue
                    m = REQUEST.search(line)
                    if m and not m.group(2).startswith("/moto-api/"):
                        counts[request_kind(*m.groups())] += 1
                if found:
                    break
                if time.time() > deadline:
                    raise RuntimeError(f"marker {tag} not in {self.path}")
                time.sleep(0.005)
        counts["total"] = sum(counts.values())
        return dict(counts)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    def __init__(self, exe, workdir):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(workdir, "moto_server.log")
        self.exe = exe
        self.proc = None

    def start(self):
        cmd = [self.exe] if os.path.exists(self.exe) else [sys.executable, "-m", "moto.server"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).read()
                break
            except Exception:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"moto_server did not start (see {self.log_path})")
                time.sleep(0.2)
        self.http("PUT", f"/{BUCKET}")
        log(f"moto_server pid {self.proc.pid} at {self.endpoint}, log {self.log_path}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._log.close()
        self.proc = None

    def storage_options(self):
        return {"aws_endpoint": self.endpoint, "allow_http": "true", **CREDENTIALS}

    def http(self, method, target):
        # moto_server checks no signature but refuses anonymous DELETEs: a
        # syntactically valid, unsigned Authorization header.
        auth = ("AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, "
                "SignedHeaders=host, Signature=0")
        req = urllib.request.Request(self.endpoint + target, method=method,
                                     headers={"Authorization": auth})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read()

    def list_prefix(self, prefix):
        """(key, size) of every object under prefix (ListObjectsV2)."""
        out, token = [], None
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        while True:
            q = {"list-type": "2", "prefix": prefix + "/"}
            if token:
                q["continuation-token"] = token
            root = ET.fromstring(self.http("GET", f"/{BUCKET}?" + urllib.parse.urlencode(q)))
            for c in root.iter(ns + "Contents"):
                out.append((c.find(ns + "Key").text, int(c.find(ns + "Size").text)))
            t = root.find(ns + "NextContinuationToken")
            if t is None or not t.text:
                return out
            token = t.text

    def delete_prefix(self, prefix):
        for key, _ in self.list_prefix(prefix):
            self.http("DELETE", f"/{BUCKET}/" + urllib.parse.quote(key))


# ------------------------------------------------------------------ ailake
def import_ailake(build_dir=None):
    if build_dir:
        sys.path.insert(0, os.path.abspath(build_dir))
    try:
        import ailake
    except ImportError:
        for d in ("build/ci/python", "build/release/python"):
            if os.path.isdir(os.path.join(ROOT, d, "ailake")):
                sys.path.insert(0, os.path.join(ROOT, d))
                break
        import ailake
    return ailake


def search_params(system, kind, args):
    if system == "ailake":
        return ({"ef": args.ef} if kind == "hnsw" else
                {"nprobe": args.nprobe, "refine_factor": args.refine})
    if kind == "hnsw":
        p = {"nprobes": args.lance_hnsw_nprobes or args.lance_parts, "ef": args.lance_ef}
        if args.lance_hnsw_refine:
            p["refine_factor"] = args.lance_hnsw_refine
        return p
    p = {"nprobes": args.lance_nprobes}
    if args.lance_refine:
        p["refine_factor"] = args.lance_refine
    return p


def write_ailake(kind, base, uri, so, args, slog):
    ailake = import_ailake()
    r = {"version": ailake.__version__}
    params = (dict(m=args.m, ef_construction=args.ef_construction) if kind == "hnsw" else
              dict(nlist=args.nlist, pq_m=args.pq_m, refine_factor=args.refine))
    r["index_params"] = params
    slog.mark()
    w = ailake.TableWriter(uri, dim=DIM, metric="euclidean", index=kind, auto_optimize=True,
                           background_threads=1, storage_options=so, **params)
    t0 = time.perf_counter()
    for s, e in appends(len(base), args.files):
        w.write_batch(pa.table({"id": pa.array(np.arange(s, e, dtype=np.int64))}),
                      embeddings=base[s:e])
    r["ingest_s"] = round(time.perf_counter() - t0, 3)
    r["fragments_at_last_append"] = len(w.table.fragments())
    t0 = time.perf_counter()
    w.wait_for_indexing()
    w.close()
    r["ingest_and_indexing_requests"] = slog.mark()
    t = ailake.open_table(uri, storage_options=so)
    r["fragments_before_optimize"] = len(t.fragments())
    r["optimize"] = t.optimize()
    r["optimize_s"] = round(time.perf_counter() - t0, 3)
    r["optimize_requests"] = slog.mark()
    r["fragments"] = len(t.fragments())
    r["rows"] = t.num_rows
    r["cleanup"] = t.cleanup(retain_versions=1, grace_seconds=0)
    r["cleanup_requests"] = slog.mark()
    return r


# ------------------------------------------------------------------ LanceDB
def lance_config(kind, args):
    from lancedb.index import HnswSq, IvfPq
    if kind == "hnsw":
        return HnswSq(distance_type="l2", num_partitions=args.lance_parts, m=args.m,
                      ef_construction=args.ef_construction), {
            "index_type": "IVF_HNSW_SQ", "num_partitions": args.lance_parts, "m": args.m,
            "ef_construction": args.ef_construction}
    return IvfPq(distance_type="l2", num_partitions=args.nlist, num_sub_vectors=args.pq_m,
                 num_bits=8), {"index_type": "IVF_PQ", "num_partitions": args.nlist,
                               "num_sub_vectors": args.pq_m}


def write_lancedb(kind, base, uri, so, args, slog):
    import lancedb
    r = {"version": lancedb.__version__}
    try:
        import lance
        r["pylance_version"] = lance.__version__
    except ImportError:
        pass
    config, r["index_params"] = lance_config(kind, args)
    slog.mark()
    db = lancedb.connect(uri, storage_options=so)
    tbl = None
    t0 = time.perf_counter()
    for s, e in appends(len(base), args.files):
        data = pa.table({
            "id": pa.array(np.arange(s, e, dtype=np.int64)),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(base[s:e].reshape(-1)), DIM)})
        if tbl is None:
            tbl = db.create_table("t", data=data, mode="overwrite")
        else:
            tbl.add(data)
    r["ingest_s"] = round(time.perf_counter() - t0, 3)
    r["ingest_and_indexing_requests"] = slog.mark()
    r["fragments_before_optimize"] = len(tbl.to_lance().get_fragments())
    t0 = time.perf_counter()
    try:  # compaction before indexing: one index over few fragments
        tbl.optimize()
        r["compacted"] = True
    except Exception as e:
        r["compacted"] = f"{type(e).__name__}: {e}"
    r["compact_s"] = round(time.perf_counter() - t0, 3)
    tbl.create_index("vector", config=config)
    r["optimize_s"] = round(time.perf_counter() - t0, 3)
    r["optimize_requests"] = slog.mark()
    r["fragments"] = len(tbl.to_lance().get_fragments())
    r["rows"] = tbl.count_rows()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            st = tbl.cleanup_old_versions(older_than=timedelta(0), delete_unverified=True)
        r["cleanup"] = {"bytes_removed": getattr(st, "bytes_removed", None),
                        "old_versions": getattr(st, "old_versions", None)}
    except Exception as e:
        r["cleanup"] = f"{type(e).__name__}: {e}"
    r["cleanup_requests"] = slog.mark()
    return r


WRITERS = {"ailake": write_ailake, "lancedb": write_lancedb}


# ------------------------------------------------------------------ child
def child(spec_path):
    """One fresh process: open the table and search (spec["mode"] cold or
    warm), counting the server's requests; the result as JSON to spec["out"]."""
    with open(spec_path) as f:
        spec = json.load(f)
    system, so, p, uri = spec["system"], spec["storage_options"], spec["params"], spec["uri"]
    data = np.load(spec["queries"])
    queries, warm, gt = data["queries"], data["warm"], data["gt"]
    srv = ServerLog(spec["log"], so["aws_endpoint"])
    out = {}

    if system == "ailake":
        ailake = import_ailake(spec.get("build_dir"))
        threads = spec["threads"]

        def open_():
            ailake.clear_read_cache()
            return ailake.open_table(uri, storage_options=so)

        def search(t, q):
            return t.search(q, k=K, columns=["id"], num_threads=threads, **p)
    else:
        import lancedb

        def open_():
            return lancedb.connect(uri, storage_options=so).open_table("t")

        def search(t, q):
            b = t.search(q, vector_column_name="vector").distance_type("l2").limit(K)
            b = b.nprobes(p["nprobes"])
            if "ef" in p:
                b = b.ef(p["ef"])
            if "refine_factor" in p:
                b = b.refine_factor(p["refine_factor"])
            return b.select(["id"]).to_arrow()

    def ids(res):
        # Outside the timed calls: pyarrow's first to_numpy() in a process
        # imports pandas (~0.2 s).
        return res.column("id").to_numpy()

    own = system == "ailake"
    srv.mark()
    t0 = time.perf_counter()
    t = open_()
    out["open_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
    out["open_requests"] = srv.mark()
    if own:
        out["open_own"] = t.io_stats()

    if spec["mode"] == "cold":
        qi = spec["query"]
        io0 = t.io_stats() if own else None
        t0 = time.perf_counter()
        res = search(t, queries[qi])
        out["query_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
        out["query_requests"] = srv.mark()
        out["recall"] = recall([ids(res)], gt[qi:qi + 1])
        if own:
            out["query_own"] = t.last_search_stats()
            out["query_own_io"] = {k: v - io0.get(k, 0) for k, v in t.io_stats().items()}
        # The same query again after a new open in this (now warmed-up)
        # process: ailake after clear_read_cache(); LanceDB through a new
        # connection, which may reuse the process's caches.
        srv.mark()
        t0 = time.perf_counter()
        t2 = open_()
        search(t2, queries[qi])
        out["reopen_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
        out["reopen_requests"] = srv.mark()
        if own:
            out["reopen_own"] = t2.io_stats()
    else:
        for q in warm:
            search(t, q)
        out["warmup_requests"] = srv.mark()
        for rep in ("warm", "repeat"):
            lat, found, own_sum = np.empty(len(queries)), [], Counter()
            for i, q in enumerate(queries):
                a = time.perf_counter()
                res = search(t, q)
                lat[i] = time.perf_counter() - a
                found.append(ids(res))
                if own:
                    own_sum.update(t.last_search_stats())
            out[rep] = {"recall": round(recall(found, gt), 4),
                        "p50_ms": pct(lat * 1e3, 50), "p99_ms": pct(lat * 1e3, 99),
                        "mean_ms": round(float(lat.mean()) * 1e3, 3),
                        "requests": srv.mark()}
            out[rep]["requests_per_query"] = round(out[rep]["requests"]["total"] / len(queries), 3)
            if own:
                out[rep]["own"] = dict(own_sum)
                out[rep]["own_requests_per_query"] = round(own_sum["requests"] / len(queries), 3)
        if own:
            out["read_cache_used_bytes"] = ailake.read_cache_used_bytes()
    with open(spec["out"], "w") as f:
        json.dump(out, f)


def run_child(spec, args, workdir):
    path = os.path.join(workdir, f"child_{uuid.uuid4().hex[:8]}")
    spec["out"] = path + ".out.json"
    with open(path + ".json", "w") as f:
        json.dump(spec, f)
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", path + ".json"],
                           capture_output=True, text=True, timeout=args.child_timeout)
        if p.returncode != 0:
            raise RuntimeError(f"child {spec['mode']} failed (rc {p.returncode}): "
                               f"{p.stderr.strip()[-1500:]}")
        with open(spec["out"]) as f:
            return json.load(f)
    finally:
        for x in (path + ".json", spec["out"]):
            if os.path.exists(x):
                os.remove(x)


def measure(system, kind, uri, srv, args, workdir, qfile, build_dir):
    params = search_params(system, kind, args)
    common = {"system": system, "uri": uri, "storage_options": srv.storage_options(),
              "params": params, "queries": qfile, "log": srv.log_path,
              "threads": args.threads, "build_dir": build_dir}
    r = {"search_params": params, "cold_runs": []}
    for i in range(args.cold_runs):
        c = run_child({**common, "mode": "cold", "query": i % args.nq}, args, workdir)
        r["cold_runs"].append(c)
        log(f"  cold {i}: open {c['open_ms']:.1f} ms / {c['open_requests']['total']} req, "
            f"query {c['query_ms']:.1f} ms / {c['query_requests']['total']} req"
            + (f" (own {c['query_own']['requests']})" if "query_own" in c else "")
            + f"; reopened in-process: {c['reopen_ms']:.1f} ms / "
            f"{c['reopen_requests']['total']} req")
    cr = r["cold_runs"]

    def mean(get):
        return round(float(np.mean([get(c) for c in cr])), 2)
    r["cold"] = {
        "open_ms_p50": pct([c["open_ms"] for c in cr], 50),
        "query_ms_p50": pct([c["query_ms"] for c in cr], 50),
        "open_requests_mean": mean(lambda c: c["open_requests"]["total"]),
        "query_requests_mean": mean(lambda c: c["query_requests"]["total"]),
        "recall": round(float(np.mean([c["recall"] for c in cr])), 4),
        "reopen_ms_p50": pct([c["reopen_ms"] for c in cr], 50),
        "reopen_requests_mean": mean(lambda c: c["reopen_requests"]["total"])}
    if system == "ailake":
        r["cold"]["open_own_requests_mean"] = mean(lambda c: c["open_own"]["requests"])
        r["cold"]["query_own_requests_mean"] = mean(lambda c: c["query_own"]["requests"])
    wr = run_child({**common, "mode": "warm"}, args, workdir)
    r["warm_run"] = wr
    r["warm"], r["repeat"] = wr["warm"], wr["repeat"]
    log(f"  warm: recall {wr['warm']['recall']}, p50 {wr['warm']['p50_ms']} ms, p99 "
        f"{wr['warm']['p99_ms']} ms, {wr['warm']['requests_per_query']} req/query"
        + (f" (own {wr['warm']['own_requests_per_query']})" if "own" in wr["warm"] else "")
        + f"; repeat {wr['repeat']['requests_per_query']} req/query")
    return r


# ------------------------------------------------------------------ report
def fmt(v, spec=",.1f"):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    """a / b, None when either is missing; 'inf' when only b is 0."""
    if a is None or b is None:
        return None
    if b == 0:
        return None if a == 0 else math.inf
    return a / b


def report(doc):
    res = {(r["system"], r["index"]): r for r in doc["results"]}

    def g(r, *path):
        for p in path:
            if not isinstance(r, dict) or p not in r:
                return None
            r = r[p]
        return r

    # (label, getter, ailake's own counter getter or None, number format,
    #  orientation: "up" = higher is better (ailake/LanceDB), "down" = lower is better)
    rows = [
        ("recall@10 (warm queries)", lambda r: g(r, "warm", "recall"), None, ".3f", None),
        ("recall@10 (cold queries)", lambda r: g(r, "cold", "recall"), None, ".3f", None),
        ("ingest rows/s", lambda r: r["rows_per_s"] if "rows_per_s" in r else None, None,
         ",.0f", "up"),
        ("ingest requests", lambda r: g(r, "ingest_and_indexing_requests", "total"), None,
         ",.0f", "down"),
        ("optimize + index s", lambda r: g(r, "optimize_s"), None, ".2f", "down"),
        ("optimize + index requests", lambda r: g(r, "optimize_requests", "total"), None,
         ",.0f", "down"),
        ("stored MB", lambda r: r["bytes"] / 1e6 if r.get("bytes") else None, None, ".1f",
         "down"),
        ("open ms (cold, p50)", lambda r: g(r, "cold", "open_ms_p50"), None, ".1f", "down"),
        ("open requests", lambda r: g(r, "cold", "open_requests_mean"),
         lambda r: g(r, "cold", "open_own_requests_mean"), ".1f", "down"),
        ("first query ms (cold, p50)", lambda r: g(r, "cold", "query_ms_p50"), None, ".1f",
         "down"),
        ("first query requests", lambda r: g(r, "cold", "query_requests_mean"),
         lambda r: g(r, "cold", "query_own_requests_mean"), ".1f", "down"),
        ("reopen + same query ms (same process, p50)", lambda r: g(r, "cold", "reopen_ms_p50"),
         None, ".1f", "down"),
        ("reopen + same query requests", lambda r: g(r, "cold", "reopen_requests_mean"), None,
         ".1f", "down"),
        ("warm p50 ms", lambda r: g(r, "warm", "p50_ms"), None, ".2f", "down"),
        ("warm p99 ms", lambda r: g(r, "warm", "p99_ms"), None, ".2f", "down"),
        ("warm requests/query", lambda r: g(r, "warm", "requests_per_query"),
         lambda r: g(r, "warm", "own_requests_per_query"), ".2f", "down"),
        ("repeat requests/query", lambda r: g(r, "repeat", "requests_per_query"),
         lambda r: g(r, "repeat", "own_requests_per_query"), ".2f", "down"),
    ]
    head = (f"{doc['rows']:,} x {DIM} {DATASET}, L2, {doc['files']} appends, on moto_server "
            f"(127.0.0.1); cold: p50 / mean over {doc['cold_runs']} fresh processes; warm: "
            f"{doc['nq']} queries one at a time after {doc['warmup']} warm-up queries, k={K}. "
            "Requests: the server's count (ailake's own counter in brackets). "
            "ratio > 1: ailake better (ailake/LanceDB for rows/s, LanceDB/ailake otherwise).")
    lines = [head, ""]
    kinds = doc["index"]
    cols = "".join(f" {k} ailake | {k} LanceDB | {k} ratio |" for k in kinds)
    lines.append("| metric |" + cols)
    lines.append("|---|" + "---|---|---|" * len(kinds))
    params = "| search params |"
    for kind in kinds:
        a, b = res.get(("ailake", kind), {}), res.get(("lancedb", kind), {})
        pa_ = ", ".join(f"{k}={v}" for k, v in (a.get("search_params") or {}).items()) or "-"
        pb_ = ", ".join(f"{k}={v}" for k, v in (b.get("search_params") or {}).items()) or "-"
        params += f" {pa_} | {pb_} | |"
    lines.append(params)
    for label, get, get_own, spec, orient in rows:
        line = f"| {label} |"
        for kind in kinds:
            a, b = res.get(("ailake", kind), {}), res.get(("lancedb", kind), {})
            va, vb = get(a), get(b)
            sa = fmt(va, spec)
            if get_own is not None and get_own(a) is not None:
                sa += f" ({fmt(get_own(a), spec)})"
            rt = None
            if orient == "up":
                rt = ratio(va, vb)
            elif orient == "down":
                rt = ratio(vb, va)
            line += f" {sa} | {fmt(vb, spec)} | {'∞' if rt == math.inf else fmt(rt, '.2f')} |"
        lines.append(line)
    notes = [f"* {r['system']} {r['index']}: failed: {r['error']}"
             for r in doc["results"] if r.get("error")]
    return "\n".join(lines + ([""] + notes if notes else []))


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=10, help="appends (one data file each)")
    ap.add_argument("--index", default="hnsw,ivf_pq", help="comma list: hnsw, ivf_pq")
    ap.add_argument("--systems", default="ailake,lancedb")
    ap.add_argument("--nq", type=int, default=100, help="measured queries")
    ap.add_argument("--warmup", type=int, default=20,
                    help="warm-up queries before the warm ones (not among them)")
    ap.add_argument("--cold-runs", dest="cold_runs", type=int, default=5,
                    help="fresh processes that open the table and search once")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", dest="ef_construction", type=int, default=150)
    ap.add_argument("--nlist", type=int, default=0,
                    help="IVF lists of both systems (0: power of two nearest sqrt(rows))")
    ap.add_argument("--pq-m", dest="pq_m", type=int, default=16)
    ap.add_argument("--ef", type=int, default=64, help="ailake HNSW ef")
    ap.add_argument("--nprobe", type=int, default=16, help="ailake IVF-PQ nprobe")
    ap.add_argument("--refine", type=int, default=4, help="ailake IVF-PQ refine_factor")
    ap.add_argument("--lance-partitions", dest="lance_partitions", type=int, default=0,
                    help="IVF partitions of LanceDB's IVF_HNSW_SQ (0: one per 1,048,576 rows)")
    ap.add_argument("--lance-hnsw-nprobes", dest="lance_hnsw_nprobes", type=int, default=0,
                    help="LanceDB IVF_HNSW_SQ nprobes (0: all its partitions)")
    ap.add_argument("--lance-ef", dest="lance_ef", type=int, default=64,
                    help="LanceDB IVF_HNSW_SQ ef")
    ap.add_argument("--lance-hnsw-refine", dest="lance_hnsw_refine", type=int, default=0,
                    help="LanceDB IVF_HNSW_SQ refine_factor (0: none)")
    ap.add_argument("--lance-nprobes", dest="lance_nprobes", type=int, default=16,
                    help="LanceDB IVF_PQ nprobes")
    ap.add_argument("--lance-refine", dest="lance_refine", type=int, default=4,
                    help="LanceDB IVF_PQ refine_factor (0: none)")
    ap.add_argument("--threads", type=int, default=0,
                    help="ailake search threads (0 = all cores)")
    ap.add_argument("--build-dir", dest="build_dir", default=None,
                    help="directory holding the ailake package (default: PYTHONPATH, then "
                         "build/ci/python, then build/release/python)")
    ap.add_argument("--moto-server", dest="moto_server",
                    default=os.path.join(ROOT, ".venv", "bin", "moto_server"))
    ap.add_argument("--child-timeout", dest="child_timeout", type=float, default=900,
                    help="seconds allowed to one open-and-search process")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "bench_s3"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the tables (and the server's log) after the run")
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child)

    kinds = [x for x in args.index.split(",") if x]
    systems = [x for x in args.systems.split(",") if x]
    for x in kinds:
        if x not in LANCE_INDEX:
            ap.error(f"unknown index {x}")
    for x in systems:
        if x not in WRITERS:
            ap.error(f"unknown system {x}")
    if args.nlist <= 0:
        args.nlist = 2 ** round(math.log2(math.sqrt(args.rows)))
    args.lance_parts = args.lance_partitions or max(1, math.ceil(args.rows / 1_048_576))
    if args.cold_runs < 1 or args.nq < 1:
        ap.error("--cold-runs and --nq must be at least 1")

    ailake = import_ailake(args.build_dir) if "ailake" in systems else None
    build_dir = (os.path.dirname(os.path.dirname(os.path.abspath(ailake.__file__)))
                 if ailake else None)

    t0 = time.perf_counter()
    base, queries, warm, gt = load_data(args)
    log(f"data {base.shape}, {len(queries)} + {len(warm)} queries, ground truth in "
        f"{time.perf_counter() - t0:.1f} s")

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir, exist_ok=True)
    qfile = os.path.join(args.workdir, "queries.npz")
    np.savez(qfile, queries=queries, warm=warm, gt=gt)

    doc = {"command": " ".join(sys.argv), "dataset": DATASET, "rows": args.rows, "dim": DIM,
           "files": args.files, "nq": args.nq, "warmup": args.warmup,
           "cold_runs": args.cold_runs, "k": K, "index": kinds, "systems": systems,
           "params": {k: getattr(args, k) for k in (
               "m", "ef_construction", "nlist", "pq_m", "ef", "nprobe", "refine",
               "lance_parts", "lance_hnsw_nprobes", "lance_ef", "lance_hnsw_refine",
               "lance_nprobes", "lance_refine", "threads")},
           "ailake_build": build_dir,
           "nproc": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
           "results": []}

    def save():
        if args.json:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=1)

    # SIGTERM / SIGHUP end the run through the finally below (moto_server stopped).
    def bye(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGHUP, bye)

    srv = MotoServer(args.moto_server, args.workdir)
    try:
        srv.start()
        slog = ServerLog(srv.log_path, srv.endpoint)
        slog.mark()
        doc["moto_server"] = srv.endpoint
        for kind in kinds:
            for system in systems:
                prefix = f"{system}_{kind}"
                uri = f"s3://{BUCKET}/{prefix}"
                # LanceDB's connect takes the database prefix; the table is <prefix>/t.lance.
                log(f"== {system} {kind}: {uri}")
                r = {"system": system, "index": kind, "files": args.files, "uri": uri}
                t1 = time.perf_counter()
                try:
                    r.update(WRITERS[system](kind, base, uri, srv.storage_options(), args, slog))
                    r["rows_per_s"] = round(args.rows / r["ingest_s"], 1)
                    objs = srv.list_prefix(prefix)
                    r["objects"], r["bytes"] = len(objs), sum(s for _, s in objs)
                    slog.mark()  # the listing is not counted
                    log(f"  ingest {r['ingest_s']} s ({r['rows_per_s']:,.0f} rows/s, "
                        f"{r['ingest_and_indexing_requests']['total']} requests), optimize "
                        f"{r['optimize_s']} s ({r['optimize_requests']['total']} requests), "
                        f"fragments {r['fragments_before_optimize']} -> {r['fragments']}, "
                        f"{r['objects']} objects, {r['bytes'] / 1e6:.1f} MB")
                    r.update(measure(system, kind, uri, srv, args, args.workdir, qfile,
                                     build_dir))
                except Exception as e:
                    r["error"] = f"{type(e).__name__}: {e}"
                    log(f"  failed: {r['error']}")
                r["step_s"] = round(time.perf_counter() - t1, 1)
                doc["results"].append(r)
                doc["loadavg"] = os.getloadavg()
                save()
                if not args.keep:
                    try:
                        srv.delete_prefix(prefix)
                        slog.mark()
                    except Exception as e:
                        log(f"  could not remove {prefix}: {e}")
    finally:
        srv.stop()
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    print(report(doc))


if __name__ == "__main__":
    main()
