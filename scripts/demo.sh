#!/usr/bin/env bash
# The main job: build, then run the end-to-end demo on the local filesystem.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release
mkdir -p out
./build/release/bin/foundation_demo out/foundation_demo.parquet 20000 64
.venv/bin/python - <<'PY'
import duckdb, pyarrow.parquet as pq
t = pq.read_table("out/foundation_demo.parquet")
print(f"pyarrow reads {t.num_rows} rows, schema: {t.schema.names}")
print("duckdb:", duckdb.sql("SELECT count(*) AS n, min(id), max(id) FROM 'out/foundation_demo.parquet'").fetchall())
PY
