#!/usr/bin/env python3
"""Fine-tuning step time of a decomposed graph with and without seed 003's factor freezing
(`rankedge train-bench --graph G --freeze-factors S`: forward, backward and Adam update on random
batches), the two alternating in every round; prints the median ms/step of each and the saving.

    tools/bench_finetune_freeze.py [--graph G.rkg | --model resnet20 --variant tucker2] [--rounds 5]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile


def step_ms(binary, graph, scheme, batch, threads, seconds):
    p = subprocess.run([binary, "train-bench", "--graph", graph, "--freeze-factors", scheme, "--batch", str(batch),
                        "--threads", str(threads), "--seconds", str(seconds), "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_finetune_freeze: train-bench failed: {(p.stderr.strip().splitlines() or [str(p.returncode)])[-1]}")
    return 1000 * batch / json.loads(p.stdout)["images_per_second"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rankedge", default=os.path.join(here, "..", ".build", "release", "rankedge"))
    p.add_argument("--graph", help="a graph with decomposed layers (default: a zoo model built with --model/--variant)")
    p.add_argument("--model", default="resnet20")
    p.add_argument("--variant", default="tucker2", help="zoo variant with decomposed layers (tucker2, lrd, branched:N)")
    p.add_argument("--scheme", default="first-last")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        graph = a.graph
        if graph is None:
            graph = os.path.join(tmp, "model.rkg")
            subprocess.run([a.rankedge, "zoo", "build", a.model, "--variant", a.variant, "-o", graph], check=True, capture_output=True)
        times = {"none": [], a.scheme: []}
        for r in range(a.rounds):
            for scheme in (["none", a.scheme] if r % 2 == 0 else [a.scheme, "none"]):
                times[scheme].append(step_ms(a.rankedge, graph, scheme, a.batch, a.threads, a.seconds))
            print(f"round {r + 1}: " + ", ".join(f"{s} {times[s][-1]:.1f} ms/step" for s in times), flush=True)
    base, frozen = statistics.median(times["none"]), statistics.median(times[a.scheme])
    what = a.graph or f"{a.model} {a.variant}"
    print(f"{what}, batch {a.batch}, {a.threads} threads: unfrozen {base:.1f} ms/step, "
          f"--freeze-factors {a.scheme} {frozen:.1f} ms/step, {100 * (1 - frozen / base):.1f} % lower")


if __name__ == "__main__":
    main()
