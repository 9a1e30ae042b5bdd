import Testing
@testable import RankEdge
@testable import RankEdgeReference
@testable import RankEdgeZoo

@Suite struct InferenceSessionTests {
    typealias F = RefFixtures

    @Test func batchSizeChangesReplan() throws {
        let g = ReferenceExecutorTests.everyOpGraph()
        let session = try InferenceSession(graph: g, options: .init(threads: 2))
        let reference = try ReferenceExecutor(graph: g)
        var rng = SeededRandom(seed: 5)
        for batch in [1, 3, 1] {
            let x = F.random([batch, 6, 5, 3], &rng)
            let fast = try session.run(["image": x]), slow = try reference.run(["image": x])
            for (name, e) in slow { #expect(fast[name]!.maxAbsDifference(e) <= 1e-4 * max(e.maxAbs, 1e-3), "\(name) batch \(batch)") }
        }
    }

    @Test func badInputsAreTypedErrors() throws {
        var b = GraphBuilder(name: "one", shape: [1, 4, 4, 2], seed: 1)
        let y = b.conv("input", out: 3, kernel: 3, name: "c")
        let session = try InferenceSession(graph: b.build(outputs: [y]))
        #expect(throws: ExecutionError.self) { try session.run(Tensor(zeros: TensorShape([1, 4, 5, 2]))) }
        #expect(throws: ExecutionError.self) { try session.run(["nope": Tensor(zeros: TensorShape([1, 4, 4, 2]))]) }
        let input = [Float](repeating: 0, count: 31)
        var output = [Float](repeating: 0, count: 48)
        #expect(throws: ExecutionError.self) {
            try input.withUnsafeBufferPointer { x in try output.withUnsafeMutableBufferPointer { try session.run(input: x, output: $0) } }
        }
        #expect(throws: ExecutionError.self) { try InferenceSession(graph: b.build(outputs: [y]), options: .init(threads: 0)) }
    }

    @Test func pointerPathMatchesTensorPathAndProfileNamesEverySteps() throws {
        let g = try TestGraphs.shrink(Zoo.build("resnet20", variant: .lrd), side: 8)
        let session = try InferenceSession(graph: g, options: .init(threads: 2, profiling: true))
        var rng = SeededRandom(seed: 2)
        let x = F.random([2, 8, 8, 3], &rng)
        let viaTensor = try session.run(x)
        var out = [Float](repeating: 0, count: viaTensor.count)
        try x.data.withUnsafeBufferPointer { i in try out.withUnsafeMutableBufferPointer { try session.run(input: i, output: $0) } }
        #expect(out == viaTensor.data)
        let profile = session.profile
        #expect(profile.count == session.model.ops.count)
        #expect(profile.allSatisfy { $0.milliseconds >= 0 })
        #expect(profile.reduce(0) { $0 + $1.macs } == (try session.model.macs(batch: 2).values.reduce(0, +)))
        let memory = try #require(session.memory)
        #expect(memory.arenaBytes >= memory.lowerBoundBytes && memory.lowerBoundBytes > 0)
    }
}
