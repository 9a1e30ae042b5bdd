import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// The weight budget: which Winograd convs give way (least time lost per byte first), what the
/// compile reports, and that the model computes the same function whatever the budget leaves.
@Suite struct WeightBudgetTests {
    static func choice(_ node: String, _ t: WinogradTransform?, gemm: Double?, f2: Double?, f4: Double?) -> WinogradChoice {
        WinogradChoice(node: node, transform: t, gemmMs: gemm, winogradMs: f2, winograd4Ms: f4)
    }

    @Test func theCheapestLossPerByteGivesWayFirst() {
        // a saves 0.1 ms per (36−16)·100 values by F(4×4); b saves 1 ms for the same bytes.
        let choices = [Self.choice("a", .f43, gemm: 3, f2: 2.1, f4: 2), Self.choice("b", .f43, gemm: 9, f2: 8, f4: 7)]
        let pairs = ["a": 100, "b": 100], kernels = ["a": 3, "b": 3]
        // One step's worth: a moves F(4×4) → F(2×2) (0.1 ms for 8000 bytes).
        let (one, moved) = WeightBudgetFit.shrink(choices, excess: 8_000, pairs: pairs, kernels: kernels)
        #expect(one.map(\.transform) == [.f23, .f43])
        #expect(moved.count == 1 && moved[0].node == "a" && moved[0].from == .f43 && moved[0].to == .f23 && moved[0].bytes == 8_000)
        #expect(abs((moved.first?.milliseconds ?? 0) - 0.1) < 1e-9)
        // More: a goes on to GEMM before b gives anything (a's F(2×2) → GEMM costs 0.9 ms per 2800 bytes,
        // b's F(4×4) → F(2×2) 1 ms per 8000: b is cheaper per byte, so b moves first).
        let (two, moved2) = WeightBudgetFit.shrink(choices, excess: 16_000, pairs: pairs, kernels: kernels)
        #expect(two.map(\.transform) == [.f23, .f23])
        #expect(moved2.map(\.node) == ["a", "b"])
        // Everything to the GEMM form when nothing less will do; one merged change per conv.
        let (all, moved3) = WeightBudgetFit.shrink(choices, excess: 1 << 30, pairs: pairs, kernels: kernels)
        #expect(all.allSatisfy { $0.transform == nil })
        #expect(moved3.count == 2 && moved3.allSatisfy { $0.from == .f43 && $0.to == nil && $0.bytes == (36 - 9) * 100 * 4 })
        #expect(abs((moved3.first { $0.node == "b" }?.milliseconds ?? 0) - 2) < 1e-9)
    }

    @Test func unmeasuredFormsGiveTheLargestSavingFirst() {
        let choices = [Self.choice("small", .f23, gemm: nil, f2: nil, f4: nil), Self.choice("large", .f23, gemm: nil, f2: nil, f4: nil)]
        let (out, moved) = WeightBudgetFit.shrink(choices, excess: 1, pairs: ["small": 10, "large": 1000], kernels: ["small": 3, "large": 3])
        #expect(out.map(\.transform) == [.f23, nil])
        #expect(moved.map(\.node) == ["large"] && moved[0].milliseconds == nil)
    }

    @Test func boundsByPolicy() {
        let g = 100_000_000
        #expect(WeightBudget.automatic.bound(graphBytes: g, policy: .measure) == 130_000_000)
        #expect(WeightBudget.automatic.bound(graphBytes: 1_000_000, policy: .measure) == 17_000_000)
        #expect(WeightBudget.automatic.bound(graphBytes: g, policy: .always) == nil)
        #expect(WeightBudget.ratio(1.5).bound(graphBytes: g, policy: .large) == 150_000_000)
        #expect(WeightBudget.bytes(5).bound(graphBytes: g, policy: .never) == 5)
        #expect(WeightBudget.unlimited.bound(graphBytes: g, policy: .measure) == nil)
    }

    static func graph() -> Graph {
        var b = GraphBuilder(name: "budget", shape: [1, 12, 12, 16], seed: 3)
        var x = b.conv("input", out: 32, kernel: 3, name: "a")
        x = b.relu(x)
        x = b.conv(x, out: 32, kernel: 3, name: "b")
        x = b.relu(x)
        x = b.conv(x, out: 24, kernel: 3, name: "c")
        return b.build(outputs: [x])
    }

    @Test func aBudgetMovesWinogradConvsAndKeepsTheFunction() throws {
        let g = Self.graph()
        let free = try GraphCompiler.compile(g, options: CompileOptions(winograd: .large, weightBudget: .unlimited))
        #expect(free.weightBudget == nil)
        #expect(free.winogradChoices.allSatisfy { $0.transform == .f43 })
        // A budget below the GEMM forms' bytes: every Winograd conv moves, and the report says the bound is not met.
        let tight = try GraphCompiler.compile(g, options: CompileOptions(winograd: .large, weightBudget: .bytes(1)))
        let report = try #require(tight.weightBudget)
        #expect(!report.met && report.budgetBytes == 1)
        #expect(Set(report.changes.map(\.node)) == ["a", "b", "c"] && report.changes.allSatisfy { $0.from == .f43 && $0.to == nil })
        #expect(report.preparedBytes == tight.weightBytes.prepared && report.preparedBytes < free.weightBytes.prepared)
        #expect(report.unconstrainedBytes == free.weightBytes.prepared)  // the shape estimate is exact for these convs
        #expect(tight.ops.allSatisfy { !$0.kernel.contains("winograd") })
        // A ratio between the two: the report is met and holds what the steps hold.
        let between = try GraphCompiler.compile(g, options: CompileOptions(winograd: .large, weightBudget: .ratio(2.4)))
        let r = try #require(between.weightBudget)
        #expect(r.met && r.preparedBytes == between.weightBytes.prepared && r.preparedBytes <= Int(Double(g.weightBytes) * 2.4))
        #expect(!r.changes.isEmpty && r.changes.count < 3, "\(r.changes.map(\.node))")

        // Same function whatever the forms: each against the reference executor.
        let x = Tensor(shape: [1, 12, 12, 16], data: (0..<(12 * 12 * 16)).map { Float(($0 * 7) % 19) / 9 - 1 })
        let expected = try ReferenceExecutor(graph: g).run(x)
        for model in [free, tight, between] {
            #expect(!model.graph.weights.values.contains { $0.holdsValues })
            #expect(model.weightBytes.held == 0)
            let y = try InferenceSession(model: model).run(x)
            #expect(y.maxAbsDifference(expected) <= 1e-4 * max(expected.maxAbs, 1))
        }
    }
}
