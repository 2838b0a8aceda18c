#!/usr/bin/env bash
# clang-tidy with the checks in .clang-tidy over the project's C++ sources:
# the libraries and their tests (src/, the CLI included), the Python bindings,
# the benches, fuzz drivers, examples and test tools. Each file is checked
# once, AILAKE_JOBS (default nproc) at a time. .clang-tidy makes every warning
# an error, so any finding fails the run (exit 1). AILAKE_TIDY_TESTS=0 leaves
# out the *_test.cc files.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${AILAKE_JOBS:-$(nproc)}"
build="$root/build/ci"
# The clang-tidy that requirements/dev.txt pins (scripts/bootstrap.sh puts it
# in .venv), so every machine applies the same checks the same way.
tidy="${AILAKE_CLANG_TIDY:-${AILAKE_VENV:-$root/.venv}/bin/clang-tidy}"
[ -x "$tidy" ] || { echo "clang-tidy: $tidy not found (run scripts/bootstrap.sh)"; exit 1; }
start=$SECONDS

# The ci preset writes build/ci/compile_commands.json
# (CMAKE_EXPORT_COMPILE_COMMANDS in CMakeLists.txt).
cmake --preset ci >/dev/null
# The sources include protoc's output (*.pb.h), so generate it first.
mapfile -t generated < <(ninja -C "$build" -t targets all |
  sed -n 's/^\([^/].*\.pb\.h\): CUSTOM_COMMAND$/\1/p')
if ((${#generated[@]})); then
  cmake --build --preset ci -j "$jobs" --target "${generated[@]}" >/dev/null
fi

# Our sources that the ci preset compiles (the database knows their flags).
in_db="$(jq -r '.[].file' "$build/compile_commands.json" | sort -u)"
files=()
while IFS= read -r f; do
  if [ "${AILAKE_TIDY_TESTS:-1}" = "0" ] && [[ "$f" == *_test.cc ]]; then continue; fi
  grep -qxF "$root/$f" <<<"$in_db" && files+=("$f")
done < <(git ls-files '*.cc' | grep -E '^(src|python/src|bench|fuzz|examples|tests)/')
[ ${#files[@]} -eq 0 ] && { echo "clang-tidy: no files in $build/compile_commands.json"; exit 1; }

# One log per file so that parallel output does not interleave. The compile
# commands are GCC's: clang does not know some of its -Wno- options. libstdc++
# 12's std::stable_sort calls get_temporary_buffer, which newer clang reports as
# deprecated from our call site; the gcc builds (-Werror) report deprecated
# calls of our own.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
export build logs tidy
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$jobs" sh -c '
  log="$logs/$(printf %s "$1" | tr / _).log"
  "$tidy" -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option \
    --extra-arg=-Wno-deprecated-declarations "$1" >"$log" 2>&1 ||
    printf "%s\n" "$1" >>"$logs/failed"' sh

failed=0
for f in "${files[@]}"; do
  log="$logs/$(printf %s "$f" | tr / _).log"
  # A nonzero exit or any diagnostic counts, whatever the exit status said.
  if grep -qxF "$f" "$logs/failed" 2>/dev/null || grep -qE '(warning|error):' "$log"; then
    grep -v ' warnings\? generated\.$' "$log" || true
    failed=$((failed + 1))
  fi
done
secs=$((SECONDS - start))
if ((failed)); then
  echo "clang-tidy: $failed of ${#files[@]} files have findings (${secs}s)"
  exit 1
fi
echo "clang-tidy: ${#files[@]} files clean (${secs}s)"
