#!/usr/bin/env python3
"""Full-text benchmark: ailake.TextIndex vs Tantivy vs LanceDB's native FTS,
side by side in one process, on Debian package descriptions.

    nice -n 10 .venv-bench/bin/python bench/text/run.py            # every package
    nice -n 10 .venv-bench/bin/python bench/text/run.py --docs 20000

Systems: ailake (the index alone, ailake.TextIndex), ailake-table (a table of
four fragments with a full-text index in each data file (create_fts_index),
Table.search_text: per-fragment indexes read in place, with table-wide
statistics, results read back with a take), Tantivy, LanceDB (a table with its
native FTS index). Hybrid: ailake-table and LanceDB, a vector query (64-d
stand-in embeddings, exact scan on both: LanceDB has no vector index here)
fused with an or-class text query by reciprocal rank.

Corpus: one document per Debian package ("<short>. <long>", the long
description when apt has the Translation-en index, else the short one;
scripts/datasets/debian_texts.py). Analyzer, the same for all three: split
on non-alphanumerics, drop tokens of 40 bytes or more, lowercase, Snowball
English stemmer, no stop words.

Per system:
  build   seconds to index the documents (one thread where it can be set:
          Tantivy's writer gets 1 thread; LanceDB builds its own way), and
          the bytes of the index (ailake: the blob; Tantivy: its directory;
          LanceDB: its _indices directory).
  search  --nq queries of each class, one at a time on one thread, systems
          alternating query by query (so machine noise hits each alike);
          QPS and p50 / p99 latency. Classes: term (1 word), or (2-3 words,
          any may match), and (+a +b), phrase ("a b" taken from a document).
  agree   top-10 equal to Tantivy's (ties aside, as tests/python/test_text_index.py).

Results: a markdown table on stdout, JSON in --json
(default bench/text/results/debian_<docs>.json).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import re
import shutil
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "datasets"))
import debian_texts  # noqa: E402


def corpus(limit: int) -> list[str]:
    try:
        packages = debian_texts.package_table()
    except FileNotFoundError:
        packages = debian_texts.package_table(require_long=False)
    docs = debian_texts.documents(packages, paragraphs=False).column("text").to_pylist()
    return docs[:limit] if limit else docs


def make_queries(docs: list[str], nq: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    sample = rng.sample(docs, min(len(docs), 5000))
    words = [w for d in sample for w in re.findall(r"[a-z][a-z0-9]{2,}", d.lower())]
    out = {"term": [], "or": [], "and": [], "phrase": []}
    while len(out["term"]) < nq:
        out["term"].append(rng.choice(words))
    while len(out["or"]) < nq:
        out["or"].append(" ".join(rng.choice(words) for _ in range(rng.randint(2, 3))))
    while len(out["and"]) < nq:
        d = rng.choice(sample)
        ws = re.findall(r"[a-z][a-z0-9]{2,}", d.lower())
        if len(set(ws)) >= 2:
            a, b = rng.sample(sorted(set(ws)), 2)
            out["and"].append(f"+{a} +{b}")
    while len(out["phrase"]) < nq:
        d = rng.choice(sample)
        ws = re.findall(r"[a-z0-9]+", d.lower())
        if len(ws) >= 3:
            i = rng.randrange(len(ws) - 1)
            out["phrase"].append('"' + " ".join(ws[i:i + 2]) + '"')
    return out


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


class Ailake:
    name = "ailake"

    def __init__(self, docs, workdir):
        import ailake
        self.ailake = ailake
        t = time.perf_counter()
        self.ix = ailake.TextIndex.build(docs, stemmer="english")
        self.build_s = time.perf_counter() - t
        self.bytes = self.ix.nbytes

    def search(self, q, k):
        h = self.ix.search(q, k)
        return list(zip(h.ids.tolist(), h.scores.tolist()))


HYBRID_DIM = 64


def doc_vectors(n: int) -> np.ndarray:
    """Stand-in embeddings for the hybrid runs (both systems get the same)."""
    return np.random.default_rng(3).standard_normal((n, HYBRID_DIM)).astype(np.float32)


class AilakeTable:
    """The table path: an ailake table of four fragments searched by
    Table.search_text (per-fragment indexes, table-wide statistics, the ids
    read back with a take), as LanceDB's table is searched."""
    name = "ailake-table"

    def __init__(self, docs, workdir):
        import ailake
        import pyarrow as pa
        vecs = doc_vectors(len(docs))
        db = ailake.connect(os.path.join(workdir, "ailake"))
        cuts = np.linspace(0, len(docs), 5).astype(int)

        def part(lo, hi):
            return pa.table({"id": pa.array(range(lo, hi), pa.int64()),
                             "text": pa.array(docs[lo:hi], pa.string()),
                             "vec": pa.FixedSizeListArray.from_arrays(
                                 pa.array(vecs[lo:hi].ravel()), HYBRID_DIM)})
        self.tbl = db.create_table("t", part(cuts[0], cuts[1]), vector_column="vec",
                                   metric="l2", index=None)
        for lo, hi in zip(cuts[1:-1], cuts[2:]):
            self.tbl.add(part(lo, hi))
        # The full-text index goes into every data file (create_fts_index);
        # its bytes are what the files grew by. Searches run on the table
        # opened afresh, reading the sections in place with their analyzer.
        before = sum(os.path.getsize(f) for f in self.tbl.data_files())
        t = time.perf_counter()
        self.tbl.create_fts_index("text", stemmer="english")
        self.build_s = time.perf_counter() - t
        self.bytes = sum(os.path.getsize(f) for f in self.tbl.data_files()) - before
        self.tbl = ailake.open_table(self.tbl.uri)

    def search(self, q, k):
        r = self.tbl.search_text(q, k, columns=["id"])
        return list(zip(r.column("id").to_pylist(), r.column("_score").to_pylist()))

    def hybrid(self, v, q, k):
        r = self.tbl.search_hybrid(v, q, k, columns=["id"], exact=True)
        return r.column("id").to_pylist()


class Tantivy:
    name = "tantivy"

    def __init__(self, docs, workdir):
        import tantivy
        path = os.path.join(workdir, "tantivy")
        os.makedirs(path)
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("body", stored=False, tokenizer_name="ours")
        sb.add_unsigned_field("id", stored=True)
        schema = sb.build()
        t = time.perf_counter()
        index = tantivy.Index(schema, path=path)
        index.register_tokenizer("ours", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
                                 .filter(tantivy.Filter.remove_long(40))
                                 .filter(tantivy.Filter.lowercase())
                                 .filter(tantivy.Filter.stemmer("english")).build())
        writer = index.writer(heap_size=200_000_000, num_threads=1)
        for i, d in enumerate(docs):
            writer.add_document(tantivy.Document(body=d, id=i))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self.build_s = time.perf_counter() - t
        self.bytes = dir_bytes(path)
        self.index = index
        self.searcher = index.searcher()

    def search(self, q, k):
        s = self.searcher
        res = s.search(self.index.parse_query(q, ["body"]), k)
        out = []
        for score, addr in res.hits:
            out.append((addr, score))
        return out

    def resolve(self, hits):
        """DocAddress -> the document's id (outside the timed loop)."""
        return [(self.searcher.doc(a)["id"][0], s) for a, s in hits]


class LanceDB:
    name = "lancedb"

    def __init__(self, docs, workdir):
        import lancedb
        import pyarrow as pa
        path = os.path.join(workdir, "lancedb")
        db = lancedb.connect(path)
        vecs = doc_vectors(len(docs))
        tbl = db.create_table("t", pa.table({"id": pa.array(range(len(docs)), pa.int64()),
                                             "text": pa.array(docs, pa.string()),
                                             "vec": pa.FixedSizeListArray.from_arrays(
                                                 pa.array(vecs.ravel()), HYBRID_DIM)}))
        t = time.perf_counter()
        tbl.create_fts_index("text", use_tantivy=False, with_position=True, base_tokenizer="simple",
                             lower_case=True, stem=True, language="English", remove_stop_words=False,
                             max_token_length=40, ascii_folding=False)
        self.build_s = time.perf_counter() - t
        self.bytes = dir_bytes(os.path.join(path, "t.lance", "_indices"))
        self.tbl = tbl

    def search(self, q, k):
        from lancedb.query import BooleanQuery, MatchQuery, Occur, PhraseQuery
        if q.startswith('"'):
            query = PhraseQuery(q.strip('"'), "text")
        elif q.startswith("+"):
            query = BooleanQuery([(Occur.MUST, MatchQuery(w[1:], "text")) for w in q.split()])
        else:
            query = q
        rows = self.tbl.search(query, query_type="fts").select(["id"]).limit(k).to_list()
        return [(r["id"], r["_score"]) for r in rows]

    def hybrid(self, v, q, k):
        # No vector index: an exact scan, as the ailake side's exact=True.
        rows = (self.tbl.search(query_type="hybrid").vector(v).text(q).select(["id"]).limit(k)
                .to_list())
        return [r["id"] for r in rows]


def same_top(ours, theirs):
    if len(ours) != len(theirs):
        return False
    if not theirs:
        return True
    eps = 1e-4 * max(1.0, abs(theirs[0][1]))
    if any(abs(a[1] - b[1]) > eps for a, b in zip(ours, theirs)):
        return False
    cut = theirs[-1][1]
    return {r for r, s in ours if s > cut + eps} == {r for r, s in theirs if s > cut + eps}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=0, help="first N documents (0 = all)")
    ap.add_argument("--nq", type=int, default=500, help="queries per class")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--systems", default="ailake,ailake-table,tantivy,lancedb")
    ap.add_argument("--json")
    ap.add_argument("--export", metavar="DIR",
                    help="write DIR/docs.txt (one document a line) and DIR/queries.tsv "
                         "(class, query) for bench/text/text_paths and exit")
    args = ap.parse_args()

    docs = corpus(args.docs)
    queries = make_queries(docs, args.nq, 7)
    if args.export:
        os.makedirs(args.export, exist_ok=True)
        with open(os.path.join(args.export, "docs.txt"), "w", encoding="utf-8") as f:
            for d in docs:
                f.write(" ".join(d.split()) + "\n")
        with open(os.path.join(args.export, "queries.tsv"), "w", encoding="utf-8") as f:
            for cls, qs in queries.items():
                for q in qs:
                    f.write(f"{cls}\t{q}\n")
        print(f"wrote {len(docs)} documents and the queries to {args.export}")
        return 0
    print(f"{len(docs)} documents, {sum(len(d) for d in docs) / 1e6:.1f} MB of text, "
          f"{args.nq} queries per class", flush=True)
    work = tempfile.mkdtemp(prefix="ailake-text-bench-")
    classes = {"ailake": Ailake, "ailake-table": AilakeTable, "tantivy": Tantivy,
               "lancedb": LanceDB}
    systems = []
    try:
        for name in args.systems.split(","):
            s = classes[name](docs, work)
            size = "in memory" if s.bytes is None else f"{s.bytes / 1e6:.2f} MB"
            print(f"  {name}: built in {s.build_s:.2f} s, {size}", flush=True)
            systems.append(s)
        results = {s.name: {"build_s": s.build_s, "bytes": s.bytes, "classes": {}} for s in systems}
        for cls, qs in queries.items():
            lat = {s.name: [] for s in systems}
            tops = {s.name: [] for s in systems}
            for s in systems:  # warm-up
                for q in qs[:20]:
                    s.search(q, args.k)
            for q in qs:
                for s in systems:
                    t = time.perf_counter()
                    hits = s.search(q, args.k)
                    lat[s.name].append(time.perf_counter() - t)
                    tops[s.name].append(hits)
            ref = None
            if "tantivy" in tops:
                tv = next(s for s in systems if s.name == "tantivy")
                ref = [tv.resolve(h) for h in tops["tantivy"]]
            for s in systems:
                l = np.array(lat[s.name])
                row = {"qps": len(l) / l.sum(), "p50_ms": 1e3 * np.percentile(l, 50),
                       "p99_ms": 1e3 * np.percentile(l, 99)}
                if ref is not None and s.name != "tantivy":
                    row["agree_with_tantivy"] = float(np.mean([same_top(a, b) for a, b in
                                                               zip(tops[s.name], ref)]))
                results[s.name]["classes"][cls] = row
        # Hybrid: a vector (an exact scan on both sides) and the or-class text,
        # fused by reciprocal rank, between the systems that have tables.
        hybrid = [s for s in systems if hasattr(s, "hybrid")]
        if len(hybrid) >= 1:
            vecs = doc_vectors(len(docs))
            rng = np.random.default_rng(9)
            pairs = [(vecs[rng.integers(len(docs))] + 0.1 * rng.standard_normal(HYBRID_DIM)
                      .astype(np.float32), q) for q in queries["or"]]
            lat = {s.name: [] for s in hybrid}
            for s in hybrid:
                for v, q in pairs[:10]:
                    s.hybrid(v, q, args.k)
            for v, q in pairs:
                for s in hybrid:
                    t = time.perf_counter()
                    s.hybrid(v, q, args.k)
                    lat[s.name].append(time.perf_counter() - t)
            for s in hybrid:
                l = np.array(lat[s.name])
                results[s.name]["hybrid"] = {"qps": len(l) / l.sum(),
                                             "p50_ms": 1e3 * np.percentile(l, 50),
                                             "p99_ms": 1e3 * np.percentile(l, 99)}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    names = [s.name for s in systems]
    print()
    print("| system | build s | index MB | " + " | ".join(
        f"{c} QPS | {c} p99 ms" for c in queries) + " |")
    print("|---" * (3 + 2 * len(queries)) + "|")
    for n in names:
        r = results[n]
        cells = [f"{r['classes'][c]['qps']:.0f} | {r['classes'][c]['p99_ms']:.2f}" for c in queries]
        size = "-" if r["bytes"] is None else f"{r['bytes'] / 1e6:.2f}"
        print(f"| {n} | {r['build_s']:.2f} | {size} | " + " | ".join(cells) + " |")
    if "tantivy" in results:
        t = results["tantivy"]
        for n in names:
            if n == "tantivy":
                continue
            r = results[n]
            ratios = ", ".join(f"{c} {r['classes'][c]['qps'] / t['classes'][c]['qps']:.2f}x"
                               for c in queries)
            agree = ", ".join(f"{c} {100 * r['classes'][c].get('agree_with_tantivy', 0):.1f}%"
                              for c in queries)
            size = "-" if r["bytes"] is None else f"{r['bytes'] / t['bytes']:.2f}x"
            print(f"\n{n} / tantivy: QPS {ratios}; bytes {size}; "
                  f"build {r['build_s'] / t['build_s']:.2f}x; top-10 = tantivy's: {agree}")
    for n in names:
        if "hybrid" in results[n]:
            h = results[n]["hybrid"]
            print(f"\nhybrid ({n}): {h['qps']:.0f} QPS, p50 {h['p50_ms']:.2f} ms, "
                  f"p99 {h['p99_ms']:.2f} ms")
    if "ailake-table" in results and "lancedb" in results:
        a, b = results["ailake-table"], results["lancedb"]
        ratios = ", ".join(f"{c} {a['classes'][c]['qps'] / b['classes'][c]['qps']:.1f}x"
                           for c in queries)
        hy = (f"; hybrid {a['hybrid']['qps'] / b['hybrid']['qps']:.1f}x"
              if "hybrid" in a and "hybrid" in b else "")
        print(f"\nailake-table / lancedb: QPS {ratios}{hy}")
    out = args.json or str(ROOT / "bench" / "text" / "results" / f"debian_{len(docs)}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"docs": len(docs), "nq": args.nq, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
