import RankEdge

/// A layer's matrix [S, kh·kw·C] cut into blocks along input-channel groups and output-channel
/// groups (seed 004's blocking): `none` one block; `alds` four input groups (ALDS); `square` groups
/// chosen so each block is as close to square as the channel counts allow. Linear layers are not
/// blocked (the runtime has no grouped linear).
public struct BlockPartition: Sendable {
    public struct Block: Sendable {
        public var inputGroup: Int
        public var outputGroup: Int
        /// Output channels (rows of W) of the block.
        public var outputRows: [Int]
        /// Columns of W (index (ky·kw + kx)·C + ci) of the block, in (tap, channel) order.
        public var columns: [Int]
        public var rows: Int { outputRows.count }
        public var cols: Int { columns.count }

        func matrix(_ w: LayerWeight) -> [Float] {
            var m = [Float](repeating: 0, count: rows * cols)
            for (i, r) in outputRows.enumerated() { for (j, c) in columns.enumerated() { m[i * cols + j] = w.data[r * w.fanIn + c] } }
            return m
        }
    }

    public let inputGroups: Int
    public let outputGroups: Int
    public let blocks: [Block]
    public var count: Int { blocks.count }

    static func make(_ w: LayerWeight, _ blocking: RankPolicy.Blocking, linear: Bool = false) -> BlockPartition {
        var nIn = 1, nOut = 1
        if !linear {
            switch blocking {
            case .none: break
            case .alds: nIn = largestDivisor(of: w.inputs, atMost: 4)
            case .square:
                let (s, d) = (Double(w.outputs), Double(w.fanIn))
                if d > s { nIn = largestDivisor(of: w.inputs, atMost: Int((d / s).rounded())) }
                else { nOut = largestDivisor(of: w.outputs, atMost: Int((s / d).rounded())) }
            }
        }
        var blocks: [Block] = []
        let cg = w.inputs / nIn, sg = w.outputs / nOut
        for i in 0..<nOut {
            for j in 0..<nIn {
                var columns: [Int] = []
                for t in 0..<w.taps { for c in 0..<cg { columns.append(t * w.inputs + j * cg + c) } }
                blocks.append(Block(inputGroup: j, outputGroup: i, outputRows: Array((i * sg)..<((i + 1) * sg)), columns: columns))
            }
        }
        return BlockPartition(inputGroups: nIn, outputGroups: nOut, blocks: blocks)
    }

    /// Parameters of the two nodes a selection makes when block b keeps `counts[b]` vectors: every
    /// input group is padded to the widest one (the grouped conv's shape), then a dense 1×1 to S.
    func paddedParams(keeping counts: [Int], of w: LayerWeight) -> Int {
        var perGroup = [Int](repeating: 0, count: inputGroups)
        for (b, block) in blocks.enumerated() { perGroup[block.inputGroup] += counts[b] }
        let total = max(1, perGroup.max() ?? 0) * inputGroups
        return total * (w.taps * (w.inputs / inputGroups) + w.outputs)
    }

    private static func largestDivisor(of n: Int, atMost limit: Int) -> Int {
        var d = max(1, min(limit, n))
        while n % d != 0 { d -= 1 }
        return d
    }
}

/// Chosen singular vectors of every block of a layer, and the two nodes they make: a conv over the
/// input-channel groups (grouped; each group's kept vectors, zero-padded to the largest group) and
/// a 1×1 back to S outputs. Without blocking it is an SVD keeping any subset of components.
public struct ComponentSelection: Sendable {
    public let partition: BlockPartition
    public let svds: [SVD]
    /// Kept component indices per block.
    public let kept: [[Int]]

    public var keptCount: Int { kept.reduce(0) { $0 + $1.count } }
    /// Parameters the factors hold as built (groups padded to the widest).
    public func paddedParams(of w: LayerWeight) -> Int { partition.paddedParams(keeping: kept.map(\.count), of: w) }
    /// Parameters the factors would hold without padding.
    public var idealParams: Int { zip(kept, partition.blocks).reduce(0) { $0 + $1.0.count * ($1.1.rows + $1.1.cols) } }

    public func factor(_ weight: LayerWeight, geometry: LayerGeometry) -> Factorization {
        let p = partition
        let (s, kh, kw) = (weight.outputs, weight.kernelH, weight.kernelW)
        let cg = weight.inputs / p.inputGroups
        // Vectors per input group, and the padded width every group gets.
        var perGroup = [Int](repeating: 0, count: p.inputGroups)
        for (b, block) in p.blocks.enumerated() { perGroup[block.inputGroup] += kept[b].count }
        let width = max(1, perGroup.max()!)
        let total = width * p.inputGroups
        var first = [Float](repeating: 0, count: total * kh * kw * cg)  // [total, kh, kw, cg]
        var second = [Float](repeating: 0, count: s * total)            // [S, total]
        var next = [Int](repeating: 0, count: p.inputGroups)
        var approx = [Float](repeating: 0, count: weight.count)
        for (b, block) in p.blocks.enumerated() {
            let svd = svds[b]
            for k in kept[b] {
                let channel = block.inputGroup * width + next[block.inputGroup]
                next[block.inputGroup] += 1
                let root = svd.s[k].squareRoot()
                // Block columns are (tap, channel-in-group): the grouped conv's [kh, kw, cg] order.
                for j in 0..<block.cols { first[channel * block.cols + j] = root * svd.vt[k * block.cols + j] }
                for (i, row) in block.outputRows.enumerated() {
                    second[row * total + channel] = root * svd.u[i * svd.rank + k]
                    for (j, col) in block.columns.enumerated() {
                        approx[row * weight.fanIn + col] += svd.s[k] * svd.u[i * svd.rank + k] * svd.vt[k * block.cols + j]
                    }
                }
            }
        }
        let layers = [
            geometry.spatial(first, outputs: total, kernelH: kh, kernelW: kw, inputsPerGroup: cg, groups: p.inputGroups,
                             suffix: "svd_v", takesBias: false),
            geometry.pointwise(second, outputs: s, inputs: total, suffix: "svd_u", takesBias: true),
        ]
        return Factorization(method: .svd, ranks: p.count == 1 ? [total] : kept.map(\.count), branches: p.inputGroups,
                             layers: layers, relativeError: MatrixProducts.relativeError(weight.data, approx))
    }
}
