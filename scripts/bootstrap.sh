#!/usr/bin/env bash
# Installs everything ailake needs to build and test, idempotently:
#   - Debian packages (compiler tools, protobuf, GoogleTest, Google Benchmark, clang tools)
#   - a venv with pinned Python packages (.venv, or $AILAKE_VENV), whose pyarrow
#     wheel provides Arrow C++ and Parquet C++ headers and libraries.
# A second run checks two stamps and returns in about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AILAKE_VENV:-$root/.venv}"

apt_pkgs=(build-essential cmake ninja-build pkg-config ccache
          protobuf-compiler libprotobuf-dev libgtest-dev libgmock-dev libbenchmark-dev
          clang-format clang-tidy python3-venv libcli11-dev nlohmann-json3-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

req="$root/requirements/dev.txt"
stamp="$venv/.ailake-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: creating venv $venv"
  py="$(command -v python3.11 || command -v python3)"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
echo "bootstrap: ready (venv $venv)"
