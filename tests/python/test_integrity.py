"""Corruption is an error, never another answer (issue #10, finding 5: data
page bit flips changed values). Every data page carries a CRC32 that pyarrow,
an independent reader, verifies, and ailake checks on every read."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ailake

# CRCs of Parquet pages; tests/python/test_lance_table.py has the Lance ones.
pytestmark = pytest.mark.parquet_only


def _table(tmp_path):
    x = np.random.default_rng(3).normal(size=(2000, 8)).astype(np.float32)
    w = ailake.TableWriter(tmp_path / "t", dim=8, metric="euclidean")
    w.write_batch(pa.table({"id": np.arange(2000),
                            "name": [f"row number {i}" for i in range(2000)]}), embeddings=x)
    w.close()
    return ailake.open_table(tmp_path / "t"), x


def test_pages_carry_crcs_pyarrow_verifies(tmp_path):
    t, _ = _table(tmp_path)
    path = t.data_files()[0]
    got = pq.read_table(path, page_checksum_verification=True)
    assert got.num_rows == 2000
    assert got["name"][5].as_py() == "row number 5"


def test_a_flipped_bit_in_a_data_page_is_an_error(tmp_path):
    t, _ = _table(tmp_path)
    path = t.data_files()[0]
    md = pq.ParquetFile(path).metadata
    names = [md.schema.column(i).name for i in range(md.num_columns)]
    cc = md.row_group(0).column(names.index("name"))
    start = cc.dictionary_page_offset or cc.data_page_offset
    target = start + cc.total_compressed_size - 40  # inside the last page's values
    data = bytearray(open(path, "rb").read())
    data[target] ^= 0x10
    open(path, "wb").write(bytes(data))
    with pytest.raises(OSError):
        pq.read_table(path, page_checksum_verification=True)
    fresh = ailake.open_table(tmp_path / "t")
    with pytest.raises((ValueError, OSError), match="(?i)crc|checksum"):
        fresh.scan(columns=["name"])
    with pytest.raises((ValueError, OSError), match="(?i)crc|checksum"):
        fresh.take([1999], columns=["name"])



def test_a_flipped_bit_in_a_vector_page_is_an_error_of_search(tmp_path):
    """Searches read the vector column's pages in place (no decode): their
    CRCs are checked when the file's vectors are first mapped."""
    t, x = _table(tmp_path)
    path = t.data_files()[0]
    md = pq.ParquetFile(path).metadata
    names = [md.schema.column(i).name for i in range(md.num_columns)]
    cc = md.row_group(0).column(names.index("embedding"))
    target = cc.data_page_offset + cc.total_compressed_size - 100  # a vector's bytes
    data = bytearray(open(path, "rb").read())
    data[target] ^= 0x04
    open(path, "wb").write(bytes(data))
    fresh = ailake.open_table(tmp_path / "t")
    with pytest.raises((ValueError, OSError), match="(?i)crc"):
        fresh.search(x[5], k=10)
    assert not fresh.verify().ok

# --- checksums of sections and manifests, verify (issue #10 items 3, 4, 6) ---

xxhash = pytest.importorskip("xxhash")


def _section_offsets(path):
    md = pq.ParquetFile(path).metadata.metadata
    return [int(v) for k, v in md.items() if k.decode().endswith("footer_offset")]


def test_section_checksums_match_an_independent_xxh3(tmp_path):
    """docs/FORMAT.md 2.3: header bytes 0..112, the body 128..index offset
    and the index blob carry XXH3-64 checksums; the Python xxhash package
    (an implementation we did not write) agrees with every one."""
    t, _ = _table(tmp_path)
    path = t.data_files()[0]
    data = open(path, "rb").read()
    (s,) = _section_offsets(path)
    u64 = lambda at: int.from_bytes(data[s + at:s + at + 8], "little")  # noqa: E731
    assert data[s:s + 4] == b"AILK" and data[s + 88] == 1
    index_offset, index_bytes = u64(72), u64(80)
    assert index_bytes > 0
    assert xxhash.xxh3_64_intdigest(data[s:s + 112]) == u64(112)
    assert xxhash.xxh3_64_intdigest(data[s + 128:s + index_offset]) == u64(96)
    blob = data[s + index_offset:s + index_offset + index_bytes]
    assert xxhash.xxh3_64_intdigest(blob) == u64(104)


def test_manifest_envelope_checksum_matches_an_independent_xxh3(tmp_path):
    _table(tmp_path)
    m = sorted((tmp_path / "t" / "_versions").glob("*.manifest"))[-1].read_bytes()
    assert m[:4] == b"AIMF" and int.from_bytes(m[4:8], "little") == 1
    assert int.from_bytes(m[16:24], "little") == len(m) - 24
    assert xxhash.xxh3_64_intdigest(m[24:]) == int.from_bytes(m[8:16], "little")


def test_a_flipped_bit_in_a_centroid_is_an_error_not_a_skipped_file(tmp_path):
    """Finding 5: one bit flipped in a file's centroid made pruned search skip
    the file (half the top-10 lost)."""
    t, x = _table(tmp_path)
    path = t.data_files()[0]
    (s,) = _section_offsets(path)
    data = bytearray(open(path, "rb").read())
    centroid = int.from_bytes(data[s + 56:s + 64], "little")
    data[s + centroid + 3] ^= 0x40
    open(path, "wb").write(bytes(data))
    fresh = ailake.open_table(tmp_path / "t")
    with pytest.raises((ValueError, OSError), match="checksum"):
        fresh.search(x[5], k=10)


def _corrupt_table(tmp_path):
    x = np.random.default_rng(4).normal(size=(900, 8)).astype(np.float32)
    with ailake.TableWriter(tmp_path / "c", dim=8, metric="euclidean") as w:
        for b in range(3):
            w.write_batch(pa.table({"id": np.arange(b * 300, (b + 1) * 300)}),
                          embeddings=x[b * 300:(b + 1) * 300])
    t = ailake.open_table(tmp_path / "c")
    t.delete("id < 10")
    return ailake.open_table(tmp_path / "c")


def test_verify_reports_every_problem_and_exits_1(cli, tmp_path):
    t = _corrupt_table(tmp_path)
    assert t.verify().ok
    ok = json.loads(cli("--json", "verify", tmp_path / "c").stdout)
    assert ok["ok"] and ok["files_checked"] == 3 and ok["deletion_files_checked"] == 1
    files = t.data_files()
    for path, where in [(files[0], 60), (files[1], _section_offsets(files[1])[0] + 200)]:
        data = bytearray(open(path, "rb").read())
        data[where] ^= 0x08
        open(path, "wb").write(bytes(data))
    (deletion,) = (tmp_path / "c" / "_deletions").iterdir()
    data = bytearray(deletion.read_bytes())
    data[-3] ^= 0x01
    deletion.write_bytes(bytes(data))
    r = cli("--json", "verify", tmp_path / "c", check=False)
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert not report["ok"]
    problems = "\n".join(report["problems"])
    assert len(report["problems"]) >= 3, problems
    for name in (files[0].split("/")[-1], files[1].split("/")[-1], deletion.name):
        assert name in problems, (name, problems)
    py = ailake.open_table(tmp_path / "c").verify()
    assert not py.ok and len(py.problems) == len(report["problems"])
    text = cli("verify", tmp_path / "c", check=False)
    assert text.returncode == 1 and text.stdout.startswith("FAILED:")


def test_verify_one_ivf_pq_file_of_a_table_finds_its_codebook(cli, tmp_path):
    x = np.random.default_rng(5).normal(size=(1200, 8)).astype(np.float32)
    p = tmp_path / "ivf"
    with ailake.TableWriter(p, dim=8, metric="euclidean", index="ivf_pq", nlist=8, pq_m=4,
                            min_training_rows=256) as w:
        w.write_batch(pa.table({"id": np.arange(600)}), embeddings=x[:600])
        w.write_batch(pa.table({"id": np.arange(600, 1200)}), embeddings=x[600:])
    assert len(list((p / "_indexes").glob("*.codebook"))) == 1
    for f in ailake.open_table(p).data_files():
        r = json.loads(cli("--json", "verify", f).stdout)
        assert r["ok"] and r["files_checked"] == 1, r


def test_pending_indexing_shows_what_is_owed(tmp_path):
    x = np.random.default_rng(6).normal(size=(400, 8)).astype(np.float32)
    w = ailake.TableWriter(tmp_path / "p", dim=8, metric="euclidean", index="hnsw")
    w.write_batch_deferred(pa.table({"id": np.arange(400)}), embeddings=x)
    t = ailake.open_table(tmp_path / "p")
    owed = t.pending_indexing
    assert len(owed) == 1 and owed[0].rows == 400 and owed[0].path.startswith("data/")
    assert owed[0].path in t.pending_files()
    w.wait_for_indexing()
    w.close()
    assert t.refresh().pending_indexing == []
