#!/usr/bin/env python3
"""Real text + real embeddings: Debian package descriptions embedded with all-MiniLM-L6-v2.

Writes under <root>/.cache/datasets/:
  debian_texts.parquet      the first N documents of debian_texts.documents() (doc_id = row)
  debian_minilm.npy         (N, 384) float32, L2-normalised, row i = text row i
  debian_minilm_20k.npy     the first --early-rows rows, written as soon as they exist
  debian_minilm.json        what was made: rows, text hash, model hash, timing
  debian_minilm.parts/      per-chunk results, so an interrupted run resumes

Documents are one per package ("<short>. <long description>") in package-name
order, then (Debian has fewer than 100k packages) one per distinct paragraph of
multi-paragraph long descriptions. A run whose outputs already match the
requested rows and texts does nothing.

    nice -n 15 .venv/bin/python scripts/datasets/make_debian_embeddings.py --root . [--rows N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import sys
import time

# One BLAS thread per process: on a shared machine a multi-threaded BLAS waiting
# for busy cores is several times slower than a single thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import debian_texts  # noqa: E402
import minilm  # noqa: E402


def _sha256_texts(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _save_npy_atomic(arr: np.ndarray, path: pathlib.Path) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)


def _file_sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_or_build_texts(out: pathlib.Path, rows: int | None, paragraphs: bool):
    """The document table to embed. An existing debian_texts.parquet with enough rows is
    reused (its first `rows` rows), so the embeddings stay aligned even if apt lists change."""
    path = out / "debian_texts.parquet"
    if path.exists():
        t = pq.read_table(path)
        if rows is not None and t.num_rows >= rows:
            return t.slice(0, rows), False
        if rows is None and (t.schema.metadata or {}).get(b"ailake.complete") == b"1":
            return t, False
    packages = debian_texts.package_table()
    debian_texts.write_parquet(packages, out / "debian_packages.parquet")
    docs = debian_texts.documents(packages, paragraphs=paragraphs)
    complete = rows is None or rows >= docs.num_rows
    if rows is not None:
        docs = docs.slice(0, rows)
    docs = docs.replace_schema_metadata({"ailake.complete": "1" if complete else "0"})
    return docs, True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2],
                    help="repository root; outputs go to <root>/.cache/datasets")
    ap.add_argument("--rows", type=int, help="embed only the first N documents (default: all)")
    ap.add_argument("--early-rows", type=int, default=20000,
                    help="also write debian_minilm_<N/1000>k.npy as soon as the first N rows exist (0: off)")
    ap.add_argument("--chunk", type=int, default=2000, help="documents per resumable chunk")
    ap.add_argument("--no-paragraphs", action="store_true", help="package documents only")
    args = ap.parse_args(argv)

    out = args.root / ".cache" / "datasets"
    out.mkdir(parents=True, exist_ok=True)
    docs, rebuilt = load_or_build_texts(out, args.rows, not args.no_paragraphs)
    texts = docs.column("text").to_pylist()
    n = len(texts)
    text_hash = _sha256_texts(texts)

    meta_path = out / "debian_minilm.json"
    emb_path = out / "debian_minilm.npy"
    if emb_path.exists() and meta_path.exists() and not rebuilt:
        meta = json.loads(meta_path.read_text())
        shape = np.load(emb_path, mmap_mode="r").shape
        if meta.get("text_sha256") == text_hash and shape == (n, minilm.DIM):
            print(f"cache complete: {emb_path} ({n} x {minilm.DIM}) matches {out / 'debian_texts.parquet'}")
            return 0

    if rebuilt or not (out / "debian_texts.parquet").exists() or pq.read_metadata(
            out / "debian_texts.parquet").num_rows != n:
        debian_texts.write_parquet(docs, out / "debian_texts.parquet")
        print(f"wrote {out / 'debian_texts.parquet'}: {n} documents", flush=True)

    model = minilm.MiniLM()
    parts = out / "debian_minilm.parts" / text_hash[:16]
    parts.mkdir(parents=True, exist_ok=True)
    early = min(args.early_rows, n) if args.early_rows > 0 else 0
    early_path = out / f"debian_minilm_{early // 1000}k.npy" if early else None

    t_start = time.perf_counter()
    done_now = 0
    for start in range(0, n, args.chunk):
        stop = min(start + args.chunk, n)
        part = parts / f"rows_{start:08d}_{stop:08d}.npy"
        if not part.exists():
            t0 = time.perf_counter()
            emb = model.encode(texts[start:stop])
            _save_npy_atomic(emb, part)
            dt = time.perf_counter() - t0
            done_now += stop - start
            rate = done_now / (time.perf_counter() - t_start)
            print(f"rows {start}-{stop}: {(stop - start) / dt:.1f} texts/s (run average {rate:.1f}/s, "
                  f"{time.strftime('%H:%M:%S')})", flush=True)
        if early_path and start < early <= stop and not early_path.exists():
            first = np.concatenate([np.load(parts / f"rows_{s:08d}_{min(s + args.chunk, n):08d}.npy")
                                    for s in range(0, stop, args.chunk)])[:early]
            _save_npy_atomic(first, early_path)
            print(f"wrote {early_path} {first.shape}", flush=True)

    emb = np.concatenate([np.load(parts / f"rows_{s:08d}_{min(s + args.chunk, n):08d}.npy")
                          for s in range(0, n, args.chunk)])
    assert emb.shape == (n, minilm.DIM) and emb.dtype == np.float32
    _save_npy_atomic(emb, emb_path)
    elapsed = time.perf_counter() - t_start
    meta = {
        "rows": n,
        "dim": minilm.DIM,
        "text_sha256": text_hash,
        "model": "sentence-transformers/all-MiniLM-L6-v2 (numpy forward pass, scripts/datasets/minilm.py)",
        "model_safetensors_sha256": _file_sha256(model.model_dir / "model.safetensors"),
        "max_seq_length": model.max_seq_length,
        "rows_embedded_this_run": done_now,
        "seconds_this_run": round(elapsed, 1),
        "texts_per_second_this_run": round(done_now / elapsed, 2) if done_now else None,
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {emb_path} {emb.shape}; {done_now} rows embedded in {elapsed:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
