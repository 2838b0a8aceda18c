"""The Iceberg view of a table (issue #13) read by pyiceberg, an Iceberg
implementation we did not write: every version it publishes holds exactly the
rows and values an ailake scan of that version returns."""
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ailake
from ailake_testdata import iceberg_history_table

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
    t = iceberg_history_table(p, dim=8)

    # Every commit published the view: no rebuild needed.
    status = t.iceberg_view()
    assert status.enabled and status.lag is None and status.last_error is None
    assert status.published_version == t.version == status.current_snapshot_id
    versions = [v.version for v in t.versions()]
    view = pyiceberg_table.StaticTable.from_metadata(status.metadata_path)
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
    # A rebuild computes the same view afresh, as the next metadata file.
    r = t.rebuild_iceberg_view()
    assert r.lagging == [] and r.snapshots == len(versions)
    rebuilt = pyiceberg_table.StaticTable.from_metadata(r.metadata_path)
    assert rebuilt.metadata.table_uuid == view.metadata.table_uuid
    assert [s.snapshot_id for s in rebuilt.metadata.snapshots] == versions
    for v in versions:
        _compare(rebuilt, t, v)


def _view(t):
    return pyiceberg_table.StaticTable.from_metadata(t.iceberg_view().metadata_path)


def test_a_split_fragment_lags_the_view_until_optimize_rewrites_it(tmp_path):
    p = tmp_path / "s"
    x = np.random.default_rng(2).normal(size=(100, 4)).astype(np.float32)
    with ailake.TableWriter(p, dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(100)}), embeddings=x)
    t = ailake.open_table(p)
    t.add_column("double_id", lambda rows: pc.multiply(rows["id"], 2), type=pa.int64(),
                 input_columns=["id"])
    t.refresh()
    s = t.iceberg_view()
    assert s.published_version == t.version
    assert s.current_snapshot_id == t.version - 1
    assert "added column" in s.lag and f"version {t.version}" in s.lag
    # The view's current snapshot is the last version it could express.
    view = _view(t)
    assert view.metadata.current_snapshot_id == t.version - 1
    _compare(view, t, t.version - 1)
    # optimize rewrites the split fragment whole: the view catches up.
    t.optimize()
    t.refresh()
    assert all(len(f.files) == 1 for f in t.fragments())
    s = t.iceberg_view()
    assert s.lag is None and s.current_snapshot_id == t.version
    view = _view(t)
    _compare(view, t, t.version)
    assert sorted(view.scan().to_arrow()["double_id"].to_pylist()) == list(range(0, 200, 2))


def test_cli_status_off_on_and_a_reused_column_name_lags(cli, tmp_path):
    import json

    p = tmp_path / "c"
    x = np.random.default_rng(3).normal(size=(60, 4)).astype(np.float32)
    with ailake.TableWriter(p, dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(60), "tag": ["a"] * 60}), embeddings=x)
    s = json.loads(cli("--json", "iceberg", "status", p).stdout)
    assert s["enabled"] and s["published_version"] == 2 and s["current_snapshot_id"] == 2
    assert pyiceberg_table.StaticTable.from_metadata(s["metadata_path"]).scan().to_arrow() \
        .num_rows == 60
    assert "iceberg view: " in cli("info", p).stdout
    # Off: the view's metadata is gone (no engine reads a stale view), and
    # commits publish nothing.
    off = json.loads(cli("--json", "iceberg", "off", p).stdout)
    assert not off["enabled"] and off["metadata_path"] == ""
    assert not (p / "metadata" / "version-hint.text").exists()
    assert not list((p / "metadata").glob("*.metadata.json"))
    t = ailake.open_table(p)
    t.delete("id < 10")
    assert not list((p / "metadata").glob("*.metadata.json"))
    # On: every kept version is published at once.
    on = json.loads(cli("--json", "iceberg", "on", p).stdout)
    t.refresh()
    assert on["enabled"] and on["published_version"] == t.version == on["current_snapshot_id"]
    view = pyiceberg_table.StaticTable.from_metadata(on["metadata_path"])
    for v in [v.version for v in t.versions()]:
        _compare(view, t, v)
    # "tag" dropped, then a new field named "tag": old files' "tag" column
    # would read as the new field through a name mapping, so the view lags.
    t.drop_columns(["tag"])
    t.add_column("tag", lambda rows: pa.array(["b"] * rows.num_rows), type=pa.string(),
                 input_columns=["id"])
    t.refresh().delete("id >= 0")
    t.optimize()  # drops the emptied (split) fragment
    with ailake.TableWriter(p) as w:
        w.write_batch(pa.table({"id": np.arange(5), "tag": ["c"] * 5}), embeddings=x[:5])
    s = json.loads(cli("--json", "iceberg", "status", p).stdout)
    assert "used by two fields" in s["lag"]
    r = json.loads(cli("--json", "iceberg", "rebuild", p).stdout)
    assert any("used by two fields" in l for l in r["lagging"])


def test_cleanup_expires_the_views_snapshots_and_files(tmp_path):
    p = tmp_path / "e"
    x = np.random.default_rng(5).normal(size=(200, 4)).astype(np.float32)
    with ailake.TableWriter(p, dim=4, metric="euclidean", auto_optimize=False) as w:
        for i in range(10):
            w.write_batch(pa.table({"id": np.arange(20 * i, 20 * i + 20)}),
                          embeddings=x[20 * i:20 * i + 20])
    t = ailake.open_table(p)
    t.delete("id < 7 or (id > 100 and id < 110)")
    t.optimize()
    t.refresh()
    before = {f.name for f in (p / "metadata").rglob("*") if f.is_file()}
    t.cleanup(retain_versions=2, grace_seconds=0)
    t.refresh()
    kept = [v.version for v in t.versions()]
    assert len(kept) == 2
    view = _view(t)
    assert [s.snapshot_id for s in view.metadata.snapshots] == kept
    for v in kept:
        _compare(view, t, v)
    after = {f.name for f in (p / "metadata").rglob("*") if f.is_file()}
    assert len(after) < len(before) and not (before - after) <= {"version-hint.text"}
    # What stays: the hint, one metadata file, and per kept snapshot its list,
    # manifests and position deletes.
    assert len([n for n in after if n.endswith(".metadata.json")]) == 1
    assert len([n for n in after if n.startswith("snap-")]) == 2
    # The view still opens and reads right after another commit.
    t.delete("id = 1")
    t.refresh()
    _compare(_view(t), t, t.version)


def test_a_lost_publication_is_caught_up_by_the_next_commit(tmp_path):
    p = tmp_path / "l"
    x = np.random.default_rng(6).normal(size=(60, 4)).astype(np.float32)
    with ailake.TableWriter(p, dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(30)}), embeddings=x[:30])
    t = ailake.open_table(p)
    t.delete("id < 3")
    # A publisher killed before its metadata file: remove the newest one.
    newest = t.iceberg_view().metadata_path
    pathlib.Path(newest).unlink()
    s = t.iceberg_view()
    assert s.published_version == t.refresh().version - 1
    with ailake.TableWriter(p) as w:
        w.write_batch(pa.table({"id": np.arange(30, 60)}), embeddings=x[30:])
    t.refresh()
    s = t.iceberg_view()
    assert s.published_version == t.version == s.current_snapshot_id
    view = _view(t)
    assert [s.snapshot_id for s in view.metadata.snapshots] == [v.version for v in t.versions()]
    for v in [v.version for v in t.versions()]:
        _compare(view, t, v)


def test_concurrent_writers_publish_every_version(tmp_path):
    import subprocess
    import sys

    p = tmp_path / "w"
    x = np.random.default_rng(7).normal(size=(10, 4)).astype(np.float32)
    with ailake.TableWriter(p, dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(10)}), embeddings=x)
    code = """
import sys, numpy as np, pyarrow as pa, ailake
p, k = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(k)
with ailake.TableWriter(p, auto_optimize=False) as w:
    for i in range(6):
        ids = np.arange(1000 * k + 10 * i, 1000 * k + 10 * i + 10)
        w.write_batch(pa.table({"id": ids}), embeddings=rng.normal(size=(10, 4)).astype("float32"))
"""
    procs = [subprocess.Popen([sys.executable, "-c", code, str(p), str(k)]) for k in (1, 2, 3)]
    assert all(q.wait(timeout=300) == 0 for q in procs)
    t = ailake.open_table(p)
    assert t.num_rows == 10 + 3 * 60
    s = t.iceberg_view()
    assert s.published_version == t.version == s.current_snapshot_id, s
    view = _view(t)
    versions = [v.version for v in t.versions()]
    assert [s.snapshot_id for s in view.metadata.snapshots] == versions
    for v in versions:
        _compare(view, t, v)


def test_the_documented_example_runs(tmp_path):
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                if "StaticTable.from_metadata(t.iceberg_view()" in b]
    x = np.random.default_rng(4).normal(size=(40, 4)).astype(np.float32)
    with ailake.TableWriter(tmp_path / "d", dim=4, metric="euclidean") as w:
        w.write_batch(pa.table({"id": np.arange(20)}), embeddings=x[:20])
        w.write_batch(pa.table({"id": np.arange(20, 40)}), embeddings=x[20:])
    t = ailake.open_table(tmp_path / "d")
    t.delete("id < 5")
    ns = {"t": t}
    exec(block, ns)
    assert ns["live"].num_rows == 35 and ns["older"].num_rows == 20
