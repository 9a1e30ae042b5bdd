#!/usr/bin/env python3
"""Writes a small graph with two inputs and two outputs as a .rkg (safetensors + graph JSON,
docs/FORMAT.md), with seeded weights, and raw float32 inputs for it. tools/check_arm64.sh runs it
through the C API's rankedge_model_run_multi (tools/capi_test.c) and through `rankedge run` with
one --raw-input per input.

    image [N,16,16,3] -> conv 3x3 (8) -> * mask [N,16,16,8] -> + conv -> relu -> concat(.., mask)
      -> conv 3x3 stride 2 (12) -> relu -> "features" [N,8,8,12]
      -> global average pool -> flatten -> linear (5) -> "logits" [N,5]

Usage: make_two_input_graph.py OUT.rkg A.f32 B.f32 [BATCH]   (needs numpy only)
"""
import json
import struct
import sys

import numpy as np

out, path_a, path_b = sys.argv[1:4]
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 2
rng = np.random.default_rng(27)


def conv(name, x, w, stride, out_name):
    return {"name": name, "op": "conv2d", "inputs": [x, f"{name}.weight", f"{name}.bias"], "outputs": [out_name],
            "attributes": {"stride": [stride, stride], "padding": [1, 1, 1, 1], "dilation": [1, 1], "groups": 1}}


weights = {
    "conv1.weight": rng.normal(0, 0.3, (8, 3, 3, 3)),   # [out, kh, kw, in]
    "conv1.bias": rng.normal(0, 0.1, 8),
    "conv2.weight": rng.normal(0, 0.15, (12, 3, 3, 16)),
    "conv2.bias": rng.normal(0, 0.1, 12),
    "fc.weight": rng.normal(0, 0.3, (5, 12)),            # [out, in]
    "fc.bias": rng.normal(0, 0.1, 5),
}
nodes = [
    conv("conv1", "image", weights["conv1.weight"], 1, "conv1"),
    {"name": "gate", "op": "multiply", "inputs": ["conv1", "mask"], "outputs": ["gate"]},
    {"name": "sum", "op": "add", "inputs": ["gate", "conv1"], "outputs": ["sum"]},
    {"name": "relu1", "op": "relu", "inputs": ["sum"], "outputs": ["relu1"]},
    {"name": "cat", "op": "concat", "inputs": ["relu1", "mask"], "outputs": ["cat"]},
    conv("conv2", "cat", weights["conv2.weight"], 2, "conv2"),
    {"name": "features", "op": "relu", "inputs": ["conv2"], "outputs": ["features"]},
    {"name": "pool", "op": "globalAvgPool", "inputs": ["features"], "outputs": ["pool"]},
    {"name": "flat", "op": "flatten", "inputs": ["pool"], "outputs": ["flat"]},
    {"name": "fc", "op": "linear", "inputs": ["flat", "fc.weight", "fc.bias"], "outputs": ["logits"]},
]
graph = {"format_version": 1, "name": "two-inputs",
         "inputs": [{"name": "image", "shape": [1, 16, 16, 3]}, {"name": "mask", "shape": [1, 16, 16, 8]}],
         "outputs": ["logits", "features"], "nodes": nodes}

header = {"__metadata__": {"rankedge.graph": json.dumps(graph)}}
blobs, offset = [], 0
for name in sorted(weights):
    data = weights[name].astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(weights[name].shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
rng.uniform(-1, 1, (batch, 16, 16, 3)).astype("<f4").tofile(path_a)
rng.uniform(0, 2, (batch, 16, 16, 8)).astype("<f4").tofile(path_b)
