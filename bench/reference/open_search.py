#!/usr/bin/env python3
"""Times "open one indexed AI-Lake file + first search" with the reference `ailake`.

    .venv-ref/bin/python bench/reference/open_search.py DATA_FILE [--runs 7] [--top-k 10]

DATA_FILE is the data file of a one-file table written by the reference
(bench/reference/make_data.py prints it); the table root is the parent of its
`data/` folder. The reference's only public read path is table-level:
`ailake.search(table, q)` reads the table metadata, the file's footer and AILK
section, deserialises the index and searches it — that whole call, in a fresh
process each run (so no in-process cache helps), is "open + first search".
The second search in the same process is reported too, for reference.

The query is row 0 of queries.npy beside the table when present (else a seeded
random vector). Each run is a separate interpreter started after `import ailake`
is timed separately; the OS page cache is warm (the file was read before), as it
will be for the side it is compared with. Prints one line per run and the median.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import ailake
t1 = time.perf_counter()
table, qpath, k, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
q = (np.load(qpath)[0] if qpath else np.random.default_rng(1).standard_normal(dim)).astype(np.float32)
ql = [float(v) for v in q]
t2 = time.perf_counter()
r1 = ailake.search(table, ql, top_k=k).to_list()
t3 = time.perf_counter()
r2 = ailake.search(table, ql, top_k=k).to_list()
t4 = time.perf_counter()
assert len(r1) == k and [x["row_id"] for x in r1] == [x["row_id"] for x in r2]
print(json.dumps(dict(import_s=t1 - t0, open_first_search_s=t3 - t2, second_search_s=t4 - t3,
                      top=[x["row_id"] for x in r1[:3]])))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_file")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--top-k", type=int, default=10)
    args = ap.parse_args()

    data_dir = os.path.dirname(os.path.abspath(args.data_file))
    if os.path.basename(data_dir) != "data":
        print(f"{args.data_file} is not inside a table's data/ folder", file=sys.stderr)
        return 2
    table = os.path.dirname(data_dir)
    qpath = os.path.join(os.path.dirname(table), "queries.npy")
    qpath = qpath if os.path.exists(qpath) else ""

    import pyarrow.parquet as pq
    md = pq.ParquetFile(args.data_file).metadata
    kv = {k.decode(): v.decode() for k, v in (md.metadata or {}).items()}
    if "ailake.footer_offset" not in kv:
        print(f"{args.data_file} has no AILK section (ailake.footer_offset)", file=sys.stderr)
        return 2
    dim = int(kv["ailake.dim"])
    with open(args.data_file, "rb") as f:  # warm the page cache once, like the other side
        while f.read(1 << 24):
            pass
    print(f"file {args.data_file}: {os.path.getsize(args.data_file)} bytes, {md.num_rows} rows, "
          f"dim {dim}, {kv.get('ailake.metric')}, {kv.get('ailake.precision')}")

    runs = []
    for i in range(args.runs):
        out = subprocess.run([sys.executable, "-c", CHILD, table, qpath, str(args.top_k), str(dim)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        runs.append(r)
        print(f"run {i}: open+first search {r['open_first_search_s'] * 1e3:.1f} ms, "
              f"second search {r['second_search_s'] * 1e3:.2f} ms, import {r['import_s']:.2f} s, "
              f"top3 {r['top']}")
    med = statistics.median(r["open_first_search_s"] for r in runs)
    med2 = statistics.median(r["second_search_s"] for r in runs)
    print(f"reference ailake: open + first search median {med * 1e3:.1f} ms over {len(runs)} "
          f"fresh processes (second search median {med2 * 1e3:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
