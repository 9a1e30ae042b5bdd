#!/usr/bin/env python3
"""Runtime latency of mini-VGG against rank for k = 3, 5, 7 (`rankedge zoo` models, seeded random
weights: latency depends on shapes, not values), written in the results-CSV schema of
`rankedge train --results` (accuracy columns empty), so tools/plot_experiments.py draws it:

  tools/bench_rank_latency.py [--bin .build/release/rankedge] [--csv docs/experiments/zoo_latency.csv]
  tools/plot_experiments.py --csv docs/experiments/zoo_latency.csv --out docs/img/zoo

Each model is benchmarked in --rounds interleaved rounds (batch 1, one thread); the CSV keeps the
median of the rounds' p50, which damps a noisy neighbour. The file is replaced atomically.
"""
import argparse
import atexit
import csv
import datetime
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

COLUMNS = ["date", "experiment", "model", "kernel", "conv", "rank", "dso", "steps", "batch", "seed", "params",
           "macs", "test_accuracy", "train_accuracy", "train_seconds", "latency_ms", "dense_latency_ms"]


def run_json(args):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{os.path.basename(sys.argv[0])}: error: {' '.join(args)}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/release/rankedge")
    ap.add_argument("--csv", default="docs/experiments/zoo_latency.csv")
    ap.add_argument("--kernels", default="3,5,7")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=200)
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"bench_rank_latency: error: no rankedge binary at {args.bin}")
    tmp = tempfile.mkdtemp(prefix="rank-latency-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    models = []  # (k, conv, rank, path)
    for k in [int(k) for k in args.kernels.split(",")]:
        for variant in ["dense"] + [f"rank:{l}" for l in range(1, k + 1)]:
            path = os.path.join(tmp, f"k{k}-{variant.replace(':', '')}.rkg")
            subprocess.run([args.bin, "zoo", "build", f"minivgg-k{k}", "--variant", variant, "-o", path], check=True,
                           capture_output=True)
            models.append((k, variant, variant.split(":")[1] if ":" in variant else "", path))
    p50 = {m[3]: [] for m in models}
    info = {m[3]: run_json([args.bin, "info", m[3], "--json"]) for m in models}
    for r in range(args.rounds):
        for k, variant, rank, path in models:
            report = run_json([args.bin, "bench", path, "--threads", "1", "--warmup", "20",
                               "--iterations", str(args.iterations), "--json"])
            p50[path].append(report["p50_ms"])
            print(f"round {r + 1}: k={k} {variant}: p50 {report['p50_ms']:.3f} ms", file=sys.stderr)
    dense = {k: statistics.median(p50[path]) for k, variant, _, path in models if variant == "dense"}
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for k, variant, rank, path in models:
        w.writerow([date, "zoo-latency", "minivgg", k, variant, rank, 0, 0, 1, 0, info[path]["params"], info[path]["macs"],
                    "", "", "", f"{statistics.median(p50[path]):.4f}", f"{dense[k]:.4f}"])
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(args.csv)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(out.getvalue())
    os.replace(temp, args.csv)
    print(f"wrote {args.csv} ({len(models)} models)", file=sys.stderr)


if __name__ == "__main__":
    main()
