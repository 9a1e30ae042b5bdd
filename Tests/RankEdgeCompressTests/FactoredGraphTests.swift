import Testing
import RankEdge
@testable import RankEdgeCompress
@testable import RankEdgeReference

/// Every decomposition, substituted into a graph: at full rank it computes the original layer, and
/// at any rank the fast runtime agrees with the reference executor on the factored graph.
@Suite struct FactoredGraphTests {
    /// One conv with odd sizes, stride 2 and asymmetric padding, BN and ReLU after it.
    static func graph(kernel k: Int = 3, channels c: Int = 7, outputs s: Int = 11, stride: Int = 2) -> Graph {
        var b = GraphBuilder(name: "one-conv", shape: [1, 9, 10, c], seed: 5)
        var x = b.conv("input", out: 5, kernel: 1, name: "stem")
        x = b.relu(x, name: "stem.relu")
        let attrs = Conv2DAttributes(stride: .square(stride), padding: Padding(top: 1, left: 0, bottom: 2, right: 1))
        b.addWeight("conv.weight", Tensor(shape: [s, k, k, 5], data: b.rng.uniformArray(count: s * k * k * 5, bound: 0.5)))
        b.addWeight("conv.bias", Tensor(shape: [s], data: b.rng.uniformArray(count: s, bound: 0.1)))
        x = b.add(.conv2d(attrs), name: "conv", inputs: [x, "conv.weight", "conv.bias"])
        x = b.batchNorm(x, name: "bn")
        x = b.relu(x, name: "relu")
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flatten")
        x = b.linear(x, out: 4, name: "fc")
        return b.build(outputs: [x])
    }

    static func input(_ g: Graph, batch: Int = 2) -> Tensor {
        var rng = SeededRandom(seed: 9)
        var shape = g.inputs[0].shape
        shape[0] = batch
        return Tensor(shape: shape, data: rng.uniformArray(count: shape.elementCount, bound: 1))
    }

    static func layer(_ g: Graph, _ name: String) throws -> LayerAnalysis {
        let (layers, _) = try LayerSelection.candidates(in: g, include: [name])
        return LayerAnalysis(layers[0])
    }

    static func outputs(_ g: Graph, _ x: Tensor) throws -> (reference: Tensor, fast: Tensor) {
        let reference = try ReferenceExecutor(graph: g).run(x)
        let fast = try InferenceSession(graph: g).run(x)
        return (reference, fast)
    }

    @Test(arguments: [DecompositionMethod.svd, .tucker2, .spatial, .rankL])
    func fullRankComputesTheOriginal(method: DecompositionMethod) throws {
        let g = Self.graph()
        let x = Self.input(g)
        let original = try ReferenceExecutor(graph: g).run(x)
        let analysis = try Self.layer(g, "conv")
        let f = try analysis.factor(method, ranks: analysis.fullRanks(method))
        #expect(f.relativeError < 1e-5)
        var factored = g
        factored.substitute("conv", with: f)
        try factored.validate()
        let (reference, fast) = try Self.outputs(factored, x)
        let scale = max(original.maxAbs, 1)
        #expect(reference.maxAbsDifference(original) <= 1e-4 * scale)
        #expect(fast.maxAbsDifference(reference) <= 1e-4 * scale)
        // Provenance names the source layer; the bias moved to the last node.
        #expect(factored.nodes.filter { $0.provenance?.contains("of conv") == true }.count == f.layers.count)
        #expect(factored.nodes.last { $0.provenance?.contains("of conv") == true }!.inputs.last == "conv.bias")
        #expect(factored.weights["conv.weight"] == nil)
    }

    @Test(arguments: [DecompositionMethod.svd, .tucker2, .spatial, .rankL])
    func truncatedFormsRunTheSameOnBothExecutors(method: DecompositionMethod) throws {
        let g = Self.graph(kernel: 3, channels: 6, outputs: 13, stride: 1)
        let analysis = try Self.layer(g, "conv")
        let ranks = analysis.fullRanks(method).map { max(1, $0 / 2) }
        let f = try analysis.factor(method, ranks: ranks)
        #expect(f.relativeError > 1e-3 && f.relativeError < 1)
        var factored = g
        factored.substitute("conv", with: f)
        let (reference, fast) = try Self.outputs(factored, Self.input(g, batch: 3))
        #expect(fast.maxAbsDifference(reference) <= 1e-4 * max(reference.maxAbs, 1))
    }

    @Test func linearAndPointwiseLayersTakeSVD() throws {
        let g = Self.graph()
        let analysis = try Self.layer(g, "fc")
        #expect(analysis.applicableMethods == [.svd])
        let f = try analysis.factor(.svd, ranks: [2])
        var factored = g
        factored.substitute("fc", with: f)
        #expect(factored.nodes.map(\.name).suffix(2) == ["fc.svd_v", "fc.svd_u"])
        let (reference, fast) = try Self.outputs(factored, Self.input(g))
        #expect(fast.maxAbsDifference(reference) <= 1e-4 * max(reference.maxAbs, 1))
    }
}
