#!/usr/bin/env python3
"""Paired A/B timing of two builds of ailake_ann_bench on one saved index.

This host's speed for memory-bound code moves by up to 2x within seconds
(other tenants share its last-level cache), so two runs timed one after the
other cannot show a 10% change. Here both builds load the same index
(--load-index, saved once with --save-index), wait in --serve mode, and are
sent the same small slice of queries in turn, on the same core, the order
swapped every round: each slice's two timings share the machine's state.
Two processes of each build take turns, so that where a process's memory
landed weighs on both sides. The result is the median of the per-slice
ratios of A's time to B's (above 1: B is faster), with its quartiles.

  pair_ab.py --a OLD_BIN --b NEW_BIN --index BLOB [--index-b BLOB_B] --base B.npy \\
             --queries Q.npy --gt GT.npy [--metric l2] [--params 64,128] [--slice 50] \\
             [--rounds 200]
"""
import argparse
import os
import statistics
import subprocess
import sys


def start(binary, args, core, index, extra):
    cmd = ["taskset", "-c", str(core), binary, "--base", args.base, "--queries", args.queries,
           "--gt", args.gt, "--metric", args.metric, "--index", args.kind,
           "--load-index", index, "--serve", "1"] + extra.split()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    header = proc.stdout.readline()  # the build line, ended once loaded
    if not header:
        sys.exit(f"{binary} did not start")
    return proc


def ask(proc, param, first, count):
    proc.stdin.write(f"{param} {first} {count}\n")
    proc.stdin.flush()
    cpu, hits = proc.stdout.readline().split()
    return float(cpu), int(hits)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--index", required=True, help="blob saved by ailake_ann_bench --save-index")
    ap.add_argument("--index-b", help="B's blob, when B loads another index (for example the "
                    "same graph with other traversal codes; --b may then be --a's binary)")
    ap.add_argument("--a-args", default="", help="more ailake_ann_bench flags for A")
    ap.add_argument("--b-args", default="", help="more ailake_ann_bench flags for B "
                    "(for example --search-refine 4)")
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--gt", required=True)
    ap.add_argument("--metric", default="l2")
    ap.add_argument("--kind", default="hnsw")
    ap.add_argument("--params", default="64,128")
    ap.add_argument("--slice", type=int, default=50, help="queries per timed slice")
    ap.add_argument("--rounds", type=int, default=200, help="slices per parameter")
    ap.add_argument("--core", type=int, default=0)
    args = ap.parse_args()
    # Two processes of each build, started A B B A: whichever of a pair
    # starts first (and so where its memory lies) weighs on both orders alike.
    index_b = args.index_b or args.index
    side_a, side_b = (args.a, args.index, args.a_args), (args.b, index_b, args.b_args)
    procs = [start(binary, args, args.core, index, extra)
             for binary, index, extra in (side_a, side_b, side_b, side_a)]
    pairs = [(procs[0], procs[1]), (procs[3], procs[2])]
    nq = 1000
    try:
        for param in [int(p) for p in args.params.split(",")]:
            ratios, ta, tb, ha, hb = [], 0.0, 0.0, 0, 0
            for r in range(args.rounds):
                first = (r * args.slice) % nq
                # The pairs take turns every round and the order swaps every
                # round: A1 B1, B2 A2, A1 B1, ... No process runs twice in a
                # row (its own data still in the caches), and each build
                # follows the other build's process and its own other process
                # equally often. (Swapping the pair every second round ran
                # B1 B1 and B2 B2 back to back: identical builds read B
                # 1.04-1.06x faster.)
                a, b = pairs[r % 2]
                order = [(a, 0), (b, 1)] if r % 2 == 0 else [(b, 1), (a, 0)]
                got = {}
                for proc, which in order:
                    got[which] = ask(proc, param, first, args.slice)
                ratios.append(got[0][0] / got[1][0])  # A time / B time: > 1 = B faster
                ta, tb = ta + got[0][0], tb + got[1][0]
                ha, hb = ha + got[0][1], hb + got[1][1]
            q = statistics.quantiles(ratios, n=4)
            n = args.rounds * args.slice
            print(f"param {param}: B is {statistics.median(ratios):.3f}x as fast as A "
                  f"(quartiles {q[0]:.3f}-{q[2]:.3f}; total time {ta / tb:.3f}x); "
                  f"QPS A {n / ta:,.0f} B {n / tb:,.0f}; "
                  f"hits A {ha} B {hb}", flush=True)
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()


if __name__ == "__main__":
    main()
