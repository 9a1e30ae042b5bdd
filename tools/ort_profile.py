#!/usr/bin/env python3
"""ONNX Runtime's own time per node of one ONNX model at batch 1, one thread: the peer's side of a
per-layer comparison with `rankedge bench MODEL.rkg --per-layer`. Runs the model --runs times with
ONNX Runtime's profiler on and prints, per node (as ONNX Runtime names it after its fusions), the
operator and the median kernel time, then the total and the sum per operator.

    python3 tools/ort_profile.py out/tv/mobilenet_v2.torchscript.onnx [--runs 40]

The input is uniform in [-1, 1] with the model's static input shape (symbolic dimensions are 1).
"""
import argparse, collections, json, os, statistics, sys, tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    if args.runs < 1:
        sys.exit("ort_profile: --runs must be ≥ 1")
    if not os.path.isfile(args.model):
        sys.exit(f"ort_profile: no such file: {args.model}")
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    work = tempfile.mkdtemp(prefix="ort-profile-")
    options.profile_file_prefix = os.path.join(work, "ort")
    try:
        session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
        sys.exit(f"ort_profile: {args.model}: {str(error).splitlines()[0]}")
    info = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in info.shape]
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    for _ in range(args.runs):
        session.run(None, {info.name: x})
    events = json.load(open(session.end_profiling()))

    times = collections.defaultdict(list)
    operator = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            times[node].append(e["dur"] / 1000.0)
            operator[node] = e.get("args", {}).get("op_name", "?")
    per_operator = collections.defaultdict(float)
    total = 0.0
    print(f"{'node':70s} {'operator':20s} {'median ms':>9s}")
    for node, ms in times.items():
        median = statistics.median(ms)
        total += median
        per_operator[operator[node]] += median
        print(f"{node[:70]:70s} {operator[node]:20s} {median:9.3f}")
    print(f"total {total:.3f} ms over {len(times)} nodes; per operator: "
          + ", ".join(f"{k} {v:.3f}" for k, v in sorted(per_operator.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
