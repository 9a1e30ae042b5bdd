#!/usr/bin/env python3
"""ONNX cross-check: RankEdge's importer and exporter against ONNX Runtime.

Builds its own ONNX models with onnx.helper and seeded random weights (a ResNet-18 at 64x64, a
mini-VGG, a net of grouped/depthwise convs, a Gemm/Concat net), then for each:
  import:  rankedge import -> rankedge run  == onnxruntime on the original model
  export:  rankedge export -> onnx.checker -> onnxruntime == rankedge run of the .rkg
plus the export of a rankConv2d model made by rankedge itself, and bad-input checks (truncated
file, unsupported ops, dynamic spatial shape, missing initializer): exit status 1, a one-line
message naming the problem, and no output file left behind.

Tolerance: max |rankedge - onnxruntime| <= 1e-4 * max |onnxruntime output| per output.
Prints "onnx crosscheck: N passed, M failed"; exits 1 when anything failed.

Usage: tools/onnx_crosscheck.py --rankedge PATH [--keep DIR]
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-4
IR_FOR_OPSET = {9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


class Net:
    """A small onnx.helper graph builder with seeded He-initialised weights."""

    def __init__(self, name, input_shape, seed, opset):
        self.name, self.opset = name, opset
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.outputs = [], [], []
        self.input_shape = input_shape
        self.count = 0

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def init(self, name, array, typed=False):
        array = np.asarray(array)
        if typed and array.dtype == np.float32:
            # float_data instead of raw_data: the importer must read both.
            t = helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.flatten().tolist())
        else:
            t = numpy_helper.from_array(array, name)
        self.inits.append(t)
        return name

    def node(self, op, inputs, name=None, outputs=1, **attrs):
        name = name or self.fresh(op.lower() + "_")
        outs = [name] if outputs == 1 else [f"{name}:{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0]

    def conv(self, x, cin, cout, k, stride=1, pads=None, group=1, dilation=1, bias=True, name=None, **extra):
        name = name or self.fresh("conv")
        fan_in = cin // group * k * k
        w = (self.rng.uniform(-1, 1, (cout, cin // group, k, k)) * np.sqrt(2 / fan_in)).astype(np.float32)
        inputs = [x, self.init(name + ".w", w)]
        if bias:
            inputs.append(self.init(name + ".b", self.rng.uniform(-0.1, 0.1, cout).astype(np.float32)))
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], group=group, dilations=[dilation, dilation])
        if pads is not None:
            attrs["pads"] = pads
        attrs.update(extra)
        return self.node("Conv", inputs, name=name, **attrs)

    def bn(self, x, c, name=None):
        name = name or self.fresh("bn")
        r = self.rng
        params = [r.uniform(0.5, 1.5, c), r.uniform(-0.1, 0.1, c), r.uniform(-0.1, 0.1, c), r.uniform(0.5, 1.5, c)]
        names = [self.init(f"{name}.{s}", p.astype(np.float32)) for s, p in zip(["scale", "bias", "mean", "var"], params)]
        return self.node("BatchNormalization", [x] + names, name=name, epsilon=1e-5)

    def gemm(self, x, cin, cout, name=None, trans_b=1, alpha=1.0, beta=1.0, typed=False):
        name = name or self.fresh("fc")
        w = (self.rng.uniform(-1, 1, (cout, cin)) * np.sqrt(2 / cin)).astype(np.float32)
        b = self.rng.uniform(-0.1, 0.1, cout).astype(np.float32)
        w_in = w if trans_b else np.ascontiguousarray(w.T)
        return self.node("Gemm", [x, self.init(name + ".w", w_in, typed), self.init(name + ".b", b)], name=name,
                         transB=trans_b, alpha=alpha, beta=beta)

    def model(self, outputs, dynamic_batch=True):
        batch = "N" if dynamic_batch else self.input_shape[0]
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch] + list(self.input_shape[1:]))
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
        graph = helper.make_graph(self.nodes, self.name, [inp], outs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                              ir_version=IR_FOR_OPSET[self.opset], producer_name="onnx_crosscheck")
        # ONNX's own shape inference fills in the output shapes; then the model must check strictly.
        m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        onnx.checker.check_model(m, full_check=True)
        return m


def resnet18(size=64):
    n = Net("resnet18", [1, 3, size, size], seed=18, opset=13)
    x = n.conv("input", 3, 64, 7, 2, [3, 3, 3, 3], bias=False, name="conv1")
    x = n.node("Relu", [n.bn(x, 64, "bn1")], name="relu")
    x = n.node("MaxPool", [x], name="maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512], start=1):
        for block in range(2):
            p = f"layer{stage}.{block}"
            stride = 2 if block == 0 and stage > 1 else 1
            y = n.conv(x, cin, cout, 3, stride, [1, 1, 1, 1], bias=False, name=p + ".conv1")
            y = n.node("Relu", [n.bn(y, cout, p + ".bn1")], name=p + ".relu1")
            y = n.bn(n.conv(y, cout, cout, 3, 1, [1, 1, 1, 1], bias=False, name=p + ".conv2"), cout, p + ".bn2")
            if stride != 1 or cin != cout:
                x = n.bn(n.conv(x, cin, cout, 1, stride, bias=False, name=p + ".downsample.0"), cout, p + ".downsample.1")
            x = n.node("Relu", [n.node("Add", [y, x], name=p + ".add")], name=p + ".relu2")
            cin = cout
    x = n.node("GlobalAveragePool", [x], name="avgpool")
    x = n.node("Flatten", [x], name="flatten", axis=1)
    return n.model([n.gemm(x, 512, 10, "fc")])


def mini_vgg():
    """Opset 11, Flatten of a 4x4x64 map: the flatten reordering carries real weight."""
    n = Net("minivgg", [1, 3, 32, 32], seed=7, opset=11)
    x, cin = "input", 3
    for block, cout in enumerate([16, 32, 64], start=1):
        for i in (1, 2):
            x = n.node("Relu", [n.conv(x, cin, cout, 3, 1, [1, 1, 1, 1], name=f"block{block}.conv{i}")], name=f"block{block}.relu{i}")
            cin = cout
        x = n.node("MaxPool", [x], name=f"block{block}.pool", kernel_shape=[2, 2], strides=[2, 2])
    x = n.node("Flatten", [x], name="flatten")
    x = n.node("Relu", [n.gemm(x, 64 * 16, 64, "fc1", typed=True)], name="fc1.relu")
    return n.model([n.gemm(x, 64, 10, "fc2", trans_b=0)])


def grouped_depthwise():
    """Grouped and depthwise convs, asymmetric pads, dilation, auto_pad, Clip(0,6), AveragePool
    counting padding, Dropout, Identity; two outputs (a 4-D map and logits)."""
    n = Net("grouped", [1, 8, 23, 19], seed=5, opset=17)
    x = n.conv("input", 8, 16, 3, 1, [1, 1, 1, 1], group=2, name="grouped")
    x = n.bn(x, 16, "bn")
    zero, six = n.init("zero", np.array(0, np.float32)), n.init("six", np.array(6, np.float32))
    x = n.node("Clip", [x, zero, six], name="relu6")
    x = n.conv(x, 16, 16, 3, 2, [0, 2, 3, 1], group=16, dilation=2, name="depthwise")
    x = n.node("Clip", [x, zero], name="clip_relu")
    x = n.conv(x, 16, 24, 3, 2, group=8, bias=False, name="same_upper", auto_pad="SAME_UPPER")
    y = n.conv(x, 24, 24, 2, 1, group=24, name="same_lower", auto_pad="SAME_LOWER")
    x = n.node("AveragePool", [y], name="avgpool_pad", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    x = n.node("AveragePool", [x], name="avgpool_nopad", kernel_shape=[2, 2], strides=[1, 1], pads=[1, 0, 0, 1])
    x = n.node("Dropout", [x, n.init("ratio", np.array(0.3, np.float32))], name="dropout")
    x = n.node("Identity", [x], name="identity")
    x = n.node("GlobalAveragePool", [x], name="gap")
    x = n.node("Flatten", [x], name="flatten")
    logits = n.gemm(x, 24, 7, "fc")
    feature = n.node("Identity", [y], name="features")
    return n.model([logits, feature])


def activations():
    """The activations of mobile CNNs as PyTorch exports them (opset 17): Sigmoid, Tanh, HardSwish,
    HardSigmoid with PyTorch's alpha 1/6 and with ONNX's default, and SiLU written as
    Mul(x, Sigmoid(x)) in both operand orders."""
    n = Net("activations", [1, 5, 11, 9], seed=9, opset=17)
    x = n.conv("input", 5, 12, 3, 1, [1, 1, 1, 1], name="conv1")
    x = n.node("HardSwish", [x], name="hardswish")
    x = n.conv(x, 12, 12, 3, 1, [1, 1, 1, 1], name="conv2")
    gate = n.node("Sigmoid", [x], name="silu_gate")
    x = n.node("Mul", [x, gate], name="silu")
    x = n.conv(x, 12, 12, 1, name="conv3")
    gate = n.node("Sigmoid", [x], name="silu2_gate")
    x = n.node("Mul", [gate, x], name="silu2")
    x = n.node("HardSigmoid", [x], name="hardsigmoid_torch", alpha=1.0 / 6, beta=0.5)
    x = n.conv(x, 12, 8, 3, 2, [1, 1, 1, 1], name="conv4")
    x = n.node("Tanh", [x], name="tanh")
    x = n.node("HardSigmoid", [x], name="hardsigmoid_onnx")
    x = n.node("Sigmoid", [x], name="sigmoid")
    x = n.node("GlobalAveragePool", [x], name="gap")
    x = n.node("Flatten", [x], name="flatten")
    return n.model([n.gemm(x, 8, 4, "fc")])


def se_block():
    """Squeeze-and-excitation as MobileNetV3 (HardSigmoid gate after GlobalAveragePool) and
    EfficientNet (SiLU, ReduceMean, Sigmoid gate written first) export it; input normalisation as
    Sub/Div by [1, 3, 1, 1] constants and GoogLeNet's transform_input (per-channel Slice, Mul, Add,
    Concat); a scalar Mul and a [C, 1, 1] layer scale."""
    n = Net("se_block", [1, 3, 13, 11], seed=23, opset=17)
    x = n.node("Sub", ["input", n.init("mean", np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1))], name="sub_mean")
    x = n.node("Div", [x, n.init("std", np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1))], name="div_std")
    parts = []
    for c in range(3):
        starts, ends, axes = (n.init(f"s{c}", np.array([c], np.int64)), n.init(f"e{c}", np.array([c + 1], np.int64)),
                              n.init(f"a{c}", np.array([1], np.int64)))
        ch = n.node("Slice", [x, starts, ends, axes], name=f"slice{c}")
        ch = n.node("Mul", [ch, n.init(f"k{c}", np.array(0.5 + 0.1 * c, np.float32))], name=f"scale{c}")
        parts.append(n.node("Add", [n.init(f"b{c}", np.array(0.05 * c - 0.05, np.float32)), ch], name=f"shift{c}"))
    x = n.node("Concat", parts, name="transform_input", axis=1)
    x = n.node("HardSwish", [n.conv(x, 3, 16, 3, 1, [1, 1, 1, 1], name="stem")], name="stem_act")
    x = n.conv(x, 16, 16, 3, 1, [1, 1, 1, 1], group=16, name="dw")
    s = n.node("GlobalAveragePool", [x], name="se1_pool")
    s = n.node("Relu", [n.conv(s, 16, 4, 1, name="se1_fc1")], name="se1_relu")
    s = n.node("HardSigmoid", [n.conv(s, 4, 16, 1, name="se1_fc2")], name="se1_gate", alpha=1.0 / 6, beta=0.5)
    x = n.node("Mul", [x, s], name="se1_scale")
    x = n.conv(x, 16, 24, 1, name="project")
    gate = n.node("Sigmoid", [x], name="silu_gate")
    x = n.node("Mul", [x, gate], name="silu")
    s = n.node("ReduceMean", [x], name="se2_pool", axes=[2, 3], keepdims=1)
    s = n.conv(s, 24, 6, 1, name="se2_fc1")
    s = n.node("Mul", [s, n.node("Sigmoid", [s], name="se2_silu_gate")], name="se2_silu")
    s = n.node("Sigmoid", [n.conv(s, 6, 24, 1, name="se2_fc2")], name="se2_gate")
    x = n.node("Mul", [s, x], name="se2_scale")
    x = n.node("Mul", [x, n.init("gamma", n.rng.uniform(0.5, 1.5, (24, 1, 1)).astype(np.float32))], name="layer_scale")
    x = n.node("Mul", [x, n.init("half", np.array(0.5, np.float32))], name="scalar_mul")
    x = n.node("GlobalAveragePool", [x], name="gap")
    return n.model([n.gemm(n.node("Flatten", [x], name="flatten"), 24, 5, "fc")])


def shuffle_block():
    """ShuffleNetV2 as the TorchScript exporter writes it (opset 13): Split of the channels, a branch,
    Concat, the channel shuffle Reshape [N, 2, C/2, H, W] / Transpose / Reshape with a shape computed
    from Shape, Gather, Div and Concat; max pooling with ceil_mode on an odd map (SqueezeNet,
    GoogLeNet) and average pooling with ceil_mode (count_include_pad 0); Range folded."""
    n = Net("shuffle_block", [1, 3, 16, 16], seed=31, opset=13)
    x = n.node("Relu", [n.conv("input", 3, 16, 3, 1, [1, 1, 1, 1], name="stem")], name="stem_relu")
    x = n.node("MaxPool", [x], name="pool_ceil", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)   # 16 -> 8 (7 without)
    halves = n.init("halves", np.array([8, 8], np.int64))
    a = n.node("Split", [x, halves], name="split", outputs=2, axis=1)
    b = a.replace(":0", ":1")
    b = n.node("Relu", [n.conv(b, 8, 8, 1, name="branch_pw1")], name="branch_relu")
    b = n.conv(b, 8, 8, 3, 1, [1, 1, 1, 1], group=8, name="branch_dw")
    x = n.node("Concat", [a, b], name="concat", axis=1)
    shape = n.node("Shape", [x], name="shape")
    c = n.node("Gather", [shape, n.init("one", np.array(1, np.int64))], name="channels", axis=0)
    per = n.node("Div", [c, n.init("two", np.array(2, np.int64))], name="per_group")
    hw = n.node("Slice", [shape, n.init("h0", np.array([2], np.int64)), n.init("h1", np.array([4], np.int64))], name="hw")
    grid = n.node("Concat", [n.init("ng", np.array([-1, 2], np.int64)), n.node("Unsqueeze", [per, n.init("ax0", np.array([0], np.int64))],
                                                                         name="per_1d"), hw], name="grid_shape", axis=0)
    x = n.node("Reshape", [x, grid], name="shuffle_view")
    x = n.node("Transpose", [x], name="shuffle_transpose", perm=[0, 2, 1, 3, 4])
    back = n.node("Concat", [n.init("nc", np.array([-1, 16], np.int64)), hw], name="back_shape", axis=0)
    x = n.node("Reshape", [x, back], name="shuffle_back")
    x = n.node("AveragePool", [x], name="avg_ceil", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)   # 8 -> 4 (3 without)
    r = n.node("Range", [n.init("r0", np.array(0, np.int64)), n.init("r1", np.array(2, np.int64)), n.init("r2", np.array(1, np.int64))], name="range")
    flat = n.node("Concat", [n.node("Slice", [r, n.init("z0", np.array([0], np.int64)), n.init("z1", np.array([1], np.int64))], name="batch_dim"),
                             n.init("minus1", np.array([-1], np.int64))], name="flat_shape", axis=0)
    x = n.node("Reshape", [n.node("GlobalAveragePool", [x], name="gap"), flat], name="flatten")
    return n.model([n.gemm(x, 16, 5, "fc")])


def shuffle_dynamo():
    """The same block as the dynamo exporter writes it (opset 18): Split with num_outputs, Slice of
    channels, a [N, C, 1, 1]-shaped gate from ReduceMean with axes as an input."""
    n = Net("shuffle_dynamo", [1, 4, 9, 9], seed=32, opset=18)
    x = n.node("Relu", [n.conv("input", 4, 12, 3, 1, [1, 1, 1, 1], name="stem")], name="stem_relu")
    parts = n.node("Split", [x], name="split", outputs=3, axis=1, num_outputs=3)
    a, b, c = parts, parts.replace(":0", ":1"), parts.replace(":0", ":2")
    b = n.conv(b, 4, 4, 3, 1, [1, 1, 1, 1], name="branch")
    c = n.node("Slice", [c, n.init("cs", np.array([1], np.int64)), n.init("ce", np.array([3], np.int64)), n.init("ca", np.array([-3], np.int64))],
               name="slice_c")
    x = n.node("Concat", [a, b, c], name="concat", axis=1)
    x = n.node("Reshape", [x, n.init("grid_shape", np.array([0, 5, 2, 9, 9], np.int64))], name="view")
    x = n.node("Transpose", [x], name="transpose", perm=[0, 2, 1, 3, 4])
    x = n.node("Reshape", [x, n.init("back_shape", np.array([0, -1, 9, 9], np.int64))], name="back")
    g = n.node("ReduceMean", [x, n.init("axes", np.array([2, 3], np.int64))], name="mean", keepdims=1)
    x = n.node("Mul", [x, n.node("Sigmoid", [g], name="gate")], name="gated")
    x = n.node("ReduceMean", [x, n.init("axes2", np.array([2, 3], np.int64))], name="pool", keepdims=0)
    return n.model([n.gemm(x, 10, 3, "fc")])


def convnext_block():
    """ConvNeXt as the TorchScript exporter writes it (opset 17): a 4x4 stem, LayerNorm2d as Transpose
    / LayerNormalization / Transpose, and a block: 7x7 depthwise conv, Transpose to NHWC,
    LayerNormalization, MatMul + Add (Linear on the channels), GELU as Div / Erf / Add / Mul / Mul,
    MatMul + Add, Transpose back, layer scale Mul by [C, 1, 1], residual Add; a lone Erf."""
    n = Net("convnext_block", [1, 3, 16, 16], seed=41, opset=17)
    c = 8

    def layer_norm(x, name, channels_first):
        if channels_first:
            x = n.node("Transpose", [x], name=name + ".to_nhwc", perm=[0, 2, 3, 1])
        w = n.init(name + ".weight", n.rng.uniform(0.5, 1.5, c).astype(np.float32))
        b = n.init(name + ".bias", n.rng.uniform(-0.1, 0.1, c).astype(np.float32))
        x = n.node("LayerNormalization", [x, w, b], name=name, axis=-1, epsilon=1e-6)
        return n.node("Transpose", [x], name=name + ".to_nchw", perm=[0, 3, 1, 2]) if channels_first else x

    def linear(x, cin, cout, name):
        w = n.init(name + ".weight_t", (n.rng.uniform(-1, 1, (cin, cout)) * np.sqrt(2 / cin)).astype(np.float32))
        b = n.init(name + ".bias", n.rng.uniform(-0.1, 0.1, cout).astype(np.float32))
        return n.node("Add", [n.node("MatMul", [x, w], name=name + ".matmul"), b], name=name)

    x = layer_norm(n.conv("input", 3, c, 4, 4, name="stem"), "stem_norm", True)
    y = n.conv(x, c, c, 7, 1, [3, 3, 3, 3], group=c, name="dwconv")
    y = layer_norm(n.node("Transpose", [y], name="permute", perm=[0, 2, 3, 1]), "norm", False)
    y = linear(y, c, 4 * c, "pwconv1")
    d = n.node("Div", [y, n.init("sqrt2", np.array(1.4142135623730951, np.float32))], name="gelu.div")
    e = n.node("Erf", [d], name="gelu.erf")
    a = n.node("Add", [e, n.init("one", np.array(1.0, np.float32))], name="gelu.add")
    m = n.node("Mul", [y, a], name="gelu.mul")
    y = n.node("Mul", [m, n.init("half", np.array(0.5, np.float32))], name="gelu")
    y = linear(y, 4 * c, c, "pwconv2")
    y = n.node("Transpose", [y], name="permute_back", perm=[0, 3, 1, 2])
    y = n.node("Mul", [n.init("layer_scale_w", n.rng.uniform(0.1, 1.0, (c, 1, 1)).astype(np.float32)), y], name="layer_scale")
    x = n.node("Add", [y, x], name="residual")
    x = n.node("Erf", [x], name="erf")
    x = n.node("GlobalAveragePool", [x], name="gap")
    return n.model([n.gemm(n.node("Flatten", [x], name="flatten"), c, 5, "fc")])


def pad_block():
    """Pad (opset 13, pads and value as inputs): constant with a non-zero value, reflect and edge on
    odd 7x5 maps; zero Pads that fold into the Conv and the counting AveragePool after them; an
    AveragePool with ceil_mode and count_include_pad that needs an explicit pad."""
    n = Net("pad_block", [1, 3, 7, 5], seed=51, opset=13)

    def pad(x, pads, mode, value=None, name=None):
        inputs = [x, n.init(n.fresh("pads"), np.array(pads, np.int64))]
        if value is not None:
            inputs.append(n.init(n.fresh("value"), np.array(value, np.float32)))
        return n.node("Pad", inputs, name=name, mode=mode)

    x = pad("input", [0, 0, 1, 2, 0, 0, 2, 1], "constant", 0.3, name="pad_const")
    x = n.node("Relu", [n.conv(x, 3, 4, 3, name="conv1")], name="relu1")
    x = pad(x, [0, 0, 2, 1, 0, 0, 1, 2], "reflect", name="pad_reflect")
    x = n.conv(pad(x, [0, 0, 1, 1, 0, 0, 1, 1], "constant", name="pad_zero"), 4, 6, 3, stride=2, name="conv_folded")
    x = pad(x, [0, 0, 0, 2, 0, 0, 3, 0], "edge", name="pad_edge")
    a = n.node("AveragePool", [pad(x, [0, 0, 1, 0, 0, 0, 1, 1], "constant", 0.0, name="pad_avg")], name="avg_folded",
               kernel_shape=[3, 3], strides=[1, 1], pads=[0, 1, 0, 0], count_include_pad=1)
    b = n.node("AveragePool", [x], name="avg_ceil", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               ceil_mode=1, count_include_pad=1)
    return n.model([a, b])


def pad_legacy():
    """Opset 10: Pad with pads, mode and value as attributes; Resize (opset 10) nearest."""
    n = Net("pad_legacy", [1, 2, 5, 7], seed=52, opset=10)
    x = n.node("Pad", ["input"], name="pad_attr", mode="reflect", pads=[0, 0, 2, 1, 0, 0, 1, 3])
    y = n.node("Pad", [x], name="pad_value", pads=[0, 0, 1, 0, 0, 0, 0, 2], value=-0.5)
    z = n.node("Resize", [y, n.init("scales", np.array([1, 1, 2, 3], np.float32))], name="resize10", mode="nearest")
    return n.model([y, z])


def upsample_block():
    """Opset 9 Upsample (scales as an input), nearest and linear, as old TorchScript exports write it."""
    n = Net("upsample_block", [1, 3, 5, 4], seed=53, opset=9)
    x = n.conv("input", 3, 4, 3, pads=[1, 1, 1, 1], name="conv")
    a = n.node("Upsample", [x, n.init("scales2", np.array([1, 1, 2, 2], np.float32))], name="up_nearest", mode="nearest")
    b = n.node("Upsample", [x, n.init("scales3", np.array([1, 1, 3, 2], np.float32))], name="up_linear", mode="linear")
    return n.model([a, b])


def resize_block():
    """Resize (opset 13) on a 7x5 map: nearest as PyTorch's exporters write it (asymmetric / floor by
    scales; half_pixel / round_prefer_floor), bilinear with half_pixel, pytorch_half_pixel,
    align_corners and asymmetric, by scales (1.5 is not integral) and by sizes computed from Shape."""
    n = Net("resize_block", [1, 3, 7, 5], seed=54, opset=13)
    x = n.conv("input", 3, 4, 3, pads=[1, 1, 1, 1], name="conv")

    def scales(h, w):
        return n.init(n.fresh("scales"), np.array([1, 1, h, w], np.float32))

    def sizes(h, w):
        nc = n.node("Slice", [n.node("Shape", [x], name=n.fresh("shape")), n.init(n.fresh("st"), np.array([0], np.int64)),
                              n.init(n.fresh("en"), np.array([2], np.int64))], name=n.fresh("nc"))
        return n.node("Concat", [nc, n.init(n.fresh("hw"), np.array([h, w], np.int64))], name=n.fresh("sizes"), axis=0)

    outs = [
        n.node("Resize", [x, "", scales(2, 2)], name="nearest_floor", mode="nearest",
               coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        n.node("Resize", [x, "", "", sizes(11, 8)], name="nearest_half", mode="nearest",
               coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor"),
        n.node("Resize", [x, "", scales(2, 2)], name="linear_half", mode="linear",
               coordinate_transformation_mode="half_pixel"),
        n.node("Resize", [x, "", scales(1.5, 2.5)], name="linear_pytorch", mode="linear",
               coordinate_transformation_mode="pytorch_half_pixel"),
        n.node("Resize", [x, "", "", sizes(13, 4)], name="linear_corners", mode="linear",
               coordinate_transformation_mode="align_corners"),
        n.node("Resize", [x, "", scales(0.5, 1.5)], name="linear_asym", mode="linear",
               coordinate_transformation_mode="asymmetric"),
    ]
    # TorchScript's interpolate(scale_factor=1.5, recompute_scale_factor=True): sizes as
    # floor(float(H, W) * 1.5), cast back to int64, after N and C.
    hw = n.node("Slice", [n.node("Shape", [x], name="shape_hw"), n.init("hw_st", np.array([2], np.int64)),
                          n.init("hw_en", np.array([4], np.int64))], name="hw")
    scaled = n.node("Mul", [n.node("Cast", [hw], name="hw_float", to=TensorProto.FLOAT),
                            n.init("factor", np.array([1.5, 1.5], np.float32))], name="hw_scaled")
    target = n.node("Cast", [n.node("Floor", [scaled], name="hw_floor")], name="hw_int", to=TensorProto.INT64)
    nc = n.node("Slice", [n.node("Shape", [x], name="shape_nc"), n.init("nc_st", np.array([0], np.int64)),
                          n.init("nc_en", np.array([2], np.int64))], name="nc_dims")
    computed = n.node("Concat", [nc, target], name="computed_sizes", axis=0)
    outs.append(n.node("Resize", [x, n.init("roi", np.array([], np.float32)), n.init("no_scales", np.array([], np.float32)), computed],
                       name="torchscript_bilinear", mode="linear", coordinate_transformation_mode="pytorch_half_pixel"))
    return n.model(outs)


def reducemean_block():
    """ReduceMean over the channels: of a map with keepdims 1 (axes attribute, opset 13) and of a
    2-D tensor's last axis."""
    n = Net("reducemean_block", [1, 5, 7, 5], seed=55, opset=13)
    x = n.node("Relu", [n.conv("input", 5, 6, 3, pads=[1, 1, 1, 1], name="conv")], name="relu")
    m = n.node("ReduceMean", [x], name="mean_c", axes=[1], keepdims=1)
    f = n.gemm(n.node("Flatten", [n.node("GlobalAveragePool", [x], name="gap")], name="flatten"), 6, 4, "fc")
    return n.model([m, n.node("ReduceMean", [f], name="mean_f", axes=[-1], keepdims=1)])


def reducemean_opset18():
    """Opset 18: ReduceMean over C with the axes as an input and keepdims 0, Unsqueeze back."""
    n = Net("reducemean_opset18", [1, 4, 6, 7], seed=56, opset=18)
    x = n.conv("input", 4, 5, 3, pads=[1, 1, 1, 1], name="conv")
    m = n.node("ReduceMean", [x, n.init("axes", np.array([1], np.int64))], name="mean_c", keepdims=0)
    return n.model([n.node("Unsqueeze", [m, n.init("one", np.array([1], np.int64))], name="unsqueeze")])


def convtranspose_block():
    """ConvTranspose (opset 13, group 1) on a 7x5 map: stride 2 with pads 1 and output_padding 1 (a
    U-Net / decoder upsampling), then stride 3 with asymmetric pads and no bias."""
    n = Net("convtranspose_block", [1, 3, 7, 5], seed=57, opset=13)
    x = n.node("Relu", [n.conv("input", 3, 4, 3, pads=[1, 1, 1, 1], name="conv")], name="relu")

    def deconv(x, cin, cout, k, stride, pads, output_padding, bias, name):
        w = (n.rng.uniform(-1, 1, (cin, cout, k, k)) * np.sqrt(2 / (cin * k * k))).astype(np.float32)
        inputs = [x, n.init(name + ".w", w)]
        if bias:
            inputs.append(n.init(name + ".b", n.rng.uniform(-0.1, 0.1, cout).astype(np.float32)))
        return n.node("ConvTranspose", inputs, name=name, kernel_shape=[k, k], strides=[stride, stride], pads=pads,
                      output_padding=[output_padding, output_padding])

    a = deconv(x, 4, 5, 3, 2, [1, 1, 1, 1], 1, True, "up2")
    b = deconv(n.node("Relu", [a], name="relu2"), 5, 3, 4, 3, [2, 0, 1, 3], 2, False, "up3")
    return n.model([a, b])


def dynamic_hw():
    """A detection-style export: symbolic batch, height and width (imported with --input-shape)."""
    n = Net("dynamic_hw", [1, 3, 8, 8], seed=4, opset=17)
    x = n.node("Relu", [n.conv("input", 3, 6, 3, 1, [1, 1, 1, 1], name="conv")], name="relu")
    y = n.conv(x, 6, 2, 1, name="head")
    model = n.model([y])
    for d, symbol in zip(model.graph.input[0].type.tensor_type.shape.dim, ["N", None, "H", "W"]):
        if symbol:
            d.dim_param = symbol
    for d, symbol in zip(model.graph.output[0].type.tensor_type.shape.dim, ["N", None, "H", "W"]):
        if symbol:
            d.dim_param = symbol
    del model.graph.value_info[:]  # inferred at 8x8; the model runs at any H and W
    return model


def gemm_concat():
    """Opset 21: channel Concat, residual Add, Reshape [0,-1] of a 3x3 map, Gemm with transB=0 and
    alpha/beta, MatMul + Add, Concat of two flattened maps, Softmax, a Constant node shape."""
    n = Net("gemmconcat", [1, 4, 9, 9], seed=3, opset=21)
    a = n.node("Relu", [n.conv("input", 4, 6, 3, 1, [1, 1, 1, 1], name="branch_a")], name="relu_a")
    b = n.node("Relu", [n.conv("input", 4, 6, 1, name="branch_b")], name="relu_b")
    x = n.node("Concat", [a, b], name="concat", axis=1)
    x = n.node("Add", [x, n.conv(x, 12, 12, 3, 1, [1, 1, 1, 1], name="res_conv")], name="residual")
    x = n.node("MaxPool", [x], name="pool", kernel_shape=[3, 3], strides=[3, 3])
    shape = n.node("Constant", [], name="flat_shape", value=numpy_helper.from_array(np.array([0, -1], np.int64)))
    f1 = n.node("Reshape", [x, shape], name="reshape")
    f2 = n.node("Flatten", [n.node("MaxPool", [x], name="pool2", kernel_shape=[2, 2], strides=[1, 1])], name="flatten2")
    x = n.node("Concat", [f1, f2], name="concat_flat", axis=-1)
    x = n.node("Relu", [n.gemm(x, 12 * 9 + 12 * 4, 32, "fc1", trans_b=0, alpha=0.5, beta=2.0)], name="fc1.relu")
    w = n.init("fc2.w", (n.rng.uniform(-1, 1, (32, 10)) * 0.3).astype(np.float32))
    bias = n.init("fc2.b", n.rng.uniform(-0.1, 0.1, 10).astype(np.float32))
    x = n.node("Add", [n.node("MatMul", [x, w], name="fc2"), bias], name="fc2.bias")
    return n.model([n.node("Softmax", [x], name="softmax", axis=-1)])


class Checker:
    def __init__(self, rankedge, work):
        self.rankedge, self.work = rankedge, work
        self.passed, self.failed = 0, 0

    def record(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {what} {detail}")
        else:
            self.failed += 1
            print(f"  FAIL  {what} {detail}")

    def cli(self, *args):
        return subprocess.run([self.rankedge, *args], capture_output=True, text=True)

    def run_rankedge(self, rkg, nchw, output_shapes):
        """Runs a .rkg on an NCHW input (given NHWC) and splits the raw output by the ONNX shapes,
        4-D outputs coming back from NHWC."""
        inp, out = os.path.join(self.work, "input.f32"), os.path.join(self.work, "output.f32")
        x = nchw.transpose(0, 2, 3, 1) if nchw.ndim == 4 else nchw
        np.ascontiguousarray(x, dtype="<f4").tofile(inp)
        r = self.cli("run", rkg, "--raw-input", inp, "--output", out)
        if r.returncode != 0:
            raise RuntimeError(f"rankedge run failed: {r.stderr.strip()}")
        flat = np.fromfile(out, dtype="<f4")
        results, offset = [], 0
        for shape in output_shapes:
            count = int(np.prod(shape))
            if len(shape) == 4:
                n, c, h, w = shape
                results.append(flat[offset:offset + count].reshape(n, h, w, c).transpose(0, 3, 1, 2))
            else:
                results.append(flat[offset:offset + count].reshape(shape))
            offset += count
        if offset != flat.size:
            raise RuntimeError(f"rankedge wrote {flat.size} values, ONNX outputs have {offset}")
        return results

    @staticmethod
    def compare(expected, actual):
        worst = 0.0
        for e, a in zip(expected, actual):
            if e.shape != a.shape:
                return False, f"shape {a.shape} vs {e.shape}"
            scale = max(float(np.abs(e).max()), 1e-30)
            worst = max(worst, float(np.abs(e - a).max()) / scale)
        return worst <= TOLERANCE, f"(max err {worst:.2e} x scale)"

    def import_check(self, model, shape=None):
        """`shape`: the input's NCHW shape, given to import with --input-shape (dynamic H and W)."""
        name = model.graph.name
        path, rkg = os.path.join(self.work, name + ".onnx"), os.path.join(self.work, name + ".rkg")
        onnx.save(model, path)
        extra = ["--input-shape", "input=" + ",".join(map(str, shape))] if shape else []
        r = self.cli("import", path, "-o", rkg, *extra)
        if r.returncode != 0:
            self.record(False, f"import {name}", r.stderr.strip())
            return None
        dims = shape or [1] + [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
        x = np.random.default_rng(1).uniform(-1, 1, dims).astype(np.float32)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        expected = session.run(None, {"input": x})
        try:
            actual = self.run_rankedge(rkg, x, [e.shape for e in expected])
            ok, detail = self.compare(expected, actual)
        except RuntimeError as e:
            ok, detail = False, str(e)
        self.record(ok, f"import {name} vs onnxruntime", detail)
        return rkg

    def export_check(self, rkg, label):
        onnx_path = os.path.join(self.work, label + ".exported.onnx")
        r = self.cli("export", rkg, "-o", onnx_path)
        if r.returncode != 0:
            self.record(False, f"export {label}", r.stderr.strip())
            return
        model = onnx.load(onnx_path)
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # noqa: BLE001 - any checker complaint is a failure to report
            self.record(False, f"export {label} onnx.checker", str(e).splitlines()[0])
            return
        self.record(True, f"export {label} onnx.checker")
        dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
        x = np.random.default_rng(2).uniform(-1, 1, [2] + dims).astype(np.float32)  # batch 2: the batch is dynamic
        session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        expected = session.run(None, {model.graph.input[0].name: x})
        try:
            actual = self.run_rankedge(rkg, x, [e.shape for e in expected])
            ok, detail = self.compare(expected, actual)
        except RuntimeError as e:
            ok, detail = False, str(e)
        self.record(ok, f"export {label}: onnxruntime vs rankedge", detail)

    def bad_input(self, label, data, must_mention):
        path = os.path.join(self.work, label + ".onnx")
        out_dir = os.path.join(self.work, "bad-" + label)
        os.makedirs(out_dir, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        out = os.path.join(out_dir, "out.rkg")
        r = self.cli("import", path, "-o", out)
        lines = r.stderr.strip().splitlines()
        missing = [m for m in must_mention if m not in r.stderr]
        ok = r.returncode == 1 and len(lines) == 1 and not missing and not os.listdir(out_dir)
        detail = f"exit {r.returncode}: {lines[0] if lines else '(no message)'}"
        if missing:
            detail += f" [missing {missing}]"
        if os.listdir(out_dir):
            detail += f" [left {os.listdir(out_dir)}]"
        self.record(ok, f"bad input {label}", detail)


def bad_models():
    """(label, bytes, words the one-line error must contain)."""
    good = mini_vgg().SerializeToString()
    yield "truncated", good[: len(good) // 2], ["not a valid ONNX model"]

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("LSTM", ["x", "W", "R"], ["h"], name="encoder_lstm", hidden_size=4),
        helper.make_node("NonZero", ["h"], ["g"], name="pick_last"),
        helper.make_node("Relu", ["g"], ["r"], name="relu"),
        helper.make_node("NonZero", ["r"], ["y"], name="pick_again"),
    ]
    inits = [numpy_helper.from_array(np.zeros((1, 16, 8), np.float32), "W"),
             numpy_helper.from_array(np.zeros((1, 16, 4), np.float32), "R"),
             numpy_helper.from_array(np.array(0, np.int64), "idx")]
    m = helper.make_model(helper.make_graph(nodes, "unsupported", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    yield "unsupported-ops", m.SerializeToString(), ["LSTM", "NonZero ×2", "encoder_lstm", "pick_last"]

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "height", 8])
    m = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "dyn", [x], [y]),
                          opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    yield "dynamic-shape", m.SerializeToString(), ["height", "dimension 2", "--input-shape x="]

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    m = helper.make_model(helper.make_graph([helper.make_node("Conv", ["x", "w_missing"], ["y"], name="conv_nw")],
                                            "noinit", [x], [y]),
                          opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    yield "missing-initializer", m.SerializeToString(), ["conv_nw", "w_missing"]

    m = helper.make_model(helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_ap", auto_pad="SOMETIMES")],
                                            "badattr", [x], [y], [numpy_helper.from_array(np.zeros((2, 3, 3, 3), np.float32), "w")]),
                          opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    yield "unsupported-attribute", m.SerializeToString(), ["conv_ap", "auto_pad", "SOMETIMES"]

    m = helper.make_model(helper.make_graph([helper.make_node("Resize", ["x", "", "s"], ["y"], name="up_cubic", mode="cubic")],
                                            "cubic", [x], [y], [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s")]),
                          opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    yield "resize-cubic", m.SerializeToString(), ["up_cubic", "cubic"]

    m = helper.make_model(helper.make_graph([helper.make_node("Pad", ["x", "p"], ["y"], name="pad_channels")],
                                            "padc", [x], [y], [numpy_helper.from_array(np.array([0, 1, 0, 0, 0, 1, 0, 0], np.int64), "p")]),
                          opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    yield "pad-channels", m.SerializeToString(), ["pad_channels", "not N or C"]


def rank_conv_model(checker):
    """A .rkg with rankConv2d made by rankedge itself: `zoo build` when the binary has it, else a
    shipped models/*.rkg that contains one."""
    path = os.path.join(checker.work, "minivgg-rank2.rkg")
    r = checker.cli("zoo", "build", "minivgg-k3", "--variant", "rank:2", "--seed", "3", "-o", path)
    if r.returncode == 0:
        return path, "zoo minivgg-k3 rank:2"
    for shipped in sorted(glob.glob(os.path.join(REPO, "models", "*.rkg"))):
        info = checker.cli("info", shipped, "--json")
        if info.returncode == 0 and '"rankConv2d"' in info.stdout:
            return shipped, os.path.basename(shipped)
    return None, r.stderr.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rankedge", required=True, help="path to the rankedge binary")
    ap.add_argument("--keep", help="keep the models and outputs in this directory")
    ap.add_argument("--only", help="comma-separated subset of: resnet18, minivgg, grouped, gemmconcat, activations, se, shuffle, shuffledynamo, convnext, pad, padlegacy, upsample, resize, reducemean, reducemean18, convtranspose, dynamic, rankconv, bad")
    args = ap.parse_args()
    rankedge = os.path.abspath(args.rankedge)
    work = args.keep or tempfile.mkdtemp(prefix="onnx-crosscheck-")
    os.makedirs(work, exist_ok=True)
    checker = Checker(rankedge, work)
    try:
        print(f"onnx crosscheck: onnx {onnx.__version__}, onnxruntime {ort.__version__}, work dir {work}")
        selected = set(args.only.split(",")) if args.only else None
        builders = {"resnet18": resnet18, "minivgg": mini_vgg, "grouped": grouped_depthwise, "gemmconcat": gemm_concat,
                    "activations": activations, "se": se_block, "shuffle": shuffle_block, "shuffledynamo": shuffle_dynamo,
                    "convnext": convnext_block, "pad": pad_block, "padlegacy": pad_legacy, "upsample": upsample_block,
                    "resize": resize_block, "reducemean": reducemean_block, "reducemean18": reducemean_opset18,
                    "convtranspose": convtranspose_block}
        for name, build in builders.items():
            if selected and name not in selected:
                continue
            model = build()
            rkg = checker.import_check(model)
            if rkg:
                checker.export_check(rkg, model.graph.name)
        if not selected or "dynamic" in selected:
            checker.import_check(dynamic_hw(), shape=[1, 3, 13, 11])
        if not selected or "rankconv" in selected:
            rank_rkg, label = rank_conv_model(checker)
            if rank_rkg:
                checker.export_check(rank_rkg, label.replace(" ", "_").replace(":", ""))
            else:
                checker.record(False, "rankConv2d export", f"no rankConv2d model: zoo build failed ({label}) and no models/*.rkg has one")
        if not selected or "bad" in selected:
            for label, data, words in bad_models():
                checker.bad_input(label, data, words)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"onnx crosscheck: {checker.passed} passed, {checker.failed} failed")
    return 1 if checker.failed else 0


if __name__ == "__main__":
    sys.exit(main())
