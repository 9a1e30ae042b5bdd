#!/usr/bin/env python3
"""RankEdge against ONNX Runtime and OpenVINO on the same graphs, in the same run, at 1 and 2 threads.

Models: zoo variants (`rankedge zoo build`, then `rankedge export` for the peers) and ONNX files
such as the torchvision CNNs of tools/torchvision_import.py (`rankedge import` for RankEdge; the
peers run the original file). Each round visits every engine in a rotating order, each visit is a
p50 over --iterations runs after --warmup, and the table reports each engine's median over rounds,
so load from other processes (which comes and goes) falls on all engines alike. The peers are
those of tools/bench_graphs.py: ONNX Runtime (CPU provider, all graph optimisations, sequential)
and OpenVINO (CPU, INFERENCE_PRECISION_HINT=f32, one stream, LATENCY hint), both with as many
intra-op threads as RankEdge.

--load-core N adds a loaded condition beside the idle one (issue #28): in every round each engine
is timed once with the machine as it is and once with a busy process pinned to core N by taskset
(started before the visit and stopped after it), so the two conditions alternate too.

Usage: tools/bench_runtime.py --rankedge .build/release/rankedge [--work DIR] [--threads 1,2]
       [--rounds 5] [--iterations 50] [--models resnet56:dense,...] [--onnx a.onnx b.onnx ...]
       [--peers ort,openvino] [--load-core 1] [--json out.json]
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_graphs import PEERS, bench, fail, p50  # noqa: E402

DEFAULT_MODELS = (
    ["resnet50:dense", "resnet50:lrd", "resnet56:dense", "resnet56:lrd"]
    + ["minivgg-k7:dense"] + [f"minivgg-k7:rank:{l}" for l in range(1, 8)]
    + [f"resnet20:{v}" for v in ["dense", "lrd", "merged", "branched:2", "branched:4", "rank:1", "rank:2", "rank:3"]]
)


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


class BusyCore:
    """A busy loop pinned to one core while the context is open."""

    def __init__(self, core):
        self.core, self.process = core, None

    def __enter__(self):
        if self.core is not None:
            self.process = subprocess.Popen(["taskset", "-c", str(self.core), sys.executable, "-c", "while True: pass"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def prepare(a):
    """(label, rkg, onnx) for every model: zoo variants built and exported, ONNX files imported."""
    os.makedirs(a.work, exist_ok=True)
    models = []
    for spec in [s for s in a.models.split(",") if s]:
        if ":" not in spec:
            fail(f"--models {spec}: expected NAME:VARIANT, e.g. resnet56:lrd")
        name, variant = spec.split(":", 1)
        tag = f"{name}-{variant.replace(':', '')}"
        rkg, onnx = os.path.join(a.work, tag + ".rkg"), os.path.join(a.work, tag + ".onnx")
        if not os.path.exists(rkg):
            run(a.rankedge, "zoo", "build", name, "--variant", variant, "-o", rkg)
        if a.peer_list and not os.path.exists(onnx):
            run(a.rankedge, "export", rkg, "-o", onnx)
        models.append((spec, rkg, onnx))
    for onnx in a.onnx:
        if not os.path.isfile(onnx):
            fail(f"{onnx}: no such file")
        tag = os.path.splitext(os.path.basename(onnx))[0]
        rkg = os.path.join(a.work, tag + ".rkg")
        if not os.path.exists(rkg):
            run(a.rankedge, "import", onnx, "-o", rkg)
        models.append((tag, rkg, onnx))
    return models


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rankedge", required=True)
    ap.add_argument("--work", default="out/bench")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--big-iterations", type=int, default=12, help="timed runs for models over 1 GMAC")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS), help="zoo NAME:VARIANT list ('' for none)")
    ap.add_argument("--onnx", nargs="*", default=[], help="ONNX files to import and time beside their peers")
    ap.add_argument("--peers", default="ort,openvino", help="comma-separated: ort, openvino ('' for none)")
    ap.add_argument("--load-core", type=int, help="also time everything with a busy process pinned to this core")
    ap.add_argument("--json", help="write every round's times here (default WORK/bench.json)")
    a = ap.parse_args()
    if a.rounds < 1 or a.iterations < 1 or a.big_iterations < 1 or a.warmup < 0:
        fail("--rounds and --iterations must be at least 1, --warmup at least 0")
    if not os.access(a.rankedge, os.X_OK):
        fail(f"--rankedge {a.rankedge}: not an executable")
    a.peer_list = [p for p in a.peers.split(",") if p]
    for p in a.peer_list:
        if p not in PEERS:
            fail(f"unknown peer '{p}' (ort, openvino)")
        module = {"ort": "onnxruntime", "openvino": "openvino"}[p]
        try:
            __import__(module)
        except ImportError:
            fail(f"--peers {p} needs the {module} package (pip install {module})")
    if a.load_core is not None:
        if shutil.which("taskset") is None:
            fail("--load-core needs taskset (apt-get install util-linux)")
        if not 0 <= a.load_core < os.cpu_count():
            fail(f"--load-core {a.load_core}: this machine has cores 0–{os.cpu_count() - 1}")
    threads = [int(x) for x in a.threads.split(",")]
    if any(t < 1 for t in threads):
        fail("--threads: every count must be at least 1")
    models = prepare(a)
    conditions = ["idle"] + (["loaded"] if a.load_core is not None else [])
    engines = ["rankedge"] + [PEERS[p].name for p in a.peer_list]
    rows = []
    for label, rkg, onnx in models:
        probe = json.loads(run(a.rankedge, "bench", rkg, "--iterations", "1", "--warmup", "0", "--json"))
        iterations = a.big_iterations if probe["macs"] >= 1e9 else a.iterations
        for t in threads:
            sessions = {PEERS[p].name: PEERS[p](onnx, t) for p in a.peer_list}
            times = {(c, e): [] for c in conditions for e in engines}
            spread, report = {c: [] for c in conditions}, None
            visits = [(c, e) for e in engines for c in conditions]
            for r in range(a.rounds):
                k = r % len(visits)
                for c, e in visits[k:] + visits[:k]:
                    with BusyCore(a.load_core if c == "loaded" else None):
                        if e == "rankedge":
                            report = bench(a.rankedge, rkg, t, iterations, a.warmup)
                            times[(c, e)].append(report["p50_ms"])
                            if "p10_ms" in report:
                                spread[c].append(report["p90_ms"] / report["p50_ms"])
                        else:
                            times[(c, e)].append(p50(sessions[e], iterations, a.warmup))
            for c in conditions:
                med = {e: statistics.median(times[(c, e)]) for e in engines}
                peers = [med[e] for e in engines if e != "rankedge"]
                row = {"model": label, "condition": c, "threads": t, "macs": report["macs"],
                       "p50_ms": {e: round(v, 4) for e, v in med.items()},
                       "ratio_to_best_peer": round(med["rankedge"] / min(peers), 3) if peers else None,
                       "rankedge_p90_over_p50": round(statistics.median(spread[c]), 3) if spread[c] else None,
                       "rounds": {e: times[(c, e)] for e in engines},
                       "peak_arena_bytes": report["peak_arena_bytes"]}
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "rounds"}), flush=True)
    with open(a.json or os.path.join(a.work, "bench.json"), "w") as f:
        json.dump({"rounds": a.rounds, "iterations": a.iterations, "load_core": a.load_core, "rows": rows}, f, indent=1)
    one_thread = {(r["model"], r["condition"]): r["p50_ms"]["rankedge"] for r in rows if r["threads"] == 1}
    print("\n| model | condition | threads | MACs | " + " | ".join(f"{e} p50 ms" for e in engines)
          + " | RankEdge / best peer | RankEdge 1 thread / this | RankEdge p90/p50 |")
    print("|" + "---|" * (len(engines) + 7))
    for r in rows:
        cells = " | ".join(f"{r['p50_ms'][e]:.3f}" for e in engines)
        ratio = "—" if r["ratio_to_best_peer"] is None else f"{r['ratio_to_best_peer']:.2f}"
        scale = one_thread.get((r["model"], r["condition"]))
        scale = "—" if scale is None else f"{scale / r['p50_ms']['rankedge']:.2f}"
        p9050 = "—" if r["rankedge_p90_over_p50"] is None else f"{r['rankedge_p90_over_p50']:.2f}"
        print(f"| {r['model']} | {r['condition']} | {r['threads']} | {r['macs'] / 1e6:.1f} M | {cells} | {ratio} | {scale} | {p9050} |")


if __name__ == "__main__":
    main()
