#!/usr/bin/env python3
"""Trains the model `make demo` starts from, in PyTorch, and ships it as PyTorch's default exporter writes it.

Run with the PyTorch venv (tools/setup.sh torch):

    .venv-torch/bin/python tools/train_demo_model.py --data DIR [--epochs 6] [--work out/demo-model]

A small CIFAR-10 VGG (3×3 conv + BN + ReLU, 32-32 / 64-64 / 128-128 channels with max pooling
between, global average pool, linear; about 0.29 M parameters) is trained with random crop and
flip, SGD momentum 0.9, lr 0.1 cosine, weight decay 5e-4, batch 128 (resumable: a checkpoint after
every epoch in --work), then exported with torch.onnx.export(dynamo=True) as it comes (its default
opset, its optimizer on), with the training set's mean/std and the class names as metadata. Writes
models/demo/cifar-vgg.onnx and models/demo/cifar-vgg.json: the accuracy PyTorch measures on the
full test set and on the shipped sample images, which the demo prints beside its own.
"""
import argparse
import contextlib
import io
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_end_to_end import (Failure, add_metadata, evaluate_torch, load_data, log, normalization, normalize,  # noqa: E402
                                read_cifar, train_or_load)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def build_demo_vgg(torch):
    nn = torch.nn
    layers, c = [], 3
    for width in (32, 32, "M", 64, 64, "M", 128, 128, "M"):
        if width == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--data", required=True, help="CIFAR-10 binary folder (data_batch_1..5.bin, test_batch.bin)")
    p.add_argument("--work", default="out/demo-model", help="checkpoints and the trained PyTorch model")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    p.add_argument("--samples", default=os.path.join(ROOT, "models", "samples", "cifar10-test-100.bin"))
    p.add_argument("--out", default=os.path.join(ROOT, "models", "demo", "cifar-vgg"), help="output path without extension")
    args = p.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    try:
        train, (x_test_u8, y_test), names = load_data(args.data, need_train=not os.path.isfile(os.path.join(args.work, "demo_vgg.pt")))
        mean, std = normalization(args.work, train)
        x_test = normalize(x_test_u8, mean, std)
        model = train_or_load(torch, args, train, mean, std, x_test, y_test, build=build_demo_vgg, stem="demo_vgg")
        model.eval()
        test_acc, _ = evaluate_torch(torch, model, x_test, y_test)
        xs_u8, ys = read_cifar(args.samples)
        samples_acc, _ = evaluate_torch(torch, model, normalize(xs_u8, mean, std), ys)
        onnx_path = args.out + ".onnx"
        tmp = onnx_path + ".tmp.onnx"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), dynamo=True,
                                        input_names=["input"], output_names=["logits"])
        program.save(tmp, external_data=False)
        add_metadata(tmp, mean, std, names)
        os.replace(tmp, onnx_path)
        info = {
            "model": "demo VGG (32-32-M-64-64-M-128-128-M, BN, ReLU, global average pool, linear)",
            "parameters": int(sum(t.numel() for t in model.parameters())),
            "epochs": args.epochs,
            "pytorch_test_accuracy": round(test_acc / 100, 4),
            "pytorch_samples_accuracy": round(samples_acc / 100, 4),
            "samples": os.path.basename(args.samples),
            "torch": torch.__version__,
            "exporter": "torch.onnx.export(dynamo=True), default opset and optimizer",
            "command": "tools/setup.sh torch && .venv-torch/bin/python tools/train_demo_model.py --data DIR --epochs %d --threads %d" % (args.epochs, args.threads),
        }
        with open(args.out + ".json", "w") as f:
            json.dump(info, f, indent=1)
            f.write("\n")
        log(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB) and {args.out}.json: "
            f"test accuracy {test_acc:.2f} %, samples {samples_acc:.1f} %")
    except Failure as e:
        print(f"train_demo_model: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
