"""The bare index layer (ailake.Index) against numpy brute force."""
import numpy as np
import pytest

import ailake
from ailake_testdata import exact_topk, vectors


def batch_recall(ids, x, qs, metric, k):
    hits = 0
    for i, q in enumerate(qs):
        truth = exact_topk(metric, q, x, k)
        hits += len(set(ids[i].tolist()) & set(truth.tolist()))
    return hits / (k * len(qs))


@pytest.mark.parametrize(
    "index,metric,params,search,min_recall",
    [
        ("flat", "euclidean", {}, {}, 1.0),
        ("flat", "dot", {}, {}, 1.0),
        # One build thread: a parallel build's graph depends on thread timing,
        # and at ef=64 its recall ranged 0.95-0.97 over 30 builds (once below).
        ("hnsw", "euclidean", dict(m=16, ef_construction=100, num_threads=1), dict(ef=64), 0.95),
        ("hnsw", "cosine", dict(m=16, ef_construction=100, num_threads=1), dict(ef=128), 0.95),
        # Walked on 8-bit codes, the beam re-ranked exactly: same recall bar.
        ("hnsw", "euclidean", dict(m=16, ef_construction=100, traversal="sq8"), dict(ef=64), 0.95),
        ("hnsw", "cosine", dict(m=16, ef_construction=100, traversal="sq8"), dict(ef=128), 0.95),
        # Walked on 4-bit codes with a scale per row, re-ranked exactly.
        ("hnsw", "euclidean", dict(m=16, ef_construction=100, traversal="sq4"), dict(ef=64), 0.95),
        ("hnsw", "cosine", dict(m=16, ef_construction=100, traversal="sq4"), dict(ef=128), 0.95),
        # The walk's 40 nearest by code distance re-ranked, not its whole beam.
        ("hnsw", "euclidean", dict(m=16, ef_construction=100, traversal="sq4"),
         dict(ef=64, refine_factor=4), 0.95),
        ("ivf_pq", "euclidean", dict(nlist=32, pq_m=8), dict(nprobe=16, refine_factor=10), 0.9),
        # 4-bit fast-scan codes: coarser, so twice the sub-spaces and more re-ranking.
        ("ivf_pq", "euclidean", dict(nlist=32, pq_m=16, pq_bits=4), dict(nprobe=16, refine_factor=20),
         0.9),
        ("ivf_pq", "cosine", dict(nlist=32, pq_m=16, pq_bits=4), dict(nprobe=16, refine_factor=20),
         0.9),
    ],
)
def test_build_search_recall(index, metric, params, search, min_recall):
    x = vectors(3000, seed=31)
    qs = vectors(50, seed=32)
    ix = ailake.Index.build(x, index=index, metric=metric, **params)
    assert (ix.type, ix.metric, ix.dim, len(ix)) == (index, metric, x.shape[1], len(x))
    hits = ix.search(qs, k=10, **search)
    d, ids = hits.distances, hits.ids
    assert d.shape == ids.shape == (50, 10) and d.dtype == np.float32 and ids.dtype == np.int64
    assert np.all(np.diff(d, axis=1) >= 0)
    assert batch_recall(ids, x, qs, metric, 10) >= min_recall
    # Returned distances are the metric's exact distances.
    from ailake_testdata import distances
    for i in range(5):
        np.testing.assert_allclose(d[i], distances(metric, qs[i], x[ids[i]]), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("index", ["flat", "hnsw", "ivf_pq"])
def test_save_load_gives_same_results(tmp_path, index):
    x = vectors(2000, seed=33)
    qs = vectors(20, seed=34)
    ix = ailake.build_index(x, index=index, metric="euclidean", nlist=16, pq_m=8)
    hits = ix.search(qs, k=5, nprobe=8)
    d1, i1 = hits.distances, hits.ids
    p = tmp_path / f"{index}.ailx"
    ix.save(p)
    for mm in (True, False):
        loaded = ailake.load_index(p, memory_map=mm)
        assert (loaded.type, len(loaded), loaded.dim) == (index, 2000, x.shape[1])
        hits = loaded.search(qs, k=5, nprobe=8)
        d2, i2 = hits.distances, hits.ids
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(d1, d2)


def test_load_rejects_corrupt_files(tmp_path):
    x = vectors(300, seed=35)
    p = tmp_path / "i.ailx"
    ailake.Index.build(x, index="hnsw", metric="euclidean").save(p)
    good = p.read_bytes()
    bad = tmp_path / "bad.ailx"
    for data in (good[:-1], b"XXXXXXXX" + good[8:], good[:40], good[:32 + 300 * 32 * 4] + b"\0" * 64):
        bad.write_bytes(data)
        with pytest.raises(ValueError):
            ailake.Index.load(bad)
    # The blob is validated too: flip bytes inside it.
    blob_start = 32 + 300 * 32 * 4
    mutated = bytearray(good)
    for off in range(blob_start + 8, len(good), 97):
        mutated[off] ^= 0xFF
    bad.write_bytes(bytes(mutated))
    try:
        ix = ailake.Index.load(bad)
    except ValueError:
        pass
    else:  # bytes that still validate must still give in-range answers
        hits = ix.search(x[:3], k=5)
        _, ids = hits.distances, hits.ids
        assert ids.max() < 300


def test_filtered_search_and_padding():
    x = vectors(1000, seed=36)
    ix = ailake.Index.build(x, index="hnsw", metric="euclidean")
    allowed = np.zeros(1000, bool)
    allowed[[10, 20, 30]] = True
    hits = ix.search(x[10], k=5, allowed=allowed)
    d, ids = hits.distances, hits.ids
    assert ids[0, :3].tolist() == [10] + sorted([20, 30], key=lambda r: ((x[r] - x[10]) ** 2).sum())
    assert ids[0, 3:].tolist() == [-1, -1] and np.isinf(d[0, 3:]).all()
    allowed = np.arange(1000) % 3 == 0
    hits = ix.search(x[:20], k=10, allowed=allowed, ef=128)
    _, ids = hits.distances, hits.ids
    assert (ids % 3 == 0).all()
    for i in range(20):
        truth = exact_topk("euclidean", x[i], x, 10, allowed)
        assert len(set(ids[i]) & set(truth)) >= 8


def test_input_conversion_and_errors():
    x64 = vectors(200, seed=37).astype(np.float64)  # converted once to float32
    ix = ailake.Index.build(x64, index="flat", metric="euclidean")
    hits = ix.search(x64[7], k=1)
    _, ids = hits.distances, hits.ids
    assert ids[0, 0] == 7
    x_f = np.asfortranarray(vectors(200, seed=37))
    assert ailake.Index.build(x_f, index="flat", metric="euclidean").search(x_f[:1], k=1).ids[0, 0] == 0
    with pytest.raises(ValueError):
        ix.search(np.zeros((1, 5), np.float32), k=1)
    with pytest.raises(ValueError):
        ailake.Index.build(np.zeros((0, 4), np.float32), index="flat")
    with pytest.raises(ValueError):
        ailake.Index.build(x64, index="hnsw", metric="nope")
    with pytest.raises(OSError):
        ailake.Index.load("/nonexistent/i.ailx")


def test_one_vocabulary_and_the_deprecated_forms(tmp_path):
    """Issue #15: ids before distances and `_rowid` everywhere, one default
    metric (cosine), typed results; the forms of earlier releases still work
    and warn."""
    import datetime
    import warnings

    import pyarrow as pa

    x = vectors(300, seed=40)
    # Index.search: .ids / .distances; unpacking gives the old (distances, ids) and warns.
    ix = ailake.Index.build(x, index="flat", metric="euclidean")
    hits = ix.search(x[:2], k=3)
    assert hits.ids[:, 0].tolist() == [0, 1] and hits.ids.dtype == np.int64
    assert hits.distances.shape == (2, 3) and hits.distances[0, 0] == 0
    with pytest.warns(DeprecationWarning, match=r"\.ids and \.distances"):
        d, i = ix.search(x[:2], k=3)
    assert np.array_equal(i, hits.ids) and np.array_equal(d, hits.distances)
    # One default metric: cosine, with a warning where it used to be euclidean.
    with pytest.warns(FutureWarning, match="no metric given, so 'cosine'"):
        assert ailake.Index.build(x, index="flat").metric == "cosine"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ailake.Index.build(x, index="flat", metric="cosine").metric == "cosine"
    assert ailake.DEFAULT_METRIC == "cosine"
    t = ailake.connect(tmp_path).create_table(
        "t", pa.table({"id": np.arange(300), "vector": list(x)}), index="flat")
    assert t.vector_columns[0]["metric"] == "cosine"
    # File.search names the row _rowid as Table.search does (and _row, deprecated).
    f = ailake.open_file(t.data_files()[0])
    r = f.search(x[5], k=2, columns=["id"])
    assert r.column_names == ["id", "_rowid", "_distance", "_row"]
    assert r["_rowid"].type == pa.uint64() and r["_rowid"][0].as_py() == 5
    assert r["_row"].to_pylist() == r["_rowid"].to_pylist()
    ids, dist = f.search_rows(x[5], k=2)
    assert ids[0] == 5 and dist[0] == pytest.approx(0, abs=1e-6)
    # Typed results: attributes, None for unset; dict reads warn and keep the old values.
    v = t.versions()[-1]
    assert isinstance(v, ailake.Version) and v.version == t.version
    assert v.timestamp.tzinfo is datetime.timezone.utc
    assert abs(v.timestamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() < 600
    with pytest.warns(DeprecationWarning, match=r"use \.version"):
        assert v["version"] == t.version
    with pytest.warns(DeprecationWarning):
        assert v["timestamp_micros"] == v.timestamp_micros and dict(v)["operation"] == v.operation
    frag = t.fragments()[0]
    assert isinstance(frag.files[0], ailake.DataFile) and frag.files[0].index_state == "indexed"
    with pytest.warns(DeprecationWarning):
        assert frag["files"][0]["path"] == frag.files[0].path  # nested results as old dicts
    view = t.iceberg_view()
    assert view.lag is None and view.last_error is None
    with pytest.warns(DeprecationWarning):
        assert view["lag"] == ""  # the old sentinel through the old form
    stats = t.optimize()
    assert isinstance(stats, ailake.OptimizeStats) and stats.version == t.refresh().version
    with pytest.warns(DeprecationWarning):
        assert stats == stats.to_dict()
    assert t.verify().ok and t.cleanup(grace_seconds=0).versions_removed >= 0


def test_the_documented_names_and_index_examples_run(tmp_path, monkeypatch):
    """docs/PYTHON.md's "Names, results and the default metric" and "The
    index layer alone" blocks, run as written (no warning escapes them)."""
    import pathlib
    import re
    import warnings

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    names = [b for b in blocks if "t.versions()[-1]" in b]
    index = [b for b in blocks if "ailake.Index.build(x" in b]
    assert len(names) == 1 and len(index) == 1
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        exec(names[0], {"root": str(tmp_path / "lake")})
        exec(index[0], {})
    assert (tmp_path / "vectors.ailx").exists()
