#!/usr/bin/env python3
"""Turns `rankedge gemm-bench --json` output into the Markdown table of docs/BENCHMARKS.md.

Usage: rankedge gemm-bench --threads 1 --json | tools/gemm_bench_table.py [--peak 93]
Each row shows GFLOP/s and % of the per-core peak (peak × threads), then a summary of the
issue's targets: lowest ratio on squares >= 512 and the median ratio over the other shapes.
"""
import argparse
import json
import statistics
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peak", type=float, default=93.0, help="single-core peak GFLOP/s (AVX2 FMA)")
    args = parser.parse_args()
    rows = json.load(sys.stdin)
    print("| shape M×N×K | threads | RankEdge GFLOP/s (% peak) | prepacked B | OpenBLAS GFLOP/s (% peak) | ratio |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        peak = args.peak * r["threads"]
        pct = lambda g: f"{g:.1f} ({100 * g / peak:.0f}%)"
        print(f"| {r['m']}×{r['n']}×{r['k']} | {r['threads']} | {pct(r['rankedge_gflops'])} | "
              f"{pct(r['rankedge_prepacked_gflops'])} | {pct(r['openblas_gflops'])} | {r['ratio']:.2f} |")
    squares = [r for r in rows if r["m"] == r["n"] == r["k"]]
    big = [r["ratio"] for r in squares if r["m"] >= 512]
    others = [r for r in rows if not (r["m"] == r["n"] == r["k"])]
    print()
    if big:
        print(f"- squares ≥ 512: lowest ratio {min(big):.2f}")
    if others:
        print(f"- other shapes: median ratio {statistics.median(r['ratio'] for r in others):.2f} over {len(others)}; "
              f"with B prepacked: {statistics.median(r['rankedge_prepacked_gflops'] / r['openblas_gflops'] for r in others):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
