#!/bin/bash
# HNSW walk on the stored vectors vs on 8-bit traversal codes, and optionally a
# baseline binary, alternating the order each round (docs/BENCHMARKS.md,
# "HNSW traversal codes and the deterministic build"). 2 build threads, one
# search thread, recall@10 and queries per CPU second over an ef sweep.
#
#   bench/vector/make_traversal_data.py /tmp/trav
#   bench/vector/traversal_ab.sh /tmp/trav build/ci/bin/ailake_ann_bench [BASELINE_BIN] [ROUNDS]
set -eu
dir=$1; bin=$(realpath "$2"); base_bin=${3:-}; rounds=${4:-2}
[ -n "$base_bin" ] && base_bin=$(realpath "$base_bin")
cd "$dir"
run() {  # label binary traversal
  local extra=""
  [ "$3" != none ] && extra="--traversal $3"
  echo "hard $1 $("$2" --base hard_base.npy --queries hard_q.npy --gt hard_gt.npy --metric l2 \
    --index hnsw --m 16 --ef-construction 200 --threads 2 --sweep 16,32,64,128,256 --k 10 $extra)"
  echo "deb $1 $("$2" --base deb_base.npy --queries deb_q.npy --gt deb_gt.npy --metric cosine \
    --index hnsw --m 16 --ef-construction 200 --threads 2 --sweep 16,32,64,128,256 --k 10 $extra)"
}
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    [ -n "$base_bin" ] && run baseline "$base_bin" none
    run exact "$bin" exact
    run sq8 "$bin" sq8
  else
    run sq8 "$bin" sq8
    run exact "$bin" exact
    [ -n "$base_bin" ] && run baseline "$base_bin" none
  fi
done
