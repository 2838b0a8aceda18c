"""ailake.open_file on a table's data files, and other engines reading those files."""
import glob
import os

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

import ailake
from ailake_testdata import DIM, exact_topk, recall, rows, vectors

N = 800


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("files") / "t"
    x = vectors(2 * N, seed=21)
    w = ailake.TableWriter(path, dim=DIM, metric="euclidean", index="hnsw")
    w.write_batch(rows(0, x[:N]))
    w.write_batch(rows(N, x[N:]))
    w.close()
    return str(path), x


def data_files(path):
    files = sorted(glob.glob(os.path.join(path, "data", "*.parquet")))
    assert len(files) == 2
    return files


def stored_vectors(column) -> np.ndarray:
    """FIXED_LEN_BYTE_ARRAY little-endian float32 rows, as other engines see them."""
    return np.frombuffer(b"".join(column), dtype="<f4").reshape(-1, DIM)


def test_open_file_reads_searches_and_takes(table):
    path, x = table
    t = ailake.open_table(path)
    assert sorted(t.data_files()) == data_files(path)
    for f in data_files(path):
        af = ailake.open_file(f)
        assert af.is_ailake_file()
        af.verify()
        assert af.num_rows == N
        [vc] = af.vector_columns
        assert (vc["name"], vc["dim"], vc["metric"], vc["index"]) == ("embedding", DIM, "euclidean", "hnsw")
        data = af.read()
        ids = data["id"].to_numpy()
        fx = x[ids]
        got = stored_vectors(data["embedding"].to_pylist())
        np.testing.assert_array_equal(got, fx)
        part = af.read(columns=["id"], row_start=10, row_end=20)
        assert part["id"].to_pylist() == ids[10:20].tolist()
        assert af.take([5, 1, 5], columns=["id"])["id"].to_pylist() == [ids[5], ids[1], ids[5]]
        # Search within the file: rows are positions in the file.
        q = fx[33] + 0.01
        r = af.search(q, k=10, ef=100)
        assert r.column_names[-3:] == ["_rowid", "_distance", "_row"]
        assert r["_rowid"][0].as_py() == 33 and r["id"][0].as_py() == ids[33]
        assert recall(r["_rowid"].to_pylist(), exact_topk("euclidean", q, fx, 10)) >= 0.9
        np.testing.assert_allclose(r["_distance"].to_numpy(),
                                   ((fx[r["_rowid"].to_numpy()] - q) ** 2).sum(1), rtol=1e-4, atol=1e-4)
        allowed = np.zeros(N, bool)
        allowed[[3, 500, 700]] = True
        rows_, _ = af.search_rows(q, k=10, allowed=allowed)
        assert sorted(rows_.tolist()) == [3, 500, 700]
        c, radius = af.centroid()
        np.testing.assert_allclose(c, fx.mean(0), rtol=1e-3, atol=1e-3)
        assert radius > 0


def test_file_search_filters_inside_the_search(table):
    """File.search with a filter (the table's filter language, evaluated on
    the file's own columns) returns the filtered exact top k: checked against
    DuckDB's filter and numpy brute force; exact=True scans; a filter and an
    allowed mask intersect; errors name the column."""
    path, x = table
    f = data_files(path)[0]
    af = ailake.open_file(f)
    data = af.read()
    fx = stored_vectors(data["embedding"].to_pylist())
    ids = data["id"].to_numpy()
    where = "category = 3 AND id >= 100"
    rel = duckdb.sql(f"SELECT row_number() OVER () - 1 AS pos, * FROM data")
    keep = np.array(sorted(r[0] for r in duckdb.sql(f"SELECT pos FROM rel WHERE {where}").fetchall()))
    assert 0 < len(keep) < N
    q = fx[keep[4]] + 0.02
    d = ((fx[keep] - q) ** 2).sum(1)
    truth = keep[np.argsort(d, kind="stable")[:10]]
    for exact in (False, True):
        r = af.search(q, k=10, filter=where, columns=["id", "category"], exact=exact, ef=200)
        assert r.column_names == ["id", "category", "_rowid", "_distance", "_row"]
        got = r["_rowid"].to_numpy()
        assert set(got.tolist()) <= set(keep.tolist())
        assert recall(got.tolist(), truth.tolist()) >= (1.0 if exact else 0.9)
        assert r["id"].to_pylist() == ids[got].tolist()
    allowed = np.zeros(N, bool)
    allowed[keep[:3]] = True
    allowed[0] = True  # allowed but filtered out
    r = af.search(q, k=10, filter=where, allowed=allowed, columns=[])
    assert r.column_names == ["_rowid", "_distance", "_row"]
    assert sorted(r["_rowid"].to_pylist()) == sorted(keep[:3].tolist())
    with pytest.raises(KeyError, match="nope"):
        af.search(q, k=3, filter="nope = 1")
    with pytest.raises(TypeError, match="category"):
        af.search(q, k=3, filter="category = 'x'")


def test_open_file_rejects_non_parquet(tmp_path):
    p = tmp_path / "junk.parquet"
    p.write_bytes(b"not a parquet file at all")
    with pytest.raises((ValueError, OSError)):
        ailake.open_file(p)


def test_pyarrow_reads_data_files(table):
    path, x = table
    for f in data_files(path):
        t = pq.read_table(f)
        ids = t["id"].to_numpy()
        np.testing.assert_array_equal(stored_vectors(t["embedding"].to_pylist()), x[ids])
        assert t["name"].to_pylist() == [f"item {i}" for i in ids]
        np.testing.assert_array_equal(t["category"].to_numpy(), (ids % 5).astype(np.int32))


def test_duckdb_reads_data_files(table):
    path, x = table
    glob_pat = os.path.join(path, "data", "*.parquet")
    n, lo, hi, s = duckdb.sql(f"SELECT count(*), min(id), max(id), sum(price) FROM '{glob_pat}'").fetchall()[0]
    assert (n, lo, hi) == (2 * N, 0, 2 * N - 1)
    assert s == pytest.approx(np.arange(2 * N).sum() / 10.0)
    got = duckdb.sql(f"SELECT id, embedding FROM '{glob_pat}' WHERE category = 3 ORDER BY id").fetchall()
    assert [r[0] for r in got] == [i for i in range(2 * N) if i % 5 == 3]
    np.testing.assert_array_equal(stored_vectors([r[1] for r in got]), x[[r[0] for r in got]])


def test_polars_reads_data_files(table):
    path, x = table
    df = pl.read_parquet(os.path.join(path, "data", "*.parquet")).sort("id")
    assert df.height == 2 * N
    assert df["id"].to_list() == list(range(2 * N))
    assert df["name"][17] == "item 17"
    np.testing.assert_array_equal(stored_vectors(df["embedding"].to_list()), x)


def test_open_file_searches_a_tables_shared_codebook_ivf_pq_file(tmp_path):
    path = tmp_path / "pq"
    x = vectors(2 * N, seed=5)
    w = ailake.TableWriter(path, dim=DIM, metric="euclidean", index="ivf_pq", nlist=16, pq_m=4,
                           min_training_rows=256)
    w.write_batch(rows(0, x[:N]))
    w.write_batch(rows(N, x[N:]))
    w.close()
    files = data_files(str(path))
    [codebook] = glob.glob(os.path.join(path, "_indexes", "*.codebook"))
    for f in files:
        af = ailake.open_file(f)  # finds the table's codebook beside data/
        assert af.vector_columns[0]["index"] == "ivf_pq"
        fx = x[af.read(columns=["id"])["id"].to_numpy()]
        q = fx[7] + 0.01
        want = exact_topk("euclidean", q, fx, 10)
        r = af.search(q, k=10, nprobe=16, refine_factor=8)
        assert r["_rowid"][0].as_py() == 7
        assert recall(r["_rowid"].to_pylist(), want) >= 0.9
        # The same codebook named explicitly.
        r2 = ailake.open_file(f, codebooks=[codebook]).search(q, k=10, nprobe=16, refine_factor=8)
        assert r2["_rowid"].to_pylist() == r["_rowid"].to_pylist()
        # Without it, the search says which codebook it needs.
        with pytest.raises(Exception, match="codebook"):
            ailake.open_file(f, codebooks=[]).search(q, k=10)
    with pytest.raises(Exception, match="codebook .*missing"):
        ailake.open_file(files[0], codebooks=[str(tmp_path / "missing.codebook")])
