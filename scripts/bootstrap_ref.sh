#!/usr/bin/env bash
# Creates the venv of the reference AI-Lake implementation (.venv-ref, or
# $AILAKE_REF_VENV) with the pins of requirements/reference.txt, idempotently.
# Used to write the compatibility fixtures (scripts/reference/make_fixtures.py)
# and to run side-by-side benchmarks (bench/reference/). A second run checks a
# stamp and returns in about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AILAKE_REF_VENV:-$root/.venv-ref}"

req="$root/requirements/reference.txt"
stamp="$venv/.ailake-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap_ref: creating venv $venv"
  py="$(command -v python3.11 || command -v python3)"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
echo "bootstrap_ref: ready (venv $venv)"
