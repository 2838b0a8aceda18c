"""The committed reference-implementation fixtures parse as docs/REFERENCE_FORMAT.md says.

Each fixture under tests/data/reference was written by the reference `ailake`
package (scripts/reference/make_fixtures.py). scripts/reference/parse_reference.py
decodes it byte by byte and reproduces the reference's own search results from the
decoded index; this test runs that proof on every fixture, so a change to the
fixtures or the parser that breaks a documented claim fails here.
"""
import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "reference"
FIXTURES = sorted(DATA.glob("*.parquet"))

spec = importlib.util.spec_from_file_location(
    "parse_reference", ROOT / "scripts" / "reference" / "parse_reference.py")
parse_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(parse_reference)


def test_fixture_set_is_complete():
    names = {p.stem for p in FIXTURES}
    assert {"hnsw_cosine_f16", "hnsw_euclidean_f32", "ivfpq_cosine_f16", "ivfpq_euclidean_f32",
            "ivfpq_residual_euclidean_f32", "ivfpq_pq_only_euclidean", "multi_column",
            "hnsw_cosine_i8", "hnsw_dot_f32", "hnsw_normalized_cosine_f32",
            "plain_parquet_only"} <= names
    for p in FIXTURES:
        assert p.stat().st_size < 1_000_000, p
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 4_000_000


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_parses_and_reproduces_reference_search(path):
    log = parse_reference.verify_fixture(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    searched = [q for q in meta["queries"] if "reference_search" in q]
    reproduced = [line for line in log if "reference_search" in line]
    # every recorded reference search (default ef, plus ef10/ef200 for HNSW) was replayed
    assert len(reproduced) == sum(
        len([k for k in q if k.startswith("reference_search")]) for q in searched)


def test_parser_rejects_a_corrupted_section(tmp_path):
    src = DATA / "hnsw_euclidean_f32.parquet"
    meta = json.loads(src.with_suffix(".json").read_text())
    data = bytearray(src.read_bytes())
    off = int(meta["kv_metadata"]["ailake.footer_offset"])
    data[off + 16] ^= 0x01  # record_count
    bad = tmp_path / src.name
    bad.write_bytes(bytes(data))
    meta["sha256"] = __import__("hashlib").sha256(bytes(data)).hexdigest()
    bad.with_suffix(".json").write_text(json.dumps(meta))
    for npy in DATA.glob("hnsw_euclidean_f32*.npy"):
        (tmp_path / npy.name).write_bytes(npy.read_bytes())
    with pytest.raises(parse_reference.FormatError, match="record_count"):
        parse_reference.verify_fixture(bad)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_standard_readers_read_reference_files(path):
    """The AILK bytes are invisible to Parquet engines we did not write."""
    import duckdb
    import polars as pl
    import pyarrow.parquet as pq

    rows = json.loads(path.with_suffix(".json").read_text())["rows"]
    want_ids = [1_000_000 + 7 * i for i in range(rows)]
    assert pq.read_table(path).column("id").to_pylist() == want_ids
    got = duckdb.sql(f"SELECT count(*), min(id), max(id), max(text) FROM '{path}'").fetchall()[0]
    assert got[:3] == (rows, want_ids[0], want_ids[-1])
    assert pl.read_parquet(path)["text"][rows - 1] == f"row {rows - 1} text"
