"""AI-Lake tables in the two containers, side by side in one process on the
same rows: storage_format="parquet" vs storage_format="lance" (docs/FORMAT.md
5.5), and pylance's own Lance file (version 2.2, its default) of the same
columns as the reference for the Lance format.

Datasets:
  debian     the real-text corpus: the first --debian-rows Debian package
             paragraphs (.cache/datasets/debian_texts.parquet) with their
             384-d MiniLM embeddings (.cache/datasets/debian_minilm_20k.npy)
  synthetic  --rows rows of a 128-d f32 vector, an int64 id, a float64, a
             short string and a struct<int32, string>

For each: write time, bytes on disk, a full scan and a scan of one column
(reading every value returned), and a take of 1,000 random rows of the
vector, string and struct columns (table.take by row id; pylance:
LanceFileReader.take_rows over the sorted rows). Best of --repeat runs, files
hot in the page cache.

  .venv/bin/python bench/encoding/containers.py --build-dir build/ci [--dataset debian|synthetic|both]
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
ap.add_argument("--dataset", default="both", choices=["debian", "synthetic", "both"])
ap.add_argument("--rows", type=int, default=1_000_000)
ap.add_argument("--debian-rows", type=int, default=20_000)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--takes", type=int, default=1000)
args = ap.parse_args()
sys.path.insert(0, os.path.join(args.build_dir, "python"))
import ailake  # noqa: E402
import lance.file as lf  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debian_rows  # noqa: E402


def touch(t):
    """Reads every value (a reader may hand back views it has not read yet)."""
    total = 0.0
    for name in t.column_names:
        col = t[name]
        while pa.types.is_fixed_size_list(col.type) or pa.types.is_struct(col.type):
            if pa.types.is_struct(col.type):
                col = pc.struct_field(col, [0])
            else:
                col = pc.list_flatten(col)
        if pa.types.is_fixed_size_binary(col.type) or pa.types.is_string(col.type):
            col = pc.binary_length(col)
        total += float(pc.sum(col).as_py() or 0)
    return total


def best(fn, repeat):
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs
               if "/data" in d)


def debian():
    rows, x = debian_rows.load(ROOT, args.debian_rows)
    return "debian", rows, x, "text"


def synthetic():
    rng = np.random.default_rng(0)
    n, dim = args.rows, 128
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    ids = np.arange(n)
    meta = pa.StructArray.from_arrays(
        [pa.array((ids % 1000).astype(np.int32)), pa.array([f"m{i % 97}" for i in range(n)])],
        ["a", "b"])
    rows = pa.table({"id": ids, "score": rng.normal(size=n),
                     "text": pa.array([f"{words[i % 8]} {i}" for i in range(n)]), "meta": meta})
    return "synthetic", rows, rng.normal(size=(n, dim)).astype(np.float32), "text"


def run(name, rows, x, text_col):
    n, dim = rows.num_rows, x.shape[1]
    rng = np.random.default_rng(1)
    take_rows = np.sort(rng.choice(n, size=args.takes, replace=False))
    work = tempfile.mkdtemp()
    results = {}
    print(f"\n{name}: {n} rows, {dim}-d vectors, columns {rows.column_names}", flush=True)
    for fmt in ("parquet", "lance"):
        path = os.path.join(work, fmt)

        def write():
            shutil.rmtree(path, ignore_errors=True)
            with ailake.TableWriter(path, dim=dim, metric="euclidean", index="flat",
                                    storage_format=fmt, background_threads=0,
                                    auto_optimize=False) as w:
                w.write_batch(rows, embeddings=x)
        w_s, _ = best(write, args.repeat)
        t = ailake.open_table(path)
        ids = t.scan(columns=["id"], with_row_id=True)["_rowid"].to_numpy()[take_rows]
        scan_s, _ = best(lambda: touch(t.scan()), args.repeat)
        col_s, _ = best(lambda: touch(t.scan(columns=["id"])), args.repeat)
        takes = {}
        for col in ("embedding", text_col, "meta"):
            takes[col], got = best(lambda: t.take(ids, columns=[col]), args.repeat)
            assert got.num_rows == args.takes
        results[fmt] = dict(write=w_s, bytes=dir_bytes(path), scan=scan_s, col=col_s, **takes)
    # pylance's own file of the same columns (vector as fixed_size_list<float>).
    full = rows.append_column("embedding",
                              pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), dim))
    lpath = os.path.join(work, "pylance.lance")

    def lwrite():
        w = lf.LanceFileWriter(lpath, full.schema)
        w.write_batch(full)
        w.close()
    w_s, _ = best(lwrite, args.repeat)
    r = lf.LanceFileReader(lpath)
    scan_s, _ = best(lambda: touch(r.read_all().to_table()), args.repeat)
    col_s, _ = best(lambda: touch(lf.LanceFileReader(lpath, columns=["id"]).read_all().to_table()),
                    args.repeat)
    takes = {}
    for col in ("embedding", text_col, "meta"):
        takes[col], _ = best(lambda: lf.LanceFileReader(lpath, columns=[col])
                             .take_rows(take_rows.tolist()).to_table(), args.repeat)
    results["pylance 2.2 file"] = dict(write=w_s, bytes=os.path.getsize(lpath), scan=scan_s,
                                       col=col_s, **takes)
    shutil.rmtree(work, ignore_errors=True)

    cols = ("embedding", text_col, "meta")
    print(f"| {n:,} rows | write | bytes | full scan | scan of `id` | take {args.takes:,}: "
          f"vector | {text_col} | struct |")
    print("|---|---|---|---|---|---|---|---|")
    for k, v in results.items():
        label = {"parquet": "ailake table, Parquet", "lance": "ailake table, Lance"}.get(k, k)
        print(f"| {label} | {v['write']:.3f} s | {v['bytes'] / 2**20:.1f} MiB | "
              f"{v['scan']:.3f} s | {v['col'] * 1e3:.1f} ms | "
              + " | ".join(f"{v[c] * 1e3:.1f} ms" for c in cols) + " |")
    a, b, p = results["parquet"], results["lance"], results["pylance 2.2 file"]
    for ref, label in ((a, "Lance vs Parquet table"), (p, "Lance table vs pylance 2.2 file")):
        print(f"| **{label}** | {ref['write'] / b['write']:.2f}x | "
              f"{b['bytes'] / ref['bytes']:.3f} | {ref['scan'] / b['scan']:.2f}x | "
              f"{ref['col'] / b['col']:.2f}x | "
              + " | ".join(f"{ref[c] / b[c]:.2f}x" for c in cols) + " |")
    sys.stdout.flush()


if args.dataset in ("debian", "both"):
    run(*debian())
if args.dataset in ("synthetic", "both"):
    run(*synthetic())
