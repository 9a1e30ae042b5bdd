#!/usr/bin/env python3
"""Runs the docs/EXPERIMENTS.md training experiments with `rankedge train --results`, skipping every
configuration the CSV already holds, so a sweep can be spread over several sittings.

  tools/run_experiments.py sweep --data DIR [--iterations 1000] [--kernels 5,7,3]
      mini-VGG (BN + dropout, Adam 1e-3 cosine, batch 64) for each k: dense, then rank:1..k
      (--ranks 0,2,4: only those; 0 is the dense model).
  tools/run_experiments.py elrt --data DIR [--epochs 5]
      CIFAR ResNet-20 dense, tucker2:2 (no DSO), elrt:2 (DSO) and the ablation elrt:2 with --dso 0
      (ELRT's initialisation without its regulariser), SGD 0.1 Nesterov, cosine, wd 5e-4.
  tools/run_experiments.py protocol --data DIR [--kernel 5] [--ranks 1,2,5]
      the seed's full protocol (10 000 iterations) for rank:L models (rank 0: the dense conv), with
      checkpoints (resumable).

Common: --csv (default docs/experiments/results.csv), --bin (default .build/release/rankedge),
--out (models, default out/experiments), --threads (passed to train), --dry-run (print the commands only).
"""
import argparse
import csv
import os
import subprocess
import sys


def configuration_key(experiment, kernel, conv, dso, seed):
    # dso separates the ELRT ablation (elrt:2 with --dso 0) from ELRT itself; "" and 0.0 mean no DSO.
    return (experiment, str(kernel), conv, float(dso or 0), str(seed))


def run_name(label, model, kernel, conv, seed, dso=None):
    """The file name (without extension) a run's model and checkpoint directory get in --out."""
    suffix = "" if dso is None else f"-dso{dso:g}"
    return f"{label}-{model}-k{kernel}-{conv.replace(':', '')}{suffix}-seed{seed}"


def done_configurations(path):
    """configuration_key of every row already in the CSV."""
    if not os.path.exists(path):
        return set()
    with open(path, newline="") as f:
        return {configuration_key(r["experiment"], r["kernel"], r["conv"], r["dso"], r["seed"])
                for r in csv.DictReader(f)}


def plan(args):
    """Yields (label, kernel, conv, dso, extra train arguments) in the order they should run; dso None
    leaves the trainer's default (1e-3 for elrt, none otherwise)."""
    if args.command == "sweep":
        label = f"sweep-{args.iterations}"
        only = None if args.ranks is None else {int(r) for r in args.ranks.split(",")}
        for k in [int(k) for k in args.kernels.split(",")]:
            for conv in ["dense"] + [f"rank:{l}" for l in range(1, k + 1)]:
                if only is not None and (0 if conv == "dense" else int(conv.split(":")[1])) not in only:
                    continue
                yield label, k, conv, None, ["--model", "minivgg", "--kernel", str(k), "--conv", conv,
                                       "--iterations", str(args.iterations), "--optimizer", "adam", "--lr", "1e-3",
                                       "--schedule", "cosine", "--eval-every", "0"]
    elif args.command == "elrt":
        label = f"elrt-{args.epochs:g}ep"
        for conv, dso in [("dense", None), ("tucker2:2", None), ("elrt:2", None), ("elrt:2", 0.0)]:
            extra = [] if dso is None else ["--dso", f"{dso:g}"]
            yield label, 3, conv, dso, ["--model", "resnet20", "--conv", conv, "--epochs", f"{args.epochs:g}",
                                        "--optimizer", "sgd", "--lr", "0.1", "--nesterov", "--weight-decay", "5e-4",
                                        "--schedule", "cosine", "--eval-every", "0"] + extra
    else:
        for rank in [int(r) for r in (args.ranks or "1,2,5").split(",")]:
            # rank = k is a full-rank RankConv2D (factored parameters, trained as such), not the dense
            # conv: the sweep shows the two train differently. The dense reference is `--ranks 0`.
            conv = "dense" if rank == 0 else f"rank:{rank}"
            yield "protocol", args.kernel, conv, None, ["--model", "minivgg", "--kernel", str(args.kernel), "--conv", conv,
                                                  "--iterations", "10000", "--optimizer", "adam", "--lr", "1e-3",
                                                  "--schedule", "cosine", "--eval-every", "1000"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["sweep", "elrt", "protocol"])
    p.add_argument("--data", required=True, help="CIFAR-10 binary directory")
    p.add_argument("--csv", default="docs/experiments/results.csv")
    p.add_argument("--bin", default=".build/release/rankedge")
    p.add_argument("--out", default="out/experiments")
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--kernels", default="5,7,3")
    p.add_argument("--epochs", type=float, default=5)
    p.add_argument("--kernel", type=int, default=5)
    p.add_argument("--ranks", help="protocol: ranks to run (default 1,2,5); sweep: only these ranks "
                   "(default all; 0 = dense), so two workers can share a sweep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="training threads (default: the trainer's)")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"run_experiments: error: no dataset directory {args.data}")
    if not args.dry_run and not os.access(args.bin, os.X_OK):
        sys.exit(f"run_experiments: error: no rankedge binary at {args.bin} (swift build -c release)")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    done = done_configurations(args.csv)
    for label, k, conv, dso, train_args in plan(args):
        default_dso = 1e-3 if conv.startswith("elrt:") else 0.0
        if configuration_key(label, k, conv, default_dso if dso is None else dso, args.seed) in done:
            print(f"skip {label} k={k} {conv} dso={dso}: already in {args.csv}", file=sys.stderr)
            continue
        name = run_name(label, train_args[1], k, conv, args.seed, dso)
        command = [args.bin, "train"] + train_args + [
            "--data", args.data, "--batch", "64", "--seed", str(args.seed), "--results", args.csv, "--tag", label,
            "--checkpoint", os.path.join(args.out, name + "-ckpt"), "--checkpoint-every", "250",
            "-o", os.path.join(args.out, name + ".rkg")]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if os.path.exists(os.path.join(args.out, name + "-ckpt", "checkpoint.rkck")):
            command.append("--resume")
        print(" ".join(command), file=sys.stderr, flush=True)
        if args.dry_run:
            continue
        result = subprocess.run(command)
        if result.returncode != 0:
            sys.exit(f"run_experiments: error: {name} failed (exit {result.returncode}); rerun to resume it")


if __name__ == "__main__":
    main()
