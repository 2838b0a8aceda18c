"""Plain Iceberg tables written by another engine (pyiceberg) read as
read-only ailake tables, and imported into ailake tables (issue #13, item 5).
Oracles: pyiceberg's own scans of the same snapshots, exact numpy search."""
import json

import numpy as np
import pyarrow as pa
import pytest

import ailake
from ailake_testdata import iceberg_history_table

pytest.importorskip("sqlalchemy")
sql = pytest.importorskip("pyiceberg.catalog.sql")

DIM = 8


def _vectors(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def _rows(ids, x):
    return pa.table({"id": pa.array(ids, pa.int64()),
                     "name": [f"n{i}" for i in ids],
                     "score": pa.array(np.asarray(ids) * 0.25, pa.float64()),
                     "emb": pa.array([r.tobytes() for r in x], pa.binary(4 * DIM))})


@pytest.fixture()
def pyiceberg_table(tmp_path):
    """A table pyiceberg wrote: two appends, a delete (pyiceberg rewrites the
    file), a third append. Returns (table, its directory, all vectors)."""
    wh = tmp_path / "wh"
    wh.mkdir()
    cat = sql.SqlCatalog("c", uri=f"sqlite:///{wh}/cat.db", warehouse=f"file://{wh}")
    cat.create_namespace("db")
    x = _vectors(300)
    t = cat.create_table("db.t", schema=_rows([0], x[:1]).schema)
    t.append(_rows(range(0, 100), x[:100]))
    t.append(_rows(range(100, 200), x[100:200]))
    t.delete("id < 10")
    t.append(_rows(range(200, 300), x[200:]))
    return t, wh / "db" / "t", x


def _sorted(t):
    return t.sort_by("id")


def test_every_snapshot_reads_as_pyiceberg_scans_it(pyiceberg_table):
    ice, path, x = pyiceberg_table
    t = ailake.open_iceberg(path, vector_column="emb")
    snaps = sorted(ice.metadata.snapshots, key=lambda s: s.sequence_number)
    versions = t.versions()
    assert [v.version for v in versions] == list(range(1, len(snaps) + 1))
    assert t.version == len(snaps)
    for v, snap in zip(versions, snaps):
        assert str(snap.snapshot_id) in v.operation
        want = _sorted(ice.scan(snapshot_id=snap.snapshot_id).to_arrow())
        got = _sorted(t.checkout(v.version).scan())
        assert got.num_rows == want.num_rows == v.num_rows
        assert got["id"].to_pylist() == want["id"].to_pylist()
        assert got["name"].to_pylist() == want["name"].to_pylist()
        assert got["score"].to_pylist() == want["score"].to_pylist()
        # The vector column reads as fixed_size_list<float>[8] of the same bytes.
        assert pa.types.is_fixed_size_list(got["emb"].type)
        gv = np.asarray(got["emb"].combine_chunks().values.to_numpy()).reshape(-1, DIM)
        wv = np.frombuffer(b"".join(v.as_py() for v in want["emb"]), "<f4").reshape(-1, DIM)
        np.testing.assert_array_equal(gv, wv)


def test_search_is_exact_with_filters(pyiceberg_table):
    _, path, x = pyiceberg_table
    t = ailake.open_iceberg(path, vector_column="emb", metric="euclidean")
    live = np.arange(10, 300)
    for qi in (3, 150, 299):
        q = x[qi]
        d = ((x[live] - q) ** 2).sum(axis=1)
        want = live[np.argsort(d, kind="stable")[:5]]
        got = t.search(q, k=5)
        assert got["id"].to_pylist() == want.tolist()
        np.testing.assert_allclose(got["_distance"].to_numpy(), np.sort(d)[:5], rtol=1e-5)
        f = t.search(q, k=3, filter="id >= 200")
        sel = live[live >= 200]
        ds = ((x[sel] - q) ** 2).sum(axis=1)
        assert f["id"].to_pylist() == sel[np.argsort(ds, kind="stable")[:3]].tolist()


def test_changes_are_refused_and_import_makes_an_indexed_table(pyiceberg_table, tmp_path):
    ice, path, x = pyiceberg_table
    t = ailake.open_iceberg(path, vector_column="emb")
    with pytest.raises(Exception, match="plain Iceberg table.*import"):
        t.delete("id < 50")
    with pytest.raises(Exception, match="plain Iceberg table"):
        t.cleanup()
    with pytest.raises(Exception, match="plain Iceberg table"):
        t.rebuild_iceberg_view()
    before = sorted(p.name for p in (path / "metadata").iterdir())

    dest = tmp_path / "imported"
    d = ailake.import_iceberg(path, dest, vector_column="emb", index="hnsw")
    assert d.num_rows == 290 and d.version == 2
    assert all(f.index_state == "indexed" for fr in d.fragments() for f in fr.files)
    want = _sorted(ice.scan().to_arrow())
    got = _sorted(d.scan())
    assert got["id"].to_pylist() == want["id"].to_pylist()
    assert got["name"].to_pylist() == want["name"].to_pylist()
    # No row of the source files is deleted (pyiceberg's delete rewrote its
    # file): each was copied byte for byte up to its footer, index appended.
    import pyarrow.parquet as pq
    src_files = {f.name: f for f in (path / "data").iterdir()}
    assert len(d.fragments()) == len(ice.scan().plan_files())
    for fr in d.fragments():
        (f,) = fr.files
        got = (dest / f.path).read_bytes()

        def data_part(b):  # everything before the footer
            return b[:len(b) - 8 - int.from_bytes(b[-8:-4], "little")]
        same = [s for s in src_files.values() if got.startswith(data_part(s.read_bytes()))]
        assert len(same) == 1, f.path
        # pyarrow reads the imported file: the vector column carries ailake's metadata.
        field = pq.read_schema(dest / f.path).field("emb")
        assert field.metadata[b"ailake.dim"] == b"8"
    v = d.verify()
    assert v.ok, v.problems
    # The index finds each row's own vector first.
    want_ids = list(range(10, 300, 7))
    hits = [d.search(x[i], k=1)["id"][0].as_py() for i in want_ids]
    assert np.mean(np.array(hits) == np.array(want_ids)) >= 0.95  # HNSW: approximate
    # The imported table publishes its own view; the source is untouched.
    assert d.iceberg_view().current_snapshot_id == d.version
    assert sorted(p.name for p in (path / "metadata").iterdir()) == before


def test_an_ailake_view_reads_back_with_its_position_deletes(tmp_path):
    """ailake's own Iceberg view is a plain Iceberg table to OpenIceberg: every
    version (position deletes, a rename, a drop) equals ailake's scan, and
    the vector column is found from its documented type."""
    t = iceberg_history_table(tmp_path / "h", dim=DIM)
    ice = ailake.open_iceberg(t.iceberg_view().metadata_path)
    assert [c["vector_column"] for c in ice.vector_columns] == ["embedding"]
    assert len(ice.versions()) == len(t.versions())
    for k, v in enumerate(t.versions(), start=1):
        want = _sorted(t.checkout(v.version).scan())
        got = _sorted(ice.checkout(k).scan())
        assert got.num_rows == want.num_rows, v
        assert got.column_names == want.column_names
        for name in want.column_names:
            assert got[name].to_pylist() == want[name].to_pylist(), (v, name)
    q = t.scan(columns=["embedding"])["embedding"][5].as_py()
    assert ice.search(np.asarray(q, np.float32), k=1)["_distance"][0].as_py() == 0.0


def test_cli_reads_and_imports(pyiceberg_table, cli, tmp_path):
    _, path, x = pyiceberg_table
    info = json.loads(cli("--json", "--iceberg-vector", "emb:euclidean", "info", path).stdout)
    assert info["rows"] == 290 and info["iceberg_view"]["enabled"] is False
    scan = json.loads(cli("--json", "scan", path, "--columns", "id", "--filter", "id < 12").stdout)
    assert [r["id"] for r in scan["rows"]] == [10, 11]
    dest = tmp_path / "cli_imported"
    r = json.loads(cli("--json", "import", path, dest, "--vector-column", "emb").stdout)
    assert r["rows"] == 290 and r["vector_columns"] == ["emb"]
    q = json.dumps(x[42].tolist())
    hit = json.loads(cli("--json", "search", dest, "--query-json", q, "-k", "1").stdout)
    assert hit["rows"][0]["id"] == 42
    # A plain Iceberg table is searched by exact scan through the CLI too.
    ex = json.loads(cli("--json", "--iceberg-vector", "emb", "search", path, "--query-json", q,
                        "-k", "1").stdout)
    assert ex["rows"][0]["id"] == 42


def test_unreadable_tables_are_named(tmp_path):
    with pytest.raises(Exception, match="no Iceberg table"):
        ailake.open_iceberg(tmp_path)
    wh = tmp_path / "wh"
    wh.mkdir()
    cat = sql.SqlCatalog("c", uri=f"sqlite:///{wh}/cat.db", warehouse=f"file://{wh}")
    cat.create_namespace("db")
    from pyiceberg.transforms import IdentityTransform

    rows = _rows(range(4), _vectors(4))
    t = cat.create_table("db.p", schema=rows.schema)
    with t.update_spec() as u:
        u.add_field("name", IdentityTransform(), "name_part")
    t.append(rows)
    with pytest.raises(Exception, match="partitioned"):
        ailake.open_iceberg(wh / "db" / "p")
    t2 = cat.create_table("db.v", schema=rows.schema)
    t2.append(rows)
    with pytest.raises(Exception, match="'id'.*fixed"):
        ailake.open_iceberg(wh / "db" / "v", vector_column="id")
    with pytest.raises(Exception, match="no column 'nope'"):
        ailake.open_iceberg(wh / "db" / "v", vector_column="nope")


def test_the_documented_example_runs(pyiceberg_table, tmp_path):
    import pathlib
    import re

    _, path, x = pyiceberg_table
    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                if "ailake.open_iceberg(" in b]
    ns = {"ailake": ailake, "iceberg_dir": path, "ailake_dir": tmp_path / "doc", "query": x[20]}
    exec(block, ns)
    assert ns["hits"]["id"][0].as_py() == 20
    assert ns["t2"].num_rows == 290


def test_import_of_a_view_with_deletes_copies_clean_files_and_rewrites_the_rest(tmp_path):
    t = iceberg_history_table(tmp_path / "h", dim=DIM)
    d = ailake.import_iceberg(t.iceberg_view().metadata_path, tmp_path / "copy",
                              index="flat")
    want = _sorted(t.scan())
    got = _sorted(d.scan())
    assert got.column_names == want.column_names
    for name in want.column_names:
        assert got[name].to_pylist() == want[name].to_pylist(), name
    assert sum(fr.deleted_rows for fr in d.fragments()) == 0
    for row in (0, 100, 500):
        q = np.asarray(want["embedding"][row].as_py(), np.float32)
        assert d.search(q, k=1)["id"][0].as_py() == want["id"][row].as_py()
