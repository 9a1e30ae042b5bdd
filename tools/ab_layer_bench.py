#!/usr/bin/env python3
"""Per-layer A/B of rankedge builds on one model: alternating `rankedge bench --per-layer --json`
runs (the order flips every round), then per build the median p50 and, per layer shape, the
median over rounds of the summed step times.

Usage:
  tools/ab_layer_bench.py MODEL.rkg OLD_RANKEDGE NEW_RANKEDGE [--rounds 6] [--threads 1]
                          [--iterations 10] [--warmup 2] [--top 40] [-- extra bench flags]

A layer shape is (kernel, the step name's last component, output side, output channels, input
channels per output): the 17 `svd_u` steps of a ResNet-50 LRD stage group into four rows. Rows are
sorted by the slower build's time; a shape whose kernel changed has a row per kernel. The numbers
are medians, so one disturbed round does not move them; still, run nothing else meanwhile.
"""
import argparse
import json
import subprocess
import sys
from collections import defaultdict

PROG = "ab_layer_bench.py"


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def shape_key(layer):
    s = layer["output_shape"]
    if len(s) != 4:
        return None
    inputs = layer["macs"] // max(1, s[0] * s[1] * s[2] * s[3])
    return (layer["op"], layer["name"].split(".")[-1], s[1], s[3], inputs)


def bench(binary, args):
    command = [binary, "bench", args.model, "--threads", str(args.threads), "--iterations", str(args.iterations),
               "--warmup", str(args.warmup), "--per-layer", "--json"] + args.extra
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {result.returncode}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("builds", nargs=2, metavar="RANKEDGE")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--top", type=int, default=40, help="layer shapes to print")
    parser.add_argument("extra", nargs="*", help="after --: more `rankedge bench` flags")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    p50 = defaultdict(list)
    layers = {b: defaultdict(list) for b in args.builds}
    try:
        for round_index in range(args.rounds):
            for build in args.builds if round_index % 2 == 0 else args.builds[::-1]:
                report = bench(build, args)
                p50[build].append(report["p50_ms"])
                summed = defaultdict(float)
                for layer in report["layers"]:
                    key = shape_key(layer)
                    if key:
                        summed[key] += layer["ms"]
                for key, ms in summed.items():
                    layers[build][key].append(ms)
            print(f"round {round_index + 1}: " + ", ".join(f"{b} p50 {p50[b][-1]:.2f} ms" for b in args.builds),
                  file=sys.stderr)
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1

    first, second = args.builds
    print("| layer shape (kernel, step, side, out, in) | " + " | ".join(args.builds) + " |")
    print("|---|---|---|")
    print(f"| network p50 | {median(p50[first]):.2f} | {median(p50[second]):.2f} |")
    # Shapes whose kernel changed between the builds appear once per kernel, "—" where a build has none.
    keys = set(layers[first]) | set(layers[second])
    def cell(build, key):
        times = layers[build].get(key)
        return f"{median(times):.3f}" if times else "—"
    def cost(key):
        return -max(median(layers[b][key]) if layers[b].get(key) else 0 for b in args.builds)
    for key in sorted(keys, key=cost)[:args.top]:
        print(f"| {key} | {cell(first, key)} | {cell(second, key)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
