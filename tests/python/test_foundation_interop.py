"""The Parquet files the foundation demo writes are read by other engines."""
import subprocess

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq


def test_demo_file_reads_in_pyarrow_duckdb_polars(build_dir, tmp_path):
    path = tmp_path / "demo.parquet"
    rows, dim = 1000, 8
    out = subprocess.run([build_dir / "bin" / "foundation_demo", path, str(rows), str(dim)],
                         check=True, capture_output=True, text=True).stdout
    assert f"wrote {rows} rows" in out

    t = pq.read_table(path)
    assert t.num_rows == rows
    assert t.schema.field("embedding").type.byte_width == dim * 4
    vecs = np.frombuffer(b"".join(t.column("embedding").to_pylist()), dtype="<f4").reshape(rows, dim)
    assert np.isfinite(vecs).all()

    n, lo, hi = duckdb.sql(f"SELECT count(*), min(id), max(id) FROM '{path}'").fetchall()[0]
    assert (n, lo, hi) == (rows, 0, rows - 1)

    df = pl.read_parquet(path)
    assert df["text"][17] == "row 17 of cluster 1"
    assert df["embedding"][3] == t.column("embedding")[3].as_py()
