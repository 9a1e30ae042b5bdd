#!/usr/bin/env python3
"""PyTorch → ONNX (TorchScript and dynamo exporters) → RankEdge, end to end, on CIFAR-10.

Run with the PyTorch venv (tools/setup.sh torch):

    .venv-torch/bin/python tools/pytorch_end_to_end.py --data DIR --rankedge .build/release/rankedge \\
        --epochs 3 [--work out/pytorch-e2e] [--finetune-epochs 1] [--skip-finetune]

a. builds a CIFAR ResNet-20 in PyTorch (BN, 1×1 conv + BN projection shortcuts, torchvision-style
   names: conv1, bn1, layer1.0.conv1, …, layer2.0.downsample.0, fc), trains it (random crop pad 4 +
   flip; SGD momentum 0.9, lr 0.1 cosine, weight decay 5e-4, batch 128, 2 threads) or loads it from
   --work (a checkpoint after every epoch: an interrupted run resumes), and measures its test
   accuracy in PyTorch with its per-channel normalisation (mean/std of the training set);
b. exports it three ways, input NCHW [N, 3, 32, 32] with a dynamic batch: `torchscript` (dynamo=False,
   opset 17, TrainingMode.PRESERVE so BN is not folded into the convs), `dynamo` (dynamo=True as it
   comes: its default opset, its optimizer on, which folds BN into the convs) and `dynamo-noopt`
   (dynamo=True, optimize=False: BN kept, shape computations left in the graph); checks each with
   onnx.checker and ONNX Runtime, then adds the normalisation and class names as metadata_props
   (`rankedge.metadata.rankedge.input_mean` / `…input_std`, `rankedge.class_names`: the keys
   `rankedge export` writes and `rankedge import` reads back);
c. imports each with `rankedge import X.onnx -o X.rkg` and checks the graph's weight names include
   every PyTorch state_dict name the ONNX file carries;
d. `rankedge eval X.rkg --data DIR --json` for each: accuracy equal to PyTorch's within ±0.05 points;
e. unless --skip-finetune: `rankedge finetune` of one import (--finetune-from, default dynamo-noopt),
   `rankedge export` of the result, ONNX Runtime's top-1 on it against RankEdge's (`rankedge run
   --raw-input`) over the test set (≥ 99.9 % agreement; max |logit difference| reported);
f. the state_dict names the exporter kept are still initializer names of the fine-tuned ONNX file.
Any failed check ends the run with one line `pytorch_end_to_end: FAILED: …` and exit status 1.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np

MEAN_STD_FILE = "normalization.json"
TOLERANCE_POINTS = 0.05
AGREEMENT_MIN = 0.999


class Failure(Exception):
    """A failed check: the run stops with this one-line reason."""


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# data

def read_cifar(path):
    """A CIFAR-10 binary file → (uint8 images [N, 3, 32, 32], int64 labels [N])."""
    if not os.path.isfile(path):
        raise Failure(f"missing CIFAR-10 file {path}")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % 3073:
        raise Failure(f"{path} is not a CIFAR-10 binary file ({raw.size} bytes, not a multiple of 3073)")
    raw = raw.reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32).copy(), raw[:, 0].astype(np.int64)


def load_data(data_dir, need_train):
    test = read_cifar(os.path.join(data_dir, "test_batch.bin"))
    train = None
    if need_train:
        parts = [read_cifar(os.path.join(data_dir, f"data_batch_{i}.bin")) for i in range(1, 6)]
        train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    names_path = os.path.join(data_dir, "batches.meta.txt")
    names = []
    if os.path.isfile(names_path):
        with open(names_path) as f:
            names = [line.strip() for line in f if line.strip()]
    return train, test, names


def normalization(work, train):
    """Per-channel mean/std of the training pixels scaled to 0…1 (cached in WORK)."""
    path = os.path.join(work, MEAN_STD_FILE)
    if os.path.isfile(path):
        with open(path) as f:
            d = json.load(f)
        return np.array(d["mean"], dtype=np.float32), np.array(d["std"], dtype=np.float32)
    if train is None:
        raise Failure(f"{path} is missing and the training set was not loaded")
    x = train[0].astype(np.float64) / 255.0
    mean = x.mean(axis=(0, 2, 3))
    std = x.std(axis=(0, 2, 3))
    with open(path, "w") as f:
        json.dump({"mean": mean.tolist(), "std": std.tolist()}, f, indent=1)
    return mean.astype(np.float32), std.astype(np.float32)


def normalize(images_u8, mean, std):
    x = images_u8.astype(np.float32) / 255.0
    return (x - mean.reshape(1, 3, 1, 1)) / std.reshape(1, 3, 1, 1)


# ---------------------------------------------------------------------------------------------
# the model

def build_resnet20(torch):
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:  # option B: 1×1 conv + BN projection
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet20(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = self._stage(16, 16, 1)
            self.layer2 = self._stage(16, 32, 2)
            self.layer3 = self._stage(32, 64, 2)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        @staticmethod
        def _stage(cin, cout, stride):
            return nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1), BasicBlock(cout, cout, 1))

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            x = torch.flatten(self.avgpool(x), 1)
            return self.fc(x)

    return ResNet20()


def augment(torch, batch, pad_value):
    """Random crop from the image padded by 4 px (black pixels, in normalised space) + horizontal flip."""
    n = batch.shape[0]
    padded = torch.nn.functional.pad(batch, (4, 4, 4, 4))
    padded[:, :, :4, :] = pad_value
    padded[:, :, -4:, :] = pad_value
    padded[:, :, :, :4] = pad_value
    padded[:, :, :, -4:] = pad_value
    dy = torch.randint(0, 9, (n,))
    dx = torch.randint(0, 9, (n,))
    rows = (dy.view(n, 1) + torch.arange(32).view(1, 32))  # [n, 32]
    cols = (dx.view(n, 1) + torch.arange(32).view(1, 32))
    flip = torch.rand(n) < 0.5
    cols = torch.where(flip.view(n, 1), cols.flip(1), cols)
    idx_n = torch.arange(n).view(n, 1, 1, 1)
    idx_c = torch.arange(3).view(1, 3, 1, 1)
    return padded[idx_n, idx_c, rows.view(n, 1, 32, 1), cols.view(n, 1, 1, 32)]


def evaluate_torch(torch, model, x_test, y_test, batch=500):
    """Test accuracy (percent) and logits of the model in eval mode."""
    model.eval()
    logits = []
    with torch.no_grad():
        for i in range(0, len(x_test), batch):
            logits.append(model(torch.from_numpy(x_test[i:i + batch])).numpy())
    logits = np.concatenate(logits)
    return 100.0 * float((logits.argmax(1) == y_test).mean()), logits


def train_or_load(torch, args, train, mean, std, x_test, y_test, build=build_resnet20, stem="resnet20"):
    """The model `build` makes, trained: loaded from WORK/STEM.pt when finished, else trained
    (resuming a checkpoint)."""
    model = build(torch)
    final = os.path.join(args.work, f"{stem}.pt")
    ckpt_path = os.path.join(args.work, "checkpoint.pt")
    if os.path.isfile(final):
        saved = torch.load(final, map_location="cpu")
        if saved["epochs"] != args.epochs:
            raise Failure(f"{final} was trained for {saved['epochs']} epochs, not --epochs {args.epochs} "
                          f"(use --epochs {saved['epochs']} or another --work)")
        model.load_state_dict(saved["state_dict"])
        log(f"a. loaded the trained model from {final} ({saved['epochs']} epochs)")
        return model
    if train is None:
        raise Failure("no trained model in --work and no training data loaded")

    torch.manual_seed(0)
    np.random.seed(0)
    x_train = torch.from_numpy(normalize(train[0], mean, std))
    y_train = torch.from_numpy(train[1])
    n = len(y_train)
    batch = 128
    steps_per_epoch = math.ceil(n / batch)
    total_steps = steps_per_epoch * args.epochs
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))
    start_epoch = 0
    if os.path.isfile(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        if ck["epochs"] != args.epochs:
            raise Failure(f"{ckpt_path} is a checkpoint of a {ck['epochs']}-epoch run, not --epochs {args.epochs}")
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["rng"])
        start_epoch = ck["epoch"]
        log(f"a. resuming training after epoch {start_epoch}/{args.epochs} from {ckpt_path}")
    pad_value = torch.from_numpy((-mean / std).astype(np.float32)).view(1, 3, 1, 1)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(start_epoch, args.epochs):
        model.train()
        perm = torch.randperm(n)
        t0 = time.time()
        seen, correct, loss_sum = 0, 0, 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            xb = augment(torch, x_train[idx], pad_value)
            yb = y_train[idx]
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
            correct += int((out.argmax(1) == yb).sum())
            loss_sum += loss.item() * len(idx)
            if (s + 1) % 50 == 0 or s + 1 == steps_per_epoch:
                rate = seen / (time.time() - t0)
                print(f"   epoch {epoch + 1}/{args.epochs} step {s + 1}/{steps_per_epoch} loss {loss_sum / seen:.3f} "
                      f"train acc {100 * correct / seen:.1f}% lr {sched.get_last_lr()[0]:.4f} {rate:.0f} img/s",
                      file=sys.stderr, flush=True)
        acc, _ = evaluate_torch(torch, model, x_test, y_test)
        log(f"a. epoch {epoch + 1}/{args.epochs}: train loss {loss_sum / seen:.3f}, test accuracy {acc:.2f}% "
            f"({time.time() - t0:.0f} s)")
        tmp = ckpt_path + ".tmp"
        torch.save({"epochs": args.epochs, "epoch": epoch + 1, "state_dict": model.state_dict(),
                    "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": torch.get_rng_state()}, tmp)
        os.replace(tmp, ckpt_path)
    tmp = final + ".tmp"
    torch.save({"epochs": args.epochs, "state_dict": model.state_dict()}, tmp)
    os.replace(tmp, final)
    os.remove(ckpt_path)
    log(f"a. trained model saved to {final}")
    return model


# ---------------------------------------------------------------------------------------------
# ONNX

EXPORTS = ("torchscript", "dynamo", "dynamo-noopt")


def export_all(torch, model, work, opset_ts):
    """The TorchScript export, the dynamo export as it comes by default (its optimizer on) and the
    dynamo export with `optimize=False`; returns {label: path}."""
    import contextlib
    import io
    import warnings
    model.eval()
    x = torch.randn(1, 3, 32, 32)
    paths = {}
    ts = os.path.join(work, "resnet20_torchscript.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # TrainingMode.EVAL (the default) runs the eval peephole that folds every BN into its conv;
        # PRESERVE exports the eval-mode model as it is, BatchNormalization nodes included.
        torch.onnx.export(model, (x,), ts, dynamo=False, opset_version=opset_ts,
                          training=torch.onnx.TrainingMode.PRESERVE,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    paths["torchscript"] = ts
    for label, optimize in (("dynamo", True), ("dynamo-noopt", False)):
        path = os.path.join(work, f"resnet20_{label.replace('-', '_')}.onnx")
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model, (x,), dynamo=True, optimize=optimize,
                                        input_names=["input"], output_names=["logits"],
                                        dynamic_shapes=({0: torch.export.Dim("N", min=1, max=4096)},))
        program.save(path, external_data=False)
        paths[label] = path
    return paths


def add_metadata(path, mean, std, class_names):
    """The normalisation and class names as the metadata_props `rankedge import` reads back."""
    import onnx
    m = onnx.load(path)
    props = {p.key: p.value for p in m.metadata_props}
    props["rankedge.metadata.rankedge.input_mean"] = ",".join(f"{v:.6f}" for v in mean)
    props["rankedge.metadata.rankedge.input_std"] = ",".join(f"{v:.6f}" for v in std)
    if class_names:
        props["rankedge.class_names"] = json.dumps(class_names)
    del m.metadata_props[:]
    for k, v in props.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, path)


def describe_onnx(path):
    import onnx
    m = onnx.load(path)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    inp = m.graph.input[0]
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    # Constants the file names: initializers, and Constant / Identity-of-a-constant outputs (the
    # TorchScript exporter writes a parameter equal to another as an Identity named after it).
    constants = [t.name for t in m.graph.initializer]
    known = set(constants)
    for n in m.graph.node:
        if n.op_type == "Constant" or (n.op_type == "Identity" and n.input and n.input[0] in known):
            constants += list(n.output)
            known.update(n.output)
    return {"opset": opset, "ops": ops, "initializers": constants,
            "nodes": [n.name for n in m.graph.node], "input": (inp.name, dims),
            "constant_nodes": ops.get("Constant", 0)}


def rkg_weight_names(path):
    """Tensor names of a .rkg (a safetensors file: u64 header length, JSON header)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return [k for k in header if k != "__metadata__"]


# ---------------------------------------------------------------------------------------------
# RankEdge

def run(cmd, what, last_line=False):
    """stdout of a command (with last_line: the last line it printed on stdout or stderr)."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
        raise Failure(f"{what} failed: {msg[-1] if msg else 'exit status ' + str(r.returncode)}")
    if last_line:
        lines = (r.stdout.strip() or r.stderr.strip()).splitlines()
        return lines[-1].strip() if lines else ""
    return r.stdout


def rankedge_eval(args, rkg):
    out = run([args.rankedge, "eval", rkg, "--data", args.data, "--json"], f"rankedge eval {rkg}")
    d = json.loads(out)
    return 100.0 * d["accuracy"], d


def rankedge_logits(args, rkg, x_nchw, chunk=1000):
    """RankEdge's logits for normalised NCHW images, through `rankedge run --raw-input` (NHWC float32)."""
    tmp_in = os.path.join(args.work, "raw_input.f32")
    tmp_out = os.path.join(args.work, "raw_output.f32")
    out = []
    for i in range(0, len(x_nchw), chunk):
        part = np.ascontiguousarray(x_nchw[i:i + chunk].transpose(0, 2, 3, 1), dtype="<f4")
        part.tofile(tmp_in)
        run([args.rankedge, "run", rkg, "--raw-input", tmp_in, "-o", tmp_out, "--threads", "2"], f"rankedge run {rkg}")
        out.append(np.fromfile(tmp_out, dtype="<f4").reshape(len(part), -1))
    for p in (tmp_in, tmp_out):
        if os.path.exists(p):
            os.remove(p)
    return np.concatenate(out)


def ort_logits(onnx_path, x_nchw, chunk=1000):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x_nchw[i:i + chunk]})[0] for i in range(0, len(x_nchw), chunk)])


def finetune_available(args):
    r = subprocess.run([args.rankedge, "finetune", "--help"], capture_output=True, text=True)
    return r.returncode == 0


# ---------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--data", required=True, help="CIFAR-10 binary folder (data_batch_1..5.bin, test_batch.bin)")
    p.add_argument("--rankedge", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build",
                                                      "release", "rankedge"), help="the rankedge CLI binary")
    p.add_argument("--work", default="out/pytorch-e2e", help="working folder: trained model, ONNX and .rkg files")
    p.add_argument("--epochs", type=int, default=3, help="PyTorch training epochs (default 3)")
    p.add_argument("--finetune-epochs", type=int, default=1, help="epochs of `rankedge finetune` (default 1)")
    p.add_argument("--skip-finetune", action="store_true", help="stop after the eval checks (steps a–d)")
    p.add_argument("--finetune-from", choices=EXPORTS, default="dynamo-noopt",
                   help="which import to fine-tune (default dynamo-noopt: dynamo, BN kept)")
    p.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    args = p.parse_args()
    try:
        return run_all(args)
    except Failure as e:
        print(f"pytorch_end_to_end: FAILED: {e}", file=sys.stderr, flush=True)
        return 1


def run_all(args):
    import logging
    import torch
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notes
    import onnx
    import onnxruntime
    torch.set_num_threads(args.threads)
    if not os.path.isfile(args.rankedge) or not os.access(args.rankedge, os.X_OK):
        raise Failure(f"--rankedge {args.rankedge} is not an executable")
    if args.epochs < 1:
        raise Failure("--epochs must be at least 1")
    os.makedirs(args.work, exist_ok=True)
    log(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}; work folder {args.work}")

    trained = os.path.isfile(os.path.join(args.work, "resnet20.pt"))
    have_norm = os.path.isfile(os.path.join(args.work, MEAN_STD_FILE))
    train, (test_u8, y_test), class_names = load_data(args.data, need_train=not (trained and have_norm))
    mean, std = normalization(args.work, train)
    log("normalisation (training set, pixels 0…1): mean " + ", ".join(f"{v:.4f}" for v in mean)
        + "; std " + ", ".join(f"{v:.4f}" for v in std))
    x_test = normalize(test_u8, mean, std)

    # a. train (or load) and evaluate in PyTorch
    model = train_or_load(torch, args, train, mean, std, x_test, y_test)
    train = None
    torch_acc, torch_logits = evaluate_torch(torch, model, x_test, y_test)
    log(f"a. PyTorch test accuracy: {torch_acc:.2f}% ({len(y_test)} images)")
    state_names = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]

    # b. export with both exporters
    paths = export_all(torch, model, args.work, opset_ts=17)
    infos = {}
    for label, path in paths.items():
        onnx.checker.check_model(onnx.load(path))
        ort_acc = 100.0 * float((ort_logits(path, x_test).argmax(1) == y_test).mean())
        add_metadata(path, mean, std, class_names)
        info = describe_onnx(path)
        infos[label] = info
        kept = [n for n in state_names if n in set(info["initializers"])]
        info["kept"] = kept
        ops = ", ".join(f"{k}×{v}" for k, v in sorted(info["ops"].items()))
        log(f"b. {label}: {path}: opset {info['opset']}, input {info['input'][0]} {info['input'][1]}, "
            f"{len(info['initializers'])} named constants ({len(kept)}/{len(state_names)} state_dict names), ops: {ops}; "
            f"ONNX Runtime accuracy {ort_acc:.2f}%")
        if "BatchNormalization" not in info["ops"]:
            log(f"   note: the {label} export has no BatchNormalization node (BN folded into the convs)")

    # c. import
    rkgs = {}
    for label, path in paths.items():
        rkg = os.path.splitext(path)[0] + ".rkg"
        out = run([args.rankedge, "import", path, "-o", rkg], f"rankedge import {path}")
        log(f"c. {out.strip()}")
        names = set(rkg_weight_names(rkg))
        missing = [n for n in infos[label]["kept"] if n not in names]
        if missing:
            raise Failure(f"{rkg}: {len(missing)} state_dict names of the ONNX file are not weight names of the graph "
                          f"(e.g. {missing[0]})")
        log(f"c. {rkg}: {len(infos[label]['kept'])} state_dict names kept as weight names")
        rkgs[label] = rkg

    # d. eval on RankEdge
    rows = []
    for label, rkg in rkgs.items():
        acc, _ = rankedge_eval(args, rkg)
        logit_diff = float(np.abs(rankedge_logits(args, rkg, x_test) - torch_logits).max())
        rows.append((label, acc, acc - torch_acc, logit_diff))
    log("")
    log(f"d. test accuracy ({len(y_test)} CIFAR-10 test images; RankEdge: `rankedge eval`)")
    log(f"   {'model':<28} {'accuracy':>9} {'vs PyTorch':>11} {'max |logit diff|':>17}")
    log(f"   {'PyTorch (eval mode)':<28} {torch_acc:8.2f}% {'':>11} {'':>17}")
    for label, acc, diff, logit_diff in rows:
        log(f"   {'RankEdge ← ' + label:<28} {acc:8.2f}% {diff:+10.2f} {logit_diff:17.2e}")
    log("")
    for label, acc, diff, _ in rows:
        if abs(diff) > TOLERANCE_POINTS + 1e-9:
            raise Failure(f"RankEdge accuracy of the {label} import is {acc:.2f}%, PyTorch's {torch_acc:.2f}% "
                          f"(difference {diff:+.2f} points > ±{TOLERANCE_POINTS})")
    log(f"d. every import within ±{TOLERANCE_POINTS} points of PyTorch: ok")

    if args.skip_finetune:
        log("e–f skipped (--skip-finetune)")
        return 0
    if not finetune_available(args):
        log("finetune not available yet: e–f skipped")
        return 0

    # e. finetune on RankEdge, export, compare ONNX Runtime with RankEdge
    src = rkgs[args.finetune_from]
    ft = os.path.join(args.work, "ft.rkg")
    ft_onnx = os.path.join(args.work, "ft.onnx")
    t0 = time.time()
    out = run([args.rankedge, "finetune", src, "--data", args.data, "--epochs", str(args.finetune_epochs), "-o", ft],
              f"rankedge finetune {src}", last_line=True)
    log(f"e. rankedge finetune {src} --epochs {args.finetune_epochs} → {ft} ({time.time() - t0:.0f} s): {out}")
    out = run([args.rankedge, "export", ft, "-o", ft_onnx], f"rankedge export {ft}")
    log(f"e. {out.strip()}")
    ft_model = onnx.load(ft_onnx)
    onnx.checker.check_model(ft_model)
    props = {p.key: p.value for p in ft_model.metadata_props}
    ft_mean, ft_std = mean, std
    if "rankedge.metadata.rankedge.input_mean" in props and "rankedge.metadata.rankedge.input_std" in props:
        ft_mean = np.array([float(v) for v in props["rankedge.metadata.rankedge.input_mean"].split(",")], dtype=np.float32)
        ft_std = np.array([float(v) for v in props["rankedge.metadata.rankedge.input_std"].split(",")], dtype=np.float32)
    x_ft = normalize(test_u8, ft_mean, ft_std)
    ort_out = ort_logits(ft_onnx, x_ft)
    re_out = rankedge_logits(args, ft, x_ft)
    if ort_out.shape != re_out.shape:
        raise Failure(f"ONNX Runtime gives logits {ort_out.shape}, RankEdge {re_out.shape}")
    agree = float((ort_out.argmax(1) == re_out.argmax(1)).mean())
    max_diff = float(np.abs(ort_out - re_out).max())
    ft_acc_ort = 100.0 * float((ort_out.argmax(1) == y_test).mean())
    ft_acc_re = 100.0 * float((re_out.argmax(1) == y_test).mean())
    log(f"e. fine-tuned: RankEdge {ft_acc_re:.2f}%, ONNX Runtime on ft.onnx {ft_acc_ort:.2f}%; top-1 agreement "
        f"{100 * agree:.2f}% ({len(y_test)} images), max |logit diff| {max_diff:.3g}")
    if agree < AGREEMENT_MIN:
        raise Failure(f"ONNX Runtime and RankEdge agree on {100 * agree:.2f}% of top-1 predictions (< {100 * AGREEMENT_MIN:.1f}%)")

    # f. names
    kept = infos[args.finetune_from]["kept"]
    ft_inits = set(t.name for t in ft_model.graph.initializer)
    lost = [n for n in kept if n not in ft_inits]
    log(f"f. {len(kept) - len(lost)}/{len(kept)} state_dict names of the {args.finetune_from} export are initializer "
        f"names of ft.onnx (e.g. {kept[0] if kept else '-'})")
    if not kept:
        raise Failure(f"the {args.finetune_from} export kept no state_dict names to check")
    if lost:
        raise Failure(f"{len(lost)} state_dict names are missing from ft.onnx (e.g. {lost[0]})")
    log("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
