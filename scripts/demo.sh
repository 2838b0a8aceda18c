#!/usr/bin/env bash
# The main job: build (ci preset, which also builds the Python module), then
# run the end-to-end demo on Debian's package descriptions (scripts/demo.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake --preset ci >/dev/null
cmake --build --preset ci -j "${AILAKE_JOBS:-$(nproc)}"
export PYTHONPATH="$root/build/ci/python${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python scripts/demo.py "$@"
