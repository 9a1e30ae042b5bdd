import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// Multiply (an SE block's gate, or equal shapes), channel affine (imported constant Mul / Add),
/// channel shuffle and channel slice: the reference at hand-worked values, the runtime against the
/// reference at odd sizes on 1 and 2 threads, the affine folded into the conv before it, and both
/// file formats.
@Suite struct ChannelOpsTests {
    @Test func referenceAtKnownValues() throws {
        // One pixel, channels 0…5: the [2, 3] grid transposed reads 0, 3, 1, 4, 2, 5.
        let x = Tensor(shape: [1, 1, 1, 6], data: [0, 1, 2, 3, 4, 5])
        #expect(try ReferenceOps.channelShuffle(x, groups: 2).data == [0, 3, 1, 4, 2, 5])
        #expect(try ReferenceOps.channelShuffle(x, groups: 3).data == [0, 2, 4, 1, 3, 5])
        #expect(try ReferenceOps.channelSlice(x, start: 2, count: 3).data == [2, 3, 4])
        let affine = try ReferenceOps.channelAffine(Tensor(shape: [2, 2], data: [1, 2, 3, 4]),
                                                    scale: Tensor(shape: [2], data: [10, -1]), shift: Tensor(shape: [2], data: [0.5, 1]))
        #expect(affine.data == [10.5, -1, 30.5, -3])
        // Rows (1, 2, 3) and (4, 4, 4): mean 2 and variance 2/3; a constant row normalises to 0.
        let ln = try ReferenceOps.layerNorm(Tensor(shape: [2, 3], data: [1, 2, 3, 4, 4, 4]), scale: Tensor(shape: [3], data: [1, 1, 2]),
                                            bias: Tensor(shape: [3], data: [0, 0.5, 0]), epsilon: 1e-12)
        let r = Float(1.5).squareRoot()
        #expect(zip(ln.data, [-r, 0.5, 2 * r, 0, 0.5, 0]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(ln.data)")
        // Two samples of a 1×2 map with 2 channels, gated per sample and channel.
        let a = Tensor(shape: [2, 1, 2, 2], data: [1, 2, 3, 4, 5, 6, 7, 8])
        let gate = Tensor(shape: [2, 1, 1, 2], data: [1, 10, -1, 0])
        #expect(try ReferenceOps.multiply(a, gate).data == [1, 20, 3, 40, -5, 0, -7, 0])
        #expect(try ReferenceOps.multiply(a, a).data == a.data.map { $0 * $0 })
        // Shapes that do not fit are refused, not read past.
        #expect(throws: (any Error).self) { try ReferenceOps.multiply(a, Tensor(shape: [2, 1, 1, 3], data: [Float](repeating: 1, count: 6))) }
        #expect(throws: (any Error).self) { try ReferenceOps.channelShuffle(x, groups: 4) }
        #expect(throws: (any Error).self) { try ReferenceOps.channelSlice(x, start: 4, count: 3) }
    }

    /// A MobileNetV3-style block: conv → affine (folds into the conv) → ReLU → SE (gap, two 1×1
    /// convs, hard sigmoid, multiply) → a standalone affine after a ReLU → split in two slices, one
    /// convolved, joined and shuffled; and a same-shape product.
    static func block(input: [Int], channels c: Int, groups: Int) -> Graph {
        var b = GraphBuilder(name: "channel-ops-\(c)", shape: input, seed: 11)
        var x = b.conv("input", out: c, kernel: 3, padding: 1, name: "conv")
        x = b.channelAffine(x, name: "folded_affine")
        x = b.relu(x)
        var s = b.globalAvgPool(x)
        s = b.relu(b.conv(s, out: max(c / 4, 1), kernel: 1, name: "se_fc1"))
        s = b.unary(b.conv(s, out: c, kernel: 1, name: "se_fc2"), .hardSigmoid(alpha: 1.0 / 6, beta: 0.5))
        x = b.multiply(x, s, name: "se_scale")
        x = b.channelAffine(b.relu(x), name: "standalone_affine")
        x = b.unary(b.layerNorm(x, name: "ln"), .gelu)
        let half = c / 2
        let left = b.channelSlice(x, start: 0, count: half, name: "left")
        var right = b.channelSlice(x, start: half, count: c - half, name: "right")
        right = b.conv(right, out: c - half, kernel: 3, padding: 1, name: "branch")
        x = b.channelShuffle(b.concat([left, right]), groups: groups, name: "shuffle")
        x = b.multiply(x, b.unary(x, .sigmoid), name: "self_gate")
        return b.build(outputs: [x])
    }

    @Test func runtimeMatchesReference() throws {
        // 1×5×7 maps stay on one thread; 1×37×41 (about 30 K elements per op) share out at two.
        for (input, c, g) in [([1, 5, 7, 3], 6, 2), ([1, 37, 41, 5], 18, 3), ([1, 9, 4, 2], 10, 5)] {
            try FastOpsTests.check(Self.block(input: input, channels: c, groups: g), batch: 2)
        }
    }

    @Test func optimizedRuntimeFoldsTheAffineAndMatches() throws {
        let g = Self.block(input: [1, 11, 13, 3], channels: 12, groups: 4)
        var rng = SeededRandom(seed: 9)
        let x = RefFixtures.random([3, 11, 13, 3], &rng)
        let expected = try ReferenceExecutor(graph: g).run(x)
        for threads in [1, 2] {
            let session = try InferenceSession(graph: g, options: .init(threads: threads))
            let kinds = session.model.ops.map(\.kernel)
            // The affine after the conv folds into it; the one after a ReLU runs as its own step.
            #expect(kinds.filter { $0 == "channel-affine" }.count == 1, "\(kinds)")
            #expect(kinds.contains("multiply") && kinds.contains("channel-shuffle") && kinds.contains("channel-slice")
                    && kinds.contains("layer-norm"), "\(kinds)")
            let y = try session.run(x)
            #expect(y.maxAbsDifference(expected) <= 1e-4 * max(expected.maxAbs, 1e-3))
        }
    }

    @Test func compiledFilesAndGraphFilesKeepTheOps() throws {
        let g = Self.block(input: [1, 6, 5, 4], channels: 8, groups: 2)
        let model = try GraphCompiler.compile(g)
        let bytes = try RKGFile.encode(CompiledModelFile.contents(model, plan: nil, compileThreads: 1))
        let loaded = try InferenceSession(model: CompiledModelFile.model(from: RKGFile.decodeContents(bytes)))
        var rng = SeededRandom(seed: 3)
        let x = RefFixtures.random([1, 6, 5, 4], &rng, bound: 4)
        #expect(try loaded.run(x) == InferenceSession(model: model).run(x))
        let reread = try RKGFile.decode(RKGFile.encode(g))
        #expect(reread.nodes.map(\.op) == g.nodes.map(\.op))
        #expect(reread.nodes.contains { $0.op == .channelShuffle(groups: 2) } && reread.nodes.contains { $0.op == .channelSlice(start: 4, count: 4) })
    }
}
