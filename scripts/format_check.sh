#!/usr/bin/env bash
# Fails if any C++ file differs from .clang-format.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard '*.cc' '*.h' | grep -v '^third_party/')
[ ${#files[@]} -eq 0 ] && exit 0
clang-format --dry-run --Werror "${files[@]}"
echo "format check: ${#files[@]} files clean"
