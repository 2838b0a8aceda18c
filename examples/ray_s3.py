#!/usr/bin/env python3
"""One table on object storage, written, indexed, optimized and searched by a
Ray cluster.

    python examples/ray_s3.py s3://bucket/prefix \\
        --storage-option aws_endpoint=http://127.0.0.1:9000 --storage-option allow_http=true

Credentials and the region come from --storage-option KEY=VALUE, or else from
the AWS_* environment variables and profiles. A local path works too. Starts a
local Ray cluster (ray.init(num_cpus=2)) unless RAY_ADDRESS names one.
"""
import argparse
import os

import numpy as np
import pyarrow as pa
import ray

import ailake
import ailake.ray as alray


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("uri", help="s3://bucket/prefix or a local directory (must not hold a table)")
    ap.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=64)
    args = ap.parse_args()
    so = dict(kv.split("=", 1) for kv in args.storage_option) or None

    ray.init(address=os.environ.get("RAY_ADDRESS"), num_cpus=None if "RAY_ADDRESS" in os.environ
             else 2, include_dashboard=False, log_to_driver=False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, args.dim)).astype(np.float32)
    ids = np.arange(args.rows)
    data = pa.table({
        "id": ids,
        "category": (ids % 4).astype(np.int32),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), args.dim),
    })

    # Eight blocks: eight data files written by tasks, committed as one version.
    ds = ray.data.from_arrow(data).repartition(8)
    version = alray.write_table(ds, args.uri, storage_options=so, dim=args.dim,
                                metric="euclidean", index="hnsw", deferred=True)
    print(f"version {version}: {args.rows} rows in 8 files, indexes owed")
    print(f"indexes built by tasks: {alray.build_indexes(args.uri, storage_options=so)}")
    report = alray.optimize(args.uri, storage_options=so, merge_factor=4)
    print(f"optimize: {report['merges']} merges in {report['rounds']} rounds")

    # Tasks search disjoint fragments; the driver merges the top-k exactly.
    queries = x[:3] + 0.01
    results = alray.search(args.uri, queries, k=5, filter="category = 0", columns=["id"],
                           storage_options=so)
    table = ailake.open_table(args.uri, storage_options=so)
    for q, r in zip(queries, results):
        assert r["id"].to_pylist() == table.search(q, k=5, filter="category = 0",
                                                   columns=["id"])["id"].to_pylist()
        print(r.to_pydict())
    print(f"requests to the store from this process's table: {table.io_stats()['requests']}")
    ray.shutdown()


if __name__ == "__main__":
    main()
