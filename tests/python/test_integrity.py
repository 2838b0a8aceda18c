"""Corruption is an error, never another answer (issue #10, finding 5: data
page bit flips changed values). Every data page carries a CRC32 that pyarrow,
an independent reader, verifies, and ailake checks on every read."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ailake


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
