#if canImport(Glibc)
import Glibc
#endif
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

/// GELU as TorchScript writes it (Div √2, Erf, Add 1, Mul x, Mul 0.5) is one node; ONNX's Gelu op
/// (opset 20) and a lone Erf import too; LayerNormalization over a channels-last map.
@Suite struct ImportGELUTests {
    @Test func theErfChainIsOneGELU() throws {
        var m = ONNXSketch(opset: 17)
        m.input("input", [1, 2, 3, 4])
        m.initializer("sqrt2", [], [Float(2).squareRoot()])
        m.initializer("one", [], [1])
        m.initializer("half", [], [0.5])
        m.node("Div", ["input", "sqrt2"], ["d"], name: "div")
        m.node("Erf", ["d"], ["e"], name: "erf")
        m.node("Add", ["e", "one"], ["a"], name: "add")
        m.node("Mul", ["input", "a"], ["m"], name: "mul")
        m.node("Mul", ["m", "half"], ["g"], name: "gelu")
        m.node("Erf", ["g"], ["out"], name: "erf2")
        m.output("out")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.unary(.gelu), .unary(.erf)])
        let x = randomMap(c: 2, h: 3, w: 4, seed: 6)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        let expected = x.data.map { v in erff(0.5 * v * (1 + erff(v / Float(2).squareRoot()))) }
        #expect(maxAbsDifference(y.data, nhwcTensor(NCHW.Map(n: 1, c: 2, h: 3, w: 4, data: expected)).data) < 1e-6)
        // Exported (GELU written out as the same chain) and imported again: the same two nodes.
        #expect(try ONNXImporter().importModel(try ONNXExporter().exportModel(g)).nodes.map(\.op) == g.nodes.map(\.op))
    }

    @Test func layerNormOverChannelsLast() throws {
        var m = ONNXSketch(opset: 17)
        m.input("input", [1, 3, 2, 2])
        m.node("Transpose", ["input"], ["nhwc"], name: "to_nhwc", [.ints("perm", [0, 2, 3, 1])])
        m.initializer("w", [3], [1, 2, 3])
        m.initializer("b", [3], [0, 0, 1])
        m.node("LayerNormalization", ["nhwc", "w", "b"], ["ln"], name: "ln", [.int("axis", -1), .float("epsilon", 0)])
        m.node("Transpose", ["ln"], ["out"], name: "to_nchw", [.ints("perm", [0, 3, 1, 2])])
        m.output("out")
        let g = try m.importGraph()
        // The closing Transpose names the graph output, so it stays as an identity (dropout 0).
        #expect(g.nodes.map(\.op) == [.layerNorm(epsilon: 0), .dropout(rate: 0)])
        // One pixel's channels (0, 1, 2) → ((−1, 0, 1)·√1.5)·(1, 2, 3) + (0, 0, 1).
        let x = NCHW.Map(n: 1, c: 3, h: 2, w: 2, data: [0, 5, 5, 5, 1, 5, 5, 5, 2, 5, 5, 6])
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        let r = Float(1.5).squareRoot()
        #expect(zip(y.data.prefix(3), [-r, 0, 3 * r + 1]).allSatisfy { abs($0 - $1) < 1e-5 }, "\(y.data.prefix(3))")
        // A LayerNormalization over an NCHW map's W axis is not channels: refused by name.
        var bad = ONNXSketch(opset: 17)
        bad.input("input", [1, 3, 2, 2])
        bad.initializer("w", [2], [1, 1])
        bad.node("LayerNormalization", ["input", "w"], ["out"], name: "ln_w", [.int("axis", -1)])
        bad.output("out")
        #expect { try bad.importGraph() } throws: { "\($0)".contains("ln_w") && "\($0)".contains("last axis") }
    }
}
