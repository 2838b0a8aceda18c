#!/usr/bin/env bash
# Creates .venv-bench (or $AILAKE_BENCH_VENV) with the pinned benchmark peers:
# hnswlib, faiss-cpu, usearch, pylance, lancedb, pyarrow, duckdb, polars.
# Idempotent: a second run checks a stamp and returns at once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AILAKE_BENCH_VENV:-$root/.venv-bench}"
req="$root/requirements/bench.txt"
stamp="$venv/.ailake-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap_bench: creating $venv"
  py="$(command -v python3.11 || command -v python3)"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
echo "bootstrap_bench: ready ($venv)"
