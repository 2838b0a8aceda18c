"""DuckDB and polars reading a table the way docs/PYTHON.md shows (issue #13
item 3): through the table, which gives exactly the live rows, where a glob
over data/ counts old, pending-duplicate and deleted rows too."""
import pathlib
import re

import duckdb
import numpy as np
import pyarrow as pa

import ailake

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _doc_block(containing):
    text = (ROOT / "docs" / "PYTHON.md").read_text()
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        if containing in block:
            return block
    raise AssertionError(f"no python block of docs/PYTHON.md contains {containing!r}")


def test_duckdb_and_polars_read_the_live_table_as_documented(tmp_path):
    p = tmp_path / "products"
    x = np.random.default_rng(9).normal(size=(1500, 8)).astype(np.float32)
    ids = np.arange(1500)
    data = pa.table({"id": ids, "category": [f"c{i % 4}" for i in ids]})
    w = ailake.TableWriter(p, dim=8, metric="euclidean", index="hnsw")
    w.write_batch(data.slice(0, 1000), embeddings=x[:1000])
    # A deferred write: its unindexed copy stays in data/ until cleanup.
    w.write_batch_deferred(data.slice(1000, 500), embeddings=x[1000:])
    w.wait_for_indexing()
    w.close()
    t = ailake.open_table(p)
    t.delete("id < 300 or (id >= 1000 and id < 1100)")
    t.add_column("score", lambda rows: pa.array(np.ones(rows.num_rows)), type=pa.float64(),
                 input_columns=["id"])
    live = t.scan(columns=["id", "category"]).to_pandas()
    want = sorted(live.groupby("category").size().items())

    ns = {"ailake": ailake}
    exec(_doc_block("FROM rows").replace("/tmp/products", str(p)), ns)
    assert [(c, n) for c, n in ns["counts"]] == want
    assert ns["df"].height == len(live) == 1100
    # What the docs warn against: the glob sees more rows than the table has.
    glob = duckdb.sql(f"SELECT count(*) FROM read_parquet('{p}/data/*.parquet', "
                      "union_by_name=true)").fetchall()[0][0]
    assert glob > len(live)
