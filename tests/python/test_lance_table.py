"""Tables whose data files are in the Lance container (storage_format="lance",
issue #14, docs/FORMAT.md 5.5). Oracles we did not write: pylance's
LanceFileReader (in a child process, tests/python/pylance_oracle.py) reads
every data file with the values the table returns, skipping the AILK and
checksum global buffers; exact brute force for search; the same rows stored
as Parquet answer every operation the same way."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ailake
import pylance_oracle

DIM = 16


def _rows(n, start=0, seed=1):
    rng = np.random.default_rng(seed + start)
    data = pa.table({
        "id": pa.array(np.arange(start, start + n), pa.int64()),
        "name": pa.array([None if i % 11 == 0 else f"row {i} " + "x" * (i % 23)
                          for i in range(start, start + n)]),
        "category": pa.array((np.arange(start, start + n) % 5).astype(np.int32)),
        "meta": pa.array([{"a": i * 3, "b": f"m{i % 7}"} for i in range(start, start + n)]),
        "tags": pa.array([None if i % 13 == 0 else [f"t{j}" for j in range(i % 4)]
                          for i in range(start, start + n)], pa.list_(pa.string())),
    })
    return data, rng.normal(size=(n, DIM)).astype(np.float32)


def _table(path, fmt, batches=3, n=1000, index="hnsw"):
    vectors = []
    with ailake.TableWriter(path, dim=DIM, metric="euclidean", index=index, storage_format=fmt,
                            background_threads=0) as w:
        for b in range(batches):
            data, x = _rows(n, b * n)
            w.write_batch(data, embeddings=x)
            vectors.append(x)
    return ailake.open_table(path), np.concatenate(vectors)


def _files(t):
    return [(f.path, f.format) for frag in t.fragments() for f in frag.files]


@pytest.mark.skipif(not pylance_oracle.available(), reason="pylance is not installed")
def test_every_data_file_is_a_lance_file_pylance_reads(tmp_path):
    t, _ = _table(tmp_path / "t", "lance")
    assert t.storage_format == "lance"
    files = _files(t)
    assert files and all(fmt == "lance" and p.endswith(".lance") for p, fmt in files)
    for path in t.data_files():
        ours = ailake.open_file(path)
        assert ours.is_ailake_file() and ours.format == "lance" and ours.num_row_groups == 0
        got, info = pylance_oracle.read(path)
        assert info["num_rows"] == ours.num_rows
        # pylance sees the AILK section and page checksums only as metadata keys.
        assert "ailake.footer_offset" in info["metadata"]
        assert "ailake.page_checksums_offset" in info["metadata"]
        want = ours.read()
        assert got.column_names == want.column_names
        for name in want.column_names:
            assert got[name].combine_chunks().equals(want[name].combine_chunks()), name
        # A take of scattered rows (pylance's file API wants them ascending).
        rows = [0, 17, 500, 999]
        got_take, _ = pylance_oracle.read(path, take=rows)
        assert got_take.to_pylist() == ours.take(rows).to_pylist()


def test_search_take_scan_equal_the_parquet_table_and_brute_force(tmp_path):
    a, x = _table(tmp_path / "p", "parquet")
    b, _ = _table(tmp_path / "l", "lance")
    assert a.storage_format == "parquet" and b.storage_format == "lance"
    rng = np.random.default_rng(9)
    for q in rng.normal(size=(5, DIM)).astype(np.float32):
        exact = np.argsort(((x - q) ** 2).sum(axis=1))[:10]
        for t in (a, b):
            r = t.search(q, k=10, exact=True, columns=["id"])
            assert r["id"].to_pylist() == exact.tolist()
        ra = a.search(q, k=10, filter="category < 3", columns=["id", "name"])
        rb = b.search(q, k=10, filter="category < 3", columns=["id", "name"])
        assert len(rb) == 10
        # Same index settings over the same rows: the HNSW graphs may differ
        # (threaded build) but both find (almost) the exact answer.
        allowed = np.where(np.arange(len(x)) % 5 < 3)[0]
        exact_f = allowed[np.argsort(((x[allowed] - q) ** 2).sum(axis=1))[:10]]
        for r in (ra, rb):
            assert len(set(r["id"].to_pylist()) & set(exact_f.tolist())) >= 9
    sa, sb = a.scan(), b.scan()
    assert sa.sort_by("id").equals(sb.sort_by("id"))
    ids = b.scan(columns=["id"], with_row_id=True)
    pick = ids["_rowid"].to_numpy()[[5, 2999, 1234, 5]]
    tb = b.take(pick, columns=["id", "name", "meta"])
    assert tb["id"].to_pylist() == [5, 2999, 1234, 5]
    assert tb["meta"].to_pylist()[1] == {"a": 2999 * 3, "b": f"m{2999 % 7}"}


def test_every_table_operation_on_a_lance_table(tmp_path):
    a, x = _table(tmp_path / "p", "parquet")
    b, _ = _table(tmp_path / "l", "lance")
    for t in (a, b):
        assert t.delete("category = 1") == 600
        t.add_column("double_id", lambda rows: pc.multiply(rows["id"], 2), type=pa.int64(),
                     input_columns=["id"])
        assert t.verify().ok, t.verify()
        t.optimize(merge_factor=2)
        assert t.verify().ok, t.verify()
    sa = a.scan(columns=["id", "double_id", "name"]).sort_by("id")
    sb = b.scan(columns=["id", "double_id", "name"]).sort_by("id")
    assert sa.equals(sb) and sb.num_rows == 2400
    assert all(fmt == "lance" for _, fmt in _files(b))
    # Time travel: the first version with rows still has all of them.
    assert b.checkout(2).num_rows == 1000
    # The Iceberg view needs Parquet: off for a Lance table, and a reason when asked for.
    assert b.iceberg_view().enabled is False
    b.set_iceberg_view(True)
    assert "lance" in b.iceberg_view().lag


def test_switching_a_parquet_table_to_lance_and_optimize_rewrites_it(tmp_path):
    t, x = _table(tmp_path / "t", "parquet", batches=2)
    v = t.set_storage_format("lance")
    assert t.storage_format == "lance" and v == t.version
    data, more = _rows(500, 2000)
    with ailake.TableWriter(tmp_path / "t", background_threads=0) as w:
        w.write_batch(data, embeddings=more)
    t = ailake.open_table(tmp_path / "t")
    assert sorted(fmt for _, fmt in _files(t)) == ["lance", "parquet", "parquet"]
    # The Iceberg view lags at the last all-Parquet version, and says why.
    assert "lance" in t.iceberg_view().lag
    before = t.scan().sort_by("id")
    t.optimize()
    assert {fmt for _, fmt in _files(t)} == {"lance"}
    assert t.scan().sort_by("id").equals(before)
    q = x[7]
    assert t.search(q, k=1, columns=["id"])["id"].to_pylist() == [7]
    # A writer asking for the other format is refused, naming both.
    with pytest.raises(Exception, match="lance.*parquet|parquet.*lance"):
        ailake.TableWriter(tmp_path / "t", storage_format="parquet").write_batch(data, more)
    with pytest.raises(Exception, match="orc"):
        t.set_storage_format("orc")


def test_deferred_indexing_appends_sections_without_rewriting_pages(tmp_path):
    data, x = _rows(2000)
    w = ailake.TableWriter(tmp_path / "t", dim=DIM, metric="euclidean", storage_format="lance",
                           background_threads=0)
    w.write_batch_deferred(data, embeddings=x)
    t = ailake.open_table(tmp_path / "t")
    [plain] = t.data_files()
    assert plain.endswith(".lance") and not ailake.open_file(plain).is_ailake_file()
    assert t.build_pending_indexes_of(t.pending_files()) == 1
    w.close()
    t = ailake.open_table(tmp_path / "t")
    f = ailake.open_file(t.data_files()[0])
    assert f.is_ailake_file() and t.data_files()[0].endswith(".lance")
    assert t.search(x[42], k=1, columns=["id"])["id"].to_pylist() == [42]


def test_a_flipped_bit_in_a_lance_page_is_an_error_not_another_answer(tmp_path):
    t, x = _table(tmp_path / "t", "lance", batches=1, n=2000)
    path = t.data_files()[0]
    data = bytearray(open(path, "rb").read())
    # A byte of row 100's vector, where the vector column's page stores it.
    at = bytes(data).find(x[100].tobytes())
    assert at > 0
    data[at + 5] ^= 0x20
    open(path, "wb").write(bytes(data))
    t = ailake.open_table(tmp_path / "t")
    with pytest.raises(Exception, match="checksum"):
        t.search(x[100], k=3, exact=True)
    report = t.verify()
    assert not report.ok and any("checksum" in p for p in report.problems)


def test_cli_creates_and_describes_a_lance_table(tmp_path, cli):
    data, x = _rows(300)
    data = data.drop_columns(["meta"]).append_column(
        "embedding", pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), DIM))
    import pyarrow.parquet as pq
    pq.write_table(data, tmp_path / "in.parquet")
    table = tmp_path / "t"
    cli("write", table, tmp_path / "in.parquet", "--storage-format", "lance", "--metric",
        "euclidean")
    info = json.loads(cli("--json", "info", table).stdout)
    assert info["storage_format"] == "lance"
    assert all(f["format"] == "lance" for fr in info["fragments"] for f in fr["files"])
    r = json.loads(cli("--json", "storage-format", table).stdout)
    assert r["storage_format"] == "lance"
    data_file = table / info["fragments"][0]["files"][0]["path"]
    f = json.loads(cli("--json", "info", data_file).stdout)
    assert f["format"] == "lance" and f["is_ailake_file"] and f["rows"] == 300
    assert f["container_version"] == "2.2"  # the Lance file version tables write
    assert "(Lance 2.2)" in cli("info", data_file).stdout
    r = json.loads(cli("--json", "storage-format", table, "parquet").stdout)
    assert r["storage_format"] == "parquet" and r["version"] == info["version"] + 1
    cli("optimize", table)
    info = json.loads(cli("--json", "info", table).stdout)
    assert all(f["format"] == "parquet" for fr in info["fragments"] for f in fr["files"])
    assert info["rows"] == 300
    bad = cli("write", table, tmp_path / "in.parquet", "--storage-format", "lance", check=False)
    assert bad.returncode != 0 and "parquet" in bad.stderr
    bad = cli("storage-format", table, "orc", check=False)
    assert bad.returncode != 0 and "orc" in bad.stderr


def test_a_lance_table_on_object_storage(location):
    uri, storage = location
    data, x = _rows(1500)
    with ailake.TableWriter(uri, dim=DIM, metric="euclidean", storage_format="lance",
                            background_threads=0, storage_options=storage) as w:
        w.write_batch(data, embeddings=x)
    t = ailake.open_table(uri, storage_options=storage)
    assert t.storage_format == "lance"
    assert t.search(x[321], k=1, columns=["id"])["id"].to_pylist() == [321]
    rows = t.scan(columns=["id"], with_row_id=True)
    got = t.take(rows["_rowid"].to_numpy()[[1499, 3]], columns=["id", "name"])
    assert got["id"].to_pylist() == [1499, 3]
    assert t.verify().ok
