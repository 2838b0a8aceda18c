"""ailake quickstart: write a table, search it with a filter, change it, travel in time.

    python examples/python_quickstart.py [table_path]
"""
import sys
import tempfile

import numpy as np
import pyarrow as pa

import ailake

path = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp() + "/products"
rng = np.random.default_rng(0)
dim = 64

# 1. Write two batches: metadata columns from pyarrow, vectors from numpy.
writer = ailake.TableWriter(path, vector_column="embedding", dim=dim, metric="cosine", index="hnsw")
for start in (0, 1000):
    ids = np.arange(start, start + 1000)
    meta = pa.table({"id": ids, "category": ids % 4, "title": [f"product {i}" for i in ids]})
    writer.write_batch(meta, embeddings=rng.normal(size=(1000, dim)).astype(np.float32))
writer.close()

# 2. Search: the 5 nearest rows of category 2.
table = ailake.open_table(path)
query = rng.normal(size=dim).astype(np.float32)
hits = table.search(query, k=5, filter="category = 2", columns=["id", "title"], ef=64)
print("nearest:", hits.to_pylist())

# 3. Delete rows, and read an older version.
first_version = table.version
table.delete("id < 100")
print("rows now:", table.num_rows, "rows at version", first_version, ":",
      ailake.open_table(path, version=first_version).num_rows)
print("versions:", [(v.version, v.operation) for v in table.versions()])

# 4. The data files are plain Parquet with the index inside.
f = ailake.open_file(table.data_files()[0])
print("file:", f.num_rows, "rows, AI-Lake file:", f.is_ailake_file(), f.vector_columns[0]["index"])
