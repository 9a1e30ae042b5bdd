#!/usr/bin/env python3
"""Scale-out round trip: a RankEdge graph exported as ONNX, fine-tuned in PyTorch with
DistributedDataParallel, written back into the ONNX file and imported again.

    B=.build/release/rankedge
    $B zoo build resnet20 --variant lrd -o r20-lrd.rkg && $B export r20-lrd.rkg -o r20-lrd.onnx
    .venv-torch/bin/python tools/onnx_ddp_roundtrip.py r20-lrd.onnx --data DIR --rankedge $B

The ONNX graph runs in PyTorch through a small interpreter of the ops `rankedge export` writes for
CNNs (Conv, BatchNormalization, Relu, Add, GlobalAveragePool, Flatten, Gemm), its initializers being
the parameters (BN running statistics as buffers, updated in training mode). `--world` CPU
processes (gloo) train `--steps` SGD steps on disjoint halves of each batch of the first CIFAR-10
training images; rank 0 writes the weights back under the same initializer names, then
`rankedge import` reads the result and RankEdge's logits on test images are compared with the
PyTorch module's. Prints one JSON object; exit status 1 if a check fails (replicas differ, weights
unchanged, names lost, top-1 agreement below 100 %, max |logit diff| above 1e-3).
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

MEAN = np.array([0.4913, 0.4821, 0.4465], np.float32)  # CIFAR-10 training set, pixels 0…1
STD = np.array([0.2452, 0.2428, 0.2606], np.float32)


class OnnxModule(torch.nn.Module):
    """The ops `rankedge export` writes for CNNs, as a torch module whose parameters are the initializers."""

    def __init__(self, model):
        super().__init__()
        self.graph = model.graph
        self.key = {}
        bn_stats = set()
        for n in model.graph.node:
            if n.op_type == "BatchNormalization":
                bn_stats.update(n.input[3:5])
        for t in model.graph.initializer:
            k = t.name.replace(".", "__")
            self.key[t.name] = k
            v = torch.from_numpy(numpy_helper.to_array(t).copy())
            if t.name in bn_stats:
                self.register_buffer(k, v)
            else:
                setattr(self, k, torch.nn.Parameter(v))

    def t(self, name):
        return getattr(self, self.key[name])

    def forward(self, x):
        env = {self.graph.input[0].name: x}
        get = lambda n: env[n] if n in env else self.t(n)
        for n in self.graph.node:
            a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
            i = [get(v) for v in n.input]
            if n.op_type == "Conv":
                p = a.get("pads", [0, 0, 0, 0])
                assert p[0] == p[2] and p[1] == p[3]
                y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", [1, 1]), (p[0], p[1]),
                             a.get("dilations", [1, 1]), a.get("group", 1))
            elif n.op_type == "BatchNormalization":
                y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], self.training, 0.1, a.get("epsilon", 1e-5))
            elif n.op_type == "Relu":
                y = F.relu(i[0])
            elif n.op_type == "Add":
                y = i[0] + i[1]
            elif n.op_type == "GlobalAveragePool":
                y = i[0].mean((2, 3), keepdim=True)
            elif n.op_type == "Flatten":
                y = torch.flatten(i[0], 1)
            elif n.op_type == "Gemm":
                assert a.get("transB", 0) == 1
                y = F.linear(i[0], i[1], i[2] if len(i) > 2 else None)
            else:
                raise SystemExit(f"onnx_ddp_roundtrip: op {n.op_type} (node {n.name}) is not interpreted here")
            env[n.output[0]] = y
        return env[self.graph.output[0].name]


def normalization(model):
    """The graph's rankedge.input_mean/std metadata when `rankedge export` wrote it, else CIFAR-10's."""
    props = {p.key: p.value for p in model.metadata_props}
    keys = ("rankedge.metadata.rankedge.input_mean", "rankedge.metadata.rankedge.input_std")
    if all(k in props for k in keys):
        return tuple(np.array([float(v) for v in props[k].split(",")], np.float32) for k in keys)
    return MEAN, STD


def load(path, count, mean=MEAN, std=STD):
    raw = np.fromfile(path, np.uint8).reshape(-1, 3073)[:count]
    x = (raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255 - mean.reshape(1, 3, 1, 1)) / std.reshape(1, 3, 1, 1)
    return torch.from_numpy(x), torch.from_numpy(raw[:, 0].astype(np.int64))


def worker(rank, a, q):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(a.port)  # loopback only
    dist.init_process_group("gloo", rank=rank, world_size=a.world)
    torch.manual_seed(0)
    proto = onnx.load(a.onnx)
    model = OnnxModule(proto)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    x, y = load(os.path.join(a.data, "data_batch_1.bin"), min(a.steps * a.batch, 10000), *normalization(proto))
    opt = torch.optim.SGD(ddp.parameters(), lr=a.lr, momentum=0.9)
    ddp.train()
    share = a.batch // a.world
    for step in range(a.steps):
        start = step * a.batch + rank * share  # each process its part of the batch
        idx = torch.arange(start, start + share) % len(y)
        loss = F.cross_entropy(ddp(x[idx]), y[idx])
        opt.zero_grad(); loss.backward(); opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(a.world)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        same = all(torch.equal(gathered[0], g) for g in gathered)
        m = onnx.load(a.onnx)
        for t in m.graph.initializer:
            t.CopyFrom(numpy_helper.from_array(model.t(t.name).detach().numpy(), t.name))
        onnx.save(m, a.out)
        q.put({"replicas_equal": same, "last_loss": loss.item()})
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2])
    p.add_argument("onnx", help="an ONNX file written by `rankedge export`")
    p.add_argument("--data", required=True, help="CIFAR-10 binary folder")
    p.add_argument("--rankedge", required=True, help="the rankedge CLI binary")
    p.add_argument("--out", help="the fine-tuned ONNX file (default: next to the input, -ddp.onnx)")
    p.add_argument("--world", type=int, default=2, help="processes (default 2)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=128, help="global batch, split over the processes")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--port", type=int, default=29533, help="loopback port for the process group")
    a = p.parse_args()
    a.out = a.out or os.path.splitext(a.onnx)[0] + "-ddp.onnx"
    q = mp.get_context("spawn").SimpleQueue()
    mp.spawn(worker, args=(a, q), nprocs=a.world)
    info = q.get()
    rkg = os.path.splitext(a.out)[0] + ".rkg"
    print(subprocess.run([a.rankedge, "import", a.out, "-o", rkg], check=True, capture_output=True, text=True).stdout.strip(),
          flush=True)
    proto = onnx.load(a.out)
    model = OnnxModule(proto).eval()
    x, _ = load(os.path.join(a.data, "test_batch.bin"), 200, *normalization(proto))
    with torch.no_grad():
        ref = model(x).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        raw_in, raw_out = os.path.join(tmp, "in.f32"), os.path.join(tmp, "out.f32")
        np.ascontiguousarray(x.numpy().transpose(0, 2, 3, 1)).astype("<f4").tofile(raw_in)
        subprocess.run([a.rankedge, "run", rkg, "--raw-input", raw_in, "-o", raw_out], check=True, capture_output=True)
        out = np.fromfile(raw_out, "<f4").reshape(len(ref), -1)
    with open(rkg, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        names = set(json.loads(f.read(n))) - {"__metadata__"}
    before, after = onnx.load(a.onnx).graph.initializer, onnx.load(a.out).graph.initializer
    src = set(t.name for t in before)
    changed = any(not np.array_equal(numpy_helper.to_array(u), numpy_helper.to_array(v)) for u, v in zip(before, after))
    result = {**info, "world": a.world, "steps": a.steps, "weights_changed": changed,
              "names_kept": f"{len(src & names)}/{len(src)}", "max_abs_logit_diff": float(np.abs(out - ref).max()),
              "top1_agreement": float((out.argmax(1) == ref.argmax(1)).mean())}
    print(json.dumps(result))
    ok = info["replicas_equal"] and changed and src <= names and result["top1_agreement"] == 1.0 \
        and result["max_abs_logit_diff"] < 1e-3
    if not ok:
        print("onnx_ddp_roundtrip: FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
