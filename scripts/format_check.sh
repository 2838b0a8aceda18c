#!/usr/bin/env bash
# Fails if any C++ file differs from .clang-format, or calls __builtin_prefetch
# outside src/ailake/vec/prefetch.h (GCC deletes calls to a helper that only
# prefetches; the helpers there keep them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard '*.cc' '*.h' | grep -v '^third_party/')
[ ${#files[@]} -eq 0 ] && exit 0
clang-format --dry-run --Werror "${files[@]}"
if raw=$(grep -n '__builtin_prefetch\|_mm_prefetch' "${files[@]}" | grep -v '^src/ailake/vec/prefetch.h:'); then
  echo "prefetch through vec::PrefetchLine / PrefetchBytes (src/ailake/vec/prefetch.h):" >&2
  echo "$raw" >&2
  exit 1
fi
echo "format check: ${#files[@]} files clean"
