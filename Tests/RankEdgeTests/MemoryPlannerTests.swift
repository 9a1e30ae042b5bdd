import Testing
@testable import RankEdge
@testable import RankEdgeZoo

@Suite struct MemoryPlannerTests {
    static func request(_ name: String, _ floats: Int, _ first: Int, _ last: Int) -> BufferRequest {
        BufferRequest(name: name, floats: floats, firstStep: first, lastStep: last)
    }

    @Test func buffersThatNeverMeetShareMemory() {
        let r = [Self.request("a", 100, 0, 1), Self.request("b", 100, 1, 2), Self.request("c", 100, 2, 3)]
        let layout = MemoryPlanner.plan(r)
        // a and c never live together: two slots suffice, and that is the bound.
        #expect(layout.lowerBoundFloats == 200)
        #expect(layout.arenaFloats <= 112 + 100)
        #expect(layout.offsets[0] == layout.offsets[2] || layout.arenaFloats == 212)
        #expect(MemoryPlanner.isValid(layout, for: r))
    }

    @Test func offsetsAreAlignedAndOverlapsRejected() {
        let r = [Self.request("a", 3, 0, 5), Self.request("b", 5, 0, 5), Self.request("c", 1, 2, 2)]
        let layout = MemoryPlanner.plan(r)
        #expect(layout.offsets.allSatisfy { $0 % 16 == 0 })
        #expect(MemoryPlanner.isValid(layout, for: r))
        var broken = layout
        broken.offsets[1] = broken.offsets[0]
        #expect(!MemoryPlanner.isValid(broken, for: r))
        var outside = layout
        outside.arenaFloats = 1
        #expect(!MemoryPlanner.isValid(outside, for: r))
        var misaligned = layout
        misaligned.offsets[2] += 1
        #expect(!MemoryPlanner.isValid(misaligned, for: r))
    }

    @Test func randomRequestsGiveValidLayoutsAboveTheBound() {
        var rng = SeededRandom(seed: 17)
        for _ in 0..<20 {
            let count = Int(rng.next() % 25) + 1
            var r: [BufferRequest] = []
            for i in 0..<count {
                let first = Int(rng.next() % 30)
                r.append(Self.request("t\(i)", Int(rng.next() % 5000) + 1, first, first + Int(rng.next() % 6)))
            }
            let layout = MemoryPlanner.plan(r, searchBudget: 2_000)
            #expect(MemoryPlanner.isValid(layout, for: r))
            #expect(layout.arenaFloats >= layout.lowerBoundFloats)
            #expect(layout.lowerBoundFloats == MemoryPlanner.lowerBound(r))
        }
    }

    @Test func residualNetworksPlanNearTheBound() throws {
        for (name, variant) in [("resnet20", ZooVariant.dense), ("resnet20", .lrd), ("minivgg-k3", .rank(2)), ("resnet18", .dense)] {
            let g = try TestGraphs.shrink(Zoo.build(name, variant: variant), side: name == "resnet18" ? 64 : 32)
            let model = try GraphCompiler.compile(g, options: CompileOptions(rankConvForm: .separable))
            for threads in [1, 2] {
                let plan = try ExecutionPlan(model: model, batch: 1, threads: threads)
                #expect(MemoryPlanner.isValid(plan.layout, for: plan.requests))
                let ratio = Double(plan.layout.arenaFloats) / Double(plan.layout.lowerBoundFloats)
                #expect(ratio <= 1.1, "\(name) \(variant) \(threads) threads: arena \(ratio)× the lower bound")
            }
        }
    }

    @Test func elementwiseStepsRunInPlaceWhenTheirInputDies() throws {
        // relu(add(a, b)) with no producer to fuse into: the add writes over a, the ReLU over that.
        var b = GraphBuilder(name: "inplace", shape: [1, 4, 4, 3], seed: 1)
        let p = b.maxPool("input", kernel: 1, stride: 1, name: "p")
        let q = b.avgPool("input", kernel: 1, stride: 1, name: "q")
        let s = b.addTensors(p, q, name: "s")
        let r = b.relu6(s, name: "r")
        let gap = b.globalAvgPool(r, name: "gap")
        let g = b.build(outputs: [gap])
        let plan = try ExecutionPlan(model: GraphCompiler.compile(g), batch: 2, threads: 1)
        // input, p, q, gap: the add and its ReLU (fused into the add) need no buffer of their own.
        #expect(plan.requests.count == 4)
    }
}
