#!/usr/bin/env python3
"""Opens .rkg files written by RankEdge with the reference `safetensors` package and checks them
against an independent reading of the raw bytes (docs/FORMAT.md):

* safetensors loads every tensor; names, dtypes (F32) and shapes agree with the header;
* each tensor's values equal, bit for bit, the little-endian float32 bytes at its data_offsets;
* the buffer starts on an 8-byte boundary and the tensors tile it with no gaps;
* __metadata__["rankedge.graph"] is JSON with format_version 1, and every node input names a
  graph input, an earlier node's output, or (for weight inputs) a tensor present in the file, with
  the rank/shape the op needs.

With --rewrite DIR, each file is also written again into DIR by safetensors' own writer (its
key order and padding, not RankEdge's), for the caller to read back with RankEdge.

Usage: check_safetensors.py [--rewrite DIR] FILE.rkg [FILE.rkg ...]; exit status 1 on the first
bad file.
"""
import os
import json
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

# op -> number of leading activation inputs (None: all of them), and allowed weight-input counts.
ACTIVATION_INPUTS = {"conv2d": 1, "rankConv2d": 1, "linear": 1, "batchNorm": 1, "add": 2, "concat": None}
WEIGHT_INPUTS = {"conv2d": (1, 2), "rankConv2d": (2, 3), "linear": (1, 2), "batchNorm": (4, 4)}
OPS = {"conv2d", "rankConv2d", "linear", "batchNorm", "relu", "relu6", "maxPool", "avgPool",
       "globalAvgPool", "add", "flatten", "softmax", "concat", "dropout"}


class Bad(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Bad(message)


def check_weights(node, shapes):
    """The weight shapes each op needs (docs/FORMAT.md, node inputs and weight layouts)."""
    op, name = node["op"], node["name"]
    if op == "conv2d":
        expect(len(shapes[0]) == 4, f"node '{name}': conv2d weight must be [S, kh, kw, C/groups], got {shapes[0]}")
        if len(shapes) == 2:
            expect(shapes[1] == [shapes[0][0]], f"node '{name}': bias must be [{shapes[0][0]}], got {shapes[1]}")
    elif op == "rankConv2d":
        expect(len(shapes[0]) == 4 and shapes[0] == shapes[1], f"node '{name}': factors must both be [S, C, L, k], got {shapes[:2]}")
        if len(shapes) == 3:
            expect(shapes[2] == [shapes[0][0]], f"node '{name}': bias must be [{shapes[0][0]}], got {shapes[2]}")
    elif op == "linear":
        expect(len(shapes[0]) == 2, f"node '{name}': linear weight must be [S, C], got {shapes[0]}")
        if len(shapes) == 2:
            expect(shapes[1] == [shapes[0][0]], f"node '{name}': bias must be [{shapes[0][0]}], got {shapes[1]}")
    elif op == "batchNorm":
        expect(all(len(s) == 1 and s == shapes[0] for s in shapes), f"node '{name}': batchNorm tensors must all be [C], got {shapes}")


def check_graph(graph, header):
    expect(isinstance(graph, dict), "rankedge.graph is not a JSON object")
    expect(graph.get("format_version") == 1, f"format_version is {graph.get('format_version')!r}, expected 1")
    activations = set()
    for value in graph["inputs"]:
        expect(all(isinstance(d, int) and d >= 1 for d in value["shape"]), f"input '{value['name']}' has shape {value['shape']}")
        activations.add(value["name"])
    for node in graph["nodes"]:
        name, op, inputs = node["name"], node["op"], node["inputs"]
        expect(op in OPS, f"node '{name}': unknown op '{op}'")
        count = ACTIVATION_INPUTS.get(op, 1)
        count = len(inputs) if count is None else count
        for x in inputs[:count]:
            expect(x in activations, f"node '{name}': activation input '{x}' is not a graph input or an earlier output")
        weights = inputs[count:]
        low, high = WEIGHT_INPUTS.get(op, (0, 0))
        expect(low <= len(weights) <= high, f"node '{name}': {op} takes {low}-{high} weight inputs, got {len(weights)}")
        for w in weights:
            expect(w in header and w != "__metadata__", f"node '{name}': weight '{w}' is not a tensor in the file")
        if weights:
            check_weights(node, [header[w]["shape"] for w in weights])
        expect(len(node["outputs"]) == 1, f"node '{name}': expected one output")
        activations.update(node["outputs"])
    for out in graph["outputs"]:
        expect(out in activations, f"graph output '{out}' is produced by no node")
    expect(all(isinstance(c, str) for c in graph.get("class_names", [])), "class_names must be strings")
    expect(all(isinstance(v, str) for v in graph.get("metadata", {}).values()), "metadata values must be strings")


def check_file(path):
    raw = open(path, "rb").read()
    expect(len(raw) >= 8, "shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    expect(8 + n <= len(raw), f"header length {n} runs past the end of the file")
    expect((8 + n) % 8 == 0, f"buffer starts at byte {8 + n}, not on an 8-byte boundary")
    expect(raw[8:9] == b"{", "header does not start with '{'")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    buffer = raw[8 + n:]
    entries = {k: v for k, v in header.items() if k != "__metadata__"}

    tensors = load_file(path)
    with safe_open(path, framework="np") as f:
        keys = set(f.keys())
        metadata = f.metadata() or {}
    expect(keys == set(entries) == set(tensors), f"safetensors sees tensors {sorted(keys)}, the header names {sorted(entries)}")

    cursor = 0
    for name, entry in sorted(entries.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, end = entry["data_offsets"]
        expect(begin == cursor, f"tensor '{name}' starts at {begin}, expected {cursor}")
        cursor = end
        expect(entry["dtype"] == "F32", f"tensor '{name}' has dtype {entry['dtype']}, expected F32")
        array = tensors[name]
        expect(array.dtype == np.float32, f"tensor '{name}' loads as {array.dtype}")
        expect(list(array.shape) == entry["shape"], f"tensor '{name}' loads with shape {list(array.shape)}, header says {entry['shape']}")
        reference = np.frombuffer(buffer[begin:end], dtype="<f4").reshape(entry["shape"])
        expect(np.array_equal(array.view(np.uint32), reference.view(np.uint32)), f"tensor '{name}' values differ from its raw bytes")
        flat = array.reshape(-1)
        if flat.size:
            # A few values spelled out, read straight from the bytes with struct.
            for i in sorted({0, flat.size // 2, flat.size - 1}):
                (value,) = struct.unpack_from("<f", buffer, begin + 4 * i)
                expect(np.float32(value).tobytes() == flat[i].tobytes(), f"tensor '{name}'[{i}] is {flat[i]}, bytes say {value}")
            expect(bool(np.isfinite(flat).all()), f"tensor '{name}' holds non-finite values")
    expect(cursor == len(buffer), f"tensors cover {cursor} of {len(buffer)} buffer bytes")

    expect("rankedge.graph" in metadata, "__metadata__ has no rankedge.graph")
    graph = json.loads(metadata["rankedge.graph"])
    check_graph(graph, header)
    params = sum(int(t.size) for t in tensors.values())
    print(f"  ok {path}: {len(tensors)} tensors, {params} values, {len(graph['nodes'])} nodes, graph '{graph['name']}'")
    return tensors, metadata


def main(args):
    rewrite = None
    if args[:1] == ["--rewrite"] and len(args) >= 2:
        rewrite, args = args[1], args[2:]
    paths = args
    if not paths:
        print("check_safetensors: no .rkg files given", file=sys.stderr)
        return 1
    for path in paths:
        try:
            tensors, metadata = check_file(path)
            if rewrite:
                save_file(tensors, os.path.join(rewrite, os.path.basename(path)), metadata=metadata)
        except Bad as e:
            print(f"check_safetensors: {path}: {e}", file=sys.stderr)
            return 1
        except Exception as e:  # safetensors or json refusing the file is a failure too
            print(f"check_safetensors: {path}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
