"""Optimize (log-structured merging), writers converging in the background,
and batched search (a 2-D query array), through the Python package and the CLI."""
import json
import subprocess

import numpy as np
import pyarrow as pa
import pytest

import ailake
from ailake_testdata import DIM, exact_topk, recall, rows, vectors


def write_appends(path, x, per, **writer_options):
    w = ailake.TableWriter(path, dim=DIM, metric="euclidean", index="hnsw", m=16,
                           ef_construction=100, **writer_options)
    for s in range(0, len(x), per):
        w.write_batch(rows(s, x[s:s + per]))
    w.close()


def test_optimize_merges_appends_and_search_stays_exact(tmp_path):
    x = vectors(1200, seed=5)
    path = tmp_path / "t"
    write_appends(path, x, per=40, auto_optimize=False)
    t = ailake.open_table(path)
    assert len(t.fragments()) == 30
    t.delete("id < 10")
    r = t.optimize(merge_factor=4)
    # 40-row fragments sit in tier 2 ([16, 64)) of merge factor 4: 28 of the 29
    # untouched ones merge 4 at a time, the partly deleted one is rewritten
    # alone, then the 160-row results merge on in the next tiers.
    assert r.merges >= 8
    assert r.rows_dropped == 10
    t = ailake.open_table(path)
    assert t.version == r.version
    assert len(t.fragments()) <= 3 * 4
    assert sorted(t.scan(columns=["id"])["id"].to_pylist()) == list(range(10, 1200))
    again = t.optimize(merge_factor=4)
    assert again.merges == 0 and again.version == t.version
    q = vectors(1, seed=77)[0]
    live = x[10:]
    got = t.search(q, k=10, exact=True)["id"].to_numpy()
    assert list(got) == list(exact_topk("euclidean", q, live, 10) + 10)
    with pytest.raises(ValueError, match="merge_factor"):
        t.optimize(merge_factor=1)


def test_writer_optimizes_in_the_background(tmp_path):
    x = vectors(600, seed=6)
    path = tmp_path / "t"
    write_appends(path, x, per=10, merge_factor=4)
    t = ailake.open_table(path)
    # 60 appends of 10 rows converge to at most 3 fragments per tier.
    assert len(t.fragments()) <= 9
    assert t.optimize(merge_factor=4).merges == 0
    assert sorted(t.scan(columns=["id"])["id"].to_pylist()) == list(range(600))


def test_batched_search_equals_one_query_at_a_time(tmp_path):
    x = vectors(900, seed=8)
    path = tmp_path / "t"
    write_appends(path, x, per=300)
    t = ailake.open_table(path)
    qs = vectors(16, seed=9)
    b = t.search(qs, k=5, columns=["id"], ef=64)
    assert b.column_names == ["_query", "id", "_distance", "_rowid"]
    assert b.num_rows == 16 * 5
    total = 0.0
    for i, q in enumerate(qs):
        one = t.search(q, k=5, columns=["id"], ef=64)
        mine = b.filter(pa.compute.equal(b["_query"], i))
        assert mine["id"].to_pylist() == one["id"].to_pylist()
        total += recall(one["id"].to_pylist(), exact_topk("euclidean", q, x, 5))
    assert total / len(qs) >= 0.9
    # One row of a 2-D array is a batch of one; a filter applies to every query.
    one_row = t.search(qs[:1], k=3, filter="category = 1", columns=["id", "category"])
    assert one_row["_query"].to_pylist() == [0, 0, 0]
    assert set(one_row["category"].to_pylist()) == {1}
    with pytest.raises(ValueError, match="dimensions"):
        t.search(np.zeros((2, DIM + 1), np.float32), k=3)


def test_cli_optimize(build_dir, tmp_path):
    x = vectors(400, seed=10)
    path = tmp_path / "t"
    write_appends(path, x, per=20, auto_optimize=False)
    exe = build_dir / "bin" / "ailake"
    r = subprocess.run([str(exe), "--json", "optimize", str(path), "--merge-factor", "4"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["merges"] >= 5 and out["rows_rewritten"] >= 400
    assert out["version"] == ailake.open_table(path).version
    r = subprocess.run([str(exe), "optimize", str(path), "--merge-factor", "1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "merge_factor" in r.stderr


def test_small_ivf_pq_appends_wait_for_a_codebook_trained_on_all_of_them(tmp_path):
    # 40 appends of 25 rows: a codebook trained on the first 25 rows would
    # cap recall; instead the files stay pending (searched exactly) until
    # 500 rows are at hand, and the codebook is trained on all of them.
    x = vectors(1000, seed=12)
    path = tmp_path / "t"
    w = ailake.TableWriter(path, dim=DIM, metric="euclidean", index="ivf_pq", nlist=8, pq_m=8,
                           min_training_rows=500, auto_optimize=False)
    for s in range(0, 400, 25):
        w.write_batch(rows(s, x[s:s + 25]))
    t = ailake.open_table(path)
    assert {f.files[0].index_state for f in t.fragments()} == {"pending"}
    assert not list((path / "_indexes").glob("*.codebook"))
    q = x[123] + 0.01
    assert t.search(q, k=1)["id"].to_pylist() == [123]  # exact scan meanwhile
    for s in range(400, 1000, 25):
        w.write_batch(rows(s, x[s:s + 25]))
    w.close()
    r = ailake.open_table(path).optimize(merge_factor=100)
    assert r.codebooks_trained == 1 and r.indexes_built == 40
    t = ailake.open_table(path)
    assert {f.files[0].index_state for f in t.fragments()} == {"indexed"}
    assert len(list((path / "_indexes").glob("*.codebook"))) == 1
    qs = vectors(20, seed=13)
    rec = np.mean([recall(t.search(q, k=10, nprobe=8, refine_factor=10)["id"].to_pylist(),
                          exact_topk("euclidean", q, x, 10)) for q in qs])
    assert rec >= 0.95, rec
