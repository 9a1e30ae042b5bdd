#!/usr/bin/env python3
"""Dense → compressed speedup of one zoo model, both graphs timed side by side in every round.

bench_runtime.py times all rounds of one graph before the next, minutes apart on a host whose speed
drifts by tens of percent between minutes, so the ratio of its two rows mixes the host's drift into
the speedup. Here each round runs `rankedge bench` on the dense graph and on the compressed one back
to back (the order alternating between rounds, since the second of two runs is often faster), and
the speedup is taken per round; the median over rounds is reported beside the MAC ratio. With ONNX
Runtime available, its own speedup is measured the same way, for reference.

    tools/bench_speedup.py --rankedge .build/release/rankedge --model resnet50 --variant lrd \
        --rounds 9 --iterations 15 --threads 1,2
"""
import argparse, json, os, statistics, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_runtime import ort_p50, sh  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rankedge", required=True)
    ap.add_argument("--work", default="out/bench")
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--variant", default="lrd")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-ort", action="store_true")
    a = ap.parse_args()
    if a.rounds < 1 or a.iterations < 1:
        sys.exit("bench_speedup: --rounds and --iterations must be at least 1")
    os.makedirs(a.work, exist_ok=True)
    graphs = {}
    for variant in ("dense", a.variant):
        tag = f"{a.model}-{variant.replace(':', '')}"
        rkg, onnx = os.path.join(a.work, tag + ".rkg"), os.path.join(a.work, tag + ".onnx")
        if not os.path.exists(rkg):
            sh(a.rankedge, "zoo", "build", a.model, "--variant", variant, "-o", rkg)
        if not a.no_ort and not os.path.exists(onnx):
            sh(a.rankedge, "export", rkg, "-o", onnx)
        graphs[variant] = (rkg, onnx)
    side = 224 if a.model in ("resnet18", "resnet50") else 32
    results = []
    for t in [int(x) for x in a.threads.split(",")]:
        ours, theirs, macs = [], [], {}
        for r in range(a.rounds):
            order = ("dense", a.variant) if r % 2 == 0 else (a.variant, "dense")
            p50 = {}
            for v in order:
                out = json.loads(sh(a.rankedge, "bench", graphs[v][0], "--threads", str(t), "--iterations",
                                    str(a.iterations), "--warmup", str(a.warmup), "--json"))
                p50[v], macs[v] = out["p50_ms"], out["macs"]
            ours.append(p50["dense"] / p50[a.variant])
            line = f"threads {t} round {r + 1}: RankEdge dense {p50['dense']:.2f} ms, {a.variant} {p50[a.variant]:.2f} ms, speedup {ours[-1]:.3f}"
            if not a.no_ort:
                ort = {v: ort_p50(graphs[v][1], t, a.iterations, a.warmup, (1, 3, side, side))[0] for v in order}
                theirs.append(ort["dense"] / ort[a.variant])
                line += f"; ONNX Runtime {ort['dense']:.2f} / {ort[a.variant]:.2f} ms, speedup {theirs[-1]:.3f}"
            print(line, flush=True)
        mac_ratio = macs["dense"] / macs[a.variant]
        row = {"model": a.model, "variant": a.variant, "threads": t, "rounds": a.rounds, "mac_ratio": round(mac_ratio, 3),
               "speedup_median": round(statistics.median(ours), 3), "speedup_min": round(min(ours), 3),
               "speedup_max": round(max(ours), 3),
               "of_mac_ratio": round(statistics.median(ours) / mac_ratio, 3),
               "ort_speedup_median": round(statistics.median(theirs), 3) if theirs else None}
        results.append(row)
        print(json.dumps(row), flush=True)
    print("\n| model | variant | threads | MAC ratio | RankEdge speedup, median (min–max) | × MAC ratio | ONNX Runtime speedup |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        ort_cell = "—" if r["ort_speedup_median"] is None else f"{r['ort_speedup_median']:.2f}"
        print(f"| {r['model']} | {r['variant']} | {r['threads']} | {r['mac_ratio']:.2f} | {r['speedup_median']:.2f} "
              f"({r['speedup_min']:.2f}–{r['speedup_max']:.2f}) | {r['of_mac_ratio']:.2f} | {ort_cell} |")


if __name__ == "__main__":
    main()
