import Testing
import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// Opset-dependent and less common spellings of the supported ops.
@Suite struct ImportVariantTests {
    /// Gemm with B as [K, S] (transB 0) and a scalar C; opset 11 Dropout with its ratio attribute;
    /// Reshape whose shape comes from a Constant node's value_ints.
    @Test func gemmScalarBiasOpset11() throws {
        var m = ONNXSketch(opset: 11)
        m.input("x", [1, 3])
        let w = m.randomInitializer("W", [3, 2])
        m.initializer("C", [], [0.25])
        m.node("Dropout", ["x"], ["d"], name: "drop", [.float("ratio", 0.1)])
        var ints = Onnx_AttributeProto()
        ints.name = "value_ints"; ints.type = .ints; ints.ints = [0, -1]
        m.node("Constant", [], ["shape"], name: "shape", [ints])
        m.node("Reshape", ["d", "shape"], ["r"], name: "reshape")
        m.node("Gemm", ["r", "W", "C"], ["y"], name: "gemm", [.float("beta", 2)])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.dropout(rate: 0.1), .flatten, .linear])
        let x: [Float] = [1, -2, 0.5]
        let expected = NCHW.gemm(x, n: 1, k: 3, weight: w, s: 2, transB: false, bias: [0.5, 0.5])
        let y = try ReferenceExecutor(graph: g).run(Tensor(shape: [1, 3], data: x))
        #expect(maxAbsDifference(y.data, expected) < 1e-6)
    }

    @Test func matMulAddWithOtherUsesIsNotFused() throws {
        var m = ONNXSketch()
        m.input("x", [1, 3])
        m.randomInitializer("W", [3, 2])
        let b = m.randomInitializer("b", [2])
        m.node("MatMul", ["x", "W"], ["mm"], name: "mm")
        m.node("Add", ["mm", "b"], ["y"], name: "bias")
        m.node("Relu", ["mm"], ["z"], name: "side")
        m.output("y")
        m.output("z")
        // mm is also read by the Relu, so the Add stays a node of its own (a channel affine), and the
        // linear keeps no bias.
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.linear, .channelAffine, .relu])
        #expect(g.nodes[0].inputs.count == 2 && g.weights[g.nodes[1].inputs[2]]?.data == b)
    }

    @Test func trainingModesAreRefused() {
        var bn = ONNXSketch(opset: 15)
        bn.input("x", [1, 2])
        for p in ["s", "b", "m", "v"] { bn.initializer(p, [2], [1, 1]) }
        bn.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name: "bn", [.int("training_mode", 1)])
        bn.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "bn", opType: "BatchNormalization", attribute: "training_mode", value: "1")) {
            try bn.importGraph()
        }

        var drop = ONNXSketch(opset: 13)
        drop.input("x", [1, 2])
        drop.initializer("ratio", [], [0.5])
        var t = Onnx_TensorProto()
        t.name = "train"; t.dataType = 9; t.int32Data = [1]
        drop.initializers.append(t)
        drop.node("Dropout", ["x", "ratio", "train"], ["y"], name: "drop")
        drop.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "drop", opType: "Dropout", attribute: "training_mode", value: "true")) {
            try drop.importGraph()
        }
    }

    /// A used second output (MaxPool's indices, Dropout's mask) cannot be provided.
    @Test func usedExtraOutputIsRefused() {
        var m = ONNXSketch()
        m.input("x", [1, 1, 4, 4])
        m.node("MaxPool", ["x"], ["y", "indices"], name: "pool", [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])])
        m.output("y")
        m.output("indices")
        #expect(throws: ONNXImportError.self) { try m.importGraph() }
    }

    @Test func softmaxAxisRules() throws {
        // Opset 11, 2-D, default axis 1: fine.
        var old = ONNXSketch(opset: 11)
        old.input("x", [1, 5])
        old.node("Softmax", ["x"], ["y"], name: "sm")
        old.output("y")
        #expect(try old.importGraph().nodes.map(\.op) == [.softmax])
        // Opset 13 on a feature map over W (axis -1): not the channel axis.
        var w = ONNXSketch(opset: 13)
        w.input("x", [1, 2, 3, 4])
        w.node("Softmax", ["x"], ["y"], name: "sm")
        w.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "sm", opType: "Softmax", attribute: "axis",
                                                             value: "-1 on a 4-D input at opset 13 (only the channel/feature axis)")) {
            try w.importGraph()
        }
    }

    @Test func concatNeedsTheChannelAxis() {
        var m = ONNXSketch()
        m.input("x", [1, 2, 3, 4])
        m.node("Concat", ["x", "x"], ["y"], name: "cat", [.int("axis", 2)])
        m.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "cat", opType: "Concat", attribute: "axis",
                                                             value: "2 (only the channel axis 1)")) {
            try m.importGraph()
        }
    }

    /// Initializers listed among the graph inputs (IR < 4 style) are constants, not inputs.
    @Test func initializersListedAsInputs() throws {
        var m = ONNXSketch(opset: 11)
        m.input("x", [1, 3])
        m.input("W", [3, 2])
        m.randomInitializer("W", [3, 2])
        m.node("MatMul", ["x", "W"], ["y"], name: "mm")
        m.output("y")
        let g = try m.importGraph()
        #expect(g.inputs.map(\.name) == ["x"])
    }
}
