"""AI-Lake files written by the C++ writer (through tests/file_writer_tool.cc)
read by pyarrow, DuckDB and polars: every kind of file we write, values equal
to the input, and no trace of the AILK sections in what the engines return."""
import json
import struct
import subprocess

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

ROWS = 1500


def tool(build_dir):
    return str(build_dir / "bin" / "ailake_file_tool")


def run(build_dir, *args):
    r = subprocess.run([tool(build_dir), *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def make_batch(rows=ROWS, seed=0):
    rng = np.random.default_rng(seed)
    big = "L" * 70_000
    text = []
    for i in range(rows):
        if i % 11 == 0:
            text.append("")          # empty strings
        elif i % 13 == 0:
            text.append(None)        # nulls
        elif i == 7:
            text.append(big)         # a large value
        else:
            text.append(f"row {i} " + "ü" * int(rng.integers(0, 30)))
    return pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "text": pa.array(text, pa.utf8()),
        "large": pa.array([("x" * (i % 300)) if i % 4 else None for i in range(rows)], pa.large_utf8()),
        "score": pa.array([None if i % 5 == 0 else float(i) / 3 for i in range(rows)], pa.float64()),
        "small": pa.array([i % 120 - 60 for i in range(rows)], pa.int8()),
        "tags": pa.array([[f"t{j}" for j in range(i % 4)] if i % 9 else None for i in range(rows)],
                         pa.list_(pa.utf8())),
        "meta": pa.array([{"a": i, "b": None if i % 6 == 0 else f"m{i % 7}"} for i in range(rows)],
                         pa.struct([("a", pa.int32()), ("b", pa.utf8())])),
        "flag": pa.array([i % 3 == 0 for i in range(rows)], pa.bool_()),
        "day": pa.array(np.arange(rows, dtype=np.int32), pa.date32()),
    })


def vectors(rows, dim, seed):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (8, dim)).astype(np.float32)
    return (centres[np.arange(rows) % 8] + rng.normal(0, 0.2, (rows, dim))).astype(np.float32)


def decode(col, dim, precision):
    raw = np.frombuffer(b"".join(col.to_pylist()), dtype=np.uint8).reshape(len(col), -1)
    if precision == "f32":
        return raw.view("<f4").reshape(len(col), dim)
    if precision == "f16":
        return raw.view("<f2").reshape(len(col), dim).astype(np.float32)
    codes = raw[:, :dim].view(np.int8).astype(np.float32)   # int8, per-vector scale/offset
    scale = raw[:, dim:dim + 4].copy().view("<f4")
    offset = raw[:, dim + 4:dim + 8].copy().view("<f4")
    return codes * scale + offset


def duck_table(rel):
    d = rel.arrow()
    return d.read_all() if hasattr(d, "read_all") else d


TOLERANCE = {"f32": 0.0, "f16": 2e-3, "int8": 2e-2}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("interop")
    table = make_batch()
    batch_path = d / "batch.arrow"
    with ipc.new_file(batch_path, table.schema) as w:
        w.write_table(table, max_chunksize=500)
    vecs = {}
    for name, dim, seed in [("emb", 24, 1), ("emb2", 8, 2)]:
        v = vectors(ROWS, dim, seed)
        np.save(d / f"{name}.npy", v)
        vecs[name] = v
    return d, table, batch_path, vecs


def check_engines(path, table, vector_specs):
    """pyarrow, DuckDB and polars read `path`: the input columns equal, the vector
    columns decode to the embeddings, nothing else in the schema."""
    expected_names = table.column_names + [name for name, *_ in vector_specs]
    # pyarrow
    t = pq.read_table(path)
    assert t.column_names == expected_names
    assert t.num_rows == table.num_rows
    for name in table.column_names:
        assert t.column(name).equals(table.column(name)), name
    for name, dim, precision, v in vector_specs:
        f = t.schema.field(name)
        assert f.type == pa.binary(t.column(name).type.byte_width)
        md = {k.decode(): val.decode() for k, val in f.metadata.items()}
        assert md["ailake.dim"] == str(dim) and md["ailake.precision"] == precision
        np.testing.assert_allclose(decode(t.column(name), dim, precision), v,
                                   atol=TOLERANCE[precision] * (1 + np.abs(v).max()))
    # The vector column is plain, uncompressed FIXED_LEN_BYTE_ARRAY; page index present.
    meta = pq.ParquetFile(path).metadata
    for rg in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            col = meta.row_group(rg).column(c)
            assert col.has_offset_index
            if col.path_in_schema in [n for n, *_ in vector_specs]:
                assert col.physical_type == "FIXED_LEN_BYTE_ARRAY"
                assert col.compression == "UNCOMPRESSED"
                assert not col.has_dictionary_page
    # DuckDB
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY id")
    assert rel.columns == expected_names
    d = duck_table(rel)
    assert d.num_rows == table.num_rows
    for name in ["id", "text", "score", "small", "flag"]:
        assert d.column(name).to_pylist() == table.column(name).to_pylist(), name
    assert d.column("large").to_pylist() == table.column("large").to_pylist()
    assert d.column("tags").to_pylist() == table.column("tags").to_pylist()
    assert d.column("meta").to_pylist() == table.column("meta").to_pylist()
    n_empty, n_null = con.sql(
        f"SELECT count(*) FILTER (WHERE text = ''), count(*) FILTER (WHERE text IS NULL) "
        f"FROM read_parquet('{path}')").fetchall()[0]
    assert (n_empty, n_null) == (sum(1 for x in table.column("text").to_pylist() if x == ""),
                                 table.column("text").null_count)
    for name, dim, precision, v in vector_specs:
        col = duck_table(con.sql(f"SELECT {name} FROM read_parquet('{path}') ORDER BY id")).column(0)
        got = decode(pa.array([bytes(b) for b in col.to_pylist()], pa.binary()), dim, precision)
        np.testing.assert_allclose(got, v, atol=TOLERANCE[precision] * (1 + np.abs(v).max()))
    # polars
    df = pl.read_parquet(path)
    assert df.columns == expected_names
    assert df["id"].to_list() == list(range(table.num_rows))
    assert df["text"].to_list() == table.column("text").to_pylist()
    assert df["large"].to_list() == table.column("large").to_pylist()
    assert df["tags"].to_list() == table.column("tags").to_pylist()
    assert df["meta"].to_list() == table.column("meta").to_pylist()
    for name, dim, precision, v in vector_specs:
        got = decode(pa.array(df[name].to_list(), pa.binary()), dim, precision)
        np.testing.assert_allclose(got, v, atol=TOLERANCE[precision] * (1 + np.abs(v).max()))


def sections_in_file(path):
    """(offset, length) of each AILK section named by the footer keys, parsed
    from the raw bytes with the layout of docs/FORMAT.md 2.2."""
    raw = path.read_bytes()
    kv = pq.ParquetFile(path).metadata.metadata or {}
    out = {}
    for k, v in kv.items():
        k = k.decode()
        if k.startswith("ailake.") and k.endswith("footer_offset"):
            off = int(v)
            assert raw[off:off + 4] == b"AILK"
            version, hdr, length = struct.unpack_from("<HHQ", raw, off + 4)
            assert (version, hdr) == (2, 128)
            out[k] = (off, length)
    flen = struct.unpack_from("<I", raw, len(raw) - 8)[0]
    footer_start = len(raw) - 8 - flen
    for off, length in out.values():
        assert off + length <= footer_start
    return out


@pytest.mark.parametrize("precision", ["f32", "f16", "int8"])
@pytest.mark.parametrize("mode", ["parquet_only", "write"])
def test_single_column_files_read_everywhere(build_dir, inputs, tmp_path, precision, mode):
    d, table, batch_path, vecs = inputs
    out = tmp_path / f"{mode}_{precision}.parquet"
    run(build_dir, "write", out, mode, batch_path, f"emb:24:euclidean:{precision}:flat:{d / 'emb.npy'}")
    check_engines(out, table, [("emb", 24, precision, vecs["emb"])])
    secs = sections_in_file(out)
    info = json.loads(run(build_dir, "info", out))
    assert info["is_ailake"] == (mode == "write")
    assert bool(secs) == (mode == "write")
    if mode == "write":
        assert list(secs) == ["ailake.footer_offset"]
        assert info["columns"][0]["offset"] == secs["ailake.footer_offset"][0]
        run(build_dir, "verify", out)


def test_several_vector_columns(build_dir, inputs, tmp_path):
    d, table, batch_path, vecs = inputs
    out = tmp_path / "multi.parquet"
    run(build_dir, "write", out, "multi", batch_path,
        f"emb:24:cosine:f16:flat:{d / 'emb.npy'}", f"emb2:8:euclidean:f32:flat:{d / 'emb2.npy'}")
    check_engines(out, table, [("emb", 24, "f16", vecs["emb"]), ("emb2", 8, "f32", vecs["emb2"])])
    secs = sections_in_file(out)
    assert set(secs) == {"ailake.footer_offset", "ailake.emb2.footer_offset"}
    info = json.loads(run(build_dir, "info", out))
    by_name = {c["name"]: c for c in info["columns"]}
    assert by_name["emb2"]["key"] == "ailake.emb2.footer_offset"
    # Centroid of emb2 (euclidean): the mean of the vectors.
    np.testing.assert_allclose(by_name["emb2"]["centroid"], vecs["emb2"].mean(axis=0), atol=1e-4)
    run(build_dir, "verify", out)


def test_index_later_keeps_data_bytes_and_reads_everywhere(build_dir, inputs, tmp_path):
    d, table, batch_path, vecs = inputs
    plain = tmp_path / "plain.parquet"
    run(build_dir, "write", plain, "parquet_only", batch_path, f"emb:24:euclidean:f32:flat:{d / 'emb.npy'}")
    indexed = tmp_path / "indexed.parquet"
    run(build_dir, "index-later", plain, indexed, "emb:24:euclidean:f32:flat")
    a, b = plain.read_bytes(), indexed.read_bytes()
    footer_start = len(a) - 8 - struct.unpack_from("<I", a, len(a) - 8)[0]
    assert b[:footer_start] == a[:footer_start]
    check_engines(indexed, table, [("emb", 24, "f32", vecs["emb"])])
    assert json.loads(run(build_dir, "info", indexed))["is_ailake"]
    assert pq.read_table(indexed).equals(pq.read_table(plain))


@pytest.mark.parametrize("index", ["flat", "hnsw"])
def test_search_and_take_against_numpy_and_pyarrow(build_dir, inputs, tmp_path, index):
    d, table, batch_path, vecs = inputs
    out = tmp_path / "search.parquet"
    run(build_dir, "write", out, "write", batch_path, f"emb:24:euclidean:f32:{index}:{d / 'emb.npy'}")
    q = vectors(20, 24, 99)
    np.save(tmp_path / "q.npy", q)
    lines = run(build_dir, "search", out, "emb", 10, tmp_path / "q.npy", 64).strip().split("\n")
    v = vecs["emb"]
    hits = 0
    for qi, line in enumerate(lines):
        got = [int(x) for x in line.split()]
        exact = np.argsort(((v - q[qi]) ** 2).sum(axis=1), kind="stable")[:10]
        if index == "flat":
            assert got == list(exact)
        hits += len(set(got) & set(exact.tolist()))
    assert hits / (10 * len(lines)) >= 0.9
    rows = [1499, 0, 7, 7, 700, 13, 1000]
    run(build_dir, "take", out, tmp_path / "take.arrow", *rows)
    taken = ipc.open_file(tmp_path / "take.arrow").read_all()
    full = pq.read_table(out)
    assert taken.equals(full.take(rows))


def test_bad_input_errors_name_the_problem(build_dir, inputs, tmp_path):
    d, table, batch_path, vecs = inputs
    v = vecs["emb"].copy()
    v[17, 3] = np.nan
    np.save(tmp_path / "nan.npy", v)
    r = subprocess.run([tool(build_dir), "write", tmp_path / "x.parquet", "write", batch_path,
                        f"emb:24:euclidean:f32:flat:{tmp_path / 'nan.npy'}"], capture_output=True, text=True)
    assert r.returncode == 1 and "row 17 has NaN at dimension 3" in r.stderr
    np.save(tmp_path / "short.npy", vecs["emb"][:-1])
    r = subprocess.run([tool(build_dir), "write", tmp_path / "x.parquet", "write", batch_path,
                        f"emb:24:euclidean:f32:flat:{tmp_path / 'short.npy'}"], capture_output=True, text=True)
    assert r.returncode == 1 and f"{ROWS - 1} embeddings for {ROWS} rows" in r.stderr
    good = tmp_path / "good.parquet"
    run(build_dir, "write", good, "write", batch_path, f"emb:24:euclidean:f32:flat:{d / 'emb.npy'}")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-100])
    r = subprocess.run([tool(build_dir), "info", cut], capture_output=True, text=True)
    assert r.returncode == 1 and "wrong magic" in r.stderr
