#!/usr/bin/env bash
# Every test: the C++ suite (ctest) in the CI preset, Python tests (pytest),
# the C++ suite again under ASan + UBSan, the concurrency tests under TSan,
# the format check and clang-tidy. Set AILAKE_SKIP_ASAN=1 / AILAKE_SKIP_TSAN=1
# to skip a sanitizer pass locally.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${AILAKE_JOBS:-$(nproc)}"

echo "== C++ build and tests (preset ci)"
cmake --preset ci >/dev/null
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs"

# The table suites again with every table in the Lance container (tables
# created without a format take AILAKE_STORAGE_FORMAT; tests about Parquet
# itself pin it, see tests/python/conftest.py).
echo "== C++ table and query tests, storage format lance"
AILAKE_STORAGE_FORMAT=lance ctest --preset ci -j "$jobs" -R '^(table|query)\.'

echo "== Python tests"
export AILAKE_BUILD_DIR="$root/build/ci"
# The ailake package as the ci preset builds it (AILAKE_BUILD_PYTHON=ON):
# build/ci/python/ailake holds the module and links to python/ailake/*.py.
export PYTHONPATH="$root/build/ci/python${PYTHONPATH:+:$PYTHONPATH}"
set +e
.venv/bin/python -m pytest -q tests/python
rc=$?
set -e
# pytest exits 5 when it collects nothing; that is a failure of this suite too.
[ $rc -eq 0 ] || { echo "pytest failed (exit $rc)"; exit $rc; }
echo "== Python table tests, storage format lance"
AILAKE_STORAGE_FORMAT=lance .venv/bin/python -m pytest -q tests/python/test_python_table.py \
  tests/python/test_optimize.py tests/python/test_threads.py tests/python/test_integrity.py \
  tests/python/test_cli.py tests/python/test_table_text_search.py

if [ "${AILAKE_SKIP_ASAN:-0}" != "1" ]; then
  echo "== C++ tests under ASan + UBSan (preset asan)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs"
  echo "== C++ table and query tests under ASan + UBSan, storage format lance"
  AILAKE_STORAGE_FORMAT=lance ctest --preset asan -j "$jobs" -R '^(table|query)\.'
fi

if [ "${AILAKE_SKIP_TSAN:-0}" != "1" ]; then
  # The concurrency tests (the preset's filter) under ThreadSanitizer.
  echo "== concurrency tests under ThreadSanitizer (preset tsan)"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "$jobs"
  ctest --preset tsan
fi

echo "== format check"
scripts/format_check.sh

echo "== clang-tidy (.clang-tidy checks, on the ci preset's compile commands)"
scripts/tidy.sh
