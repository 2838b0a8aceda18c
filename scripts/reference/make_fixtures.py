#!/usr/bin/env python3
"""Writes the reference-compatibility fixtures with the reference AI-Lake package.

The reference implementation of the AI-Lake format is the PyPI package `ailake`
(a Rust core with Python bindings; pinned in requirements/reference.txt). Run this
with its venv (scripts/bootstrap_ref.sh creates .venv-ref):

    .venv-ref/bin/python scripts/reference/make_fixtures.py [--out tests/data/reference]

For every fixture NAME it writes into the output folder:
  NAME.parquet      the data file exactly as the reference wrote it
  NAME.vectors.npy  the raw input vectors of every vector column (float16 array of
                    shape [rows, dim]; see "Exact vectors" below), one file per column
                    (NAME.<column>.vectors.npy for the secondary columns)
  NAME.json         how it was written, the queries, their exact top-10 by brute
                    force, and what the reference's own search returned for them

Exact vectors: the input vectors are drawn from a seeded RNG and rounded to
float16 *before* they are handed to the reference, so that every precision the
reference stores (f16 or f32) holds them without loss. Ground truth computed
from the .npy (upcast to float32/float64) is therefore exact for the stored data.

The reference's Python API is table-level (an Iceberg table directory with a
data/ folder); each fixture is written as a one-batch table whose single data
file is copied out. Its searches run against that table before the copy, so the
recorded results are the reference's per-file index search (one file: the
table-wide merge is the identity). The HNSW build draws node levels from an
unseeded RNG, so re-running this script writes different (equally valid) graphs:
the committed files are the fixtures, this script documents how they were made.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.metadata
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

import numpy as np
import pyarrow.parquet as pq

import ailake

TOP_K = 10
NUM_QUERIES = 8


# name, how to write it, data shape. "columns": the vector columns in write order
# (the first is the primary one, located by ailake.footer_offset).
FIXTURES = [
    dict(name="hnsw_cosine_f16", writer="write_batch", rows=1300, seed=101,
         columns=[dict(column="embedding", dim=64, metric="cosine", precision="f16")],
         hnsw_m=16, hnsw_ef_construction=100,
         covers="HNSW index, cosine, f16 vector column (the reference's defaults), 64-d"),
    dict(name="hnsw_euclidean_f32", writer="write_batch", rows=1000, seed=102,
         columns=[dict(column="embedding", dim=32, metric="euclidean", precision="f32")],
         hnsw_m=8, hnsw_ef_construction=64,
         covers="HNSW index, euclidean (reference distance = sqrt of squared L2), f32 vector column, M=8"),
    dict(name="ivfpq_cosine_f16", writer="write_batch_ivf_pq", rows=1500, seed=103,
         columns=[dict(column="embedding", dim=64, metric="cosine", precision="f16")],
         covers="IVF-PQ index (forced), cosine (vectors L2-normalised inside the index; "
                "reference distance = ADC squared L2 between unit vectors), f16 column, 64-d"),
    dict(name="ivfpq_euclidean_f32", writer="write_batch_ivf_pq", rows=1000, seed=104,
         columns=[dict(column="embedding", dim=32, metric="euclidean", precision="f32")],
         covers="IVF-PQ index (forced), euclidean (reference distance = ADC squared L2), f32 column, 32-d"),
    dict(name="ivfpq_residual_euclidean_f32", writer="write_batch_ivf_pq", rows=600, seed=107,
         columns=[dict(column="embedding", dim=32, metric="euclidean", precision="f32")],
         table_kwargs=dict(ivf_residual=True),
         covers="IVF-PQ with ivf_residual=True (codes encode vector - coarse centroid; "
                "the blob's trailing residual flag is 1), euclidean, f32 column"),
    dict(name="ivfpq_pq_only_euclidean", writer="write_batch_ivf_pq", rows=600, seed=108,
         columns=[dict(column="embedding", dim=32, metric="euclidean", precision="f32")],
         table_kwargs=dict(pq_only=True),
         covers="IVF-PQ with pq_only=True: the Parquet file has NO vector column (KV "
                "ailake.pq_only=true); the PQ codes in the AILK section are the only vector data"),
    dict(name="multi_column", writer="write_batch_multi", rows=500, seed=105,
         columns=[dict(column="embedding", dim=64, metric="cosine", precision="f16"),
                  dict(column="image_embedding", dim=16, metric="euclidean", precision="f32")],
         covers="two vector columns, two AILK sections: primary via ailake.footer_offset, "
                "secondary via ailake.image_embedding.footer_offset; HNSW each"),
    dict(name="hnsw_cosine_i8", writer="write_batch", rows=200, seed=109,
         columns=[dict(column="embedding", dim=16, metric="cosine", precision="i8")],
         hnsw_m=8, hnsw_ef_construction=64,
         covers="i8 vector column (per-vector min/max affine codes, parameters NOT stored "
                "in the file); the HNSW blob keeps the raw f32 vectors"),
    dict(name="hnsw_dot_f32", writer="write_batch", rows=200, seed=110,
         columns=[dict(column="embedding", dim=16, metric="dot_product", precision="f32")],
         hnsw_m=8, hnsw_ef_construction=64,
         covers="dot_product metric (header byte 2, KV string 'dotproduct', distance -dot)"),
    dict(name="hnsw_normalized_cosine_f32", writer="write_batch", rows=200, seed=111, unit=True,
         columns=[dict(column="embedding", dim=16, metric="normalized_cosine", precision="f32")],
         hnsw_m=8, hnsw_ef_construction=64,
         covers="normalized_cosine metric (header byte 3; distance 1 - dot(q/|q|, v) with v "
                "as stored); input rows are unit vectors rounded to f16"),
    dict(name="plain_parquet_only", writer="write_batch_auto_deferred", rows=600, seed=106,
         columns=[dict(column="embedding", dim=32, metric="cosine", precision="f16")],
         covers="write_parquet_only output (deferred write before its index exists): "
                "ailake.* KV keys but no ailake.footer_offset and no AILK section"),
]


def make_vectors(rng: np.random.Generator, rows: int, dim: int, unit: bool) -> np.ndarray:
    """Clustered Gaussian data rounded to float16 (exact in f16 and f32)."""
    k = 12
    centers = rng.standard_normal((k, dim)) * 1.0
    assign = rng.integers(0, k, rows)
    x = centers[assign] + 0.6 * rng.standard_normal((rows, dim))
    if unit:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float16)


def make_queries(rng: np.random.Generator, x16: np.ndarray) -> np.ndarray:
    """Half are perturbed data rows, half fresh points near the data; float32."""
    x = x16.astype(np.float32)
    rows, dim = x.shape
    picks = rng.choice(rows, NUM_QUERIES // 2, replace=False)
    near = x[picks] + 0.1 * rng.standard_normal((len(picks), dim)).astype(np.float32)
    mix = x[rng.choice(rows, NUM_QUERIES - len(picks), replace=False)] * 0.5 + \
        0.8 * rng.standard_normal((NUM_QUERIES - len(picks), dim)).astype(np.float32)
    return np.concatenate([near, mix]).astype(np.float32)


def exact_topk(x16: np.ndarray, q: np.ndarray, metric: str, k: int) -> dict:
    """Brute force in float64 over the exact vectors; both distance conventions."""
    x = x16.astype(np.float64)
    qq = q.astype(np.float64)
    if metric == "cosine":
        d_ours = 1.0 - (x @ qq) / (np.linalg.norm(x, axis=1) * np.linalg.norm(qq))
        d_ref = d_ours
    elif metric == "euclidean":
        d_ours = ((x - qq) ** 2).sum(axis=1)          # ailake (ours): squared L2
        d_ref = np.sqrt(d_ours)                      # reference HNSW: L2
    elif metric == "dot_product":
        d_ours = d_ref = -(x @ qq)
    elif metric == "normalized_cosine":             # 1 - dot(q/|q|, v), v as stored
        d_ours = d_ref = 1.0 - x @ (qq / np.linalg.norm(qq))
    else:
        raise ValueError(metric)
    order = np.lexsort((np.arange(len(d_ours)), d_ours))[:k]
    return dict(row_ids=[int(i) for i in order],
                distance_ours=[float(d_ours[i]) for i in order],
                distance_reference_convention=[float(d_ref[i]) for i in order])


def only_data_file(table: str) -> str:
    files = glob.glob(os.path.join(table, "data", "*.parquet"))
    if len(files) != 1:
        raise RuntimeError(f"expected one data file under {table}/data, found {files}")
    return files[0]


def kv_metadata(path: str) -> dict:
    md = pq.ParquetFile(path).metadata.metadata or {}
    return {k.decode(): v.decode() for k, v in md.items() if k != b"ARROW:schema"}


def ref_search(table: str, q: np.ndarray, **kw) -> list[dict]:
    res = ailake._ailake.search(table, [float(v) for v in q], top_k=TOP_K, **kw)
    return [dict(row_id=int(r["row_id"]), distance=float(r["distance"])) for r in res]


def ref_search_column(table: str, column: str, q: np.ndarray) -> list[dict]:
    """Single-column search of any vector column: search_multimodal with one query.

    It returns the column's own HNSW ranking as RRF scores (1/(60+rank)), not distances."""
    res = ailake.search_multimodal(table, [(column, [float(v) for v in q], 1.0)], top_k=TOP_K)
    return [dict(row_id=int(r["row_id"]), rrf_score=float(r["rrf_score"])) for r in res]


def write_fixture(spec: dict, out: pathlib.Path, work: str) -> dict:
    name, rows = spec["name"], spec["rows"]
    rng = np.random.default_rng(spec["seed"])
    cols = spec["columns"]
    vecs = {c["column"]: make_vectors(rng, rows, c["dim"], spec.get("unit", False)) for c in cols}
    queries = {c["column"]: make_queries(rng, vecs[c["column"]]) for c in cols}
    texts = [f"row {i} text" for i in range(rows)]
    ids = [1_000_000 + 7 * i for i in range(rows)]
    extra = {"id": ids}

    table = os.path.join(work, name)
    primary = cols[0]
    kwargs = dict(vector_column=primary["column"], dim=primary["dim"], metric=primary["metric"],
                  precision=primary["precision"])
    kwargs.update(spec.get("table_kwargs", {}))
    for key in ("hnsw_m", "hnsw_ef_construction"):
        if key in spec:
            kwargs[key] = spec[key]
    writer = ailake.TableWriter(table, **kwargs)
    emb = {c: v.astype(np.float32).tolist() for c, v in vecs.items()}
    call = spec["writer"]
    if call == "write_batch":
        writer.write_batch(texts, emb[primary["column"]], extra_columns=extra)
    elif call == "write_batch_ivf_pq":
        writer.write_batch_ivf_pq(texts, emb[primary["column"]], extra_columns=extra)
    elif call == "write_batch_multi":
        specs = [(ailake.VectorColSpec(c["column"], c["dim"], c["metric"], precision=c["precision"],
                                       hnsw_m=spec.get("hnsw_m"),
                                       hnsw_ef_construction=spec.get("hnsw_ef_construction")),
                  emb[c["column"]]) for c in cols]
        writer.write_batch_multi(texts, specs, extra_columns=extra)
    elif call == "write_batch_auto_deferred":
        writer.write_batch_auto_deferred(texts, emb[primary["column"]], extra_columns=extra)
    else:
        raise ValueError(call)

    dst = out / f"{name}.parquet"
    if call == "write_batch_auto_deferred":
        # The deferred write persists plain Parquet (write_parquet_only) at once and
        # rewrites the file with its AILK section when the background build ends.
        # Copy it while it is still plain; retry the whole write if we were late.
        writer.commit()
        src = only_data_file(table)
        shutil.copyfile(src, dst)
        if "ailake.footer_offset" in kv_metadata(str(dst)):
            raise RuntimeError("deferred index finished before the copy; run again")
        for _ in range(100):  # let the background build finish before the process ends
            if "ailake.footer_offset" in kv_metadata(src):
                break
            time.sleep(0.1)
    else:
        writer.commit()
        src = only_data_file(table)
        shutil.copyfile(src, dst)

    kv = kv_metadata(str(dst))
    info = dict(
        fixture=name,
        covers=spec["covers"],
        file=dst.name,
        file_bytes=dst.stat().st_size,
        sha256=hashlib.sha256(dst.read_bytes()).hexdigest(),
        written_by=dict(
            package="ailake", version=importlib.metadata.version("ailake"),
            python_api=f"ailake.TableWriter(path, **table_kwargs).{call}(texts, ...); commit()",
            table_kwargs=kwargs,
            hnsw=dict(m=spec.get("hnsw_m"), ef_construction=spec.get("hnsw_ef_construction"))
            if "hnsw" in name or call == "write_batch_multi" else None,
            note="IVF-PQ parameters are chosen by the reference from rows and dim; "
                 "the parser reads them from the index blob" if "ivf" in call else None),
        rows=rows,
        columns_in_write_order=[c["column"] for c in cols],
        tabular_columns=dict(text="'row {i} text' for row i", id="1000000 + 7*i for row i (int64)"),
        row_id_meaning="0-based row index in the file (Parquet row order)",
        kv_metadata=kv,
        vectors=dict(seed=spec["seed"], generator="numpy default_rng: 12 Gaussian centers "
                     "N(0,1), each row = center + 0.6*N(0,1), rounded to float16",
                     columns={c["column"]: dict(
                         npy=(f"{name}.vectors.npy" if i == 0 else f"{name}.{c['column']}.vectors.npy"),
                         dtype="float16 (exact; upcast to float32 before use)",
                         dim=c["dim"], metric=c["metric"], precision=c["precision"])
                         for i, c in enumerate(cols)}),
        distance_conventions=dict(
            ours="lower = closer; cosine = 1 - cos, euclidean = squared L2, dot = -dot, "
                 "normalized_cosine = 1 - dot (include/ailake/policy.h)",
            reference="lower = closer; HNSW: cosine = 1 - cos, euclidean = L2 (sqrt), "
                      "dot_product = -dot, normalized_cosine = 1 - dot(q/|q|, v); "
                      "IVF-PQ: ADC squared L2 over PQ codes (cosine: on L2-normalised vectors)"),
        queries=[],
    )
    for i, c in enumerate(cols):
        np.save(out / info["vectors"]["columns"][c["column"]]["npy"], vecs[c["column"]])

    indexed = "ailake.footer_offset" in kv
    for c in cols:
        col = c["column"]
        for qi, q in enumerate(queries[col]):
            entry = dict(column=col, index=qi, vector=[float(v) for v in q],
                         exact_top10=exact_topk(vecs[col], q, c["metric"], TOP_K))
            if indexed and col == primary["column"]:
                entry["reference_search"] = dict(
                    call="ailake._ailake.search(table, q, top_k=10)  # ef_search default 50",
                    results=ref_search(table, q))
                if call != "write_batch_ivf_pq":
                    for ef in (10, 200):  # a narrow beam makes graph-search errors visible
                        entry[f"reference_search_ef{ef}"] = dict(
                            call=f"ailake._ailake.search(table, q, top_k=10, ef_search={ef})",
                            results=ref_search(table, q, ef_search=ef))
            elif indexed:
                entry["reference_search"] = dict(
                    call=f"ailake.search_multimodal(table, [('{col}', q, 1.0)], top_k=10)",
                    results=ref_search_column(table, col, q))
            info["queries"].append(entry)
    (out / f"{name}.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parents[2]
                                         / "tests" / "data" / "reference"))
    ap.add_argument("--only", nargs="*", help="fixture names to (re)write")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ailake-ref-") as work:
        for spec in FIXTURES:
            if args.only and spec["name"] not in args.only:
                continue
            info = write_fixture(spec, out, work)
            total = sum(p.stat().st_size for p in out.glob(f"{spec['name']}*"))
            print(f"{spec['name']}: {info['file_bytes']} bytes file, {total} bytes with npy/json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
