#!/usr/bin/env python3
"""Batch-1 latency of several graph files side by side: every round runs `rankedge bench` on each
file (the order rotating between rounds), and each file's median over rounds is reported with its
ratio to the first file, measured the same way. For comparisons such as original against
compressed, or a latency-snapped model against the unsnapped one of the same policy.

With --peers ort,openvino the same graphs, exported by `rankedge export`, are timed in the same
rounds by ONNX Runtime (CPU provider, all graph optimisations, sequential, intra-op threads = the
thread count) and OpenVINO (CPU, INFERENCE_PRECISION_HINT=f32, one stream, LATENCY hint,
INFERENCE_NUM_THREADS = the thread count): each round visits every graph and engine in a rotating
order, each measurement is a p50 over --iterations runs after --warmup.

With --baseline OTHER_BINARY another build of rankedge times the same graphs in the same rounds (a
refactor's before and after): the last column is then this build over the baseline.

    tools/bench_graphs.py --rankedge .build/release/rankedge --threads 1,2 --rounds 9 \\
        original.rkg ratio2.rkg ratio2-snap.rkg [--peers ort,openvino] [--baseline old/rankedge] [--json out.json]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time


def fail(message):
    sys.exit(f"bench_graphs: {message}")


def bench(binary, path, threads, iterations, warmup):
    r = subprocess.run([binary, "bench", path, "--threads", str(threads), "--iterations", str(iterations),
                        "--warmup", str(warmup), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{path}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def p50(run, iterations, warmup):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, path, threads):
        import numpy as np
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        i = self.session.get_inputs()[0]
        self.feed = {i.name: np.random.default_rng(42).uniform(-1, 1, size=[d if isinstance(d, int) else 1 for d in i.shape]).astype("float32")}

    def __call__(self):
        self.session.run(None, self.feed)


class OpenVINO:
    name = "openvino"

    def __init__(self, path, threads):
        import numpy as np
        import openvino as ov
        core = ov.Core()
        model = core.read_model(path)
        shape = [d.get_length() if d.is_static else 1 for d in model.inputs[0].get_partial_shape()]
        model.reshape({model.inputs[0].any_name: shape})
        self.compiled = core.compile_model(model, "CPU", {
            "INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": "1", "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": str(threads)})
        self.request = self.compiled.create_infer_request()
        self.x = np.random.default_rng(42).uniform(-1, 1, size=shape).astype("float32")

    def __call__(self):
        self.request.infer({0: self.x})


PEERS = {"ort": OnnxRuntime, "openvino": OpenVINO}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rankedge", required=True)
    ap.add_argument("--threads", default="1")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--peers", default="", help="comma-separated: ort, openvino")
    ap.add_argument("--baseline", help="another rankedge binary timed on the same graphs in the same rounds")
    ap.add_argument("--json", help="also write every round's times here")
    ap.add_argument("graphs", nargs="+")
    a = ap.parse_args()
    if a.rounds < 1 or a.iterations < 1:
        fail("--rounds and --iterations must be at least 1")
    peers = [p for p in a.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            fail(f"unknown peer '{p}' (ort, openvino)")
    for g in a.graphs:
        if not os.path.isfile(g):
            fail(f"{g}: no such file")
    if a.baseline and not os.access(a.baseline, os.X_OK):
        fail(f"--baseline {a.baseline}: not an executable")
    for p in peers:
        module = {"ort": "onnxruntime", "openvino": "openvino"}[p]
        try:
            __import__(module)
        except ImportError:
            fail(f"--peers {p} needs the {module} package (pip install {module})")
    threads = [int(x) for x in a.threads.split(",")]
    work = tempfile.mkdtemp(prefix="bench-graphs-")
    onnx = {}
    if peers:
        for g in a.graphs:
            onnx[g] = os.path.join(work, os.path.basename(g) + ".onnx")
            r = subprocess.run([a.rankedge, "export", g, "-o", onnx[g]], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"export {g}: {r.stderr.strip()}")
    engines = ["rankedge"] + (["baseline"] if a.baseline else []) + [PEERS[p].name for p in peers]
    peer_engines = [PEERS[p].name for p in peers]
    results = []
    header = "| graph | threads | MACs | " + " | ".join(f"{e} p50 ms (× first)" for e in engines)
    extra = (["RankEdge / best peer"] if peers else []) + (["RankEdge / baseline"] if a.baseline else [])
    print(header + "".join(f" | {x}" for x in extra) + " |")
    print("|" + "---|" * (3 + len(engines) + len(extra)))
    for t in threads:
        sessions = {(g, PEERS[p].name): PEERS[p](onnx[g], t) for g in a.graphs for p in peers}
        times = {(g, e): [] for g in a.graphs for e in engines}
        macs = {}
        order = [(g, e) for g in a.graphs for e in engines]
        for r in range(a.rounds):
            k = r % len(order)
            for g, e in order[k:] + order[:k]:
                if e in ("rankedge", "baseline"):
                    out = bench(a.rankedge if e == "rankedge" else a.baseline, g, t, a.iterations, a.warmup)
                    times[(g, e)].append(out["p50_ms"])
                    macs[g] = out["macs"]
                else:
                    times[(g, e)].append(p50(sessions[(g, e)], a.iterations, a.warmup))
        for g in a.graphs:
            cells = []
            for e in engines:
                m = statistics.median(times[(g, e)])
                first = statistics.median(times[(a.graphs[0], e)])
                cells.append(f"{m:.3f} ({m / first:.2f})")
            row = f"| {g} | {t} | {macs[g] / 1e6:.1f} M | " + " | ".join(cells)
            ours = statistics.median(times[(g, "rankedge")])
            if peers:
                best = min(statistics.median(times[(g, e)]) for e in peer_engines)
                row += f" | {ours / best:.2f}"
            if a.baseline:
                row += f" | {ours / statistics.median(times[(g, 'baseline')]):.3f}"
            print(row + " |", flush=True)
            results.append({"graph": g, "threads": t, "macs": macs[g],
                            "p50_ms": {e: times[(g, e)] for e in engines}})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rounds": a.rounds, "iterations": a.iterations, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
