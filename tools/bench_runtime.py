#!/usr/bin/env python3
"""RankEdge runtime latency against ONNX Runtime on the same graphs, in the same run.

For each zoo model and variant: `rankedge zoo build`, `rankedge export` to ONNX, then for each
thread count alternate `rankedge bench --json` and ONNX Runtime (CPU provider, intra_op threads =
the same count, graph optimisations on, batch 1) for several rounds. Each round measures a p50 over
--iterations runs after a warm-up; the table keeps each engine's best round, so load from other
processes (which comes and goes) penalises both engines alike. Writes a Markdown table and JSON.

Usage: tools/bench_runtime.py --rankedge .build/release/rankedge [--work DIR] [--iterations N]
       [--rounds R] [--threads 1,2] [--models resnet56:dense,resnet56:lrd,...]
"""
import argparse, json, os, subprocess, sys, time

DEFAULT_MODELS = (
    ["resnet50:dense", "resnet50:lrd", "resnet56:dense", "resnet56:lrd"]
    + ["minivgg-k7:dense"] + [f"minivgg-k7:rank:{l}" for l in range(1, 8)]
    + [f"resnet20:{v}" for v in ["dense", "lrd", "merged", "branched:2", "branched:4", "rank:1", "rank:2", "rank:3"]]
)


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def ort_p50(path, threads, iterations, warmup, shape):
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    x = np.random.default_rng(42).uniform(-1, 1, size=shape).astype("float32")
    for _ in range(warmup):
        s.run(None, {name: x})
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        s.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2], times[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rankedge", required=True)
    ap.add_argument("--work", default="out/bench")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--big-iterations", type=int, default=12, help="timed runs for the 224×224 models")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--no-ort", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = []
    for spec in a.models.split(","):
        name, variant = spec.split(":", 1)
        tag = f"{name}-{variant.replace(':', '')}"
        rkg, onnx = os.path.join(a.work, tag + ".rkg"), os.path.join(a.work, tag + ".onnx")
        if not os.path.exists(rkg):
            sh(a.rankedge, "zoo", "build", name, "--variant", variant, "-o", rkg)
        if not a.no_ort and not os.path.exists(onnx):
            sh(a.rankedge, "export", rkg, "-o", onnx)
        big = name in ("resnet18", "resnet50")
        side = 224 if big else 32
        iterations = a.big_iterations if big else a.iterations
        for t in [int(x) for x in a.threads.split(",")]:
            best_re, best_ort, report = None, None, None
            for _ in range(a.rounds):
                out = json.loads(sh(a.rankedge, "bench", rkg, "--threads", str(t), "--iterations", str(iterations),
                                    "--warmup", str(a.warmup), "--json"))
                if best_re is None or out["p50_ms"] < best_re:
                    best_re, report = out["p50_ms"], out
                if not a.no_ort:
                    p50, _ = ort_p50(onnx, t, iterations, a.warmup, (1, 3, side, side))
                    best_ort = p50 if best_ort is None else min(best_ort, p50)
            row = {"model": name, "variant": variant, "threads": t, "macs": report["macs"],
                   "rankedge_p50_ms": round(best_re, 3), "rankedge_min_ms": round(report["min_ms"], 3),
                   "ort_p50_ms": None if best_ort is None else round(best_ort, 3),
                   "ratio": None if best_ort is None else round(best_re / best_ort, 3),
                   "peak_arena_bytes": report["peak_arena_bytes"], "arena_lower_bound_bytes": report["arena_lower_bound_bytes"],
                   "allocations_per_inference": report.get("allocations_per_inference")}
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(os.path.join(a.work, "bench.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("\n| model | variant | threads | MACs | RankEdge p50 ms | ONNX Runtime p50 ms | ratio | arena / bound |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ort_cell = "—" if r["ort_p50_ms"] is None else f"{r['ort_p50_ms']:.3f}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
        arena = r["peak_arena_bytes"] / max(r["arena_lower_bound_bytes"], 1)
        print(f"| {r['model']} | {r['variant']} | {r['threads']} | {r['macs'] / 1e6:.1f} M | {r['rankedge_p50_ms']:.3f} | {ort_cell} | {ratio} | {arena:.3f} |")


if __name__ == "__main__":
    main()
