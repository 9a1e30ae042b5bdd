#!/usr/bin/env python3
"""Training throughput of RankEdge's trainer beside PyTorch CPU, side by side on one machine.

Each round runs `rankedge train-bench` for mini-VGG k=5 (BN + dropout) and ResNet-20 and the
PyTorch anchor script (../shared/tools/torch_train_bench.py or --torch-script) with the same thread
count, so both see the same machine state; which side goes first alternates between rounds (on this
host the second of two back-to-back runs measured up to 20 % faster). The ratio is taken per round
and the median over rounds is reported, because a shared host drifts by tens of percent between
minutes.

    tools/bench_training.py --rankedge .build/release/rankedge --rounds 5 --threads 2
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

# (row name, train-bench arguments, the PyTorch script's model it is compared with)
MODELS = [("minivgg_k5_bn_dropout", ["--model", "minivgg", "--kernel", "5"], "minivgg_k5_bn_dropout"),
          ("resnet20", ["--model", "resnet20"], "resnet20")]


def rankedge_rate(binary, args, threads, seconds):
    out = subprocess.run([binary, "train-bench", *args, "--threads", str(threads), "--seconds", str(seconds), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["images_per_second"]


def torch_rates(python, script, threads):
    out = subprocess.run([python, script, str(threads)], check=True, capture_output=True, text=True).stdout
    rates = {}
    for line in out.splitlines():
        m = re.match(r"(\S+)\s+threads=\d+\s+train ([0-9.]+) img/s", line)
        if m:
            rates[m.group(1)] = float(m.group(2))
    return rates


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rankedge", default=os.path.join(here, "..", ".build", "release", "rankedge"))
    p.add_argument("--torch-python", default=os.path.join(here, "..", ".venv-torch", "bin", "python"),
                   help="a Python with torch (tools/setup.sh torch makes .venv-torch)")
    p.add_argument("--torch-script", default=os.path.join(here, "..", "..", "shared", "tools", "torch_train_bench.py"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=8.0, help="RankEdge measuring time per model and round")
    p.add_argument("--imported", metavar="RKG",
                   help="also time fine-tuning this graph (a ResNet-20 imported from PyTorch) against PyTorch's resnet20")
    a = p.parse_args()
    models = MODELS + ([("resnet20_imported", ["--graph", a.imported], "resnet20")] if a.imported else [])
    for path, what in ((a.rankedge, "--rankedge"), (a.torch_python, "--torch-python"), (a.torch_script, "--torch-script")):
        if not os.path.exists(path):
            sys.exit(f"bench_training: {what} {path} does not exist")
    ratios = {name: [] for name, _, _ in models}
    print("round  model                   RankEdge img/s  PyTorch img/s  ratio", flush=True)
    for r in range(1, a.rounds + 1):
        if r % 2 == 0:
            theirs = torch_rates(a.torch_python, a.torch_script, a.threads)
        ours = {name: rankedge_rate(a.rankedge, args, a.threads, a.seconds) for name, args, _ in models}
        if r % 2 == 1:
            theirs = torch_rates(a.torch_python, a.torch_script, a.threads)
        for name, _, torch_name in models:
            if torch_name not in theirs:
                sys.exit(f"bench_training: the PyTorch script printed no rate for {torch_name}")
            ratio = ours[name] / theirs[torch_name]
            ratios[name].append(ratio)
            print(f"{r:5d}  {name:22s}  {ours[name]:14.1f}  {theirs[torch_name]:13.1f}  {ratio:5.2f}", flush=True)
    for name, _, _ in models:
        rs = ratios[name]
        print(f"median ratio {name}: {statistics.median(rs):.2f} (min {min(rs):.2f}, max {max(rs):.2f}, {len(rs)} rounds)")


if __name__ == "__main__":
    main()
