import Testing
import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference
@testable import RankEdgeZoo

/// Graph → ONNX → Graph: the re-imported graph computes what the original does.
@Suite struct RoundTripTests {
    func roundTrip(_ g: Graph) throws -> Graph {
        try ONNXImporter().importModel(try ONNXExporter().exportModel(g))
    }

    func expectSameOutputs(_ a: Graph, _ b: Graph, seed: UInt64 = 1, batch: Int = 1,
                           tolerance: Float = 1e-5, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var rng = SeededRandom(seed: seed)
        var inputs: [String: Tensor] = [:]
        for input in a.inputs {
            var s = input.shape
            s[0] = batch
            inputs[input.name] = Tensor(shape: s, data: rng.uniformArray(count: s.elementCount, bound: 1))
        }
        let ya = try ReferenceExecutor(graph: a).run(inputs)
        let yb = try ReferenceExecutor(graph: b).run(inputs)
        #expect(Set(ya.keys) == Set(yb.keys), sourceLocation: sourceLocation)
        for (name, t) in ya {
            guard let u = yb[name] else { continue }
            #expect(t.shape == u.shape, sourceLocation: sourceLocation)
            if t.shape == u.shape {
                #expect(t.maxAbsDifference(u) <= tolerance * max(1, t.maxAbs), "output \(name)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func miniVGGWithBatchNormAndDropout() throws {
        let g = buildMiniVGG(MiniVGGOptions(kernel: 3, batchNorm: true, dropout: true, seed: 4))
        let back = try roundTrip(g)
        #expect(back.nodes.map(\.name) == g.nodes.map(\.name))
        #expect(back.nodes.map(\.op) == g.nodes.map(\.op))
        #expect(back.classNames == cifar10ClassNames)
        // Weights come back exactly: only transposes and reorderings in between.
        #expect(back.weights["fc1.weight"] == g.weights["fc1.weight"])
        #expect(back.weights["block2.conv1.weight"] == g.weights["block2.conv1.weight"])
        try expectSameOutputs(g, back)
    }

    /// rankConv2d comes back as a dense conv2d with the reconstructed kernel.
    @Test func rankConvExportsAsDenseConv() throws {
        var b = GraphBuilder(name: "rank", shape: [1, 9, 7, 3], seed: 2)
        var x = b.rankConv("input", out: 5, kernel: 3, rank: 2, name: "rc1")
        x = b.relu6(x, name: "r6")
        x = b.rankConv(x, out: 4, kernel: 5, rank: 1, stride: 2, bias: false, name: "rc2")
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flat")
        x = b.softmax(x, name: "sm")
        let g = b.build(outputs: [x])
        let back = try roundTrip(g)
        #expect(back.nodes.map(\.op.kind) == ["conv2d", "relu6", "conv2d", "globalAvgPool", "flatten", "softmax"])
        try expectSameOutputs(g, back, tolerance: 1e-5)
    }

    /// Grouped and depthwise convs with dilation and asymmetric padding, avg pool counting padding,
    /// channel concat, residual add, 2-D concat of flattened maps feeding a linear layer.
    @Test func groupedConcatAndFlattenedConcat() throws {
        var b = GraphBuilder(name: "mixed", shape: [1, 11, 7, 4], seed: 3)
        let g1 = b.conv("input", out: 6, kernel: 3, groups: 2, name: "grouped")
        // 11×7 → 6×4, matching the average pool below.
        let attrs = Conv2DAttributes(stride: .square(2), padding: Padding(top: 1, left: 2, bottom: 3, right: 1),
                                     dilation: Size2(2, 1), groups: 6)
        b.addWeight("dw.weight", Tensor(shape: [6, 3, 3, 1], data: b.rng.uniformArray(count: 54, bound: 0.5)))
        let dw = b.add(.conv2d(attrs), name: "dw", inputs: [g1, "dw.weight"])
        let avg = b.avgPool(g1, kernel: 3, stride: 2, padding: 1, countIncludePad: true, name: "avg")
        let cat = b.concat([dw, avg], name: "cat")
        let sum = b.addTensors(cat, cat, name: "sum")
        let f1 = b.flatten(sum, name: "flat1")
        let f2 = b.flatten(b.maxPool(g1, kernel: 2, stride: 2, name: "mp"), name: "flat2")
        let both = b.concat([f1, f2], name: "cat2")
        let bn = b.batchNorm(both, name: "bn")
        let fc = b.linear(b.relu(bn, name: "r"), out: 7, name: "fc")
        let g = b.build(outputs: [fc, sum])
        let back = try roundTrip(g)
        #expect(back.outputs == ["fc", "sum"])
        try expectSameOutputs(g, back, batch: 3)
    }

    /// A flattened feature map leaving the graph is reordered by a Gather in ONNX (which RankEdge
    /// does not import back, so only the structure is checked here; the Python cross-check runs it).
    @Test func flattenedOutputGetsAGather() throws {
        var b = GraphBuilder(name: "flatout", shape: [1, 3, 2, 4], seed: 5)
        let f = b.flatten(b.relu("input", name: "r"), name: "flat")
        let g = b.build(outputs: [f])
        let model = try ONNXExporter().modelProto(g)
        #expect(model.graph.node.map(\.opType) == ["Relu", "Flatten", "Gather"])
        #expect(model.graph.node.last?.output == ["flat"])
        #expect(model.graph.output.map(\.name) == ["flat"])
        let indices = model.graph.initializer.first { $0.dataType == 7 }
        #expect(indices?.int64Data == LayoutConversion.flattenOrder(c: 4, h: 3, w: 2).map { Int64($0) })
    }

    @Test func exportedLayoutsAreNCHW() throws {
        var b = GraphBuilder(name: "layout", shape: [1, 5, 6, 3], seed: 6)
        let c = b.conv("input", out: 2, kernel: 3, name: "c")
        let g = b.build(outputs: [c])
        let model = try ONNXExporter().modelProto(g)
        #expect(model.opsetImport.map(\.version) == [17])
        let dims = model.graph.input[0].type.tensorType.shape.dim
        #expect(dims[0].dimParam == "N")
        #expect(dims.dropFirst().map(\.dimValue) == [3, 5, 6])
        #expect(model.graph.output[0].type.tensorType.shape.dim.dropFirst().map(\.dimValue) == [2, 5, 6])
        let w = model.graph.initializer.first { $0.name == "c.weight" }
        #expect(w?.dims == [2, 3, 3, 3])
    }

    @Test func invalidGraphIsNotExported() {
        var g = buildMiniVGG(MiniVGGOptions(kernel: 3))
        g.weights["fc2.bias"] = nil
        #expect(throws: ONNXExportError.self) { try ONNXExporter().exportModel(g) }
    }

    /// Batch norm on a rank-3 tensor normalizes RankEdge's last axis; ONNX would normalize axis 1.
    @Test func batchNormOnRank3IsRefused() {
        var b = GraphBuilder(name: "seq", shape: [1, 5, 4], seed: 8)
        let bn = b.batchNorm("input", name: "bn")
        let g = b.build(outputs: [bn])
        #expect(throws: ONNXExportError.unsupported(node: "bn", reason: "batch norm on a rank-3 tensor (ONNX normalizes axis 1; RankEdge the last)")) {
            try ONNXExporter().exportModel(g)
        }
    }
}
