#!/usr/bin/env python3
"""Writes an ONNX graph of one Conv (seeded random weights and bias, symmetric padding), to time a
single layer shape in RankEdge and its peers: `rankedge import` it, then `rankedge bench` or
`tools/bench_graphs.py --peers ort,openvino`; `tools/ort_profile.py` gives ONNX Runtime's node time.

    tools/make_conv_onnx.py OUT.onnx --size 224 --in 3 --out 16 --kernel 3 --stride 2 --pad 1
    tools/make_conv_onnx.py dw.onnx --size 28 --in 96 --out 96 --kernel 5 --stride 2 --pad 2 --groups 96
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make_conv_onnx.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--size", type=int, required=True, help="input height and width")
    parser.add_argument("--in", dest="cin", type=int, required=True, help="input channels")
    parser.add_argument("--out", dest="cout", type=int, required=True, help="output channels")
    parser.add_argument("--kernel", type=int, required=True)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--groups", type=int, default=1)
    a = parser.parse_args(argv)
    if min(a.size, a.cin, a.cout, a.kernel, a.stride, a.groups) < 1 or a.pad < 0:
        parser.error("sizes, channels, kernel, stride and groups must be at least 1, padding at least 0")
    if a.cin % a.groups or a.cout % a.groups:
        parser.error("--groups must divide --in and --out")
    side = (a.size + 2 * a.pad - a.kernel) // a.stride + 1
    if side < 1:
        parser.error("the kernel is larger than the padded input")
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array((rng.standard_normal((a.cout, a.cin // a.groups, a.kernel, a.kernel)) * 0.1).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(a.cout).astype(np.float32), "b")
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[a.kernel, a.kernel], strides=[a.stride, a.stride],
                            pads=[a.pad] * 4, group=a.groups)
    graph = helper.make_graph([node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, a.cin, a.size, a.size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, a.cout, side, side])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
