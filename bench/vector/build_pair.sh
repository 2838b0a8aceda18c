#!/usr/bin/env bash
# Paired timing of two builds of ailake_ann_bench's index build.
#
# Build CPU time on this shared host moves by 10-20% between runs, more than
# the changes it is used to judge. Here both builds run at the same time, one
# per core, with one build thread each, so that both see the same machine;
# the cores are swapped every round. It prints each round's two build CPU
# times and the mean of their ratios (A / B above 1: B builds faster).
#
#   bench/vector/build_pair.sh A_BIN B_BIN ROUNDS BASE.npy QUERIES.npy GT.npy [extra args]
#
# The extra arguments go to both builds (default: --traversal sq8).
set -euo pipefail
if [ $# -lt 6 ]; then
  sed -n '2,12p' "$0"
  exit 2
fi
a=$1 b=$2 rounds=$3 base=$4 queries=$5 gt=$6
shift 6
extra=("$@")
[ ${#extra[@]} -eq 0 ] && extra=(--traversal sq8)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu_of() {  # binary core out
  taskset -c "$2" "$1" --base "$base" --queries "$queries" --gt "$gt" --threads 1 \
    --sweep 10 "${extra[@]}" | grep -o '"build_cpu_s": [0-9.]*' | cut -d' ' -f2 > "$3"
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 0 ]; then ca=0 cb=1; else ca=1 cb=0; fi
  cpu_of "$a" "$ca" "$tmp/a" &
  cpu_of "$b" "$cb" "$tmp/b" &
  wait
  echo "$(cat "$tmp/a") $(cat "$tmp/b")"
done | awk '{ print "A " $1 " s, B " $2 " s"; s += $1 / $2; n++ }
            END { if (n) printf "mean A/B %.3f over %d rounds\n", s / n, n }'
