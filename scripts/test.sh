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

# While the Python tests run (they leave a core idle much of the time) the
# ASan build compiles at the lowest priority; whatever it has not finished when
# they end is stopped and built below at full speed (with its errors shown).
background=""
stop_background() {
  if [ -n "$background" ]; then
    kill -TERM "$background" 2>/dev/null || true
    wait "$background" 2>/dev/null || true
    background=""
  fi
}
trap stop_background EXIT
if [ "${AILAKE_SKIP_ASAN:-0}" != "1" ]; then
  cmake --preset asan >/dev/null
  nice -n 19 ninja -C build/asan -j "$jobs" >build/asan/background-build.log 2>&1 &
  background=$!
fi

echo "== Python tests"
export AILAKE_BUILD_DIR="$root/build/ci"
# The ailake package as the ci preset builds it (AILAKE_BUILD_PYTHON=ON):
# build/ci/python/ailake holds the module and links to python/ailake/*.py.
export PYTHONPATH="$root/build/ci/python${PYTHONPATH:+:$PYTHONPATH}"
set +e
# --durations: the slowest tests in the log, for keeping CI inside its budget.
.venv/bin/python -m pytest -q --durations=15 tests/python
rc=$?
set -e
# pytest exits 5 when it collects nothing; that is a failure of this suite too.
[ $rc -eq 0 ] || { echo "pytest failed (exit $rc)"; exit $rc; }
echo "== Python table tests, storage format lance"
AILAKE_STORAGE_FORMAT=lance .venv/bin/python -m pytest -q tests/python/test_python_table.py \
  tests/python/test_optimize.py tests/python/test_threads.py tests/python/test_integrity.py \
  tests/python/test_cli.py tests/python/test_table_text_search.py
stop_background

if [ "${AILAKE_SKIP_ASAN:-0}" != "1" ]; then
  echo "== C++ tests under ASan + UBSan (preset asan)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs"
  echo "== C++ table and query tests under ASan + UBSan, storage format lance"
  AILAKE_STORAGE_FORMAT=lance ctest --preset asan -j "$jobs" -R '^(table|query)\.'
fi

if [ "${AILAKE_SKIP_TSAN:-0}" != "1" ]; then
  # The concurrency tests (the preset's filter) under ThreadSanitizer. The
  # build preset builds only the test programs that hold such tests: a layer
  # whose tests gain one must be added to its targets list.
  echo "== concurrency tests under ThreadSanitizer (preset tsan)"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "$jobs"
  ctest --preset tsan
fi

echo "== format check"
scripts/format_check.sh

echo "== clang-tidy (.clang-tidy checks, on the ci preset's compile commands)"
scripts/tidy.sh
