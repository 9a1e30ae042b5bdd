import Foundation
import Testing
@testable import RankEdge

/// The compiler's layer timings kept between processes: a stored timing decides the choice without
/// timing again, new timings are stored, and a file of another CPU, version or a damaged one is empty.
@Suite struct MeasurementCacheTests {
    static func graph() -> Graph {
        var b = GraphBuilder(name: "cached", shape: [1, 12, 12, 32], seed: 4)
        let x = b.conv("input", out: 32, kernel: 3, name: "a")
        let y = b.conv(x, out: 32, kernel: 3, name: "b")
        return b.build(outputs: [y])
    }

    static func temporaryPath() -> String {
        NSTemporaryDirectory() + "rankedge-cache-\(UUID().uuidString).json"
    }

    @Test func storedTimingsDecideWithoutTimingAgain() throws {
        let g = Self.graph()
        let cache = MeasurementCache(cpu: "test CPU")
        let first = try GraphCompiler.compile(g, options: CompileOptions(winograd: .measure, measurementCache: cache, weightBudget: .unlimited))
        #expect(cache.count == 1)  // a and b have one shape: timed once, stored once
        let measured = try #require(first.winogradChoices.first)

        // Rewrite the stored times so that F(2×2) wins by far: the next compile must follow them.
        let key = try #require(Self.onlyKey(cache))
        cache.store([9, 1, 9], for: key)
        let second = try GraphCompiler.compile(g, options: CompileOptions(winograd: .measure, measurementCache: cache, weightBudget: .unlimited))
        #expect(second.winogradChoices.allSatisfy { $0.transform == .f23 && $0.gemmMs == 9 && $0.winogradMs == 1 && $0.winograd4Ms == 9 })
        #expect(second.ops.filter { $0.kernel == "winograd-gemm" }.map(\.name) == ["a", "b"])

        // refresh: timed again, and the real times replace the fake ones.
        cache.refresh = true
        let third = try GraphCompiler.compile(g, options: CompileOptions(winograd: .measure, measurementCache: cache, weightBudget: .unlimited))
        #expect(third.winogradChoices[0].gemmMs != 9)
        cache.refresh = false
        #expect(cache.times(for: key)?[0] == third.winogradChoices[0].gemmMs)
        #expect(measured.gemmMs ?? 0 > 0)
    }

    static func onlyKey(_ cache: MeasurementCache) -> String? {
        // The key is built the way the compiler builds it; find it through a compile's inputs.
        let g = graph()
        let node = g.nodes[0]
        var single = node
        single.inputs = Array(node.inputs.prefix(2))
        let weights = [node.inputs[1]: g.weights[node.inputs[1]]!]
        let key = LayerTimer.cacheKey([(single, weights), (single, weights), (single, weights)], input: g.inputs[0].shape,
                                      isa: .native, threads: 1, winograd: [.never, .always, .large])
        return cache.times(for: key) == nil ? nil : key
    }

    @Test func fileRoundTripAndRejections() throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let cache = MeasurementCache(cpu: "cpu A", path: path)
        cache.store([0.25, 1.5e-3], for: "k1")
        cache.store([2], for: "k \"2\"")
        cache.store([.nan], for: "not stored")
        try cache.save()
        let back = MeasurementCache.load(path: path, cpu: "cpu A")
        #expect(back.count == 2 && back.times(for: "k1") == [0.25, 1.5e-3] && back.times(for: "k \"2\"") == [2])
        #expect(MeasurementCache.load(path: path, cpu: "cpu B").count == 0)
        #expect(MeasurementCache.load(path: path + ".missing", cpu: "cpu A").count == 0)
        try Data("{\"version\":1,\"cpu\":\"cpu A\",\"entries\":{\"k\":[1,".utf8).write(to: URL(fileURLWithPath: path))
        #expect(MeasurementCache.load(path: path, cpu: "cpu A").count == 0)
        try Data("{\"version\":99,\"cpu\":\"cpu A\",\"entries\":{\"k\":[1]}}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(MeasurementCache.load(path: path, cpu: "cpu A").count == 0)
    }
}
