#!/usr/bin/env python3
"""Where a table search's time goes: ailake's table search vs searching the
same data files directly (diagnostic for bench/table/run.py's QPS).

  PYTHONPATH=build/release/python .venv-bench/bin/python bench/table/search_overhead.py \\
      --base build/bench_table/data/synthetic_1000000_1000/base.npy --rows 200000

Writes --rows rows of --base (an .npy matrix, L2) as --fragments files with
inline HNSW indexes (M=16, ef_construction=150), then times, one query at a
time on one thread, per query (wall and CPU microseconds):
  table.search(columns=["id"])   what run.py measures (index search of every
                                 file, merge, then the result rows' `id` values)
  file.search_rows x fragments   the same index searches through ailake.open_file,
                                 returning row positions only (no column read)
For a profile, keep the table and loop table.search:
  ... search_overhead.py --base ... --keep            (writes the table once)
  perf record -F 499 -g -- .venv-bench/bin/python bench/table/search_overhead.py \
      --base ... --keep --loop 20
"""
import argparse
import os
import shutil
import time

import numpy as np
import pyarrow as pa

import ailake


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--fragments", type=int, default=10)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--ef", type=int, default=10)
    ap.add_argument("--table", default="/tmp/ailake_search_overhead")
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) the table")
    ap.add_argument("--loop", type=float, default=0,
                    help="then run table.search for this many seconds (for a profiler)")
    args = ap.parse_args()

    base = np.load(args.base, mmap_mode="r")
    if not (args.keep and os.path.exists(args.table)):
        shutil.rmtree(args.table, ignore_errors=True)
        write(args, base)
    t = ailake.open_table(args.table)
    return measure(args, base, t)


def write(args, base):
    w = ailake.TableWriter(args.table, dim=base.shape[1], metric="euclidean", index="hnsw",
                           m=16, ef_construction=150)
    per = args.rows // args.fragments
    for b in range(args.fragments):
        s = b * per
        w.write_batch(pa.table({"id": np.arange(s, s + per)}),
                      embeddings=np.ascontiguousarray(base[s:s + per], dtype=np.float32))
    w.close()


def measure(args, base, t):
    rng = np.random.default_rng(3)
    q = base[rng.integers(0, args.rows, args.queries)] + rng.normal(
        0, 0.5, (args.queries, base.shape[1])).astype(np.float32)
    files = [ailake.open_file(f) for f in t.data_files()]

    def bench(name, f):
        for v in q[:20]:
            f(v)
        c0, t0 = time.process_time(), time.perf_counter()
        for v in q:
            f(v)
        wall = (time.perf_counter() - t0) / len(q) * 1e6
        cpu = (time.process_time() - c0) / len(q) * 1e6
        print(f"{name}: {wall:.0f} us/query wall, {cpu:.0f} us CPU")

    print(f"{args.rows} x {base.shape[1]} in {args.fragments} fragments, ef={args.ef}, "
          f"{args.queries} queries")
    bench('table.search(columns=["id"])',
          lambda v: t.search(v, k=10, columns=["id"], ef=args.ef, num_threads=1))
    bench(f"file.search_rows x {len(files)}",
          lambda v: [f.search_rows(v, k=10, ef=args.ef) for f in files])
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < args.loop:
        for v in q:
            t.search(v, k=10, columns=["id"], ef=args.ef, num_threads=1)
    if not args.keep:
        shutil.rmtree(args.table, ignore_errors=True)


if __name__ == "__main__":
    main()
