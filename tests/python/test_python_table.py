"""ailake.TableWriter and ailake.open_table against numpy brute force."""
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import ailake
from ailake_testdata import DIM, exact_topk, recall, rows, vectors

N = 600  # rows per batch


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    """A table written from pyarrow, numpy, polars and pandas inputs (4 batches)."""
    path = tmp_path_factory.mktemp("tables") / "t"
    x = vectors(4 * N, seed=1)
    w = ailake.TableWriter(path, vector_column="embedding", dim=DIM, metric="cosine", index="hnsw",
                           m=16, ef_construction=100)
    # 1. pyarrow table carrying the vector column.
    v1 = w.write_batch(rows(0, x[:N]))
    # 2. pyarrow columns + a numpy matrix for the vectors.
    meta = rows(N, x[N:2 * N]).drop_columns(["embedding"])
    v2 = w.write_batch(meta, embeddings=x[N:2 * N])
    # 3. polars DataFrame (Array(Float32, dim) is FixedSizeList in Arrow).
    v3 = w.write_batch(pl.from_arrow(rows(2 * N, x[2 * N:3 * N])))
    # 4. pandas DataFrame + numpy embeddings.
    df = rows(3 * N, x[3 * N:]).drop_columns(["embedding"]).to_pandas()
    v4 = w.write_batch(df, embeddings=x[3 * N:])
    assert [v1, v2, v3, v4] == sorted({v1, v2, v3, v4})
    w.close()
    return path, x


def test_rows_round_trip_from_every_input(table_path):
    path, x = table_path
    t = ailake.open_table(path)
    assert t.num_rows == 4 * N
    assert len(t.fragments()) == 4
    s = t.scan().sort_by("id")
    assert s["id"].to_pylist() == list(range(4 * N))
    assert s["name"].to_pylist()[N + 7] == f"item {N + 7}"
    got = np.asarray(s["embedding"].combine_chunks().values.to_numpy()).reshape(-1, DIM)
    np.testing.assert_array_equal(got, x)
    assert t.schema.field("embedding").type.list_size == DIM
    assert t.vector_columns[0]["metric"] == "cosine"


def test_search_recall_against_brute_force(table_path):
    path, x = table_path
    t = ailake.open_table(path)
    qs = vectors(20, seed=99)
    total = 0.0
    for q in qs:
        r = t.search(q, k=10, ef=128)
        assert r.num_rows == 10
        assert set(r.column_names) >= {"id", "_distance", "_rowid"}
        assert "embedding" not in r.column_names
        d = r["_distance"].to_numpy()
        assert np.all(np.diff(d) >= 0)
        total += recall(r["id"].to_pylist(), exact_topk("cosine", q, x, 10))
    assert total / len(qs) >= 0.9
    # exact=True is the ground truth itself.
    q = qs[0]
    r = t.search(q, k=10, exact=True)
    assert r["id"].to_pylist() == list(exact_topk("cosine", q, x, 10))
    truth = 1 - (x[r["id"].to_numpy()] @ q) / (np.linalg.norm(x[r["id"].to_numpy()], axis=1) * np.linalg.norm(q))
    np.testing.assert_allclose(r["_distance"].to_numpy(), truth, rtol=1e-4, atol=1e-5)


def test_search_filters_return_k_rows_when_k_match(table_path):
    path, x = table_path
    t = ailake.open_table(path)
    ids = np.arange(4 * N)
    q = vectors(1, seed=5)[0]
    # Selective filter: 12 rows match; k=10 must return 10 of them, the exact best.
    flt = "category = 2 AND id < 60"
    allowed = (ids % 5 == 2) & (ids < 60)
    assert allowed.sum() == 12
    r = t.search(q, k=10, filter=flt, columns=["id", "category"])
    assert r.num_rows == 10
    assert set(r["category"].to_pylist()) == {2}
    assert sorted(r["id"].to_pylist()) == sorted(exact_topk("cosine", q, x, 10, allowed))
    # Fewer matches than k: all of them.
    r = t.search(q, k=10, filter="id IN (3, 17, 1500) OR name = 'item 42'")
    assert sorted(r["id"].to_pylist()) == [3, 17, 42, 1500]
    r = t.search(q, k=10, filter="price >= 100.0 AND name LIKE 'item 1%'")
    want = exact_topk("cosine", q, x, 10, (ids / 10.0 >= 100.0) & np.array([str(i).startswith("1") for i in ids]))
    assert recall(r["id"].to_pylist(), want) >= 0.9
    with pytest.raises(ValueError, match="filter|expected|position"):
        t.search(q, k=3, filter="category = = 2")
    with pytest.raises(TypeError):
        t.search(q, k=3, bogus=1)


def test_scan_take_and_row_ids(table_path):
    path, x = table_path
    t = ailake.open_table(path)
    s = t.scan(columns=["id", "price"], filter="category = 1", with_row_id=True)
    assert s.column_names == ["id", "price", "_rowid"]
    assert sorted(s["id"].to_pylist()) == [i for i in range(4 * N) if i % 5 == 1]
    assert t.scan(limit=7).num_rows == 7
    batches = list(t.to_reader(columns=["id"]))
    assert sum(b.num_rows for b in batches) == 4 * N
    # take by _rowid, in the order given.
    pick = s.slice(0, 5)
    order = [4, 0, 2]
    got = t.take(pick["_rowid"].to_numpy()[order], columns=["id", "embedding"])
    want_ids = [pick["id"][i].as_py() for i in order]
    assert got["id"].to_pylist() == want_ids
    emb = np.asarray(got["embedding"].combine_chunks().values.to_numpy()).reshape(-1, DIM)
    np.testing.assert_array_equal(emb, x[want_ids])
    with pytest.raises((KeyError, ValueError, IndexError)):
        t.take(np.array([2**40 + 5], dtype=np.uint64))


def test_deferred_writes_then_wait_for_indexing(tmp_path):
    x = vectors(3 * N, seed=3)
    w = ailake.TableWriter(tmp_path / "d", dim=DIM, metric="euclidean", index="hnsw")
    for b in range(3):
        w.write_batch_deferred(rows(b * N, x[b * N:(b + 1) * N]))
    # Committed at once: every row is searchable (exact scan for pending files).
    q = x[123] + 0.01
    t = ailake.open_table(tmp_path / "d")
    assert t.num_rows == 3 * N
    assert t.search(q, k=1)["id"][0].as_py() == 123
    w.wait_for_indexing()
    t.refresh()
    states = [f.index_state for fr in t.fragments() for f in fr.files]
    assert states == ["indexed"] * 3
    r = t.search(q, k=10)
    assert t.last_search_stats().files_exact_scanned == 0
    assert recall(r["id"].to_pylist(), exact_topk("euclidean", q, x, 10)) >= 0.9
    ops = [v.operation for v in t.versions()]
    assert ops.count("append") == 3 and "index" in ops
    w.close()


def test_table_wait_for_indexing_builds_pending(tmp_path):
    x = vectors(N, seed=4)
    w = ailake.TableWriter(tmp_path / "p", dim=DIM, metric="euclidean", index="hnsw",
                           background_threads=1)
    w.write_batch_deferred(rows(0, x))
    w.wait_for_indexing()
    w.close()
    t = ailake.open_table(tmp_path / "p")
    # Nothing left owed after the writer finished.
    assert t.wait_for_indexing() == 0
    assert t.search(x[9], k=1)["id"][0].as_py() == 9


def test_ivf_pq_and_auto_and_none_indexes(tmp_path):
    x = vectors(2 * N, seed=6)
    qs = vectors(10, seed=60)
    for index, params in [("ivf_pq", dict(nlist=16, pq_m=8, nprobe=8)), ("auto", {}), (None, {}),
                          ("flat", {})]:
        p = tmp_path / f"t_{index}"
        w = ailake.TableWriter(p, dim=DIM, metric="euclidean", index=index, **params)
        w.write_batch(rows(0, x[:N]))
        w.write_batch(rows(N, x[N:]))
        t = ailake.open_table(p)
        rec = np.mean([recall(t.search(q, k=10, nprobe=16, refine_factor=8)["id"].to_pylist(),
                              exact_topk("euclidean", q, x, 10)) for q in qs])
        assert rec >= 0.85, (index, rec)
        w.close()


def _shared_codebook_fingerprints(table):
    """The codebook fingerprint each data file's IVF-PQ blob names (FORMAT.md 3.4)."""
    out = []
    for path in table.data_files():
        col = ailake.open_file(path).vector_columns[0]
        assert col["index"] == "ivf_pq"
        with open(path, "rb") as f:
            f.seek(col["index_offset"])
            header = f.read(96)
        flags = int.from_bytes(header[10:12], "little")
        assert flags & 2, "the blob embeds its own codebook"
        out.append(int.from_bytes(header[88:96], "little"))
    return out


@pytest.mark.parametrize("pq_bits", [8, 4])
def test_ivf_pq_files_share_one_codebook(tmp_path, pq_bits):
    x = vectors(3 * N, seed=8)
    p = tmp_path / "shared"
    pq_m = 8 if pq_bits == 8 else 16  # 4-bit codes: two dimensions per sub-space
    with ailake.TableWriter(p, dim=DIM, metric="euclidean", index="ivf_pq", nlist=16, pq_m=pq_m,
                            pq_bits=pq_bits, min_training_rows=256) as w:
        w.write_batch(rows(0, x[:N]))
        w.write_batch(rows(N, x[N:2 * N]))
    codebooks = sorted((p / "_indexes").glob("*.codebook"))
    assert len(codebooks) == 1
    # docs/FORMAT.md 3.5: m at offset 16, codewords per sub-space at 20.
    header = codebooks[0].read_bytes()[:24]
    assert (int.from_bytes(header[16:20], "little"),
            int.from_bytes(header[20:24], "little")) == (pq_m, 1 << pq_bits)
    assert ailake.open_table(p).vector_columns[0]["pq_bits"] == pq_bits
    # A writer opened later, and deferred indexing, reuse it.
    with ailake.TableWriter(p, index="ivf_pq", min_training_rows=256) as w:
        w.write_batch_deferred(rows(2 * N, x[2 * N:]))
        w.wait_for_indexing()
    assert sorted((p / "_indexes").glob("*.codebook")) == codebooks
    t = ailake.open_table(p)
    fps = _shared_codebook_fingerprints(t)
    assert len(fps) == 3 and len(set(fps)) == 1
    qs = vectors(10, seed=80)
    rec = np.mean([recall(t.search(q, k=10, nprobe=16, refine_factor=16)["id"].to_pylist(),
                          exact_topk("euclidean", q, x, 10)) for q in qs])
    assert rec >= 0.9, rec


def test_delete_compact_versions_time_travel(tmp_path):
    x = vectors(2 * N, seed=7)
    p = tmp_path / "v"
    w = ailake.TableWriter(p, dim=DIM, metric="euclidean")
    w.write_batch(rows(0, x[:N]))
    w.write_batch(rows(N, x[N:]))
    w.close()
    t = ailake.open_table(p)
    v_before = t.version
    assert t.delete("category = 0 OR id >= 1100") == len([i for i in range(2 * N) if i % 5 == 0 or i >= 1100])
    assert t.version > v_before
    live = [i for i in range(2 * N) if not (i % 5 == 0 or i >= 1100)]
    assert t.num_rows == len(live)
    assert sorted(t.scan(columns=["id"])["id"].to_pylist()) == live
    # Deleted rows are never returned by search, even when they are nearest.
    r = t.search(x[5], k=5)
    assert 5 not in r["id"].to_pylist()
    assert all(i in set(live) for i in r["id"].to_pylist())
    # Time travel: the old version still has every row.
    old = ailake.open_table(p, version=v_before)
    assert old.num_rows == 2 * N
    assert t.checkout(v_before).search(x[5], k=1)["id"][0].as_py() == 5
    # Compaction drops the deleted rows physically, rows unchanged.
    res = t.compact(max_deleted_fraction=0.05)
    assert res.rows_dropped == 2 * N - len(live)
    assert sum(f.deleted_rows for f in t.fragments()) == 0
    assert sorted(t.scan(columns=["id"])["id"].to_pylist()) == live
    assert t.search(x[6], k=1)["id"][0].as_py() == 6
    ops = [v.operation for v in t.versions()]
    assert ops[0] == "create" and "delete" in ops and "compact" in ops
    assert [v.version for v in t.versions()] == sorted(v.version for v in t.versions())
    # Restore commits the old content as a new version.
    newv = t.restore(v_before)
    assert newv == t.version and t.num_rows == 2 * N
    # Cleanup: within the grace period only old versions go; without it, also
    # every file the newest version does not name (the compacted-away ones).
    nversions = len(t.versions())
    r = t.cleanup(retain_versions=2)
    assert r.versions_removed == nversions - 2 and r.files_removed == 0
    with pytest.raises(Exception):
        ailake.open_table(p, version=v_before)
    r = t.cleanup(grace_seconds=0)
    assert r.versions_removed == 1 and r.files_removed > 0 and r.bytes_removed > 0
    t = ailake.open_table(p)
    assert [v.version for v in t.versions()] == [newv]
    on_disk = sorted(str(f) for f in (p / "data").iterdir())
    assert on_disk == sorted(t.data_files())
    assert sorted(t.scan(columns=["id"])["id"].to_pylist()) == list(range(2 * N))
    assert t.search(x[5], k=1)["id"][0].as_py() == 5


def test_add_column_computed_per_fragment(tmp_path):
    x = vectors(2 * N, seed=8)
    p = tmp_path / "a"
    w = ailake.TableWriter(p, dim=DIM)
    w.write_batch(rows(0, x[:N]))
    w.write_batch(rows(N, x[N:]))
    w.close()
    t = ailake.open_table(p)
    t.delete("id = 3")
    v = t.add_column("id_squared", lambda rows: pc_square(rows["id"]), type=pa.int64(),
                     input_columns=["id"])
    assert v == t.version
    s = t.scan(columns=["id", "id_squared"]).sort_by("id")
    assert s["id_squared"].to_pylist() == [i * i for i in s["id"].to_pylist()]
    assert 3 not in s["id"].to_pylist()
    # The new column filters searches too.
    r = t.search(x[10], k=3, filter="id_squared < 50", columns=["id", "id_squared"])
    assert set(r["id"].to_pylist()) <= {0, 1, 2, 4, 5, 6, 7}
    with pytest.raises(ValueError, match="raised|values"):
        t.add_column("bad", lambda rows: [1], type=pa.int64())


def pc_square(col):
    a = col.to_numpy()
    return a * a


def test_multi_vector_columns(tmp_path):
    x = vectors(N, seed=9)
    y = vectors(N, seed=10, dim=8)
    p = tmp_path / "m"
    w = ailake.TableWriter(p, vector_column="embedding", dim=DIM, metric="euclidean",
                           vector_columns=[dict(vector_column="small", dim=8, metric="euclidean",
                                                index="flat")])
    meta = rows(0, x).drop_columns(["embedding"])
    w.write_batch_multi(meta, embeddings={"embedding": x, "small": y})
    w.close()
    t = ailake.open_table(p)
    assert [c["vector_column"] for c in t.vector_columns] == ["embedding", "small"]
    assert t.search(y[77], k=1, vector_column="small")["id"][0].as_py() == 77
    assert t.search(x[78], k=1)["id"][0].as_py() == 78


def test_errors_map_to_python_exceptions(tmp_path):
    with pytest.raises(OSError):
        ailake.open_table(tmp_path / "missing")
    with pytest.raises(ValueError, match="metric"):
        ailake.TableWriter(tmp_path / "x", dim=4, metric="manhattan")
    w = ailake.TableWriter(tmp_path / "y", dim=4)
    with pytest.raises(ValueError):
        w.write_batch({"id": [1, 2]}, embeddings=np.zeros((2, 5), np.float32))
    with pytest.raises(TypeError):
        w.write_batch(object())


def test_deep_and_long_filters_are_errors_or_answers_not_crashes(table_path):
    """Issue #10 finding 2: 8,000 nested parentheses, 20,000 NOTs, 20,000 AND/OR terms."""
    path, x = table_path
    t = ailake.open_table(path)
    deep = "(" * 8000 + "category = 1" + ")" * 8000
    nots = "NOT " * 20000 + "category = 1"
    for f in (deep, nots):
        with pytest.raises(ValueError, match="nested deeper than 256"):
            t.search(x[0], k=5, filter=f)
        with pytest.raises(ValueError, match="nested deeper than 256"):
            t.scan(filter=f)
        with pytest.raises(ValueError, match="nested deeper than 256"):
            t.delete(f)
    chain = " OR ".join(["category = 1"] + [f"id = {10_000_000 + i}" for i in range(20000)])
    got = t.search(x[1], k=5, filter=chain)
    assert len(got) == 5 and set(r % 5 for r in got["id"].to_pylist()) == {1}
    assert sorted(t.scan(filter=chain, columns=["id"])["id"].to_pylist()) == \
        [i for i in range(4 * N) if i % 5 == 1]


def test_settings_are_checked_not_ignored(tmp_path):
    """Issue #15: misspelled index parameters were accepted, `m='x'` raised
    std::bad_cast, and appending with another metric or index to an existing
    table succeeded and changed nothing."""
    import re

    rows = pa.table({"id": np.arange(20)})
    x = np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32)
    for bad, match in (({"efconstruction": 10}, "unknown vector column setting 'efconstruction'"),
                       ({"totally_bogus": 1}, "valid: vector_column, dim"),
                       ({"m": "x"}, re.escape("m = 'x' is not a non-negative integer")),
                       ({"metric": 3}, "metric = 3 is not a string")):
        with pytest.raises(ValueError, match=match):
            ailake.TableWriter(tmp_path / "bad", dim=4, **bad).write_batch(rows, embeddings=x)
    with ailake.TableWriter(tmp_path / "t", dim=4, metric="cosine", index="hnsw") as w:
        w.write_batch(rows, embeddings=x)
    for other in ({"metric": "euclidean"}, {"index": "ivf_pq", "pq_m": 2}, {"index": None}):
        with pytest.raises(ValueError, match="exists with vector column 'embedding' as dim 4, "
                                             "cosine, f32, index hnsw"):
            ailake.TableWriter(tmp_path / "t", dim=4, **{"metric": "cosine", **other}) \
                .write_batch(rows, embeddings=x)
    # Appending without restating the columns, or restating them as they are, works.
    with ailake.TableWriter(tmp_path / "t") as w:
        w.write_batch(rows, embeddings=x)
    with ailake.TableWriter(tmp_path / "t", dim=4, metric="cosine", index="hnsw") as w:
        w.write_batch(rows, embeddings=x)
    assert ailake.open_table(tmp_path / "t").num_rows == 60


@pytest.mark.parametrize("storage_format", ["parquet", "lance"])
def test_create_index_on_an_existing_table(tmp_path, storage_format):
    """Issue #15: a table written with index=None could never get an index.
    create_index gives it one (and replaces one), rebuilding each file's
    section; the data bytes before the sections are copied unchanged."""
    x = np.random.default_rng(7).normal(size=(1500, 16)).astype(np.float32)
    with ailake.TableWriter(tmp_path / "t", dim=16, metric="euclidean", index=None,
                            storage_format=storage_format, background_threads=0,
                            auto_optimize=False) as w:
        for s in range(0, 1500, 500):
            w.write_batch(pa.table({"id": np.arange(s, s + 500)}), embeddings=x[s:s + 500])
    t = ailake.open_table(tmp_path / "t")
    assert {f.index_state for fr in t.fragments() for f in fr.files} == {"none"}
    q = x[123] + 0.01
    exact = t.search(q, k=10, exact=True, columns=["id"])["id"].to_pylist()
    assert t.search(q, k=10, columns=["id"])["id"].to_pylist() == exact

    v = t.create_index(index="hnsw", m=8, ef_construction=64)
    assert v == t.version
    states = [f.index_state for fr in t.fragments() for f in fr.files]
    assert states == ["indexed"] * 3
    assert t.vector_columns[0]["index"] == "hnsw" and t.vector_columns[0]["m"] == 8
    for path in t.data_files():
        f = ailake.open_file(path)
        assert f.is_ailake_file() and f.vector_columns[0]["index"] == "hnsw"
    assert len(set(t.search(q, k=10, columns=["id"])["id"].to_pylist()) & set(exact)) >= 9
    assert t.verify().ok

    # Replacing an index: HNSW -> IVF-PQ (a shared codebook is trained).
    t.create_index(index="ivf_pq", nlist=8, pq_m=4, min_training_rows=500, wait=False)
    assert {f.index_state for fr in t.fragments() for f in fr.files} == {"pending"}
    assert t.search(q, k=10, columns=["id"])["id"].to_pylist() == exact  # exact meanwhile
    assert t.wait_for_indexing() == 3
    assert {f.index_state for fr in t.fragments() for f in fr.files} == {"indexed"}
    assert len(set(t.search(q, k=10, columns=["id"], refine_factor=10)["id"].to_pylist())
               & set(exact)) >= 8
    assert t.verify().ok
    # What an index cannot change is refused, naming it.
    with pytest.raises(ValueError, match="cannot change dim 16, cosine"):
        t.create_index(index="hnsw", metric="cosine")
    with pytest.raises(ValueError, match="unknown vector column setting 'efc'"):
        t.create_index(index="hnsw", efc=3)
    # HNSW walked on 8-bit or 4-bit codes: the setting is kept, searches
    # return exact distances (also with only 4k rows of the beam re-ranked),
    # verify (which loads every index over its vectors) passes.
    # "auto", the default, is kept as the setting (each file's index measures
    # its own sample when it is built).
    for traversal in ("sq8", "sq4", "auto"):
        t.create_index(index="hnsw", m=8, ef_construction=64, traversal=traversal)
        assert t.vector_columns[0]["traversal"] == traversal
        for refine in (0, 4):
            got = t.search(q, k=10, columns=["id"], ef=64, refine_factor=refine)
            assert len(set(got["id"].to_pylist()) & set(exact)) >= 9
            ids = got["id"].to_numpy()
            np.testing.assert_allclose(got["_distance"].to_numpy(), ((x[ids] - q) ** 2).sum(1),
                                       rtol=1e-4)
        assert t.verify().ok
    with pytest.raises(ValueError, match="unknown HNSW traversal 'sq2'"):
        t.create_index(index="hnsw", traversal="sq2")


@pytest.mark.parametrize("storage_format", ["parquet", "lance"])
def test_appends_without_a_later_added_nullable_column_get_nulls(tmp_path, storage_format):
    """Issue #15: after add_column, batches shaped before it (without the new
    column) were refused; a nullable column is now filled with nulls."""
    x = np.random.default_rng(2).normal(size=(40, 4)).astype(np.float32)
    rows = pa.table({"id": pa.array(np.arange(20), pa.int64())})
    with ailake.TableWriter(tmp_path / "t", dim=4, storage_format=storage_format) as w:
        w.write_batch(rows, embeddings=x[:20])
    t = ailake.open_table(tmp_path / "t")
    t.add_column("label", lambda r: pa.array([f"l{i}" for i in r["id"].to_pylist()]),
                 type=pa.string(), input_columns=["id"])
    with ailake.TableWriter(tmp_path / "t") as w:
        w.write_batch(pa.table({"id": pa.array(np.arange(20, 40), pa.int64())}),
                      embeddings=x[20:])
    got = ailake.open_table(tmp_path / "t").scan(columns=["id", "label"]).sort_by("id")
    assert got["label"].to_pylist() == [f"l{i}" for i in range(20)] + [None] * 20
    assert ailake.open_table(tmp_path / "t").verify().ok


def test_dataframes_head_and_counts(tmp_path):
    """Issue #15: t.to_pandas(), t.to_polars(), t.head(n), t.count_rows(filter),
    checked against pyarrow compute over the full scan."""
    import pyarrow.compute as pc

    x = np.random.default_rng(5).normal(size=(300, 4)).astype(np.float32)
    with ailake.TableWriter(tmp_path / "t", dim=4, background_threads=0) as w:
        for s in (0, 100, 200):
            w.write_batch(pa.table({"id": np.arange(s, s + 100), "cat": np.arange(s, s + 100) % 7}),
                          embeddings=x[s:s + 100])
    t = ailake.open_table(tmp_path / "t")
    t.delete("id < 10")
    full = t.scan()
    assert t.count_rows() == 290 == full.num_rows
    want = pc.sum(pc.and_(pc.equal(full["cat"], 3), pc.greater(full["id"], 50))).as_py()
    assert t.count_rows("cat = 3 AND id > 50") == want
    assert t.head(7, columns=["id"]).num_rows == 7 and t.head(0).num_rows == 0
    assert t.head(1000).num_rows == 290
    with pytest.raises(ValueError, match="n >= 0"):
        t.head(-1)
    df = t.to_pandas(columns=["id", "cat"], filter="cat = 1")
    assert isinstance(df, pd.DataFrame) and sorted(df["id"]) == sorted(
        i for i in range(10, 300) if i % 7 == 1)
    pdf = t.to_polars(columns=["id"])
    assert isinstance(pdf, pl.DataFrame) and pdf.height == 290


def test_drop_index_then_create_again(cli, tmp_path):
    """Issue #15: drop_index on an existing table (Python and CLI): exact
    scans from then on, the same answers as an exact search, verify clean,
    and create_index gives it back."""
    import json

    x = np.random.default_rng(11).normal(size=(300, DIM)).astype(np.float32)
    t = ailake.connect(tmp_path).create_table(
        "t", pa.table({"id": np.arange(300), "vector": list(x)}), metric="euclidean")
    want = t.search(x[5], k=5, exact=True)["id"].to_pylist()
    v = t.drop_index()
    assert v == t.version and t.vector_columns[0]["index"] == "none"
    assert t.search(x[5], k=5)["id"].to_pylist() == want
    assert t.last_search_stats().files_index_searched == 0 and t.verify().ok
    with pytest.raises(ValueError, match="no index to drop"):
        t.drop_index()
    t.create_index(index="hnsw", m=8)
    assert t.search(x[5], k=5)["id"].to_pylist()[0] == 5
    assert t.last_search_stats().files_index_searched > 0
    r = cli("--json", "drop-index", tmp_path / "t")
    assert json.loads(r.stdout)["vector_column"] == "vector"
    assert ailake.open_table(tmp_path / "t").vector_columns[0]["index"] == "none"
