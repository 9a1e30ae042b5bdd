import Testing
import RankEdge
@testable import RankEdgeCompress

/// Seed 003's layer merging: a factor absorbed into its neighbour. Exact merges leave outputs as
/// they were; a ReLU in between is crossed only when asked, and then follows the merged node;
/// a merge that would cost more is not done.
@Suite struct MergingTests {
    /// input [1, 9, 10, 7] → conv (3×3 7→5, stride 2, asymmetric padding, bias) → [bn] → [relu] →
    /// proj (1×1 5→S, an SVD factor) → [relu after] → gap → flatten → fc 4 → output.
    static func pair(outputs s: Int, bn: Bool, relu: Bool, reluAfter: Bool = false) -> Graph {
        var b = GraphBuilder(name: "pair", shape: [1, 9, 10, 7], seed: 77)
        b.addWeight("conv.weight", Tensor(shape: [5, 3, 3, 7], data: b.rng.uniformArray(count: 5 * 9 * 7, bound: 0.4)))
        b.addWeight("conv.bias", Tensor(shape: [5], data: b.rng.uniformArray(count: 5, bound: 0.3)))
        var x = b.add(.conv2d(CT.oddConv), name: "conv", inputs: ["input", "conv.weight", "conv.bias"])
        if bn { x = b.batchNorm(x, name: "bn") }
        if relu { x = b.relu(x, name: "relu") }
        x = b.conv(x, out: s, kernel: 1, name: "proj", provenance: "svd of proj0, rank 5")
        if reluAfter { x = b.relu(x, name: "relu") }
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flatten")
        x = b.linear(x, out: 4, name: "fc")
        return b.build(outputs: [x])
    }

    /// input [1, 9, 10, 3] → lift (1×1 3→6, a Tucker factor, bias optional) → conv (3×3 6→4,
    /// stride 2, asymmetric padding) → gap → flatten.
    static func pointwiseFirst(liftBias: Bool) -> Graph {
        var b = GraphBuilder(name: "pointwise-first", shape: [1, 9, 10, 3], seed: 78)
        var x = b.conv("input", out: 6, kernel: 1, bias: liftBias, name: "lift", provenance: "tucker2 of c, ranks 6/6")
        b.addWeight("conv.weight", Tensor(shape: [4, 3, 3, 6], data: b.rng.uniformArray(count: 4 * 9 * 6, bound: 0.4)))
        b.addWeight("conv.bias", Tensor(shape: [4], data: b.rng.uniformArray(count: 4, bound: 0.3)))
        x = b.add(.conv2d(CT.oddConv), name: "conv", inputs: [x, "conv.weight", "conv.bias"])
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flatten")
        return b.build(outputs: [x])
    }

    static func merged(_ g: Graph, _ mode: MergeMode) -> (Graph, [MergeReport]) {
        var m = g
        let reports = LayerMerging(mode: mode).merge(&m)
        return (m, reports)
    }

    static func maxDifference(_ a: Graph, _ b: Graph) throws -> (Float, Float) {
        let x = CT.input(a, batch: 3, seed: 5)
        let ya = try CT.reference(a, x), yb = try CT.reference(b, x)
        return (ya.maxAbsDifference(yb), max(ya.maxAbs, 1))
    }

    @Test(arguments: [MergeMode.exact, .approximate])
    func batchNormIsFoldedAndTheMergeIsExact(mode: MergeMode) throws {
        let g = Self.pair(outputs: 4, bn: true, relu: false)
        let (m, reports) = Self.merged(g, mode)
        #expect(reports == [MergeReport(node: "proj", from: ["conv", "proj"], exact: true)])
        #expect(m.nodes.map(\.name) == ["proj", "gap", "flatten", "fc"])
        let node = try #require(m.node(named: "proj"))
        #expect(node.op == .conv2d(CT.oddConv), "the merged node has X's geometry")
        #expect(node.inputs[0] == "input" && node.outputs == ["proj"])
        #expect(m.weights[node.inputs[1]]?.shape.dims == [4, 3, 3, 7])
        #expect(node.provenance == "merged conv into proj (exact)")
        #expect(m.weights.keys.allSatisfy { !$0.hasPrefix("conv.") && !$0.hasPrefix("bn.") }, "\(m.weights.keys.sorted())")
        let (diff, scale) = try Self.maxDifference(g, m)
        #expect(diff < 1e-5 * scale)
        try CT.expectRunsTheSame(m)
        #expect(try m.cost().total.params < g.cost().total.params)
    }

    @Test func withoutBatchNormToo() throws {
        let g = Self.pair(outputs: 4, bn: false, relu: false)
        let (m, reports) = Self.merged(g, .exact)
        #expect(reports.count == 1 && reports[0].exact)
        let (diff, scale) = try Self.maxDifference(g, m)
        #expect(diff < 1e-5 * scale)
    }

    @Test func aReluIsCrossedOnlyWhenApproximate() throws {
        let g = Self.pair(outputs: 4, bn: true, relu: true)
        let (exact, none) = Self.merged(g, .exact)
        #expect(none.isEmpty)
        #expect(exact == g)

        let (m, reports) = Self.merged(g, .approximate)
        #expect(reports == [MergeReport(node: "proj", from: ["conv", "proj"], exact: false)])
        #expect(m.nodes.map(\.name) == ["proj", "relu", "gap", "flatten", "fc"])
        let proj = try #require(m.node(named: "proj")), relu = try #require(m.node(named: "relu"))
        #expect(relu.op == .relu)
        #expect(relu.inputs == proj.outputs, "the ReLU reads the merged node")
        #expect(relu.outputs == ["proj"], "and writes what proj wrote")
        #expect(proj.provenance == "merged conv into proj (approximate, across relu)")
        try m.validate()
        try CT.expectRunsTheSame(m)
        // Exactly the network with the ReLU moved after proj…
        let moved = Self.pair(outputs: 4, bn: true, relu: false, reluAfter: true)
        let (diff, scale) = try Self.maxDifference(moved, m)
        #expect(diff < 1e-5 * scale)
        // …which is not the original one.
        let (change, _) = try Self.maxDifference(g, m)
        #expect(change > 1e-4 * scale)
    }

    @Test(arguments: [MergeMode.exact, .approximate])
    func aMergeCostingMoreIsNotDone(mode: MergeMode) {
        // Merged 11·3·3·7 = 693 weights against 5·3·3·7 + 11·5 = 370.
        let g = Self.pair(outputs: 11, bn: true, relu: false)
        let (m, reports) = Self.merged(g, mode)
        #expect(reports.isEmpty)
        #expect(m == g)
    }

    @Test func onlyPairsWithAFactorMerge() throws {
        var g = Self.pair(outputs: 4, bn: true, relu: false)
        g.nodes[g.nodes.firstIndex { $0.name == "proj" }!].provenance = "imported from ONNX Conv"
        let (m, reports) = Self.merged(g, .approximate)
        #expect(reports.isEmpty)
        #expect(m == g)
    }

    /// X's output read twice (a fork) cannot be merged away.
    @Test func aForkBlocksTheMerge() throws {
        var b = GraphBuilder(name: "fork", shape: [1, 9, 10, 7], seed: 79)
        let x = b.conv("input", out: 5, kernel: 3, name: "conv")
        let p = b.conv(x, out: 4, kernel: 1, name: "proj", provenance: "svd of proj0, rank 5")
        let q = b.conv(x, out: 4, kernel: 1, name: "side")
        let y = b.addTensors(p, q, name: "sum")
        let g = b.build(outputs: [y])
        let (m, reports) = Self.merged(g, .approximate)
        #expect(reports.isEmpty)
        #expect(m == g)
    }

    /// A 1×1 factor before a padded k×k conv: exact only when the 1×1 adds nothing (a bias would
    /// reach the padded border of the merged conv, where the original saw zeros).
    @Test func pointwiseBeforeAPaddedConvIsExactOnlyWithoutShift() throws {
        let plain = Self.pointwiseFirst(liftBias: false)
        let (m, reports) = Self.merged(plain, .exact)
        #expect(reports == [MergeReport(node: "conv", from: ["lift", "conv"], exact: true)])
        let node = try #require(m.node(named: "conv"))
        #expect(node.op == .conv2d(CT.oddConv), "the merged node has Y's geometry")
        #expect(m.weights[node.inputs[1]]?.shape.dims == [4, 3, 3, 3])
        #expect(m.nodes.map(\.name) == ["conv", "gap", "flatten"])
        let (diff, scale) = try Self.maxDifference(plain, m)
        #expect(diff < 1e-5 * scale)
        try CT.expectRunsTheSame(m)

        let biased = Self.pointwiseFirst(liftBias: true)
        let (unchanged, none) = Self.merged(biased, .exact)
        #expect(none.isEmpty && unchanged == biased)
        let (approx, reports2) = Self.merged(biased, .approximate)
        #expect(reports2 == [MergeReport(node: "conv", from: ["lift", "conv"], exact: false)])
        #expect(approx.node(named: "conv")?.provenance == "merged lift into conv (approximate)")
        try CT.expectRunsTheSame(approx)
    }

    /// Through `compress`: an exact merge leaves the compressed model's outputs as they were.
    @Test func compressorMergesExactlyAndApproximately() throws {
        let g = CT.smallNet()
        var options = CompressionOptions(policy: .ratio(2, beta: 1))
        options.method = .tucker2
        let (plain, plainReport) = try Compressor(options: options).run(g)
        options.merge = .exact
        let (exact, exactReport) = try Compressor(options: options).run(g)
        #expect(!exactReport.merges.isEmpty)
        #expect(exactReport.merges.allSatisfy { $0.exact })
        #expect(exactReport.merge == "exact")
        #expect(exact.nodes.count < plain.nodes.count)
        #expect(try exact.cost().total.params < plain.cost().total.params)
        let (diff, scale) = try Self.maxDifference(plain, exact)
        #expect(diff < 1e-5 * scale)
        // The rows are those of the unmerged run; only the totals see the merge.
        #expect(exactReport.layers.map(\.ranks) == plainReport.layers.map(\.ranks))
        try CT.expectConsistent(exactReport, original: g, compressed: exact, merged: true)
        for merge in exactReport.merges {
            #expect(exact.node(named: merge.node)?.provenance?.hasPrefix("merged ") == true)
            #expect(merge.from.last == merge.node)
        }

        options.merge = .approximate
        let (approx, approxReport) = try Compressor(options: options).run(g)
        #expect(approxReport.merges.count > exactReport.merges.count)
        #expect(approxReport.merges.contains { !$0.exact })
        try CT.expectConsistent(approxReport, original: g, compressed: approx, merged: true)
    }
}
