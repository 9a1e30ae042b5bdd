#!/usr/bin/env python3
"""Step time of `rankedge finetune` with and without seed 003's factor freezing, on the same
graph, alternating in every round; prints the median ms/step of each and the saving.

    tools/bench_finetune_freeze.py --data DIR [--model resnet20 --variant tucker2] [--rounds 3]
"""
import argparse, os, re, statistics, subprocess, sys, tempfile


def step_ms(binary, args):
    p = subprocess.run([binary, "finetune"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_finetune_freeze: finetune failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
    m = re.search(r"([0-9.]+) ms/step", p.stderr)
    if not m:
        sys.exit("bench_finetune_freeze: no ms/step in finetune's output")
    return float(m.group(1))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rankedge", default=os.path.join(here, "..", ".build", "release", "rankedge"))
    p.add_argument("--data", required=True, help="CIFAR-10 binary folder")
    p.add_argument("--model", default="resnet20")
    p.add_argument("--variant", default="tucker2", help="zoo variant with decomposed layers (tucker2, lrd, branched:N)")
    p.add_argument("--scheme", default="first-last")
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        graph = os.path.join(tmp, "model.rkg")
        subprocess.run([a.rankedge, "zoo", "build", a.model, "--variant", a.variant, "-o", graph], check=True, capture_output=True)
        common = [graph, "--data", a.data, "--iterations", str(a.iterations), "--batch", str(a.batch), "--threads", str(a.threads),
                  "--val", "200", "--eval-limit", "200", "--eval-every", "0", "-o", os.path.join(tmp, "out.rkg")]
        times = {"none": [], a.scheme: []}
        for r in range(a.rounds):
            order = ["none", a.scheme] if r % 2 == 0 else [a.scheme, "none"]
            for scheme in order:
                times[scheme].append(step_ms(a.rankedge, common + ["--freeze-factors", scheme]))
            print(f"round {r + 1}: " + ", ".join(f"{s} {times[s][-1]:.1f} ms" for s in times), flush=True)
    base, frozen = statistics.median(times["none"]), statistics.median(times[a.scheme])
    print(f"{a.model} {a.variant}, batch {a.batch}, {a.threads} threads: unfrozen {base:.1f} ms/step, "
          f"--freeze-factors {a.scheme} {frozen:.1f} ms/step, {100 * (1 - frozen / base):.1f} % lower")


if __name__ == "__main__":
    main()
