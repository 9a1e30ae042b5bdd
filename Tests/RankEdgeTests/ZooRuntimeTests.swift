import Testing
@testable import RankEdge
@testable import RankEdgeReference
@testable import RankEdgeZoo

/// Every zoo model and variant, compiled (all graph passes, fusion, prepacking, memory planning)
/// and run by the fast runtime, against the reference executor on the source graph: max |Δ| ≤
/// 1e-4 · max |output|. Inputs are shrunk (CIFAR nets to 8×8, ImageNet nets to 16×16, mini-VGG's
/// classifier sliced to match) so the reference stays fast in debug builds; every layer keeps its form.
@Suite struct ZooRuntimeTests {
    typealias F = RefFixtures

    static func variants(_ name: String) -> [ZooVariant] {
        var v: [ZooVariant] = [.dense, .lrd, .branched(2), .branched(4)]
        if !name.hasPrefix("minivgg") { v.append(.merged) }
        let k = name.hasPrefix("minivgg") ? Int(String(name.last!))! : 3
        v += (1...k).map { ZooVariant.rank($0) }
        return v
    }

    static func check(_ name: String, side: Int) throws {
        for (i, variant) in variants(name).enumerated() {
            let source = try TestGraphs.shrink(Zoo.build(name, variant: variant, seed: UInt64(i)), side: side)
            var rng = SeededRandom(seed: UInt64(i) + 100)
            let batch = i % 3 == 0 ? 2 : 1
            let x = F.random([batch, side, side, 3], &rng)
            // Rank-L loops cost L·k² per tap in the reference; its reconstructed twin is equivalent
            // (ReferenceRankConvTests) and costs 1.
            let expected = try ReferenceExecutor(graph: TestGraphs.reconstructed(source)).run(x)
            var form: RankConvFormPolicy = .separable
            if case .rank(2) = variant { form = .dense }
            let threads = 1 + i % 2
            // Every 3×3 stride-1 conv in the GEMM form, then every one in the Winograd form with 2×2
            // output tiles, then with 4×4 tiles.
            for winograd in [WinogradPolicy.never, .always, .large] {
                let model = try GraphCompiler.compile(source, options: CompileOptions(threads: threads, rankConvForm: form, winograd: winograd))
                // Each Winograd step has the tile the policy asks for: 4×4 for 3×3 kernels under `large`.
                for op in model.ops {
                    guard let w = op.prepared as? GEMMConvWeights, let t = w.winogradTransform else { continue }
                    #expect(winograd != .never && t.m == (winograd == .large && w.kh == 3 ? 4 : 2), "\(name) \(variant) \(op.name)")
                }
                let session = try InferenceSession(model: model, options: .init(threads: threads))
                let actual = try session.run(x)
                let error = actual.maxAbsDifference(expected), scale = expected.maxAbs
                #expect(error <= 1e-4 * scale, "\(name) \(variant) \(winograd), \(threads) thread(s): max error \(error), output scale \(scale)")
                if let memory = session.memory {
                    #expect(Double(memory.arenaBytes) <= 1.1 * Double(memory.lowerBoundBytes), "\(name) \(variant): arena \(memory)")
                }
            }
        }
    }

    @Test func miniVGG() throws {
        for name in ["minivgg-k3", "minivgg-k5", "minivgg-k7"] { try Self.check(name, side: 8) }
    }

    @Test func cifarResNets() throws {
        try Self.check("resnet20", side: 8)
        try Self.check("resnet56", side: 8)
    }

    @Test func imagenetResNets() throws {
        try Self.check("resnet18", side: 16)
        try Self.check("resnet50", side: 16)
    }

    @Test func compiledFilesRunLikeTheirSource() throws {
        for (name, variant) in [("resnet20", ZooVariant.lrd), ("minivgg-k5", .rank(2)), ("resnet20", .branched(2))] {
            let source = try TestGraphs.shrink(Zoo.build(name, variant: variant), side: 8)
            let model = try GraphCompiler.compile(source, options: CompileOptions(rankConvForm: .separable))
            let session = try InferenceSession(model: model)
            try session.prepare(batch: 1)
            let bytes = try RKGFile.encode(CompiledModelFile.contents(model, plan: (1, 1, session.planLayout!), compileThreads: 1))
            let loaded = try InferenceSession(model: CompiledModelFile.model(from: RKGFile.decodeContents(bytes)))
            var rng = SeededRandom(seed: 7)
            let x = F.random([1, 8, 8, 3], &rng)
            // Same kernels, same packed weights, same plan: bit-identical outputs.
            #expect(try loaded.run(x) == session.run(x), "\(name) \(variant)")
        }
    }
}
