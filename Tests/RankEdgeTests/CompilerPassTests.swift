import Testing
@testable import RankEdge
@testable import RankEdgeReference
@testable import RankEdgeZoo

/// Graph-to-graph compiler passes, each checked against the reference executor on the graph before
/// and after: a pass must change the form, never the function.
@Suite struct CompilerPassTests {
    typealias F = RefFixtures

    /// Runs both graphs on the same random input and returns the largest output difference relative
    /// to the output's scale.
    static func relativeDifference(_ before: Graph, _ after: Graph, batch: Int = 2, seed: UInt64 = 1) throws -> Float {
        var rng = SeededRandom(seed: seed)
        var shape = before.inputs[0].shape.dims
        shape[0] = batch
        let x = F.random(shape, &rng)
        let a = try ReferenceExecutor(graph: before).run(x)
        let b = try ReferenceExecutor(graph: after).run(x)
        return a.maxAbsDifference(b) / max(a.maxAbs, 1e-6)
    }

    static func kinds(_ g: Graph) -> [String] { g.nodes.map(\.op.kind) }

    // MARK: FoldBatchNorm

    @Test func foldsBatchNormIntoConvLinearAndRankConv() throws {
        var b = GraphBuilder(name: "fold", shape: [1, 7, 5, 3], seed: 11)
        var x = b.conv("input", out: 6, kernel: 3, stride: 2, bias: true, name: "c1")
        x = b.batchNorm(x, name: "bn1")
        x = b.relu(x)
        x = b.conv(x, out: 6, kernel: 3, groups: 3, bias: false, name: "grouped")
        x = b.batchNorm(x, name: "bn2")
        x = b.rankConv(x, out: 4, kernel: 3, rank: 2, bias: false, name: "rc")
        x = b.batchNorm(x, name: "bn3")
        x = b.flatten(x)
        x = b.linear(x, out: 5, name: "fc")
        x = b.batchNorm(x, name: "bn4")
        let g = b.build(outputs: [x])

        let folded = FoldBatchNorm.apply(g)
        try folded.validate()
        #expect(!Self.kinds(folded).contains("batchNorm"))
        #expect(folded.nodes.count == g.nodes.count - 4)
        #expect(try Self.relativeDifference(g, folded) < 1e-5)
        // The graph's output keeps its name, and no weight is left dangling.
        #expect(folded.outputs == g.outputs)
        let referenced = Set(folded.nodes.flatMap(\.weightInputs))
        #expect(Set(folded.weights.keys) == referenced)
    }

    @Test func leavesBatchNormWhoseProducerHasOtherReaders() throws {
        var b = GraphBuilder(name: "shared", shape: [1, 4, 4, 2], seed: 2)
        let c = b.conv("input", out: 3, kernel: 1, name: "c")
        let n = b.batchNorm(c, name: "bn")
        let r = b.relu(c, name: "side")
        let sum = b.addTensors(n, r, name: "sum")
        let g = b.build(outputs: [sum])
        let folded = FoldBatchNorm.apply(g)
        #expect(Self.kinds(folded).contains("batchNorm"))
        #expect(try Self.relativeDifference(g, folded) == 0)
    }

    @Test func leavesBatchNormAfterANonlinearityOrAnInput() throws {
        var b = GraphBuilder(name: "nofold", shape: [1, 3, 3, 2], seed: 5)
        var x = b.batchNorm("input", name: "bn0")
        x = b.conv(x, out: 2, kernel: 3, name: "c")
        x = b.relu(x)
        x = b.batchNorm(x, name: "bn1")
        let g = b.build(outputs: [x])
        let folded = FoldBatchNorm.apply(g)
        #expect(folded.nodes.filter { $0.op.kind == "batchNorm" }.count == 2)
        #expect(try Self.relativeDifference(g, folded) == 0)
    }

    @Test func foldingEveryZooModelKeepsItsFunction() throws {
        for (name, variant) in [("resnet20", ZooVariant.dense), ("resnet20", .lrd), ("resnet20", .rank(2)),
                                ("minivgg-k3", .branched(2))] {
            let g = try TestGraphs.shrink(Zoo.build(name, variant: variant, seed: 4), side: 8)
            let folded = FoldBatchNorm.apply(g)
            #expect(!Self.kinds(folded).contains("batchNorm"), "\(name) \(variant)")
            #expect(try Self.relativeDifference(g, folded, batch: 1) < 1e-4, "\(name) \(variant)")
        }
    }

    // MARK: MergeLinearChains

    @Test func mergesLinearPairWhenCheaper() throws {
        var b = GraphBuilder(name: "ll", shape: [1, 16], seed: 3)
        var x = b.linear("input", out: 32, name: "a")
        x = b.linear(x, out: 8, name: "b")
        let g = b.build(outputs: [x])
        let merged = try MergeLinearChains.apply(g)
        #expect(merged.nodes.count == 1)
        #expect(merged.nodes[0].outputs == ["b"])
        #expect(try Self.relativeDifference(g, merged, batch: 3) < 1e-5)
        #expect(try merged.cost().total.macs < g.cost().total.macs)
    }

    @Test func keepsLinearPairWhenMergingCostsMore() throws {
        // 64→8→64 costs 1024 MACs; merged it would cost 4096.
        var b = GraphBuilder(name: "bottleneck", shape: [1, 64], seed: 3)
        var x = b.linear("input", out: 8, name: "a")
        x = b.linear(x, out: 64, name: "b")
        let g = b.build(outputs: [x])
        #expect(try MergeLinearChains.apply(g) == g)
    }

    @Test func mergesPointwiseIntoSpatialAndSpatialIntoPointwise() throws {
        // 1×1 (3→16, no bias) then 3×3 with padding (16→5): exact even with B's zero padding.
        var b = GraphBuilder(name: "pk", shape: [1, 6, 7, 3], seed: 8)
        var x = b.conv("input", out: 16, kernel: 1, bias: false, name: "p")
        x = b.conv(x, out: 5, kernel: 3, stride: 2, name: "k")
        // 3×3 (5→16) stride 1 then 1×1 (16→4) with biases on both.
        x = b.conv(x, out: 16, kernel: 3, name: "k2")
        x = b.conv(x, out: 4, kernel: 1, name: "p2")
        let g = b.build(outputs: [x])
        let merged = try MergeLinearChains.apply(g)
        #expect(merged.nodes.count == 2)
        #expect(try Self.relativeDifference(g, merged) < 1e-5)
        #expect(try merged.cost().total.macs < g.cost().total.macs)
    }

    @Test func refusesPointwiseBiasThroughPadding() throws {
        // A's bias would be zero-padded away at B's borders: merging would change the border outputs.
        var b = GraphBuilder(name: "pb", shape: [1, 5, 5, 2], seed: 9)
        var x = b.conv("input", out: 12, kernel: 1, bias: true, name: "p")
        x = b.conv(x, out: 3, kernel: 3, padding: 1, name: "k")
        let g = b.build(outputs: [x])
        #expect(try MergeLinearChains.apply(g) == g)
        // Without padding the bias is seen at every tap and merges exactly.
        var b2 = GraphBuilder(name: "pb0", shape: [1, 5, 5, 2], seed: 9)
        var y = b2.conv("input", out: 12, kernel: 1, bias: true, name: "p")
        y = b2.conv(y, out: 3, kernel: 3, padding: 0, name: "k")
        let g2 = b2.build(outputs: [y])
        let merged = try MergeLinearChains.apply(g2)
        #expect(merged.nodes.count == 1)
        #expect(try Self.relativeDifference(g2, merged) < 1e-5)
    }

    @Test func collapsesThreePointwiseConvsAndStridedPointwise() throws {
        var b = GraphBuilder(name: "ppp", shape: [1, 5, 4, 6], seed: 10)
        var x = b.conv("input", out: 24, kernel: 1, stride: 2, name: "a")
        x = b.conv(x, out: 24, kernel: 1, name: "b")
        x = b.conv(x, out: 3, kernel: 1, name: "c")
        let g = b.build(outputs: [x])
        let merged = try MergeLinearChains.apply(g)
        #expect(merged.nodes.count == 1)
        guard case .conv2d(let attrs) = merged.nodes[0].op else { Issue.record("not a conv"); return }
        #expect(attrs.stride == .square(2))
        #expect(try Self.relativeDifference(g, merged) < 1e-5)
    }

    @Test func doesNotMergeAcrossNonlinearityGroupsOrSharedTensors() throws {
        var b = GraphBuilder(name: "nm", shape: [1, 4, 4, 8], seed: 12)
        var x = b.conv("input", out: 32, kernel: 1, name: "a")
        x = b.relu(x)
        x = b.conv(x, out: 2, kernel: 1, name: "b")                // after a ReLU: not linear
        let g1 = b.build(outputs: [x])
        #expect(try MergeLinearChains.apply(g1) == g1)

        var b2 = GraphBuilder(name: "grp", shape: [1, 4, 4, 8], seed: 12)
        var y = b2.conv("input", out: 32, kernel: 1, name: "a")
        y = b2.conv(y, out: 4, kernel: 3, groups: 4, name: "g")    // grouped: not a plain product
        let g2 = b2.build(outputs: [y])
        #expect(try MergeLinearChains.apply(g2) == g2)

        var b3 = GraphBuilder(name: "shared", shape: [1, 4, 4, 8], seed: 12)
        let z = b3.conv("input", out: 32, kernel: 1, name: "a")
        let p = b3.conv(z, out: 2, kernel: 1, name: "b")
        let g3 = b3.build(outputs: [p, z])                        // a's output is also a graph output
        #expect(try MergeLinearChains.apply(g3) == g3)
    }

    @Test func foldThenMergeOnABatchNormBetweenTwoLinearMaps() throws {
        var b = GraphBuilder(name: "fm", shape: [1, 6, 6, 4], seed: 13)
        var x = b.conv("input", out: 32, kernel: 3, name: "k")
        x = b.batchNorm(x, name: "bn")
        x = b.conv(x, out: 4, kernel: 1, name: "p")
        let g = b.build(outputs: [x])
        let compiled = try MergeLinearChains.apply(FoldBatchNorm.apply(g))
        #expect(compiled.nodes.count == 1)
        #expect(try Self.relativeDifference(g, compiled) < 1e-5)
    }
}
