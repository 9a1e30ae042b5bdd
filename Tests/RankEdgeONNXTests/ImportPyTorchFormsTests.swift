import Foundation
import Testing
import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// The spellings PyTorch's exporters use for a CIFAR ResNet (tools/pytorch_end_to_end.py runs the
/// real ones): the dynamo exporter's ReduceMean pooling and Reshape [-1, C] flatten, its unoptimized
/// shape computations, TorchScript's Identity-aliased parameters and the `x.view(x.size(0), -1)`
/// flatten; and weights keeping their ONNX (PyTorch state_dict) names.
@Suite struct ImportPyTorchFormsTests {
    /// NCHW global average pooling, then a Gemm with B [S, C] (transB 1) and a bias.
    static func poolThenGemm(_ x: NCHW.Map, weight: [Float], bias: [Float], s: Int) -> [Float] {
        let hw = x.h * x.w
        let pooled = (0..<x.c).map { c in Float((0..<hw).reduce(0.0) { $0 + Double(x.data[c * hw + $1]) } / Double(hw)) }
        return NCHW.gemm(pooled, n: 1, k: x.c, weight: weight, s: s, transB: true, bias: bias)
    }

    static func axesConstant(_ m: inout ONNXSketch, _ name: String, _ values: [Int64]) {
        m.int64Initializer(name, [values.count], values)
    }

    /// What the dynamo exporter writes (optimizer on, opset 20): ReduceMean with the axes [2, 3] as an
    /// input and keepdims 1, then Reshape to [-1, C] with allowzero 1, then Gemm.
    @Test func dynamoReduceMeanReshapeGemm() throws {
        let (c, h, w, s) = (4, 3, 5, 3)
        var m = ONNXSketch(opset: 20)
        m.input("input", [nil, c, h, w])
        Self.axesConstant(&m, "val_237", [2, 3])
        m.int64Initializer("val_242", [2], [-1, Int64(c)])
        let fw = m.randomInitializer("fc.weight", [s, c])
        let fb = m.randomInitializer("fc.bias", [s])
        m.node("Relu", ["input"], ["relu_18"], name: "node_relu_18")
        m.node("ReduceMean", ["relu_18", "val_237"], ["mean"], name: "node_mean",
               [.int("keepdims", 1), .int("noop_with_empty_axes", 0)])
        m.node("Reshape", ["mean", "val_242"], ["view"], name: "node_Reshape_349", [.int("allowzero", 1)])
        m.node("Gemm", ["view", "fc.weight", "fc.bias"], ["logits"], name: "node_linear",
               [.float("beta", 1), .int("transB", 1), .float("alpha", 1), .int("transA", 0)])
        m.output("logits")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.relu, .globalAvgPool, .flatten, .linear])
        #expect(g.node(named: "node_linear")?.inputs == ["view", "fc.weight", "fc.bias"])

        let x = randomMap(c: c, h: h, w: w, seed: 3)
        let expected = Self.poolThenGemm(NCHW.Map(n: 1, c: c, h: h, w: w, data: NCHW.relu(x.data)), weight: fw, bias: fb, s: s)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, expected) < 1e-5)
    }

    /// `x.mean((2, 3))` before opset 18: axes as an attribute (negative here), keepdims 0 — pooling and
    /// a flatten, feeding the Gemm directly.
    @Test func reduceMeanAxesAttributeKeepdims0() throws {
        let (c, h, w, s) = (3, 2, 4, 2)
        var m = ONNXSketch(opset: 13)
        m.input("x", [1, c, h, w])
        let fw = m.randomInitializer("fc.weight", [s, c])
        let fb = m.randomInitializer("fc.bias", [s])
        m.node("ReduceMean", ["x"], ["pooled"], name: "mean", [.ints("axes", [-1, -2]), .int("keepdims", 0)])
        m.node("Gemm", ["pooled", "fc.weight", "fc.bias"], ["y"], name: "fc", [.int("transB", 1)])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.globalAvgPool, .flatten, .linear])
        #expect(g.nodes.map(\.name) == ["mean", "mean.flatten", "fc"])
        #expect(g.nodes[1].provenance == "imported from ONNX ReduceMean (keepdims 0)")
        let x = randomMap(c: c, h: h, w: w, seed: 4)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, Self.poolThenGemm(x, weight: fw, bias: fb, s: s)) < 1e-5)
    }

    @Test func reduceMeanOtherAxesAreRefused() {
        var channel = ONNXSketch(opset: 18)
        channel.input("x", [1, 3, 2, 2])
        Self.axesConstant(&channel, "axes", [1, 2])
        channel.node("ReduceMean", ["x", "axes"], ["y"], name: "mean")
        channel.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "mean", opType: "ReduceMean", attribute: "axes",
                                                             value: "[1, 2] of a rank-4 tensor (only [2, 3] or [1] of NCHW, or the last axis of a 2-D or 3-D tensor)")) {
            try channel.importGraph()
        }

        var all = ONNXSketch(opset: 18)
        all.input("x", [1, 3, 2, 2])
        all.node("ReduceMean", ["x"], ["y"], name: "mean")
        all.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "mean", opType: "ReduceMean", attribute: "axes",
                                                             value: "(none: the mean of every axis)")) {
            try all.importGraph()
        }

        var flat = ONNXSketch(opset: 13)
        flat.input("x", [1, 6])
        flat.node("ReduceMean", ["x"], ["y"], name: "mean", [.ints("axes", [1]), .int("keepdims", 0)])
        flat.output("y")
        #expect(throws: ONNXImportError.unsupportedUse(node: "mean", opType: "ReduceMean",
                                                       reason: "the mean of a 2-D tensor's last axis with keepdims 0 is 1-D, which RankEdge has no form for")) {
            try flat.importGraph()
        }
    }

    /// The dynamo exporter with `optimize=False` (BatchNormalization kept): a conv's missing bias is
    /// built as Expand(CastLike(0, x), Expand(Shape(W)[0:1], [1])) and the Reshape target as
    /// Concat(Reshape(Squeeze(Shape(x)[0:1]), [-1]), [C]). All of it folds; the zero bias is dropped;
    /// every parameter keeps its state_dict name.
    @Test func dynamoUnoptimizedShapeComputations() throws {
        let (c, s, h, w, classes) = (3, 4, 4, 4, 2)
        var m = ONNXSketch(opset: 20)
        m.input("input", [nil, c, h, w])
        let cw = m.randomInitializer("conv1.weight", [s, c, 3, 3])
        let scale = m.randomInitializer("bn1.weight", [s])
        let shift = m.randomInitializer("bn1.bias", [s])
        let mean = m.randomInitializer("bn1.running_mean", [s])
        m.initializer("bn1.running_var", [s], [0.5, 1, 1.5, 2])
        let fw = m.randomInitializer("fc.weight", [classes, s])
        let fb = m.randomInitializer("fc.bias", [classes])
        var zero = Onnx_AttributeProto()
        zero.name = "value"; zero.type = .tensor; zero.t = .float(name: "", dims: [], values: [0])
        m.node("Shape", ["input"], ["val_0"], name: "node_Shape_0", [.int("end", 1), .int("start", 0)])
        m.node("Squeeze", ["val_0"], ["sym_size_int_1"], name: "node_sym_size_int_1")
        m.node("Shape", ["conv1.weight"], ["val_1"], name: "node_Shape_1", [.int("end", 1), .int("start", 0)])
        var one = Onnx_AttributeProto()
        one.name = "value_ints"; one.type = .ints; one.ints = [1]
        m.node("Constant", [], ["val_2"], name: "node_Constant_2", [one])
        m.node("Expand", ["val_1", "val_2"], ["val_3"], name: "node_Expand_3")
        m.node("Constant", [], ["val_4"], name: "node_Constant_4", [zero])
        m.node("CastLike", ["val_4", "input"], ["val_5"], name: "node_CastLike_5")
        m.node("Expand", ["val_5", "val_3"], ["val_6"], name: "node_Expand_6")
        m.node("Conv", ["input", "conv1.weight", "val_6"], ["conv2d"], name: "node_conv2d",
               [.ints("pads", [1, 1, 1, 1]), .ints("kernel_shape", [3, 3]), stringAttribute("auto_pad", "NOTSET")])
        m.node("BatchNormalization", ["conv2d", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"], ["getitem"],
               name: "node__native_batch_norm_legit_no_training__0", [.float("epsilon", 1e-5), .float("momentum", 0.9)])
        m.node("Relu", ["getitem"], ["relu"], name: "node_relu")
        Self.axesConstant(&m, "val_237", [2, 3])
        m.node("ReduceMean", ["relu", "val_237"], ["mean"], name: "node_mean", [.int("keepdims", 1)])
        var minusOne = Onnx_AttributeProto()
        minusOne.name = "value_ints"; minusOne.type = .ints; minusOne.ints = [-1]
        m.node("Constant", [], ["val_238"], name: "node_Constant_238", [minusOne])
        m.node("Reshape", ["sym_size_int_1", "val_238"], ["val_239"], name: "node_Reshape_239")
        var features = Onnx_AttributeProto()
        features.name = "value_ints"; features.type = .ints; features.ints = [Int64(s)]
        m.node("Constant", [], ["val_240"], name: "node_Constant_240", [features])
        m.node("Concat", ["val_239", "val_240"], ["val_241"], name: "node_Concat_241", [.int("axis", 0)])
        m.node("Reshape", ["mean", "val_241"], ["view"], name: "node_view", [.int("allowzero", 1)])
        m.node("Gemm", ["view", "fc.weight", "fc.bias"], ["logits"], name: "node_linear", [.int("transB", 1)])
        m.output("logits")

        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.conv2d(Conv2DAttributes(stride: .square(1), padding: .same(1), dilation: .square(1), groups: 1)),
                                      .batchNorm(epsilon: 1e-5), .relu, .globalAvgPool, .flatten, .linear])
        #expect(g.nodes[0].inputs == ["input", "conv1.weight"])
        #expect(Set(g.weights.keys) == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                                        "fc.weight", "fc.bias"])

        let x = randomMap(c: c, h: h, w: w, seed: 5)
        var conv = NCHW.conv(x, weight: cw, outChannels: s, kernel: (3, 3), bias: nil, pads: [1, 1, 1, 1])
        let variance: [Float] = [0.5, 1, 1.5, 2]
        for k in 0..<s {
            for p in 0..<(h * w) {
                let v = (conv.data[k * h * w + p] - mean[k]) / (variance[k] + 1e-5).squareRoot() * scale[k] + shift[k]
                conv.data[k * h * w + p] = max(v, 0)
            }
        }
        let expected = Self.poolThenGemm(conv, weight: fw, bias: fb, s: classes)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, expected) < 1e-5)
    }

    /// `x.view(x.size(0), -1)` as the TorchScript exporter writes it at opset 11: Shape → Gather(0) →
    /// Unsqueeze(axes attribute) → Concat with [-1] → Reshape. A flatten of a map with H·W > 1: the
    /// Gemm's columns are reordered as for Flatten.
    @Test func torchScriptViewFlattenOpset11() throws {
        let (c, h, w, s) = (2, 3, 2, 3)
        var m = ONNXSketch(opset: 11)
        m.input("x", [nil, c, h, w])
        m.int64Initializer("zero", [], [0])
        m.int64Initializer("minus_one", [1], [-1])
        let fw = m.randomInitializer("fc.weight", [s, c * h * w])
        let fb = m.randomInitializer("fc.bias", [s])
        m.node("Relu", ["x"], ["r"], name: "relu")
        m.node("Shape", ["r"], ["shape"], name: "shape")
        m.node("Gather", ["shape", "zero"], ["n"], name: "gather", [.int("axis", 0)])
        m.node("Unsqueeze", ["n"], ["n1"], name: "unsqueeze", [.ints("axes", [0])])
        m.node("Concat", ["n1", "minus_one"], ["target"], name: "concat", [.int("axis", 0)])
        m.node("Reshape", ["r", "target"], ["flat"], name: "view")
        m.node("Gemm", ["flat", "fc.weight", "fc.bias"], ["y"], name: "fc", [.int("transB", 1)])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.relu, .flatten, .linear])
        let x = randomMap(c: c, h: h, w: w, seed: 6)
        let expected = NCHW.gemm(NCHW.relu(x.data), n: 1, k: c * h * w, weight: fw, s: s, transB: true, bias: fb)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, expected) < 1e-5)
    }

    /// Folds on their own: Gemm's B built as Concat(Unsqueeze(a), Expand(b)) on axis 0, a Gather
    /// along axis 1, a Cast of an INT64 bias and a Cast of the activation to FLOAT (a no-op).
    @Test func foldedConstantsFeedWeights() throws {
        var m = ONNXSketch(opset: 13)
        m.input("x", [1, 2])
        m.initializer("row", [2], [1, 2])
        m.initializer("fill", [1], [5])
        m.int64Initializer("axes0", [1], [0])
        m.int64Initializer("shape12", [2], [1, 2])
        m.int64Initializer("pick", [2], [1, -2])
        m.int64Initializer("ibias", [2], [3, -4])
        m.node("Unsqueeze", ["row", "axes0"], ["row2"], name: "unsq")            // [[1, 2]]
        m.node("Expand", ["fill", "shape12"], ["fill2"], name: "expand")         // [[5, 5]]
        m.node("Concat", ["row2", "fill2"], ["b0"], name: "cat", [.int("axis", 0)])  // [[1, 2], [5, 5]]
        m.node("Gather", ["b0", "pick"], ["b"], name: "swap", [.int("axis", 1)]) // [[2, 1], [5, 5]]
        m.node("Cast", ["ibias"], ["bias"], name: "cast", [.int("to", 1)])
        m.node("Cast", ["x"], ["xf"], name: "noop", [.int("to", 1)])
        m.node("Gemm", ["xf", "b", "bias"], ["y"], name: "fc", [.int("transB", 1)])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.linear])
        // Computed constants have no ONNX name of their own to keep.
        #expect(g.nodes[0].inputs == ["x", "fc.weight", "fc.bias"])
        #expect(g.weights["fc.weight"]?.data == [2, 1, 5, 5])
        #expect(g.weights["fc.bias"]?.data == [3, -4])
        let y = try ReferenceExecutor(graph: g).run(Tensor(shape: [1, 2], data: [1, 10]))
        let expected: [Float] = [15, 51]  // [2·1 + 1·10 + 3, 5·1 + 5·10 − 4]
        #expect(y.data == expected)
    }

    /// A fold-only op reading an activation is reported with the unsupported ops; a cast of an
    /// activation to float is a no-op (kept as a node where it names a graph output), to an integer
    /// type refused.
    @Test func foldOnlyOpsOnActivations() throws {
        var m = ONNXSketch(opset: 13)
        m.input("x", [1, 1, 2, 2])
        m.int64Initializer("axes", [1], [1])
        m.node("Squeeze", ["x", "axes"], ["s"], name: "squeeze")
        m.node("Unsqueeze", ["s", "axes"], ["y"], name: "unsqueeze")
        m.output("y")
        // (Unsqueeze of an activation is accepted at first, for a picked channel, then refused at import.)
        #expect(throws: ONNXImportError.unsupportedOps([UnsupportedONNXOp(opType: "Squeeze", nodes: ["squeeze"])])) {
            try m.importGraph()
        }

        var asOutput = ONNXSketch(opset: 13)
        asOutput.input("x", [1, 2])
        asOutput.node("Relu", ["x"], ["r"], name: "relu")
        asOutput.node("CastLike", ["r", "x"], ["y"], name: "same_type")
        asOutput.output("y")
        let g = try asOutput.importGraph()
        #expect(g.nodes.map(\.op) == [.relu, .dropout(rate: 0)])
        #expect(g.outputs == ["y"])

        var cast = ONNXSketch(opset: 13)
        cast.input("x", [1, 2])
        cast.node("Cast", ["x"], ["y"], name: "to_int", [.int("to", 7)])
        cast.output("y")
        #expect(throws: ONNXImportError.unsupportedUse(node: "to_int", opType: "Cast", reason: "it casts activation 'x' to an integer type")) {
            try cast.importGraph()
        }
    }

    /// Weights take the ONNX names of their constants: initializers, a TorchScript Identity alias of
    /// an equal parameter (named after the parameter it stands for) and a Constant node. A constant
    /// used twice, one scaled by Gemm's alpha and one with a reserved name get "<node>.<role>".
    @Test func weightsKeepONNXNames() throws {
        var m = ONNXSketch(opset: 17)
        m.input("x", [nil, 2, 3, 3])
        m.randomInitializer("layer1.0.conv1.weight", [2, 2, 3, 3])
        m.randomInitializer("layer1.0.bn1.weight", [2])
        m.randomInitializer("layer1.0.bn1.bias", [2])
        m.initializer("layer1.0.bn1.running_mean", [2], [0, 0.5])
        m.initializer("layer1.0.bn1.running_var", [2], [1, 2])
        m.randomInitializer("rankedge.reserved", [2])
        m.node("Identity", ["layer1.0.bn1.weight"], ["layer1.0.bn2.weight"], name: "Identity_0")
        var meanValue = Onnx_AttributeProto()
        meanValue.name = "value"; meanValue.type = .tensor; meanValue.t = .float(name: "", dims: [2], values: [0.1, 0.2])
        m.node("Constant", [], ["layer1.0.bn2.running_mean"], name: "const_mean", [meanValue])
        m.node("Conv", ["x", "layer1.0.conv1.weight"], ["c1"], name: "/layer1/layer1.0/conv1/Conv", [.ints("pads", [1, 1, 1, 1])])
        m.node("BatchNormalization", ["c1", "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean",
                                      "layer1.0.bn1.running_var"], ["b1"], name: "/layer1/layer1.0/bn1/BatchNormalization")
        m.node("Conv", ["b1", "layer1.0.conv1.weight", "rankedge.reserved"], ["c2"], name: "shared")
        m.node("BatchNormalization", ["c2", "layer1.0.bn2.weight", "layer1.0.bn1.bias", "layer1.0.bn2.running_mean",
                                      "layer1.0.bn1.running_var"], ["b2"], name: "bn2")
        m.node("GlobalAveragePool", ["b2"], ["p"], name: "pool")
        m.node("Flatten", ["p"], ["f"], name: "flat")
        m.randomInitializer("fc.weight", [3, 2])
        m.randomInitializer("fc.bias", [3])
        m.node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name: "fc", [.int("transB", 1), .float("alpha", 0.5)])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.nodes[0].inputs == ["x", "layer1.0.conv1.weight"])
        #expect(g.nodes[1].inputs == ["c1", "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean",
                                      "layer1.0.bn1.running_var"])
        #expect(g.nodes[2].inputs == ["b1", "shared.weight", "shared.bias"])
        #expect(g.nodes[3].inputs == ["c2", "layer1.0.bn2.weight", "bn2.bias", "layer1.0.bn2.running_mean", "bn2.running_var"])
        // alpha 0.5 scales the weight, so it is not "fc.weight" any more; the bias is.
        #expect(g.node(named: "fc")?.inputs == ["f", "fc.weight_1", "fc.bias"])
        #expect(g.weights["shared.weight"] == g.weights["layer1.0.conv1.weight"])
        #expect(g.weights["layer1.0.bn2.weight"] == g.weights["layer1.0.bn1.weight"])
        #expect(g.weights["layer1.0.bn2.running_mean"]?.data == [0.1, 0.2])
    }

    /// Folding never builds a huge constant from a tiny file: a ConstantOfShape of 2³⁰ elements, a
    /// Gather of 2²⁰ × 2¹⁰ positions, and a Concat of an empty constant with 2³¹-wide dimensions are
    /// refused with a one-line error before anything is allocated.
    @Test func foldingRefusesHugeConstants() throws {
        func model(_ build: (inout ONNXSketch) -> Void) -> ONNXSketch {
            var m = ONNXSketch(opset: 17)
            m.input("x", [1, 2, 2, 2])
            build(&m)
            m.node("Reshape", ["x", "target"], ["y"], name: "reshape")
            m.output("y")
            return m
        }
        let cases: [ONNXSketch] = [
            model { m in
                m.int64Initializer("dims", [2], [1 << 15, 1 << 15])
                m.node("ConstantOfShape", ["dims"], ["target"], name: "fill")
            },
            model { m in
                m.int64Initializer("row", [1 << 10], [Int64](repeating: 1, count: 1 << 10))
                m.int64Initializer("pick", [1 << 10, 1 << 10], [Int64](repeating: 0, count: 1 << 20))
                m.node("Gather", ["row", "pick"], ["target"], name: "gather", [.int("axis", 0)])
            },
            model { m in
                m.int64Initializer("empty", [0, 1 << 31, 1 << 31], [])
                m.node("Concat", ["empty", "empty"], ["target"], name: "cat", [.int("axis", 0)])
            },
        ]
        for m in cases {
            #expect { try m.importGraph() } throws: { "\($0)".contains("elements") || "\($0)".contains("too large") || "\($0)".contains("shape") }
        }
    }
}
