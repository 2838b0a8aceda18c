"""The ailake command end to end: every verb, human and --json output, exit codes."""
import json
import subprocess

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

DIM = 8


def make_input(tmp_path, n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    t = pa.table({
        "id": pa.array(np.arange(n), pa.int64()),
        "category": pa.array(np.arange(n) % 4, pa.int32()),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), DIM),
    })
    path = tmp_path / "in.parquet"
    pq.write_table(t, path)
    return path, x


@pytest.mark.parquet_only  # DuckDB reads the data files
def test_write_search_scan_take_info(cli, tmp_path):
    src, x = make_input(tmp_path)
    table = tmp_path / "t"
    out = json.loads(cli("--json", "write", table, src, "--metric", "euclidean", "--batch-rows", "100").stdout)
    assert out["rows_written"] == 400
    # Search: the exact answer is a brute-force oracle.
    q = x[17] + 0.01
    res = json.loads(cli("--json", "search", table, "--query-json", json.dumps(q.tolist()), "-k", "5",
                         "--exact").stdout)
    truth = np.argsort(((x - q) ** 2).sum(1))[:5]
    assert [r["id"] for r in res["rows"]] == truth.tolist()
    assert res["files"] == 4
    approx = json.loads(cli("--json", "search", table, "--query-json", json.dumps(q.tolist()), "-k", "5",
                            "--ef", "100").stdout)
    assert approx["rows"][0]["id"] == 17
    # Only k x 1 rows of the beam re-ranked: still the hit, distances exact.
    refined = json.loads(cli("--json", "search", table, "--query-json", json.dumps(q.tolist()), "-k", "5",
                             "--ef", "100", "--refine-factor", "1").stdout)
    assert refined["rows"][0]["id"] == 17
    for r in refined["rows"]:
        assert abs(r["_distance"] - float(((x[r["id"]] - q) ** 2).sum())) < 1e-3
    # Filter inside the search.
    filt = json.loads(cli("--json", "search", table, "--query-json", json.dumps(q.tolist()), "-k", "7",
                          "--filter", "category = 2 AND id > 100", "--columns", "id,category").stdout)
    assert len(filt["rows"]) == 7
    assert all(r["category"] == 2 and r["id"] > 100 for r in filt["rows"])
    # Human output is a table with the hit.
    human = cli("search", table, "--query-json", json.dumps(q.tolist()), "-k", "3").stdout
    assert "_distance" in human and "17" in human
    # Query from .npy.
    np.save(tmp_path / "q.npy", q[None, :])
    npy = json.loads(cli("--json", "search", table, "--query", tmp_path / "q.npy", "-k", "1").stdout)
    assert npy["rows"][0]["id"] == 17

    scan = json.loads(cli("--json", "scan", table, "--filter", "id < 10", "--columns", "id").stdout)
    assert sorted(r["id"] for r in scan["rows"]) == list(range(10))
    rowid = scan["rows"][3]["_rowid"]
    took = json.loads(cli("--json", "take", table, "--rowids", rowid, "--columns", "id").stdout)
    assert took["rows"][0]["id"] == scan["rows"][3]["id"]

    info = json.loads(cli("--json", "info", table).stdout)
    assert info["rows"] == 400 and len(info["fragments"]) == 4 and info["pending_index_files"] == 0
    f = table / info["fragments"][0]["files"][0]["path"]
    finfo = json.loads(cli("--json", "info", f).stdout)
    assert finfo["is_ailake_file"] and finfo["vector_columns"][0]["has_section"]
    assert duckdb.sql(f"SELECT count(*) FROM '{f}'").fetchall()[0][0] == 100
    assert json.loads(cli("--json", "verify", table).stdout)["ok"]


@pytest.mark.parquet_only  # what the Iceberg view keeps
def test_delete_compact_index_add_column_and_versions(cli, tmp_path):
    src, x = make_input(tmp_path, n=300)
    table = tmp_path / "t"
    cli("write", table, src, "--deferred", "--batch-rows", "100", "--metric", "euclidean")
    info = json.loads(cli("--json", "info", table).stdout)
    assert info["pending_index_files"] in (0, 1, 2, 3)
    idx = json.loads(cli("--json", "index", table).stdout)
    assert json.loads(cli("--json", "info", table).stdout)["pending_index_files"] == 0
    assert idx["files_indexed"] >= 0
    d = json.loads(cli("--json", "delete", table, "--filter", "category = 1").stdout)
    assert d["deleted"] == 75
    c = json.loads(cli("--json", "compact", table, "--target-rows", "1000").stdout)
    assert c["fragments_added"] == 1 and c["rows_dropped"] == 75
    extra = pa.table({"id": pa.array([5, 6, 999], pa.int64()), "label": ["five", "six", "none"]})
    pq.write_table(extra, tmp_path / "labels.parquet")
    cli("add-column", table, "--from", tmp_path / "labels.parquet", "--key", "id")
    rows = json.loads(cli("--json", "scan", table, "--filter", "id IN (4, 5, 6)", "--columns", "id,label").stdout)
    labels = {r["id"]: r["label"] for r in rows["rows"]}
    assert labels == {4: None, 6: "six"} or labels == {4: None, 5: "five", 6: "six"}
    # Time travel: version 2 still has every row.
    v2 = json.loads(cli("--json", "scan", table, "--version", "2", "--columns", "id").stdout)
    assert len(v2["rows"]) == 100
    assert json.loads(cli("--json", "verify", table).stdout)["ok"]
    # Cleanup: old versions and the replaced files go; the table reads the same.
    before = json.loads(cli("--json", "scan", table, "--columns", "id").stdout)["rows"]
    c = json.loads(cli("--json", "cleanup", table, "--grace-seconds", "0").stdout)
    assert c["versions_removed"] > 0 and c["files_removed"] > 0
    assert json.loads(cli("--json", "scan", table, "--columns", "id").stdout)["rows"] == before
    info = json.loads(cli("--json", "info", table).stdout)
    # The newest version, and the one the Iceberg view shows: add-column split
    # the fragment over two files, which Iceberg cannot express until an
    # optimize rewrites it, so the view stays at the compaction.
    assert [v["operation"] for v in info["versions"]] == ["compact", "add_columns"]
    assert "added column" in info["iceberg_view"]["lag"]
    assert info["iceberg_view"]["current_snapshot_id"] == info["versions"][0]["version"]
    assert cli("scan", table, "--version", "2", check=False).returncode == 1
    assert cli("cleanup", table, "--retain-versions", "0", check=False).returncode == 2
    assert json.loads(cli("--json", "verify", table).stdout)["ok"]


def test_errors_and_exit_codes(cli, tmp_path):
    r = cli("search", tmp_path / "missing", "--query-json", "[1,2]", check=False)
    assert r.returncode == 1 and "no ailake table" in r.stderr
    r = cli("frobnicate", check=False)
    assert r.returncode == 2
    src, _ = make_input(tmp_path, n=50)
    cli("write", tmp_path / "t", src)
    r = cli("search", tmp_path / "t", "--query-json", "[1, 2]", check=False)
    assert r.returncode == 1 and "dimensions" in r.stderr
    r = cli("search", tmp_path / "t", "--query-json", "[1,", check=False)
    assert r.returncode == 1 and "JSON array" in r.stderr
    r = cli("scan", tmp_path / "t", "--filter", "category = ", check=False)
    assert r.returncode == 1 and "filter" in r.stderr
    r = cli("search", tmp_path / "t", check=False)
    assert r.returncode == 2
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    r = cli("search", tmp_path / "t", "--query", tmp_path / "bad.npy", check=False)
    assert r.returncode == 1 and "npy" in r.stderr
    assert "--json" in cli("--help").stdout
    # A path that is not UTF-8 still gives a JSON error object (the bytes
    # become U+FFFD), not a failure to print one.
    bad = str(tmp_path) + "/t\udcff\udcfe"
    r = subprocess.run([str(cli.exe), "--json", "info", bad], capture_output=True, timeout=60)
    assert r.returncode == 1
    assert "\ufffd" in json.loads(r.stdout.decode("utf-8"))["error"]
    assert b"\xff\xfe" in r.stderr  # stderr keeps the path's own bytes
    # Reading verbs never create the location they were given.
    for verb in ("info", "scan", "verify"):
        r = cli(verb, tmp_path / "nowhere" / "t", check=False)
        assert r.returncode == 1 and str(tmp_path / "nowhere" / "t") in r.stderr
        assert not (tmp_path / "nowhere").exists(), verb


def run_on_terminal(exe, *args):
    """Runs the CLI with stdout/stderr on a pseudo-terminal; returns (rc, output)."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execv(str(exe), [str(exe), *map(str, args)])
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO once the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


def test_progress_bars_on_a_terminal_only(cli, build_dir, tmp_path):
    exe = build_dir / "bin" / "ailake"
    src, _ = make_input(tmp_path, n=300)
    table = tmp_path / "t"
    rc, out = run_on_terminal(exe, "write", table, src, "--deferred", "--batch-rows", "50",
                              "--metric", "euclidean")
    assert rc == 0 and "writing [" in out
    rc, out = run_on_terminal(exe, "index", table)
    assert rc == 0 and "indexing [" in out and "indexed" in out
    cli("delete", table, "--filter", "category = 1")
    rc, out = run_on_terminal(exe, "compact", table, "--target-rows", "120")
    assert rc == 0 and "compacting [" in out
    rc, out = run_on_terminal(exe, "verify", table)
    assert rc == 0 and "verifying [" in out
    # Not a terminal (or --json / -q): no bar.
    assert "[" not in cli("verify", table).stderr
    rc, out = run_on_terminal(exe, "-q", "verify", table)
    assert rc == 0 and "verifying [" not in out


def test_compact_rejects_a_non_positive_target(cli, tmp_path):
    src, _ = make_input(tmp_path, n=100)
    cli("write", tmp_path / "t", src, "--batch-rows", "50")
    r = cli("compact", tmp_path / "t", "--target-rows", "0", check=False)
    assert r.returncode == 1 and "target_rows_per_fragment" in r.stderr


def test_a_mistyped_simd_cap_is_an_error_naming_it(cli, tmp_path):
    """AILAKE_SIMD takes scalar, avx2 or avx512: another value fails the index
    build and the search with a message naming it, instead of capping nothing."""
    import os

    src, x = make_input(tmp_path, n=100)
    table = tmp_path / "t"
    cli("write", table, src, "--metric", "euclidean")
    env = dict(os.environ, AILAKE_SIMD="avx-2")
    q = json.dumps(x[3].tolist())
    for args in (["search", table, "--query-json", q, "-k", "3"],
                 ["write", tmp_path / "t2", src, "--metric", "euclidean"]):
        r = subprocess.run([str(cli.exe), *map(str, args)], capture_output=True, text=True,
                           timeout=120, env=env)
        assert r.returncode != 0, r.stdout
        assert "AILAKE_SIMD is 'avx-2'" in r.stderr, r.stderr
    ok = subprocess.run([str(cli.exe), "--json", "search", str(table), "--query-json", q, "-k", "1"],
                        capture_output=True, text=True, timeout=120,
                        env=dict(os.environ, AILAKE_SIMD="scalar"))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rows"][0]["id"] == 3


def test_global_options_before_or_after_the_command(cli, tmp_path):
    src, x = make_input(tmp_path, n=50)
    t = tmp_path / "t"
    cli("write", t, src)
    before = json.loads(cli("--json", "info", t).stdout)
    after = json.loads(cli("info", t, "--json").stdout)
    assert before == after and before["versions"]
    # --storage-option: KEY=VALUE, repeatable; S3 keys are refused for a local path.
    r = cli("--storage-option", "nokey", "info", t, check=False)
    assert r.returncode == 2 and "KEY=VALUE" in r.stderr
    r = cli("scan", t, "--storage-option", "aws_region=eu-west-1", check=False)
    assert r.returncode == 1 and "applies to s3://" in r.stderr
    r = cli("scan", t, "--storage-option", "cache_bytes=1000000", "--limit", "3")
    assert r.returncode == 0
    # Every verb's --help says so (issue #15: none mentioned --json).
    for verb in (["search"], ["write"], ["info"], ["iceberg", "status"], ["storage-format"]):
        h = cli(*verb, "--help").stdout
        assert "--json" in h and "before or after the command" in h, verb


def test_vectors_from_npy_files(cli, tmp_path):
    """Issue #15: `write t vectors.npy`, `write t meta.csv --vectors v.npy` and
    `create ... --vectors v.npy` failed with "array slice would exceed array
    length" (the vector buffer was moved out in the call that read its size)."""
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, DIM)).astype(np.float32)
    np.save(tmp_path / "v.npy", x)
    pacsv.write_csv(pa.table({"id": np.arange(60), "cat": np.arange(60) % 3}), tmp_path / "m.csv")

    cli("write", tmp_path / "a", tmp_path / "v.npy", "--metric", "euclidean")
    r = json.loads(cli("--json", "search", tmp_path / "a", "--query-json",
                       json.dumps(x[17].tolist()), "-k", "1").stdout)
    assert r["rows"][0]["_distance"] == pytest.approx(0.0, abs=1e-5)

    cli("write", tmp_path / "b", tmp_path / "m.csv", "--vectors", tmp_path / "v.npy",
        "--metric", "euclidean")
    r = json.loads(cli("--json", "search", tmp_path / "b", "--query-json",
                       json.dumps(x[42].tolist()), "-k", "1", "--columns", "id,cat").stdout)
    assert r["rows"][0]["id"] == 42 and r["rows"][0]["cat"] == 0

    cli("create", tmp_path / "c", tmp_path / "m.csv", "--vectors", tmp_path / "v.npy")
    info = json.loads(cli("--json", "info", tmp_path / "c").stdout)
    assert info["rows"] == 0 and info["vector_columns"][0]["dim"] == DIM


def test_create_index_on_a_table_written_without_one(cli, tmp_path):
    src, x = make_input(tmp_path, n=300)
    t = tmp_path / "t"
    cli("write", t, src, "--index", "none", "--metric", "euclidean", "--batch-rows", "100")
    info = json.loads(cli("--json", "info", t).stdout)
    assert {f["index_state"] for fr in info["fragments"] for f in fr["files"]} == {"none"}
    r = json.loads(cli("--json", "create-index", t, "--index", "hnsw", "--hnsw-m", "8").stdout)
    assert r == {**r, "vector_column": "embedding", "index": "hnsw", "files_indexed": 3}
    info = json.loads(cli("--json", "info", t).stdout)
    assert {f["index_state"] for fr in info["fragments"] for f in fr["files"]} == {"indexed"}
    assert info["vector_columns"][0]["index"] == "hnsw"
    hit = json.loads(cli("--json", "search", t, "--query-json", json.dumps(x[5].tolist()),
                         "-k", "1").stdout)
    assert hit["rows"][0]["id"] == 5
    bad = cli("create-index", t, "--index", "bogus", check=False)
    assert bad.returncode == 2 and "bogus" in bad.stderr


def test_create_index_ivf_pq_with_four_bit_codes(cli, tmp_path):
    src, x = make_input(tmp_path, n=800)
    t = tmp_path / "t"
    cli("write", t, src, "--index", "none", "--metric", "euclidean", "--batch-rows", "400")
    r = json.loads(cli("--json", "create-index", t, "--index", "ivf_pq", "--nlist", "4", "--pq-m",
                       str(DIM // 2), "--pq-bits", "4").stdout)
    assert (r["files_indexed"], r["files_pending"]) == (2, 0)
    vc = json.loads(cli("--json", "info", t).stdout)["vector_columns"][0]
    assert (vc["index"], vc["pq_m"], vc["pq_bits"], vc["nlist"]) == ("ivf_pq", DIM // 2, 4, 4)
    # The shared codebook holds 16 codewords per sub-space (docs/FORMAT.md 3.5, offset 20).
    (codebook,) = (t / "_indexes").glob("*.codebook")
    assert int.from_bytes(codebook.read_bytes()[20:24], "little") == 16
    hit = json.loads(cli("--json", "search", t, "--query-json", json.dumps(x[5].tolist()),
                         "-k", "1").stdout)
    assert hit["rows"][0]["id"] == 5
    bad = cli("create-index", t, "--index", "ivf_pq", "--pq-bits", "6", check=False)
    assert bad.returncode != 0 and "nbits" in bad.stderr


@pytest.mark.parquet_only  # the quickstart reads the Iceberg view
def test_the_readme_cli_quickstart_runs(cli, tmp_path):
    """Every line of the README's CLI quickstart, run as written (with its
    /tmp/ paths moved into this test's directory), after making the inputs
    it names: rows.parquet, q.npy and a table at /tmp/iceberg_t whose
    Iceberg view has a vector column `emb`."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"## CLI quickstart\s+```sh\n(.*?)```", text, flags=re.S).group(1)
    src, x = make_input(tmp_path, n=300)
    (tmp_path / "in.parquet").rename(tmp_path / "rows.parquet")
    np.save(tmp_path / "q.npy", x[3])
    emb = pq.read_table(tmp_path / "rows.parquet").rename_columns(["id", "category", "emb"])
    pq.write_table(emb, tmp_path / "emb.parquet")
    cli("write", tmp_path / "iceberg_t", tmp_path / "emb.parquet", "--vector-column", "emb",
        "--metric", "euclidean")
    import os

    env = {**os.environ, "PATH": f"{cli.exe.resolve().parent}:{os.environ['PATH']}"}
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert len(lines) >= 10
    for line in lines:
        cmd = line.replace("/tmp/", f"{tmp_path}/")
        r = subprocess.run(["bash", "-c", f"set -e; {cmd}"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{line}\n{r.stderr}"
    info = json.loads(cli("--json", "info", tmp_path / "t").stdout)
    assert info["storage_format"] == "lance"
    assert {f["format"] for fr in info["fragments"] for f in fr["files"]} == {"lance"}


def test_tags_from_the_cli(cli, tmp_path):
    """ailake tag list|create|delete, the same tags Python sees; cleanup
    keeps a tagged version; a taken name and a missing version are errors."""
    import ailake

    src, _ = make_input(tmp_path)
    table = tmp_path / "t"
    cli("write", table, src, "--metric", "euclidean", "--batch-rows", "100")
    v = json.loads(cli("--json", "info", table).stdout)["version"]
    out = json.loads(cli("--json", "tag", "create", table, "first", str(v - 2)).stdout)
    assert out == {"table": str(table), "tag": "first", "version": v - 2}
    assert json.loads(cli("--json", "tag", "list", table).stdout)["tags"] == {"first": v - 2}
    assert "first\t" in cli("tag", "list", table).stdout
    taken = cli("tag", "create", table, "first", str(v), check=False)
    assert taken.returncode != 0 and "already exists" in taken.stderr
    gone = cli("tag", "create", table, "x", "999", check=False)
    assert gone.returncode != 0 and "no version 999" in gone.stderr
    cli("cleanup", table, "--grace-seconds", "0")
    t = ailake.open_table(table)
    assert sorted(x.version for x in t.versions()) == [v - 2, v]
    assert t.tags.list() == {"first": v - 2} and t.checkout("first").num_rows == 200
    cli("tag", "delete", table, "first")
    assert json.loads(cli("--json", "tag", "list", table).stdout)["tags"] == {}


def test_update_merge_alter_drop_restore_from_the_cli(cli, tmp_path):
    """Issue #15 item 3: the CLI has the table changes Python has. Each verb's
    result is checked against DuckDB running the same change as SQL on the
    same rows."""
    import pyarrow.csv as pacsv

    src, x = make_input(tmp_path, n=200)
    t = tmp_path / "t"
    cli("write", t, src, "--metric", "euclidean", "--batch-rows", "100")
    rows = pq.read_table(src).select(["id", "category"])
    db = duckdb.connect()
    db.register("src", rows)
    db.execute("CREATE TABLE oracle AS SELECT * FROM src")

    def ours():
        got = json.loads(cli("--json", "scan", t, "--columns", "id,category").stdout)["rows"]
        return sorted((r["id"], r["category"]) for r in got)

    def theirs():
        return sorted(db.execute("SELECT id, category FROM oracle").fetchall())

    # update: SQL expressions, one version.
    v0 = json.loads(cli("--json", "info", t).stdout)["version"]
    r = json.loads(cli("--json", "update", t, "--set", "category=category * 10 + id - 5",
                       "--where", "id BETWEEN 10 AND 40").stdout)
    assert r == {"rows_updated": 31, "version": v0 + 1}
    db.execute("UPDATE oracle SET category = category * 10 + id - 5 WHERE id BETWEEN 10 AND 40")
    assert ours() == theirs()
    # The updated rows keep their vectors and are found by search.
    hit = json.loads(cli("--json", "search", t, "--query-json", json.dumps(x[20].tolist()),
                         "-k", "1", "--columns", "id,category").stdout)["rows"][0]
    assert hit["id"] == 20 and hit["category"] == (20 % 4) * 10 + 20 - 5

    # merge: an upsert from a Parquet file (ids 150..249: 50 match, 50 new).
    rng = np.random.default_rng(9)
    xs = rng.normal(size=(100, DIM)).astype(np.float32)
    ids = np.arange(150, 250)
    up = pa.table({"id": pa.array(ids, pa.int64()), "category": pa.array(np.full(100, 7), pa.int32()),
                   "embedding": pa.FixedSizeListArray.from_arrays(pa.array(xs.ravel()), DIM)})
    pq.write_table(up, tmp_path / "up.parquet")
    r = json.loads(cli("--json", "merge", t, tmp_path / "up.parquet", "--on", "id").stdout)
    assert (r["rows_inserted"], r["rows_updated"], r["rows_deleted"]) == (50, 50, 0)
    db.register("up", up.select(["id", "category"]))
    db.execute("DELETE FROM oracle WHERE id IN (SELECT id FROM up)")
    db.execute("INSERT INTO oracle SELECT * FROM up")
    assert ours() == theirs()
    hit = json.loads(cli("--json", "search", t, "--query-json", json.dumps(xs[60].tolist()),
                         "-k", "1", "--columns", "id").stdout)["rows"][0]
    assert hit["id"] == 210 and hit["_distance"] == pytest.approx(0.0, abs=1e-5)
    # merge with only keys from CSV: delete the category-7 rows the source lacks.
    pacsv.write_csv(pa.table({"id": pa.array([150, 151], pa.int64())}), tmp_path / "keep.csv")
    r = json.loads(cli("--json", "merge", t, tmp_path / "keep.csv", "--on", "id",
                       "--delete-not-in-source", "--delete-where", "category = 7").stdout)
    doomed = db.execute("SELECT count(*) FROM oracle WHERE category = 7 "
                        "AND id NOT IN (150, 151)").fetchall()[0][0]
    assert r["rows_deleted"] == doomed == 99  # 98 merged rows and id 12 (0 * 10 + 12 - 5)
    db.execute("DELETE FROM oracle WHERE category = 7 AND id NOT IN (150, 151)")
    assert ours() == theirs()
    bad = cli("merge", t, tmp_path / "keep.csv", "--on", "id", "--delete-where", "id > 1",
              check=False)
    assert bad.returncode == 2 and "--delete-not-in-source" in bad.stderr

    # Vectors and queries from CSV and Arrow IPC files as well as .npy.
    np.savetxt(tmp_path / "q.csv", x[33][None, :], delimiter=",")
    hit = json.loads(cli("--json", "search", t, "--query", tmp_path / "q.csv", "-k", "1",
                         "--columns", "id").stdout)["rows"][0]
    assert hit["id"] == 33
    with pa.ipc.new_file(tmp_path / "q.arrow", pa.schema([("v", pa.list_(pa.float64()))])) as w:
        w.write_table(pa.table({"v": [x[34].astype(np.float64).tolist()]}))
    hit = json.loads(cli("--json", "search", t, "--query", tmp_path / "q.arrow", "-k", "1",
                         "--columns", "id").stdout)["rows"][0]
    assert hit["id"] == 34
    np.savetxt(tmp_path / "v.csv", xs[:2], delimiter=",")
    pacsv.write_csv(pa.table({"id": pa.array([900, 901], pa.int64()),
                              "category": pa.array([1, 1], pa.int32())}), tmp_path / "m.csv")
    r = json.loads(cli("--json", "merge", t, tmp_path / "m.csv", "--vectors", tmp_path / "v.csv",
                       "--on", "id", "--insert").stdout)
    assert r["rows_inserted"] == 2
    db.execute("INSERT INTO oracle VALUES (900, 1), (901, 1)")
    assert ours() == theirs()
    (tmp_path / "words.csv").write_text("1,abc\n")
    bad = cli("search", t, "--query", tmp_path / "words.csv", check=False)
    assert bad.returncode == 1 and "not numbers" in bad.stderr

    # alter (renames) and drop-columns; restore an older version (by tag too).
    before = json.loads(cli("--json", "info", t).stdout)["version"]
    cli("tag", "create", t, "before-alter", str(before))
    r = json.loads(cli("--json", "alter", t, "--rename", "category=kind", "--not-null", "kind").stdout)
    assert r["version"] == before + 1
    assert r["altered"] == [{"column": "category", "rename": "kind"},
                            {"column": "kind", "nullable": False}]
    assert "kind" in json.loads(cli("--json", "info", t).stdout)["schema"]
    r = json.loads(cli("--json", "drop-columns", t, "kind").stdout)
    info = json.loads(cli("--json", "info", t).stdout)
    assert "kind" not in info["schema"] and "category" not in info["schema"]
    old = json.loads(cli("--json", "scan", t, "--version", "before-alter", "--columns",
                         "id,category").stdout)["rows"]
    assert sorted((r["id"], r["category"]) for r in old) == theirs()
    r = json.loads(cli("--json", "restore", t, "before-alter").stdout)
    assert r["restored"] == before and r["version"] == info["version"] + 1
    assert ours() == theirs()
    bad = cli("alter", t, "--rename", "nonsense", check=False)
    assert bad.returncode == 2 and "OLD=NEW" in bad.stderr
    bad = cli("update", t, "--set", "nope=1", check=False)
    assert bad.returncode == 1 and "nope" in bad.stderr
    for verb in ("update", "merge", "alter", "drop-columns", "restore"):
        assert "--json" in cli(verb, "--help").stdout, verb
    # An IVF-PQ index on too few rows to train its codebook: the files stay
    # pending (searched exactly), the command says so, and verify finds a
    # table in the middle of a re-index healthy (it reported "pending, has an
    # index" for every file before).
    r = json.loads(cli("--json", "create-index", t, "--index", "ivf_pq", "--nlist", "4",
                       "--pq-m", "4").stdout)
    files = len(json.loads(cli("--json", "info", t).stdout)["fragments"])
    assert (r["files_indexed"], r["files_pending"]) == (0, files)
    assert "still pending" in cli("index", t).stdout
    assert json.loads(cli("--json", "verify", t).stdout)["ok"]
    hit = json.loads(cli("--json", "search", t, "--query-json", json.dumps(x[33].tolist()), "-k",
                         "1", "--columns", "id").stdout)["rows"][0]
    assert hit["id"] == 33


def test_the_cli_guide_runs(cli, tmp_path):
    """Every line of docs/CLI.md's session, run as written (its /tmp/ paths
    moved into this test's directory) on the inputs it names; the restored
    version has the rows the tagged one had."""
    import os
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "CLI.md").read_text()
    block = re.search(r"## A session.*?```sh\n(.*?)```", text, flags=re.S).group(1)
    src, x = make_input(tmp_path, n=300)
    (tmp_path / "in.parquet").rename(tmp_path / "rows.parquet")
    np.save(tmp_path / "q.npy", x[3])
    rng = np.random.default_rng(5)
    xs = rng.normal(size=(100, DIM)).astype(np.float32)
    pq.write_table(pa.table({
        "id": pa.array(np.arange(250, 350), pa.int64()),
        "category": pa.array(np.full(100, 9), pa.int32()),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(xs.ravel()), DIM)}),
        tmp_path / "changes.parquet")
    env = {**os.environ, "PATH": f"{cli.exe.resolve().parent}:{os.environ['PATH']}"}
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert len(lines) >= 15
    outputs = []
    for line in lines:
        cmd = line.replace("/tmp/", f"{tmp_path}/")
        r = subprocess.run(["bash", "-c", f"set -e; {cmd}"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{line}\n{r.stderr}"
        outputs.append(r.stdout)
    tagged = json.loads(next(o for ln, o in zip(lines, outputs) if "--version before-rename" in ln))
    now = json.loads(cli("--json", "scan", tmp_path / "guide", "--columns", "id,category").stdout)
    assert sorted((r["id"], r["category"]) for r in now["rows"]) == \
        sorted((r["id"], r["category"]) for r in tagged["rows"])
    merged = {r["id"]: r["category"] for r in now["rows"] if r["id"] >= 250}
    assert merged == {i: 9 for i in range(250, 350)}
    assert not any(r["category"] == 3 for r in now["rows"])
    info = json.loads(outputs[lines.index(next(ln for ln in lines if ln.startswith("ailake info")))])
    assert info["vector_columns"][0]["index"] == "hnsw" and info["pending_index_files"] == 0
