"""The Iceberg view of a table (issue #13) read by pyiceberg, an Iceberg
implementation we did not write: every version it publishes holds exactly the
rows and values an ailake scan of that version returns."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ailake

pyiceberg_table = pytest.importorskip("pyiceberg.table")


def _rows(t):
    return t.sort_by("id")


def _compare(view, table, version):
    got = view.scan(snapshot_id=version).to_arrow()
    want = table.checkout(version).scan()
    assert got.num_rows == want.num_rows, f"version {version}"
    got, want = _rows(got), _rows(want)
    for name in want.column_names:
        g, w = got[name], want[name]
        if pa.types.is_fixed_size_list(w.type):
            # The view stores vectors as Iceberg fixed[4·dim]: little-endian f32.
            dim = w.type.list_size
            gv = np.frombuffer(b"".join(v.as_py() for v in g), dtype="<f4").reshape(-1, dim)
            wv = np.asarray(w.combine_chunks().values.to_numpy()).reshape(-1, dim)
            np.testing.assert_array_equal(gv, wv, err_msg=f"version {version} column {name}")
        else:
            assert g.cast(w.type).to_pylist() == w.to_pylist(), f"version {version} column {name}"


def test_pyiceberg_reads_every_version_as_ailake_scans_it(tmp_path):
    p = tmp_path / "t"
    rng = np.random.default_rng(11)
    x = rng.normal(size=(1200, 8)).astype(np.float32)

    def batch(lo, hi):
        ids = np.arange(lo, hi)
        return pa.table({"id": ids, "category": [f"c{i % 3}" for i in ids],
                         "price": ids * 0.5})

    w = ailake.TableWriter(p, dim=8, metric="euclidean", index="hnsw")
    w.write_batch(batch(0, 300), embeddings=x[:300])
    w.write_batch(batch(300, 600), embeddings=x[300:600])
    w.write_batch_deferred(batch(600, 900), embeddings=x[600:900])  # indexed later
    w.wait_for_indexing()
    w.close()
    t = ailake.open_table(p)
    t.delete("id < 50")
    t.delete("category = 'c1' and id > 800")
    t.rename_column("price", "cost")
    t.drop_columns(["category"])
    with ailake.TableWriter(p) as w2:
        w2.write_batch(pa.table({"id": np.arange(900, 1200), "cost": np.arange(900, 1200) * 0.5}),
                       embeddings=x[900:])
    t.refresh()
    t.optimize()
    t.refresh()

    r = t.rebuild_iceberg_view()
    assert r["lagging"] == [], r["lagging"]
    versions = [v["version"] for v in t.versions()]
    assert r["snapshots"] == len(versions)
    view = pyiceberg_table.StaticTable.from_metadata(r["metadata_path"])
    assert [s.snapshot_id for s in view.metadata.snapshots] == versions
    assert view.metadata.current_snapshot_id == t.version
    for v in versions:
        _compare(view, t, v)
    # The current schema: renamed, dropped, vector as fixed[32] with its doc.
    fields = {f.name: f for f in view.schema().fields}
    assert "cost" in fields and "price" not in fields and "category" not in fields
    assert str(fields["embedding"].field_type) == "fixed[32]"
    assert "dim 8" in fields["embedding"].doc
    # Filters and projections run by the Iceberg reader agree too.
    got = view.scan(row_filter="id >= 1000", selected_fields=("id",)).to_arrow()
    assert sorted(got["id"].to_pylist()) == list(range(1000, 1200))
    live = t.scan(columns=["id"], filter="id >= 1000")
    assert live.num_rows == 200


def test_a_version_with_a_split_fragment_lags_with_the_reason(tmp_path):
    p = tmp_path / "s"
    x = np.random.default_rng(2).normal(size=(100, 4)).astype(np.float32)
    with ailake.TableWriter(p, dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(100)}), embeddings=x)
    t = ailake.open_table(p)
    t.add_column("double_id", lambda rows: pc.multiply(rows["id"], 2), type=pa.int64(),
                 input_columns=["id"])
    r = t.rebuild_iceberg_view()
    assert r["snapshots"] == len(t.versions()) - 1
    assert len(r["lagging"]) == 1 and "added column" in r["lagging"][0]
    view = pyiceberg_table.StaticTable.from_metadata(r["metadata_path"])
    # The view's current snapshot is the last version it could express.
    assert view.metadata.current_snapshot_id == t.version - 1
    _compare(view, t, t.version - 1)
    # Rebuilding writes the next metadata file and keeps the table's uuid.
    again = t.rebuild_iceberg_view()
    assert again["metadata_path"].endswith("v2.metadata.json")
    assert pyiceberg_table.StaticTable.from_metadata(again["metadata_path"]).metadata.table_uuid \
        == view.metadata.table_uuid


def test_cli_rebuild_and_a_reused_column_name_is_refused(cli, tmp_path):
    import json

    p = tmp_path / "c"
    x = np.random.default_rng(3).normal(size=(60, 4)).astype(np.float32)
    with ailake.TableWriter(p, dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(60), "tag": ["a"] * 60}), embeddings=x)
    r = json.loads(cli("--json", "iceberg", "rebuild", p).stdout)
    assert r["snapshots"] == 2 and r["metadata_path"].endswith("metadata/v1.metadata.json")
    view = pyiceberg_table.StaticTable.from_metadata(r["metadata_path"])
    assert view.scan().to_arrow().num_rows == 60
    # "tag" dropped, then a new field named "tag": old files' "tag" column
    # would read as the new field through a name mapping, so no view.
    t = ailake.open_table(p)
    t.drop_columns(["tag"])
    t.add_column("tag", lambda rows: pa.array(["b"] * rows.num_rows), type=pa.string(),
                 input_columns=["id"])
    assert "an added column" in cli("--json", "iceberg", "rebuild", p).stdout  # lags
    t.refresh().delete("id >= 0")
    t.optimize()  # drops the emptied (split) fragment
    with ailake.TableWriter(p) as w:
        w.write_batch(pa.table({"id": np.arange(5), "tag": ["c"] * 5}), embeddings=x[:5])
    bad = cli("iceberg", "rebuild", p, check=False)
    assert bad.returncode != 0 and "used by two fields" in bad.stderr


def test_the_documented_example_runs(tmp_path):
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                if "StaticTable.from_metadata(t.rebuild_iceberg_view()" in b]
    x = np.random.default_rng(4).normal(size=(40, 4)).astype(np.float32)
    with ailake.TableWriter(tmp_path / "d", dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(20)}), embeddings=x[:20])
        w.write_batch(pa.table({"id": np.arange(20, 40)}), embeddings=x[20:])
    t = ailake.open_table(tmp_path / "d")
    t.delete("id < 5")
    ns = {"t": t}
    exec(block, ns)
    assert ns["live"].num_rows == 35 and ns["older"].num_rows == 20
