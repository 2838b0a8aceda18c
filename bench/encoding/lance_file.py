"""Lance files: ailake's encoding/ layer vs pylance (the Lance project's own
writer and reader) vs Parquet, side by side in one process, on the same table:
  synthetic  N rows of a 128-d f32 vector, an int64 id, a float64 and a string column
  debian     the real-text corpus: Debian package paragraphs (id, package, section,
             text, a struct of installed size and priority) with their 384-d MiniLM
             embeddings (.cache/datasets, made by scripts/datasets/)

Reports write time, bytes on disk, full scan and projected scan (id only),
each reading every value it returns, and a take of 1,000 random rows
(vector, string) for:
  ailake   - ailake.write_lance_file / ailake.read_lance_file at file versions 2.0, 2.1, 2.2
  pylance  - lance.file.LanceFileWriter / LanceFileReader at 2.0, 2.1 and 2.2 (its default)
  parquet  - pyarrow.parquet (defaults), take via pyarrow's Table.take after a full read

  .venv/bin/python bench/encoding/lance_file.py [--build-dir build/ci] [--rows 1000000]
      [--dataset synthetic|debian|both]
Each measurement is the best of --repeat runs.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
ap.add_argument("--rows", type=int, default=1_000_000)
ap.add_argument("--dim", type=int, default=128)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--dataset", default="synthetic", choices=["synthetic", "debian", "both"])
ap.add_argument("--debian-rows", type=int, default=20_000)
args = ap.parse_args()
sys.path.insert(0, os.path.join(args.build_dir, "python"))
import ailake  # noqa: E402
import lance.file as lf  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debian_rows  # noqa: E402



def synthetic():
    rng = np.random.default_rng(0)
    n, dim = args.rows, args.dim
    x = rng.normal(size=(n, dim)).astype("f4")
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    return "synthetic", pa.table({
        "id": pa.array(np.arange(n)),
        "score": pa.array(rng.normal(size=n)),
        "text": pa.array([f"{words[i % 8]} {i}" for i in range(n)]),
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), dim),
    })


def debian():
    rows, x = debian_rows.load(ROOT, args.debian_rows)
    return "debian", rows.append_column(
        "emb", pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), x.shape[1]))


work = tempfile.mkdtemp()


def touch(t):
    """Reads every value (a reader may hand back views it has not read yet)."""
    total = 0.0
    for name in t.column_names:
        col = t[name]
        if pa.types.is_struct(col.type):
            touch(pa.table({f.name: pc.struct_field(col, f.name) for f in col.type}))
            continue
        if pa.types.is_fixed_size_list(col.type):
            col = pc.list_flatten(col)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.utf8_length(col)
        total += pc.sum(col).as_py() or 0
    return t


def best(fn):
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def pylance_write(table, path, version):
    w = lf.LanceFileWriter(path, table.schema, version=version)
    w.write_batch(table)
    w.close()


def run(dataset, table):
    n = table.num_rows
    rng = np.random.default_rng(1)
    take_rows = np.sort(rng.choice(n, size=min(1000, n), replace=False)).tolist()
    proj = ["id"]
    takes = ["emb", "text"] + (["meta"] if "meta" in table.column_names else [])

    def ours(version):
        return dict(
            write=lambda p: ailake.write_lance_file(p, table, version=version),
            scan=lambda p: touch(ailake.read_lance_file(p)),
            proj=lambda p: touch(ailake.read_lance_file(p, proj)),
            take=lambda p: ailake.read_lance_file(p, takes, rows=take_rows))

    def theirs(version):
        return dict(
            write=lambda p: pylance_write(table, p, version),
            scan=lambda p: touch(lf.LanceFileReader(p).read_all().to_table()),
            proj=lambda p: touch(lf.LanceFileReader(p, columns=proj).read_all().to_table()),
            take=lambda p: lf.LanceFileReader(p, columns=takes).take_rows(take_rows).to_table())

    systems = {f"{who} {v}": (ours if who == "ailake" else theirs)(v)
               for v in ("2.0", "2.1", "2.2") for who in ("ailake", "pylance")}
    systems["parquet"] = dict(
        write=lambda p: pq.write_table(table, p),
        scan=lambda p: touch(pq.read_table(p)),
        proj=lambda p: touch(pq.read_table(p, columns=proj)),
        take=lambda p: pq.read_table(p, columns=takes).take(take_rows))
    rows = {}
    print(f"== {dataset}: {n} rows", flush=True)
    for name, s in systems.items():
        path = os.path.join(work, name.replace(" ", "_") + ".file")
        w, _ = best(lambda: s["write"](path))
        size = os.path.getsize(path)
        sc, t = best(lambda: s["scan"](path))
        assert t.num_rows == n
        pr, _ = best(lambda: s["proj"](path))
        tk, got = best(lambda: s["take"](path))
        assert got["text"].to_pylist() == table["text"].take(take_rows).to_pylist(), name
        rows[name] = (w, size, sc, pr, tk)
        print(f"{name:12s} write {w:7.3f} s  {size / 2**20:8.1f} MiB  scan {sc:7.3f} s  "
              f"scan(id) {pr:7.4f} s  take {len(take_rows)} {tk * 1e3:8.2f} ms", flush=True)
    for v in ("2.0", "2.1", "2.2"):
        a, b = rows[f"ailake {v}"], rows[f"pylance {v}"]
        print(f"ailake {v} vs pylance {v}: write {b[0] / a[0]:.2f}x  bytes {a[1] / b[1]:.3f}  "
              f"scan {b[2] / a[2]:.2f}x  scan(id) {b[3] / a[3]:.2f}x  take {b[4] / a[4]:.2f}x")
    a, b = rows["ailake 2.2"], rows["parquet"]
    print(f"ailake 2.2 vs parquet: write {b[0] / a[0]:.2f}x  bytes {a[1] / b[1]:.3f}  "
          f"scan {b[2] / a[2]:.2f}x  scan(id) {b[3] / a[3]:.2f}x  take {b[4] / a[4]:.2f}x"
          "   (>1x: ailake faster; bytes: ours/theirs)", flush=True)


if args.dataset in ("synthetic", "both"):
    run(*synthetic())
if args.dataset in ("debian", "both"):
    run(*debian())
shutil.rmtree(work)
