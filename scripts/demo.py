#!/usr/bin/env python3
"""The README's main job: semantic search over Debian's package descriptions.

1. Texts: the package descriptions on this machine (apt-cache dumpavail).
2. Embeddings: all-MiniLM-L6-v2 (384-d), run offline in numpy; cached under
   .cache/demo/ so later runs skip this step.
3. Ingest with deferred indexing (data queryable at once), wait for the
   HNSW indexes, then answer semantic queries with and without a filter,
   printing hits, timings and recall@10 against exact search.
4. DuckDB and pyarrow read the same data files as plain Parquet.

    python scripts/demo.py [--rows N] [--table DIR]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "datasets"))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import ailake  # noqa: E402

QUERIES = [
    ("a web browser", None),
    ("compress and decompress files", None),
    ("play music and audio files", None),
    ("python library for scientific computing", "section = 'python'"),
    ("fonts", "installed_size < 500"),
]


def load_texts(rows: int) -> pa.Table:
    import debian_texts  # noqa: PLC0415

    packages = debian_texts.package_table(require_long=False)
    docs = debian_texts.documents(packages, paragraphs=False)
    # An even sample across the alphabet (documents are sorted by package name).
    stride = max(1, docs.num_rows // rows)
    t = docs.take(pa.array(range(0, docs.num_rows, stride))[:rows])
    sections = [(s or "").split("/")[-1] for s in t["section"].to_pylist()]
    sizes = [int(z or 0) for z in t["installed_size"].to_pylist()]
    return pa.table({
        "id": pa.array(range(t.num_rows), pa.int64()),
        "package": t["package"],
        "section": pa.array(sections, pa.string()),
        "installed_size": pa.array(sizes, pa.int64()),
        "text": t["text"],
    })


def embeddings(texts: list[str], cache: pathlib.Path) -> np.ndarray:
    import minilm  # noqa: PLC0415

    import hashlib  # noqa: PLC0415

    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    key = cache / f"minilm_{len(texts)}_{digest}.npy"
    if key.exists():
        e = np.load(key)
        if e.shape == (len(texts), 384):
            print(f"embeddings: {len(texts)} cached in {key}")
            return e
    model = minilm.MiniLM()
    t0 = time.time()
    out = []
    step = 256
    for i in range(0, len(texts), step):
        out.append(model.encode(texts[i:i + step]))
        done = min(i + step, len(texts))
        print(f"\rembedding {done}/{len(texts)} ({done / (time.time() - t0):.0f} texts/s)", end="", flush=True)
    print()
    e = np.concatenate(out).astype(np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(key, e)
    return e


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--table", default=str(ROOT / "out" / "debian_table"))
    args = ap.parse_args()

    data = load_texts(args.rows)
    print(f"texts: {data.num_rows} Debian package descriptions (apt-cache dumpavail)")
    emb = embeddings(data["text"].to_pylist(), ROOT / ".cache" / "demo")

    shutil.rmtree(args.table, ignore_errors=True)
    t0 = time.time()
    w = ailake.TableWriter(args.table, dim=384, metric="cosine", index="hnsw", m=16, ef_construction=100)
    per_file = 1000
    for i in range(0, data.num_rows, per_file):
        w.write_batch_deferred(data.slice(i, per_file), emb[i:i + per_file])
    t_queryable = time.time() - t0
    t = ailake.open_table(args.table)
    print(f"ingest: {t.num_rows} rows in {len(t.fragments())} fragments, queryable after {t_queryable:.2f} s "
          "(exact scan until indexed)")
    w.wait_for_indexing()
    w.close()
    t = ailake.open_table(args.table)
    states = {f["index_state"] for fr in t.fragments() for f in fr["files"]}
    print(f"indexed: after {time.time() - t0:.2f} s; data file states {sorted(states)}; version {t.version}")

    import minilm  # noqa: PLC0415

    model = minilm.MiniLM()
    recalls = []
    for text, flt in QUERIES:
        q = model.encode([text])[0]
        s0 = time.time()
        hits = t.search(q, k=10, filter=flt, columns=["package", "section", "installed_size"], ef=128)
        ms = (time.time() - s0) * 1000
        exact = t.search(q, k=10, filter=flt, columns=["package"], exact=True)
        recall = len(set(hits["_rowid"].to_pylist()) & set(exact["_rowid"].to_pylist())) / max(1, exact.num_rows)
        recalls.append(recall)
        print(f"\nquery: {text!r}" + (f"  filter: {flt}" if flt else "") +
              f"  ({ms:.1f} ms, recall@10 vs exact {recall:.2f})")
        for pkg, sec, size, d in zip(hits["package"].to_pylist(), hits["section"].to_pylist(),
                                     hits["installed_size"].to_pylist(), hits["_distance"].to_pylist()):
            print(f"  {d:.3f}  {pkg:<32} {sec:<12} {size} KiB")
    print(f"\nmean recall@10 against exact search: {np.mean(recalls):.3f}")

    files = t.data_files()
    # The current version's files (older versions' files stay for time travel).
    listing = ", ".join(f"'{f}'" for f in files)
    n, sections = duckdb.sql(
        f"SELECT count(*), count(DISTINCT section) FROM read_parquet([{listing}])").fetchall()[0]
    first = pq.read_table(files[0], columns=["package", "text"])
    print(f"\nplain Parquet: DuckDB counts {n} rows in {len(files)} files ({sections} sections); "
          f"pyarrow reads {first.num_rows} rows of {os.path.basename(files[0])}, "
          f"first package {first['package'][0].as_py()!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
