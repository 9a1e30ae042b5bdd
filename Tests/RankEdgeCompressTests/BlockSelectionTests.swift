import Testing
import RankEdge
@testable import RankEdgeCompress

/// Seed 004's blocking and component selection: the blocks partition W, and any choice of kept
/// singular vectors becomes a grouped conv and a 1×1 whose product is exactly that selection.
@Suite struct BlockSelectionTests {
    static let shapes: [(s: Int, k: Int, c: Int)] = [(11, 3, 12), (13, 3, 7), (6, 1, 20), (40, 1, 3), (9, 3, 8), (5, 3, 30)]

    @Test(arguments: RankPolicy.Blocking.allCases)
    func blocksCoverEveryWeightExactlyOnce(blocking: RankPolicy.Blocking) {
        for (s, k, c) in Self.shapes {
            let w = CT.weight(outputs: s, kernelH: k, kernelW: k, inputs: c, seed: 80)
            let p = BlockPartition.make(w, blocking)
            var hits = [Int](repeating: 0, count: w.count)
            for b in p.blocks {
                #expect(b.rows == s / p.outputGroups && b.cols == k * k * c / p.inputGroups)
                for r in b.outputRows { for col in b.columns { hits[r * w.fanIn + col] += 1 } }
                // A block's columns are its input group's channels at every tap, in (tap, channel) order.
                let cg = c / p.inputGroups
                #expect(b.columns == (0..<(k * k)).flatMap { t in (0..<cg).map { t * c + b.inputGroup * cg + $0 } })
                // And its matrix holds those weights.
                let m = b.matrix(w)
                #expect(m[0] == w.data[b.outputRows[0] * w.fanIn + b.columns[0]])
                #expect(m[m.count - 1] == w.data[b.outputRows.last! * w.fanIn + b.columns.last!])
            }
            #expect(hits.allSatisfy { $0 == 1 }, "\(blocking) on [\(s), \(k), \(k), \(c)]")
            #expect(p.count == p.inputGroups * p.outputGroups)
            #expect(c % p.inputGroups == 0 && s % p.outputGroups == 0)
            switch blocking {
            case .none: #expect(p.count == 1)
            case .alds: #expect(p.outputGroups == 1 && p.inputGroups == [4, 3, 2, 1].first { c % $0 == 0 }!)
            case .square: #expect(p.inputGroups == 1 || p.outputGroups == 1)
            }
            // Linear layers are never blocked.
            #expect(BlockPartition.make(w, blocking, linear: true).count == 1)
        }
    }

    @Test func squareBlocksAreAsSquareAsTheChannelsAllow() {
        // [11, 3·3·12]: 108 / 11 ≈ 10 → 6 input groups (largest divisor of 12 ≤ 10) → 11 × 18 blocks.
        let wide = BlockPartition.make(CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 12, seed: 81), .square)
        #expect(wide.inputGroups == 6 && wide.outputGroups == 1)
        // [40, 3]: 40 / 3 ≈ 13 → 10 output groups → 4 × 3 blocks.
        let tall = BlockPartition.make(CT.weight(outputs: 40, inputs: 3, seed: 82), .square)
        #expect(tall.outputGroups == 10 && tall.inputGroups == 1)
        #expect(tall.blocks.allSatisfy { $0.rows == 4 && $0.cols == 3 })
        // Already square: one block.
        #expect(BlockPartition.make(CT.weight(outputs: 9, inputs: 9, seed: 83), .square).count == 1)
    }

    static func selection(_ w: LayerWeight, _ blocking: RankPolicy.Blocking, linear: Bool = false,
                          keep: (Int, Int) -> Bool) throws -> ComponentSelection {
        let p = BlockPartition.make(w, blocking, linear: linear)
        let svds = try p.blocks.map { try SVD($0.matrix(w), rows: $0.rows, cols: $0.cols) }
        let kept = svds.enumerated().map { b, svd in (0..<svd.s.count).filter { keep(b, $0) } }
        return ComponentSelection(partition: p, svds: svds, kept: kept)
    }

    /// The weight a selection stands for: Σ over kept (block, i) of σ u vᵀ at the block's place.
    static func reconstruction(_ sel: ComponentSelection, _ w: LayerWeight) -> [Float] {
        var out = [Float](repeating: 0, count: w.count)
        for (b, block) in sel.partition.blocks.enumerated() {
            let svd = sel.svds[b]
            for i in sel.kept[b] {
                for (r, row) in block.outputRows.enumerated() {
                    for (j, col) in block.columns.enumerated() {
                        out[row * w.fanIn + col] += svd.s[i] * svd.u[r * svd.rank + i] * svd.vt[i * block.cols + j]
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: RankPolicy.Blocking.allCases)
    func keepingEveryComponentComputesTheLayer(blocking: RankPolicy.Blocking) throws {
        let w = CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 12, seed: 84)
        let sel = try Self.selection(w, blocking) { _, _ in true }
        let f = sel.factor(w, geometry: LayerGeometry(conv: CT.oddConv))
        #expect(f.relativeError < 1e-5)
        var grouped = CT.oddConv
        grouped.groups = sel.partition.inputGroups
        #expect(f.layers[0].op == .conv2d(grouped))
        #expect(f.layers[1].op == .conv2d(Conv2DAttributes()))
        #expect(f.branches == sel.partition.inputGroups)
        // In a graph whose first conv it replaces: the same outputs as the original.
        let original = CT.oneConvGraph(w, attrs: CT.oddConv)
        var factored = original
        factored.substitute("conv", with: f)
        try factored.validate()
        let x = CT.input(original, batch: 2)
        let y0 = try CT.reference(original, x), y1 = try CT.reference(factored, x)
        #expect(y1.maxAbsDifference(y0) <= 1e-4 * max(y0.maxAbs, 1))
        try CT.expectRunsTheSame(factored)
    }

    @Test(arguments: RankPolicy.Blocking.allCases)
    func keepingASubsetGivesTheReportedError(blocking: RankPolicy.Blocking) throws {
        let w = CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 12, seed: 85)
        // Uneven subsets: block b keeps components i with (i + b) % 3 != 1, and always its first.
        let sel = try Self.selection(w, blocking) { b, i in i == 0 || (i + b) % 3 != 1 }
        let f = sel.factor(w, geometry: LayerGeometry(conv: CT.oddConv))
        var dropped = 0.0
        for (b, svd) in sel.svds.enumerated() {
            for i in 0..<svd.s.count where !sel.kept[b].contains(i) { dropped += Double(svd.s[i]) * Double(svd.s[i]) }
        }
        let expected = (dropped / w.squaredNorm).squareRoot()
        #expect(expected > 0.05)
        #expect(abs(f.relativeError - expected) <= 1e-5, "\(blocking): \(f.relativeError) vs \(expected)")
        let reconstructed = Self.reconstruction(sel, w)
        #expect(abs(MatrixProducts.relativeError(w.data, reconstructed) - expected) <= 1e-5)
        // Parameters: padded groups hold at least the ideal count; without blocking exactly it.
        #expect(sel.idealParams == zip(sel.kept, sel.partition.blocks).reduce(0) { $0 + $1.0.count * ($1.1.rows + $1.1.cols) })
        #expect(f.params >= sel.idealParams)
        if blocking == .none {
            #expect(f.params == sel.idealParams)
            #expect(f.ranks == [sel.keptCount])
        } else {
            #expect(f.ranks == sel.kept.map(\.count))
        }
        // The graph computes the dense conv with exactly that reconstruction.
        let original = CT.oneConvGraph(w, attrs: CT.oddConv)
        var factored = original
        factored.substitute("conv", with: f)
        let dense = CT.oneConvGraph(w.with(reconstructed), attrs: CT.oddConv)
        let x = CT.input(original, batch: 2)
        let yf = try CT.reference(factored, x), yd = try CT.reference(dense, x)
        #expect(yf.maxAbsDifference(yd) <= 1e-4 * max(yd.maxAbs, 1))
        try CT.expectRunsTheSame(factored)
    }

    @Test func linearSelection() throws {
        let w = CT.weight(outputs: 9, inputs: 14, seed: 86)
        let sel = try Self.selection(w, .alds, linear: true) { _, i in i < 4 }
        #expect(sel.partition.count == 1)
        let f = sel.factor(w, geometry: .linear)
        #expect(f.layers.map(\.op) == [.linear, .linear])
        #expect(abs(f.relativeError - CT.tailError(sel.svds[0].s, keeping: 4)) <= 1e-5)
        #expect(f.params == 4 * (9 + 14))
    }
}
