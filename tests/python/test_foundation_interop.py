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


def test_the_readme_cpp_quickstart_is_the_tour_program(build_dir, tmp_path):
    """The README's C++ lines are lines of examples/table_tour.cc (so they
    compile and run: ctest runs the program), and the program runs here too,
    its tables read by pyarrow."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    block = re.search(r"## C\+\+ quickstart.*?```cpp\n(.*?)```", readme, flags=re.S).group(1)
    program = {ln.strip() for ln in (root / "examples" / "table_tour.cc").read_text().splitlines()}
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    assert len(lines) >= 10
    missing = [ln for ln in lines if ln not in program]
    assert not missing, missing
    out = subprocess.run([build_dir / "bin" / "table_tour", tmp_path / "t"], check=True,
                         capture_output=True, text=True).stdout
    assert out.rstrip().endswith("done") and "check failed" not in out
    import ailake

    t = ailake.open_table(tmp_path / "t")
    assert t.num_rows == 3000 and [v.operation for v in t.versions()][-3:] == \
        ["update", "merge", "restore"]
