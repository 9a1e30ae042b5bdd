import Testing
@testable import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// Sigmoid, Tanh, HardSigmoid, HardSwish and SiLU (Mul(x, Sigmoid(x))) as both PyTorch exporters
/// write them; export and import back keep each function.
@Suite struct ImportActivationTests {
    @Test func eachActivationAndTheSiLUPattern() throws {
        var m = ONNXSketch(opset: 17)
        m.input("input", [nil, 3, 4, 5])
        m.node("HardSwish", ["input"], ["hs"], name: "hardswish")
        m.node("Sigmoid", ["hs"], ["gate"], name: "node_sigmoid")
        m.node("Mul", ["gate", "hs"], ["silu"], name: "node_mul")          // the gate first: either order
        m.node("HardSigmoid", ["silu"], ["hsig"], name: "hardsigmoid", [.float("alpha", 1.0 / 6)])
        m.node("Tanh", ["hsig"], ["t"], name: "tanh")
        m.node("Sigmoid", ["t"], ["out"], name: "sigmoid")
        m.output("out")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.unary(.hardSwish), .unary(.silu), .unary(.hardSigmoid(alpha: 1.0 / 6, beta: 0.5)),
                                      .unary(.tanh), .unary(.sigmoid)])
        #expect(g.node(named: "node_mul")?.provenance?.contains("SiLU") == true)

        let x = randomMap(c: 3, h: 4, w: 5, seed: 4)
        let fs: [UnaryFunction] = [.hardSwish, .silu, .hardSigmoid(alpha: 1.0 / 6, beta: 0.5), .tanh, .sigmoid]
        let expected = x.data.map { v in fs.reduce(v) { $1($0) } }
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, nhwcTensor(NCHW.Map(n: 1, c: 3, h: 4, w: 5, data: expected)).data) < 1e-6)

        // Export writes SiLU back as Sigmoid + Mul, HardSigmoid with its alpha and beta; importing
        // the export gives the same functions.
        let back = try ONNXImporter().importModel(try ONNXExporter().exportModel(g))
        #expect(back.nodes.map(\.op) == g.nodes.map(\.op))
    }

    @Test func aSigmoidReadElsewhereStaysASigmoid() throws {
        var m = ONNXSketch(opset: 17)
        m.input("input", [nil, 2, 3, 3])
        m.node("Sigmoid", ["input"], ["gate"], name: "gate")
        m.node("Mul", ["input", "gate"], ["silu"], name: "mul")
        m.node("Add", ["silu", "gate"], ["out"], name: "add")
        m.output("out")
        // The gate is also read by the Add: not a SiLU but a Sigmoid and a product of two tensors.
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.unary(.sigmoid), .multiply, .add])
        let x = randomMap(c: 2, h: 3, w: 3, seed: 5)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        let expected = x.data.map { v in v * UnaryFunction.sigmoid(v) + UnaryFunction.sigmoid(v) }
        #expect(maxAbsDifference(y.data, nhwcTensor(NCHW.Map(n: 1, c: 2, h: 3, w: 3, data: expected)).data) < 1e-6)
    }
}
