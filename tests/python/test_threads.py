"""Threads sharing one table object (searches release the GIL): the same
results as one thread, and no crash (issue #10, finding 1)."""
import threading

import numpy as np
import pyarrow as pa

import ailake


def test_threads_share_one_table(tmp_path):
    x = np.random.default_rng(0).normal(size=(4000, 16)).astype(np.float32)
    w = ailake.TableWriter(tmp_path / "t", dim=16, metric="euclidean")
    for i in range(4):
        part = pa.table({"id": np.arange(i * 1000, (i + 1) * 1000),
                         "price": np.arange(1000) * 1.0})
        w.write_batch(part, embeddings=x[i * 1000:(i + 1) * 1000])
    w.close()
    t = ailake.open_table(tmp_path / "t")
    ops = []
    rng = np.random.default_rng(1)
    for i in range(30):
        q = x[int(rng.integers(0, 4000))]
        ops.append(("search", q, f"price < {int(rng.integers(10, 900))}"))
        ops.append(("scan", None, f"price < {int(rng.integers(10, 900))}"))
        ops.append(("full", None, None))
        ops.append(("take", int(rng.integers(0, 1000)), None))

    def run(op):
        kind, arg, flt = op
        if kind == "search":
            return t.search(arg, k=5, filter=flt, columns=["id"])["id"].to_pylist()
        if kind == "scan":
            return sorted(t.scan(filter=flt, columns=["id"])["id"].to_pylist())
        if kind == "full":
            return t.scan(columns=["id", "price"]).num_rows
        return t.take([arg], columns=["id"])["id"].to_pylist()

    want = [run(op) for op in ops]
    errors, mismatches = [], []

    def worker(shift):
        try:
            for i in range(len(ops)):
                j = (i + shift * 17) % len(ops)
                if run(ops[j]) != want[j]:
                    mismatches.append(j)
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and mismatches == []


def test_small_findings_are_clear_errors(tmp_path):
    """Issue #10 finding 6: bad writer options, huge k, NaN rows."""
    import pytest

    with pytest.raises(ValueError, match="background_threads"):
        ailake.TableWriter(tmp_path / "w", dim=4, background_threads=-1)
    x = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    ix = ailake.Index.build(x, index="flat", metric="euclidean")
    hits = ix.search(x[:2], k=10**9)
    d, i = hits.distances, hits.ids
    assert d.shape == (2, 50) and i[0, 0] == 0
    bad = x.copy()
    bad[7, 3] = np.nan
    with pytest.raises(ValueError, match="row 7 has a non-finite value"):
        ailake.Index.build(bad, index="hnsw", metric="euclidean")
    w = ailake.TableWriter(tmp_path / "t", dim=8, metric="euclidean")
    with pytest.raises(ValueError, match="row 7 has NaN"):
        w.write_batch(pa.table({"id": np.arange(50)}), embeddings=bad)
