#!/usr/bin/env bash
# clang-tidy over the project's sources with the checks in .clang-tidy.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake --preset ci >/dev/null
mapfile -t files < <(git ls-files 'src/*.cc' | grep -v '_test.cc$')
clang-tidy -p build/ci --quiet "${files[@]}" 2>&1 | grep -v "warnings generated" || true
clang-tidy -p build/ci --quiet "${files[@]}" 2>/dev/null | grep -q "warning:" && { echo "clang-tidy: warnings"; exit 1; }
echo "clang-tidy: ${#files[@]} files clean"
