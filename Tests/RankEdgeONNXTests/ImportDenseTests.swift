import Foundation
import Testing
import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// Flatten/Reshape into Gemm/MatMul: the column reordering from C·H·W to H·W·C order.
@Suite struct ImportDenseTests {
    enum FlattenForm: CaseIterable { case flatten, reshapeInitializer, reshapeConstantNode, reshapeExplicit }

    /// Conv → Relu → flatten → Gemm → Relu → MatMul + Add → Softmax, checked against the NCHW twin.
    @Test(arguments: FlattenForm.allCases)
    func flattenThenLinearMatchesNCHW(_ form: FlattenForm) throws {
        let (c, s, h, w, hidden, classes) = (3, 4, 5, 3, 7, 5)
        var m = ONNXSketch(opset: 17)
        m.input("x", [nil, c, h, w])
        let cw = m.randomInitializer("conv.W", [s, c, 3, 3])
        let cb = m.randomInitializer("conv.B", [s])
        m.node("Conv", ["x", "conv.W", "conv.B"], ["c"], name: "conv", [.ints("pads", [1, 1, 1, 1])])
        m.node("Relu", ["c"], ["r"], name: "relu")
        let features = s * h * w
        switch form {
        case .flatten:
            m.node("Flatten", ["r"], ["f"], name: "flat", [.int("axis", 1)])
        case .reshapeInitializer:
            m.int64Initializer("shape", [2], [0, -1])
            m.node("Reshape", ["r", "shape"], ["f"], name: "flat")
        case .reshapeConstantNode:
            var t = Onnx_TensorProto.int64(name: "", dims: [2], values: [1, -1])
            t.int64Data = []
            t.rawData = Data([1, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 255, count: 8))
            var value = Onnx_AttributeProto()
            value.name = "value"; value.type = .tensor; value.t = t
            m.node("Constant", [], ["shape"], name: "shape_const", [value])
            m.node("Reshape", ["r", "shape"], ["f"], name: "flat")
        case .reshapeExplicit:
            m.int64Initializer("shape", [2], [-1, Int64(features)])
            m.node("Reshape", ["r", "shape"], ["f"], name: "flat")
        }
        let g1 = m.randomInitializer("fc1.W", [hidden, features])
        let b1 = m.randomInitializer("fc1.B", [1, hidden])
        m.node("Gemm", ["f", "fc1.W", "fc1.B"], ["g"], name: "fc1", [.int("transB", 1), .float("alpha", 0.5), .float("beta", 2)])
        m.node("Relu", ["g"], ["gr"], name: "fc1.relu")
        let w2 = m.randomInitializer("fc2.W", [hidden, classes], raw: false)
        let b2 = m.randomInitializer("fc2.B", [classes])
        m.node("MatMul", ["gr", "fc2.W"], ["mm"], name: "fc2")
        m.node("Add", ["fc2.B", "mm"], ["logits"], name: "fc2.bias")
        m.node("Softmax", ["logits"], ["prob"], name: "softmax")
        m.output("prob")

        let g = try m.importGraph()
        #expect(g.nodes.map(\.name) == ["conv", "relu", "flat", "fc1", "fc1.relu", "fc2", "softmax"])
        #expect(g.node(named: "fc2")?.provenance == "imported from ONNX MatMul + Add 'fc2.bias'")

        let x = randomMap(c: c, h: h, w: w, seed: 21)
        let conv = NCHW.conv(x, weight: cw, outChannels: s, kernel: (3, 3), bias: cb, pads: [1, 1, 1, 1])
        let flat = NCHW.relu(conv.data)  // NCHW order is ONNX's flatten order
        let hid = NCHW.relu(NCHW.gemm(flat, n: 1, k: features, weight: g1.map { $0 * 0.5 }, s: hidden, transB: true,
                                      bias: b1.map { $0 * 2 }))
        let logits = NCHW.gemm(hid, n: 1, k: hidden, weight: w2, s: classes, transB: false, bias: b2)
        let e = logits.map { exp(Double($0) - Double(logits.max()!)) }
        let expected = e.map { Float($0 / e.reduce(0, +)) }

        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(y.shape == TensorShape([1, classes]))
        #expect(maxAbsDifference(y.data, expected) < 1e-5)
    }

    /// Batch norm on flattened features and a 2-D Concat of two flattened maps reorder correctly.
    @Test func batchNormAndConcatOnFlattenedMaps() throws {
        var m = ONNXSketch(opset: 15)
        m.input("x", [1, 2, 3, 2])
        m.node("Flatten", ["x"], ["f"], name: "flat")
        m.node("MaxPool", ["x"], ["p"], name: "pool", [.ints("kernel_shape", [2, 2]), .ints("strides", [1, 1])])
        m.node("Flatten", ["p"], ["pf"], name: "flat2")
        m.node("Concat", ["f", "pf"], ["cat"], name: "cat", [.int("axis", 1)])
        let n = 12 + 4
        let scale = m.randomInitializer("bn.s", [n])
        let bias = m.randomInitializer("bn.b", [n])
        let mean = m.randomInitializer("bn.m", [n])
        m.initializer("bn.v", [n], (0..<n).map { 0.5 + Float($0) / 16 })
        m.node("BatchNormalization", ["cat", "bn.s", "bn.b", "bn.m", "bn.v"], ["bn"], name: "bn", [.float("epsilon", 1e-3)])
        let fw = m.randomInitializer("fc.W", [n, 3])
        m.node("MatMul", ["bn", "fc.W"], ["y"], name: "fc")
        m.output("y")
        let g = try m.importGraph()

        let x = randomMap(c: 2, h: 3, w: 2, seed: 9)
        let pooled = NCHW.pool(x, kernel: (2, 2), stride: (1, 1), pads: [0, 0, 0, 0], max: true)
        let cat = x.data + pooled.data
        var normalized = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let variance: Float = 0.5 + Float(i) / 16
            normalized[i] = (cat[i] - mean[i]) / (variance + 1e-3).squareRoot() * scale[i] + bias[i]
        }
        let expected = NCHW.gemm(normalized, n: 1, k: n, weight: fw, s: 3, transB: false, bias: nil)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, expected) < 1e-5)
    }

    /// Clip bounds: 0..6 (inputs or attributes) → relu6, 0..∞ → relu; dropout and identity pass through.
    @Test func clipDropoutIdentity() throws {
        var m = ONNXSketch(opset: 13)
        m.input("x", [1, 4])
        m.initializer("zero", [], [0])
        m.initializer("six", [], [6])
        m.node("Clip", ["x", "zero", "six"], ["a"], name: "relu6")
        m.node("Clip", ["a", "zero"], ["b"], name: "relu")
        m.initializer("ratio", [], [0.25])
        m.node("Dropout", ["b", "ratio"], ["d"], name: "drop")
        m.node("Identity", ["d"], ["i"], name: "alias")
        m.node("Identity", ["i"], ["out"], name: "named_output")
        m.output("out")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.relu6, .relu, .dropout(rate: 0.25), .dropout(rate: 0)])
        #expect(g.outputs == ["out"])
        let y = try ReferenceExecutor(graph: g).run(Tensor(shape: [1, 4], data: [-1, 3, 7, 0.5]))
        #expect(y.data == [0, 3, 6, 0.5])
    }

    @Test func clipOtherBoundsAreRejected() {
        var m = ONNXSketch(opset: 13)
        m.input("x", [1, 4])
        m.initializer("lo", [], [-1])
        m.initializer("hi", [], [1])
        m.node("Clip", ["x", "lo", "hi"], ["y"], name: "clip")
        m.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "clip", opType: "Clip", attribute: "min/max",
                                                             value: "-1.0..1.0 (only 0..6 as ReLU6 and 0..inf as ReLU)")) {
            try m.importGraph()
        }
    }

    /// Channel softmax, concat and a residual add on feature maps; nameless nodes get generated names.
    @Test func featureMapConcatSoftmaxAndGeneratedNames() throws {
        var m = ONNXSketch(opset: 13)
        m.input("x", [1, 3, 4, 5])
        let w = m.randomInitializer("W", [2, 3, 1, 1])
        m.node("Conv", ["x", "W"], ["c"])
        m.node("Concat", ["x", "c"], ["cat"], [.int("axis", 1)])
        m.node("Add", ["cat", "cat"], ["sum"], name: "residual")
        m.node("Softmax", ["sum"], ["y"], name: "sm", [.int("axis", 1)])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.name) == ["Conv_0", "Concat_1", "residual", "sm"])
        #expect(g.nodes[0].provenance == "imported from ONNX Conv")

        let x = randomMap(c: 3, h: 4, w: 5, seed: 1)
        let conv = NCHW.conv(x, weight: w, outChannels: 2, kernel: (1, 1), bias: nil)
        let cat = x.data + conv.data  // channel concat in NCHW is plain concatenation
        var expected = [Float](repeating: 0, count: cat.count)
        for p in 0..<20 {
            let e = (0..<5).map { exp(Double(2 * cat[$0 * 20 + p])) }
            for k in 0..<5 { expected[k * 20 + p] = Float(e[k] / e.reduce(0, +)) }
        }
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(nchwData(y), expected) < 1e-6)
    }
}
