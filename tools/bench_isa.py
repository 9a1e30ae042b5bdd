#!/usr/bin/env python3
"""RankEdge's kernel families side by side on the same machine: each zoo model is compiled once per
ISA (`rankedge compile --target ISA`, so each target makes its own measured choices) and the
compiled files are timed alternately, `rankedge bench --json` per visit, the order rotating every
round; the table gives each ISA's median p50 over rounds and the ratio to the first ISA.

Usage: tools/bench_isa.py --rankedge .build/release/rankedge [--isas avx2,avx512] [--threads 1,2]
       [--rounds 5] [--iterations 50] [--models resnet20:dense,...] [--work DIR] [--json out.json]
"""
import argparse, json, os, statistics, subprocess, sys

DEFAULT_MODELS = (
    [f"resnet20:{v}" for v in ["dense", "lrd", "merged", "branched:4", "rank:2"]]
    + ["resnet56:dense", "resnet56:lrd", "minivgg-k3:dense", "minivgg-k5:rank:1", "minivgg-k7:dense", "minivgg-k7:rank:3"]
    + ["vgg11:dense", "vgg16:lrd", "resnet18:dense", "resnet18:lrd", "resnet50:dense", "resnet50:lrd"]
)


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_isa: {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rankedge", required=True)
    ap.add_argument("--isas", default="avx2,avx512")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--work", default=".build/bench-isa")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.rounds < 1 or a.iterations < 1:
        sys.exit("bench_isa: --rounds and --iterations must be ≥ 1")
    isas = a.isas.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    os.makedirs(a.work, exist_ok=True)
    rows = []
    for spec in a.models.split(","):
        name, _, variant = spec.partition(":")
        base = os.path.join(a.work, spec.replace(":", "_"))
        run(a.rankedge, "zoo", "build", name, "--variant", variant or "dense", "-o", base + ".rkg")
        for t in threads:
            files = {}
            for isa in isas:
                files[isa] = f"{base}.{isa}.t{t}.rkg"
                run(a.rankedge, "compile", base + ".rkg", "-o", files[isa], "--target", isa, "--threads", str(t))
            p50s = {isa: [] for isa in isas}
            for r in range(a.rounds):
                order = isas[r % len(isas):] + isas[:r % len(isas)]
                for isa in order:
                    out = json.loads(run(a.rankedge, "bench", files[isa], "--threads", str(t), "--json",
                                         "--iterations", str(a.iterations), "--warmup", "10"))
                    p50s[isa].append(out["p50_ms"])
            med = {isa: statistics.median(v) for isa, v in p50s.items()}
            row = {"model": spec, "threads": t, **{f"{isa}_ms": med[isa] for isa in isas}}
            for isa in isas[1:]:
                row[f"{isa}_over_{isas[0]}"] = med[isa] / med[isas[0]]
            rows.append(row)
            cells = "  ".join(f"{isa} {med[isa]:8.3f} ms" for isa in isas)
            ratios = "  ".join(f"{isa}/{isas[0]} {med[isa] / med[isas[0]]:.3f}" for isa in isas[1:])
            print(f"{spec:22s} t={t}  {cells}  {ratios}", flush=True)
    for isa in isas[1:]:
        for t in threads:
            rs = [r[f"{isa}_over_{isas[0]}"] for r in rows if r["threads"] == t]
            print(f"threads {t}: {isa}/{isas[0]} median {statistics.median(rs):.3f}, range {min(rs):.3f}–{max(rs):.3f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
