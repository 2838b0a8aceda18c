"""ailake.ray on a local Ray cluster (ray.init(num_cpus=2)), on local disk and
on the local S3 server: results equal the single-process API, one version per
distributed write, and a worker killed mid-write leaves no version."""
import os

import numpy as np
import pyarrow as pa
import pytest

import ailake
from ailake_testdata import DIM, exact_topk, rows, vectors

ray = pytest.importorskip("ray")
import ailake.ray as alray  # noqa: E402


def test_example_runs_on_s3(s3):
    """examples/ray_s3.py, as docs/PYTHON.md shows it (its own local cluster,
    started before this module's)."""
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[2]
    opts = []
    for k, v in s3.storage_options().items():
        opts += ["--storage-option", f"{k}={v}"]
    out = subprocess.run([sys.executable, str(root / "examples" / "ray_s3.py"), s3.new_uri(),
                          *opts, "--rows", "4000"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "4000 rows in 8 files" in out.stdout and "indexes built by tasks: 8" in out.stdout


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})
    yield
    ray.shutdown()


def _dataset(start, x, blocks):
    return ray.data.from_arrow(rows(start, x)).repartition(blocks)


def test_distributed_write_search_index_and_optimize(cluster, location):
    uri, so = location
    x = vectors(2000, seed=31)
    v = alray.write_table(_dataset(0, x[:1200], 4), uri, storage_options=so, dim=DIM,
                          metric="euclidean", index="hnsw")
    t = ailake.open_table(uri, storage_options=so)
    assert t.version == v == 2  # create, then one append for all four files
    assert len(t.fragments()) == 4
    assert sorted(t.scan(columns=["id"])["id"].to_pylist()) == list(range(1200))
    # Deferred files, then their indexes built by tasks.
    v2 = alray.write_table(_dataset(1200, x[1200:], 3), uri, storage_options=so, deferred=True)
    t = ailake.open_table(uri, storage_options=so)
    assert t.version == v2 == v + 1 and len(t.pending_files()) == 3
    assert alray.build_indexes(uri, storage_options=so) == 3
    t = ailake.open_table(uri, storage_options=so)
    assert t.pending_files() == [] and t.num_rows == 2000

    # Search: the merged shares equal the single-process search.
    q = x[[5, 700, 1500]] + 0.05
    for kwargs in ({}, {"filter": "category != 1 AND price < 150.0"}, {"exact": True}):
        got = alray.search(uri, q, k=10, storage_options=so, columns=["id"], **kwargs)
        for i in range(len(q)):
            want = t.search(q[i], k=10, columns=["id"], **kwargs)
            assert got[i]["id"].to_pylist() == want["id"].to_pylist(), kwargs
            assert np.allclose(got[i]["_distance"].to_numpy(), want["_distance"].to_numpy())
    exact = alray.search(uri, q[0], k=10, storage_options=so, exact=True, prune=False)
    assert exact[0]["id"].to_pylist() == exact_topk("euclidean", q[0], x, 10).tolist()

    # Optimize: rounds of merges run by tasks in parallel (7 fragments, merge
    # factor 2: three disjoint merges in the first round), nothing lost.
    first_round = t.plan_optimize(merge_factor=2)
    assert len(first_round) == 3
    r = alray.optimize(uri, storage_options=so, merge_factor=2)
    assert r["merges"] >= 3 and r["rounds"] >= 2 and r["conflicts"] == 0, r
    t = ailake.open_table(uri, storage_options=so)
    assert t.plan_optimize(merge_factor=2) == []
    assert len(t.fragments()) < 7
    assert sorted(t.scan(columns=["id"])["id"].to_pylist()) == list(range(2000))
    assert t.search(x[1234], k=1, columns=["id"])["id"].to_pylist() == [1234]


def _stored_data_files(uri, so, request):
    if so is None:
        d = os.path.join(uri, "data")
        return sorted(os.path.join(d, f) for f in os.listdir(d))
    client = request.getfixturevalue("s3").client()
    bucket, prefix = uri[5:].split("/", 1)
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                 Prefix=prefix + "/data/"):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"][-1] != "/"]
    return sorted(f"s3://{bucket}/{k}" for k in keys)


def test_killed_worker_leaves_no_partial_version(cluster, location, request):
    uri, so = location
    x = vectors(1000, seed=32)
    alray.write_table(_dataset(0, x[:400], 2), uri, storage_options=so, dim=DIM)
    before = ailake.open_table(uri, storage_options=so)

    def explode(batch: pa.Table) -> pa.Table:  # nested: Ray pickles it by value
        if 555 in batch["id"].to_pylist():
            os._exit(1)  # the worker process dies in the middle of the write
        return batch

    ds = _dataset(400, x[400:], 3).map_batches(explode, batch_format="pyarrow", max_retries=1)
    with pytest.raises(Exception) as info:
        alray.write_table(ds, uri, storage_options=so)
    text = str(info.value)
    assert "died" in text or "crash" in text.lower() or "exit" in text.lower(), text[:2000]
    after = ailake.open_table(uri, storage_options=so)
    assert after.version == before.version
    assert sorted(after.scan(columns=["id"])["id"].to_pylist()) == list(range(400))
    # The files of the tasks that did finish were never committed: cleanup
    # removes them, and what is stored is what the version names.
    stored = _stored_data_files(uri, so, request)
    assert set(after.data_files()) <= set(stored)
    after.cleanup(grace_seconds=0)
    assert _stored_data_files(uri, so, request) == sorted(after.data_files())
    assert sorted(after.scan(columns=["id"])["id"].to_pylist()) == list(range(400))
