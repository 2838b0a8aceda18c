"""Tables on object storage: the table operations on local disk and on a local
S3-compatible server (moto_server), concurrent writers on S3, put-if-absent
races, request counts and the read cache, and the errors of bad settings."""
import multiprocessing as mp
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pytest

import ailake
from ailake_testdata import DIM, exact_topk, rows, vectors

N = 400


def _ids(t):
    return sorted(t["id"].to_pylist())


def test_table_operations_on_local_disk_and_s3(location, request):
    """write, deferred indexing, search with filters, take, delete,
    add/drop/rename columns, compact, optimize, time travel, cleanup."""
    uri, so = location
    x = vectors(4 * N, seed=21)
    w = ailake.TableWriter(uri, dim=DIM, metric="euclidean", storage_options=so,
                           auto_optimize=False)
    w.write_batch(rows(0, x[:N]))
    w.write_batch(rows(N, x[N:2 * N]))
    w.write_batch_deferred(rows(2 * N, x[2 * N:3 * N]))
    w.write_batch_deferred(rows(3 * N, x[3 * N:]))
    w.wait_for_indexing()
    w.close()
    t = ailake.open_table(uri, storage_options=so)
    assert t.num_rows == 4 * N
    assert all(f.index_state == "indexed" for fr in t.fragments() for f in fr.files)

    # Search with a filter: exact mode equals numpy brute force on the rows kept.
    q = x[17] + 0.01
    keep = np.array([i for i in range(4 * N) if i % 5 != 0 and i / 10.0 < 120.0])
    want = keep[exact_topk("euclidean", q, x[keep], 10)]
    got = t.search(q, k=10, filter="category != 0 AND price < 120.0", exact=True)
    assert got["id"].to_pylist() == want.tolist()
    approx = t.search(q, k=10, filter="category != 0 AND price < 120.0")
    assert len(set(approx["id"].to_pylist()) & set(want.tolist())) >= 9

    # Take by row id returns the rows the search named.
    taken = t.take(got["_rowid"].to_pylist(), columns=["id"])
    assert taken["id"].to_pylist() == got["id"].to_pylist()

    # Delete, then time travel to before it.
    v_full = t.version
    deleted = t.delete("id < 50")
    assert deleted == 50 and t.num_rows == 4 * N - 50
    assert min(t.scan(columns=["id"])["id"].to_pylist()) == 50
    assert ailake.open_table(uri, version=v_full, storage_options=so).num_rows == 4 * N

    # Schema evolution.
    t.add_column("double_id", lambda r: pa.compute.multiply(r["id"], 2), type=pa.int64(),
                 input_columns=["id"])
    t.rename_column("name", "label")
    t.drop_columns(["price"])
    s = t.scan(columns=["id", "double_id", "label"], filter="id = 60")
    assert s.to_pylist() == [{"id": 60, "double_id": 120, "label": "item 60"}]
    assert "price" not in t.schema.names

    # Compact (drops deleted rows), optimize (merges tiers), search still exact.
    t.compact(max_deleted_fraction=0.01)
    assert sum(f.deleted_rows for f in t.fragments()) == 0
    t.optimize(merge_factor=2)
    assert len(t.fragments()) == 1
    r = t.search(x[300], k=1)
    assert r["id"].to_pylist() == [300]
    assert _ids(t.scan(columns=["id"])) == list(range(50, 4 * N))

    # Cleanup removes old versions and unreferenced files, on S3 as on disk.
    res = t.cleanup(retain_versions=1, grace_seconds=0)
    assert res.versions_removed > 0 and res.files_removed > 0
    t = ailake.open_table(uri, storage_options=so)
    assert len(t.versions()) == 1
    assert _ids(t.scan(columns=["id"])) == list(range(50, 4 * N))
    if so is not None:
        # What is left in the bucket is what the newest version names (an
        # independent S3 client lists it).
        bucket, prefix = uri[5:].split("/", 1)
        client = request.getfixturevalue("s3").client()
        keys = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix + "/data/"):
            # Arrow's S3 filesystem keeps empty "dir/" marker objects.
            keys.update(o["Key"] for o in page.get("Contents", []) if o["Key"][-1] != "/")
        assert {f"s3://{bucket}/{k}" for k in keys} == set(t.data_files())


def _append_worker(uri, so, worker, appends, q):
    try:
        import ailake as al
        from ailake_testdata import rows as mk, vectors as vec

        w = al.TableWriter(uri, storage_options=so, background_threads=0, auto_optimize=False)
        x = vec(appends * 5, seed=100 + worker)
        for i in range(appends):
            start = (worker * appends + i) * 5
            w.write_batch(mk(start, x[i * 5:(i + 1) * 5]))
        w.close()
        q.put((worker, "ok"))
    except Exception as e:  # reported to the parent
        q.put((worker, repr(e)))


def test_four_processes_fifty_appends_each_lose_nothing_on_s3(s3):
    uri = s3.new_uri()
    so = s3.storage_options()
    w = ailake.TableWriter(uri, dim=DIM, metric="euclidean", index=None, storage_options=so)
    w.write_batch(rows(10_000, vectors(5, seed=1)))
    w.close()
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_append_worker, args=(uri, so, k, 50, q)) for k in range(4)]
    for p in procs:
        p.start()
    results = dict(q.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert results == {k: "ok" for k in range(4)}
    t = ailake.open_table(uri, storage_options=so)
    assert _ids(t.scan(columns=["id"])) == list(range(0, 4 * 50 * 5)) + list(range(10_000, 10_005))
    versions = [v.version for v in t.versions()]
    assert versions == list(range(1, 2 + 1 + 200))  # create, first write, 200 appends
    # The four racing publishers left an Iceberg view of every version on S3,
    # which pyiceberg reads through its own S3 client.
    view = t.iceberg_view()
    assert view.published_version == view.current_snapshot_id == t.version, view
    static = pytest.importorskip("pyiceberg.table").StaticTable.from_metadata(
        view.metadata_path,
        properties={"s3.endpoint": s3.endpoint, "s3.access-key-id": "testing",
                    "s3.secret-access-key": "testing", "s3.region": "us-east-1"})
    assert [s.snapshot_id for s in static.metadata.snapshots] == versions
    assert sorted(static.scan(selected_fields=("id",)).to_arrow()["id"].to_pylist()) == \
        _ids(t.scan(columns=["id"]))
    older = static.scan(snapshot_id=100, selected_fields=("id",)).to_arrow().num_rows
    assert older == t.checkout(100).num_rows


def test_store_level_s3_tests_against_the_server(s3, build_dir):
    """The C++ S3 store tests (put-if-absent race with one winner among eight
    threads, each with its own store; ranged reads through the cache; listing;
    aborted streams leave nothing) run against this server."""
    exe = build_dir / "bin" / "ailake_io_test"
    env = dict(**__import__("os").environ, AILAKE_TEST_S3_ENDPOINT=s3.endpoint)
    out = subprocess.run([str(exe), "--gtest_filter=S3*", "--gtest_brief=0"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "SKIPPED" not in out.stdout, out.stdout[-2000:]
    assert "[  PASSED  ] " in out.stdout
    assert int(out.stdout.split("[  PASSED  ] ")[1].split()[0]) >= 4


def test_open_and_search_cost_a_known_number_of_ranged_requests(s3):
    so = s3.storage_options()
    uri = s3.new_uri()
    x = vectors(20_000, seed=5, dim=64)
    # A wide column search never needs: its pages must not be fetched.
    text = pa.array(["payload %06d " % i + "x" * 400 for i in range(20_000)])
    tbl = pa.table({"id": pa.array(np.arange(20_000)), "text": text,
                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), 64)})
    w = ailake.TableWriter(uri, dim=64, metric="euclidean", index="ivf_pq", nlist=32, pq_m=16,
                           min_training_rows=1000, storage_options=so)
    w.write_batch(tbl.slice(0, 10_000))
    w.write_batch(tbl.slice(10_000))
    w.close()
    ailake.clear_read_cache()
    t = ailake.open_table(uri, storage_options=so)
    opened = t.io_stats()
    # Open: list the versions, read the newest manifest (its size is listed:
    # no HEAD).
    assert opened.requests == 2, opened
    assert opened.list_requests == 1 and opened.get_requests == 1
    file_bytes = sum(f.size_bytes for fr in t.fragments() for f in fr.files)
    r = t.search(x[123], k=10, columns=["id"])
    assert r["id"][0].as_py() == 123
    cold = t.last_search_stats()
    # Cold: only ranged GETs (no HEAD: sizes come from the manifest), a few
    # per file (footer, index section, vector column, the pages of the
    # returned rows), and not the other columns.
    assert cold.requests > 0 and cold.cache_misses > 0, cold
    assert cold.requests <= 2 + 6 * cold.files, cold
    assert cold.bytes_read < 0.5 * file_bytes, (cold, file_bytes)
    # Data files are opened with the size the manifest records (no HEAD); the
    # table's one shared IVF-PQ codebook is read whole once (HEAD + GET).
    assert t.io_stats().head_requests - opened.head_requests == 1
    # Warm: the same query is answered from the cache, with no request at all.
    r2 = t.search(x[123], k=10, columns=["id"])
    warm = t.last_search_stats()
    assert warm.requests == 0, warm
    assert r2["id"].to_pylist() == r["id"].to_pylist()
    # Another table object in the same process opens the files anew, from
    t2 = ailake.open_table(uri, storage_options=so)
    # the shared cache: only the table's codebook is read again (HEAD + GET).
    t2.search(x[123], k=10, columns=["id"])
    assert t2.last_search_stats().requests == 2
    assert t2.last_search_stats().cache_hits > 0
    assert t2.last_search_stats().cache_misses == 0
    # With the cache off, files opened anew are fetched again.
    ailake.set_read_cache_capacity(0)
    try:
        t3 = ailake.open_table(uri, storage_options=so)
        t3.search(x[123], k=10, columns=["id"])
        assert t3.last_search_stats().cache_misses > 0
        assert ailake.read_cache_used_bytes() == 0
    finally:
        ailake.set_read_cache_capacity(256 << 20)


def test_environment_variables_configure_s3(s3, tmp_path):
    """The CLI with settings from AWS_* variables, and --storage-option."""
    import os
    import pathlib

    uri = s3.new_uri()
    x = vectors(50, seed=3)
    src = tmp_path / "in.parquet"
    import pyarrow.parquet as pq

    pq.write_table(rows(0, x), src)
    build = pathlib.Path(os.environ.get("AILAKE_BUILD_DIR", "build/ci"))
    cli = str(build / "bin" / "ailake")
    env = dict(os.environ, **s3.env())
    out = subprocess.run([cli, "write", uri, str(src)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    opts = []
    for k, v in s3.storage_options().items():
        opts += ["--storage-option", f"{k}={v}"]
    out = subprocess.run([cli, "--json", *opts, "search", uri, "--query-json",
                          "[" + ",".join(str(float(v)) for v in x[7]) + "]", "-k", "1"],
                         capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
    assert out.returncode == 0, out.stderr
    assert '"id": 7' in out.stdout or '"id":7' in out.stdout
    t = ailake.open_table(uri, storage_options=s3.storage_options())
    assert t.num_rows == 50


def test_bad_settings_fail_clearly_and_in_bounded_time(s3):
    so = s3.storage_options()
    with pytest.raises(ValueError, match="unknown storage option 'aws_endpont'"):
        ailake.open_table(s3.new_uri(), storage_options={**so, "aws_endpont": "x"})
    with pytest.raises(ValueError, match="allow_http"):
        ailake.open_table(s3.new_uri(), storage_options={**so, "allow_http": "false"})
    with pytest.raises(ValueError, match="applies to s3://"):
        ailake.open_table("/tmp/nowhere", storage_options={"aws_region": "us-east-1"})
    # A missing bucket is named.
    t0 = time.time()
    with pytest.raises(OSError, match="no-such-bucket"):
        ailake.open_table("s3://no-such-bucket/t", storage_options=so)
    with pytest.raises(OSError, match="no-such-bucket"):
        w = ailake.TableWriter("s3://no-such-bucket/t", dim=4, storage_options=so)
        w.write_batch(pa.table({"id": [1]}), embeddings=np.ones((1, 4), np.float32))
    assert time.time() - t0 < 30
    # An endpoint nobody listens on: an error naming it, after bounded retries.
    dead = {**so, "aws_endpoint": "http://127.0.0.1:9", "max_retries": "2",
            "connect_timeout": "1"}
    t0 = time.time()
    with pytest.raises(OSError):
        ailake.open_table(s3.new_uri(), storage_options=dead)
    with pytest.raises(OSError, match="127.0.0.1:9"):
        w = ailake.TableWriter(s3.new_uri(), dim=4, storage_options=dead)
        w.write_batch(pa.table({"id": [1]}), embeddings=np.ones((1, 4), np.float32))
    assert time.time() - t0 < 60


def test_large_remote_files_rerank_from_the_rows_they_need(s3, tmp_path):
    """A vector column of 20 MiB on S3, more than a quarter of a 64 MiB read
    cache: IVF-PQ reads the rows it re-ranks (a few ranged GETs), not the
    column, and answers as the same table on disk."""
    so = s3.storage_options()
    n, dim = 40_000, 128
    x = vectors(n, seed=9, dim=dim)
    tbl = pa.table({"id": pa.array(np.arange(n)),
                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), dim)})
    uri = s3.new_uri()
    for where, opts in ((uri, so), (str(tmp_path / "local"), None)):
        w = ailake.TableWriter(where, dim=dim, metric="euclidean", index="ivf_pq", nlist=64,
                               pq_m=16, storage_options=opts)
        w.write_batch(tbl)
        w.close()
    ailake.clear_read_cache()
    remote = ailake.open_table(uri, storage_options={**so, "cache_bytes": str(64 << 20)})
    local = ailake.open_table(tmp_path / "local")
    file_bytes = sum(f.size_bytes for fr in remote.fragments() for f in fr.files)
    q = x[[3, 17_000, 39_999]] + 0.01
    got = remote.search(q[0], k=10, columns=["id"])
    cold = remote.last_search_stats()
    assert cold.bytes_read < file_bytes / 4, (cold, file_bytes)
    for qi in q:
        a = remote.search(qi, k=10, columns=["id"], nprobe=8, refine_factor=4)
        b = local.search(qi, k=10, columns=["id"], nprobe=8, refine_factor=4)
        assert a["id"].to_pylist() == b["id"].to_pylist()
        assert np.allclose(a["_distance"].to_numpy(), b["_distance"].to_numpy())
    assert got["id"][0].as_py() == 3
    # With the default 256 MiB cache the same column is read whole once, and
    # later queries make no request.
    ailake.set_read_cache_capacity(256 << 20)
    ailake.clear_read_cache()
    whole = ailake.open_table(uri, storage_options=so)
    whole.search(q[0], k=10, columns=["id"])
    assert whole.last_search_stats().bytes_read > 0.9 * file_bytes
    whole.search(q[1], k=10, columns=["id"])
    assert whole.last_search_stats().requests == 0


def test_credentials_from_an_aws_profile_or_a_clear_error(s3, tmp_path):
    """No keys in the options or the environment: the AWS profile files are
    read (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE); with no credentials at
    all, the first write says so."""
    import os
    import pathlib

    import pyarrow.parquet as pq

    build = pathlib.Path(os.environ.get("AILAKE_BUILD_DIR", "build/ci"))
    cli = str(build / "bin" / "ailake")
    src = tmp_path / "in.parquet"
    pq.write_table(rows(0, vectors(20, seed=4)), src)
    creds = tmp_path / "credentials"
    creds.write_text("[ailake-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(HOME=str(tmp_path), AWS_ENDPOINT_URL=s3.endpoint, AWS_ALLOW_HTTP="true",
                AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    uri = s3.new_uri()
    env = dict(base, AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE="ailake-test")
    out = subprocess.run([cli, "write", uri, str(src)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert ailake.open_table(uri, storage_options=s3.storage_options()).num_rows == 20
    t0 = time.time()
    out = subprocess.run([cli, "write", s3.new_uri(), str(src)], env=base, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1 and "no AWS credentials found" in out.stderr, out.stderr
    assert time.time() - t0 < 60


def test_open_file_reads_one_data_file_on_s3(s3, monkeypatch):
    """ailake.open_file on an s3:// data file (settings from the AWS_* variables)."""
    uri = s3.new_uri()
    x = vectors(300, seed=8)
    w = ailake.TableWriter(uri, dim=DIM, metric="euclidean", storage_options=s3.storage_options())
    w.write_batch(rows(0, x))
    w.close()
    for k, v in s3.env().items():
        monkeypatch.setenv(k, v)
    path = ailake.open_table(uri).data_files()[0]
    assert path.startswith("s3://")
    f = ailake.open_file(path)
    assert f.num_rows == 300 and f.is_ailake_file()
    r = f.search(x[42], k=3)
    assert r["_rowid"][0].as_py() == 42
    f.verify()
    with pytest.raises(OSError):
        ailake.open_file(uri + "/data/missing.parquet")


def test_a_database_on_s3(s3):
    """ailake.connect on s3://: create, list, open, update and drop tables
    through the same storage options as open_table."""
    root = s3.new_uri()
    db = ailake.connect(root, storage_options=s3.storage_options())
    assert db.table_names() == []
    rows = [{"id": i, "vector": [float(i), 1.0, 0.5, 0.0]} for i in range(50)]
    t = db.create_table("docs", rows, index="flat")
    db.create_table("plain", [{"a": 1}])
    assert db.table_names() == ["docs", "plain"]
    assert t.update("id < 10", {"vector": [9.0, 9.0, 9.0, 9.0]}) == 10
    got = sorted(db["docs"].search([9.0, 9.0, 9.0, 9.0]).limit(10).to_arrow()["id"].to_pylist())
    assert got == list(range(10))
    db.drop_table("plain")
    assert db.table_names() == ["docs"]
    with pytest.raises(ValueError, match="already exists"):
        db.create_table("docs", rows)
    assert db.create_table("docs", rows[:3], mode="overwrite").num_rows == 3
