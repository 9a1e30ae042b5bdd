#!/usr/bin/env python3
"""Batch-1 latency of several graph files side by side: every round runs `rankedge bench` on each
file (the order rotating between rounds), and each file's median over rounds is reported with its
ratio to the first file, measured the same way. For comparisons such as original against
compressed, or a latency-snapped model against the unsnapped one of the same policy.

    tools/bench_graphs.py --rankedge .build/release/rankedge --threads 1,2 --rounds 9 \\
        original.rkg ratio2.rkg ratio2-snap.rkg
"""
import argparse, json, statistics, subprocess, sys


def bench(binary, path, threads, iterations, warmup):
    r = subprocess.run([binary, "bench", path, "--threads", str(threads), "--iterations", str(iterations),
                        "--warmup", str(warmup), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_graphs: {path}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rankedge", required=True)
    ap.add_argument("--threads", default="1")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("graphs", nargs="+")
    a = ap.parse_args()
    if a.rounds < 1 or a.iterations < 1:
        sys.exit("bench_graphs: --rounds and --iterations must be at least 1")
    print("| graph | threads | MACs | median p50 ms (min–max over rounds) | ratio to first |")
    print("|---|---|---|---|---|")
    for t in [int(x) for x in a.threads.split(",")]:
        times = {g: [] for g in a.graphs}
        macs = {}
        for r in range(a.rounds):
            k = r % len(a.graphs)
            for g in a.graphs[k:] + a.graphs[:k]:
                out = bench(a.rankedge, g, t, a.iterations, a.warmup)
                times[g].append(out["p50_ms"])
                macs[g] = out["macs"]
        first = statistics.median(times[a.graphs[0]])
        for g in a.graphs:
            m = statistics.median(times[g])
            print(f"| {g} | {t} | {macs[g] / 1e6:.1f} M | {m:.3f} ({min(times[g]):.3f}–{max(times[g]):.3f}) | {m / first:.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
