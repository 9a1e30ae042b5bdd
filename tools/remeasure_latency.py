#!/usr/bin/env python3
"""Re-measures the runtime latency columns of one experiment's rows in a results CSV from the
models the runs exported, on a machine quieter than the one the training shared.

`rankedge train --results` measures latency right after training, on whatever else the machine is
doing then; a sweep spread over sittings beside builds and other runs gets numbers from different
loads. This benchmarks every row's model in --rounds interleaved rounds, batch 1, one thread, and
writes the fastest single run over all rounds (`min_ms`; on a shared host whose speed drifts by
tens of percent within a minute, the minimum is the one statistic that repeats, since load from
elsewhere only ever slows a run) into latency_ms, and into dense_latency_ms that of the same
experiment's dense row for the same model and kernel (the dense twin: latency depends on shapes,
not weights). Other rows and columns are kept; the file is replaced atomically.

  tools/remeasure_latency.py --experiment sweep-1000 [--csv docs/experiments/results.csv]
                             [--models out/experiments] [--bin .build/release/rankedge] [--rounds 5]
"""
import argparse
import csv
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_experiments import run_name  # noqa: E402  (the runner names the exported models)
from bench_rank_latency import run_json  # noqa: E402


def fastest(binary, model, iterations):
    return run_json([binary, "bench", model, "--threads", "1", "--warmup", "10", "--iterations", str(iterations), "--json"])["min_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--csv", default="docs/experiments/results.csv")
    ap.add_argument("--models", default="out/experiments")
    ap.add_argument("--bin", default=".build/release/rankedge")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=100)
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"remeasure_latency: error: no rankedge binary at {args.bin}")
    with open(args.csv, newline="") as f:
        reader = csv.DictReader(f)
        columns, rows = reader.fieldnames, list(reader)
    chosen = [r for r in rows if r["experiment"] == args.experiment]
    if not chosen:
        sys.exit(f"remeasure_latency: error: no rows of experiment {args.experiment} in {args.csv}")
    paths = {}
    for r in chosen:
        # The runner names a run by its --dso only where one was given: the ELRT ablation (elrt:R, λ ≠ 1e-3).
        lam = float(r["dso"] or 0)
        dso = lam if r["conv"].startswith("elrt:") and abs(lam - 1e-3) > 1e-12 else None
        path = os.path.join(args.models, run_name(r["experiment"], r["model"], r["kernel"], r["conv"], r["seed"], dso) + ".rkg")
        if not os.path.exists(path):
            sys.exit(f"remeasure_latency: error: {path} (the model of {r['conv']} k={r['kernel']}) is missing")
        paths[id(r)] = path
    def twin(r):
        for d in chosen:
            if d["conv"] == "dense" and d["model"] == r["model"] and d["kernel"] == r["kernel"] and d["seed"] == r["seed"]:
                return d
        sys.exit(f"remeasure_latency: error: {args.experiment} has no dense row for {r['model']} k={r['kernel']} "
                 f"(the dense twin of {r['conv']})")
    twins = {id(r): twin(r) for r in chosen}
    measured = {id(r): [] for r in chosen}
    for round_index in range(args.rounds):
        for r in chosen:
            measured[id(r)].append(fastest(args.bin, paths[id(r)], args.iterations))
            print(f"round {round_index + 1}: {r['model']} k={r['kernel']} {r['conv']}: {measured[id(r)][-1]:.3f} ms", file=sys.stderr)
    for r in chosen:
        r["latency_ms"] = f"{min(measured[id(r)]):.4f}"
        r["dense_latency_ms"] = f"{min(measured[id(twins[id(r)])]):.4f}"
    directory = os.path.dirname(os.path.abspath(args.csv))
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, newline="", suffix=".tmp") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        temporary = f.name
    os.replace(temporary, args.csv)
    print(f"remeasure_latency: updated {len(chosen)} rows of {args.experiment} in {args.csv}", file=sys.stderr)


if __name__ == "__main__":
    main()
