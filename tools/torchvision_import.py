#!/usr/bin/env python3
"""Exports torchvision's classification CNNs with both PyTorch ONNX exporters, imports each into
RankEdge, checks the outputs against ONNX Runtime and times both at one thread.

Run with the PyTorch venv (tools/setup.sh torch, plus torchvision):

    .venv-torch/bin/python tools/torchvision_import.py --rankedge .build/release/rankedge \\
        [--models resnet18,mobilenet_v2] [--exporters torchscript,dynamo] [--work DIR] [--no-time]

Weights are random (weights=None, seeded): import coverage, agreement and latency do not depend
on them. Input 1x3x224x224. Prints one Markdown row per (model, exporter) as it goes, and a summary
line "N imported and matched, N failed". Exit status 1 when any model fails to import or match.
"""
import argparse, os, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_graphs import OnnxRuntime, bench, p50  # noqa: E402

MODELS = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
          "squeezenet1_1", "shufflenet_v2_x1_0", "regnet_x_400mf", "regnet_y_400mf", "densenet121", "googlenet",
          "mnasnet1_0", "vgg11_bn", "convnext_tiny"]
TOLERANCE = 1e-4


def import_torchvision():
    """torchvision from PyPI is built against the CUDA torch; beside the CPU wheel its detection ops
    (nms, roi_align) do not load and registering their fake kernels fails at import. Classification
    models use none of them, so the registration is skipped while torchvision loads."""
    import torch.library
    original = torch.library.register_fake
    torch.library.register_fake = lambda *args, **kwargs: (lambda f: f)
    try:
        import torchvision
    finally:
        torch.library.register_fake = original
    return torchvision


def build(name):
    import torch
    torchvision = import_torchvision()
    torch.manual_seed(0)
    extra = {}
    if name == "googlenet":
        # As the pretrained model runs: the input transform on, no auxiliary heads at inference.
        extra = dict(aux_logits=False, init_weights=True, transform_input=True)
    model = getattr(torchvision.models, name)(weights=None, **extra).eval()
    # Random BatchNorm statistics, so folding them is exercised as with trained weights.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


def export(model, path, exporter):
    import torch
    x = torch.zeros(1, 3, 224, 224)
    if exporter == "torchscript":
        torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17, input_names=["input"], output_names=["logits"])
    else:
        torch.onnx.export(model, (x,), path, dynamo=True, input_names=["input"], output_names=["logits"], external_data=False)


def first_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1][:200] if lines else "(no message)"


def check(rankedge, work, name, exporter, timing, rounds, iterations):
    import numpy as np
    import onnxruntime as ort
    onnx_path = os.path.join(work, f"{name}.{exporter}.onnx")
    rkg = os.path.join(work, f"{name}.{exporter}.rkg")
    try:
        export(build(name), onnx_path, exporter)
    except Exception as e:  # noqa: BLE001 - an exporter failure is a row, not a crash
        return dict(status="export failed", detail=first_line(str(e)))
    r = subprocess.run([rankedge, "import", onnx_path, "-o", rkg], capture_output=True, text=True)
    if r.returncode != 0:
        return dict(status="import failed", detail=first_line(r.stderr))
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    raw_in, raw_out = os.path.join(work, "input.f32"), os.path.join(work, "output.f32")
    np.ascontiguousarray(x).astype("<f4").tofile(raw_in)
    r = subprocess.run([rankedge, "run", rkg, "--raw-input", raw_in, "--layout", "nchw", "--output", raw_out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return dict(status="run failed", detail=first_line(r.stderr))
    actual = np.fromfile(raw_out, dtype="<f4").reshape(expected.shape)
    err = float(np.abs(actual - expected).max()) / max(float(np.abs(expected).max()), 1e-30)
    row = dict(status="ok" if err <= TOLERANCE else "mismatch", error=err)
    if timing:
        ours, peer = [], []
        runner = OnnxRuntime(onnx_path, 1)
        for k in range(rounds):
            # Alternate which engine goes first, so drift on a shared host falls on both.
            steps = [lambda: ours.append(bench(rankedge, rkg, 1, iterations, 3)["p50_ms"]),
                     lambda: peer.append(p50(runner, iterations, 3))]
            for step in (steps if k % 2 == 0 else steps[::-1]):
                step()
        row.update(rankedge_ms=statistics.median(ours), ort_ms=statistics.median(peer))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rankedge", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--exporters", default="torchscript,dynamo")
    ap.add_argument("--work", help="keep the .onnx and .rkg files here")
    ap.add_argument("--no-time", action="store_true", help="check only, no timing")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=10)
    a = ap.parse_args()
    try:
        import torch, onnxruntime  # noqa: F401,E401
        torchvision = import_torchvision()
    except ImportError as e:
        sys.exit(f"torchvision_import: {e.name} is missing (tools/setup.sh torch; .venv-torch/bin/pip install torchvision)")
    if not os.access(a.rankedge, os.X_OK):
        sys.exit(f"torchvision_import: --rankedge {a.rankedge}: not an executable")
    unknown = [m for m in a.models.split(",") if m not in MODELS]
    if unknown:
        sys.exit(f"torchvision_import: unknown model(s) {unknown} (known: {', '.join(MODELS)})")
    work = a.work or tempfile.mkdtemp(prefix="torchvision-import-")
    os.makedirs(work, exist_ok=True)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnxruntime {onnxruntime.__version__}")
    print("| model | exporter | result | max error / scale | RankEdge ms | ONNX Runtime ms | RankEdge / ORT |")
    print("|---|---|---|---|---|---|---|")
    passed = failed = 0
    for name in a.models.split(","):
        for exporter in a.exporters.split(","):
            row = check(os.path.abspath(a.rankedge), work, name, exporter, not a.no_time, a.rounds, a.iterations)
            ok = row["status"] == "ok"
            passed, failed = passed + ok, failed + (not ok)
            err = f"{row['error']:.1e}" if "error" in row else ""
            times = ["", "", ""]
            if "rankedge_ms" in row:
                times = [f"{row['rankedge_ms']:.2f}", f"{row['ort_ms']:.2f}", f"{row['rankedge_ms'] / row['ort_ms']:.2f}"]
            result = row["status"] if ok else f"{row['status']}: {row.get('detail', '')}".replace("|", "\\|")
            print(f"| {name} | {exporter} | {result} | {err} | " + " | ".join(times) + " |", flush=True)
    print(f"torchvision_import: {passed} imported and matched, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
