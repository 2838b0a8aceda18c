#!/usr/bin/env python3
"""Writes the data of the "open one indexed file + first search" comparison.

Run with the reference package's venv (scripts/bootstrap_ref.sh):

    nice -n 10 .venv-ref/bin/python bench/reference/make_data.py build/ref_bench

Writes into OUT:
  vectors.npy   float32 [rows, dim]: the content, so that ailake can write the same file
  queries.npy   float32 [64, dim]: queries for the benchmark
  table/        a one-file AI-Lake table written by the reference `ailake`
                (TableWriter defaults: HNSW M=16, ef_construction=150, f16 column,
                cosine), columns: text, id, embedding
and prints the path of its single data file (the argument of open_search.py).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

import numpy as np

import ailake


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--metric", default="cosine")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    # The reference needs an absolute table path (a relative one "escapes LocalStore root").
    table = os.path.join(os.path.abspath(args.out), "table")
    if glob.glob(os.path.join(table, "data", "*.parquet")):
        print(f"{table} already holds a data file; remove {args.out} to rewrite", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)
    centers = rng.standard_normal((256, args.dim)).astype(np.float32)
    assign = rng.integers(0, len(centers), args.rows)
    x = centers[assign] + 0.5 * rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    x = x.astype(np.float16).astype(np.float32)  # exact in the reference's default f16 column
    q = centers[rng.integers(0, len(centers), 64)] + \
        0.5 * rng.standard_normal((64, args.dim), dtype=np.float32)
    np.save(os.path.join(args.out, "vectors.npy"), x)
    np.save(os.path.join(args.out, "queries.npy"), q.astype(np.float32))

    t0 = time.perf_counter()
    writer = ailake.TableWriter(table, dim=args.dim, metric=args.metric)
    writer.write_batch([f"document {i}" for i in range(args.rows)], x,
                       extra_columns={"id": list(range(args.rows))})
    writer.commit()
    files = glob.glob(os.path.join(table, "data", "*.parquet"))
    assert len(files) == 1, files
    print(f"wrote {args.rows} x {args.dim} in {time.perf_counter() - t0:.1f} s: "
          f"{os.path.getsize(files[0])} bytes", file=sys.stderr)
    print(files[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
