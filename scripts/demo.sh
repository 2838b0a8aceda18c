#!/usr/bin/env bash
# The main job: build (ci preset, which also builds the Python module), then
# run the end-to-end demo on Debian's package descriptions (scripts/demo.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake --preset ci >/dev/null
# Only what the demo runs (the Python module and the CLI), not the tests,
# fuzz targets and benchmarks: half the compile time on a fresh machine.
cmake --build --preset ci -j "${AILAKE_JOBS:-$(nproc)}" --target _ailake ailake_cli
export PYTHONPATH="$root/build/ci/python${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python scripts/demo.py "$@"
