/// The factor banks of a rank-L spatial conv for the separable kernel (METHODS.md §1): the
/// horizontal factor b as [C][k][L][S'] and the vertical factor a as [C][L][k][S'], S' = S rounded
/// up to 8 with zeros, so each (input channel, tap, rank) row is a run of whole vectors over o.
final class SeparableRankWeights: @unchecked Sendable {
    let attributes: RankConv2DAttributes
    let outChannels: Int, inChannels: Int, rank: Int, k: Int
    let paddedOut: Int
    let horizontal: FloatStorage
    let vertical: FloatStorage
    let bias: FloatStorage?

    /// `a`, `b` are [S, C, L, k]: a the vertical (row) factor, b the horizontal one.
    init(a: Tensor, b: Tensor, bias: Tensor?, attributes: RankConv2DAttributes) {
        self.attributes = attributes
        (outChannels, inChannels, rank, k) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
        paddedOut = (outChannels + 7) / 8 * 8
        let (s, c, l, k, sp) = (outChannels, inChannels, rank, k, paddedOut)
        var h = [Float](repeating: 0, count: c * k * l * sp)
        var v = [Float](repeating: 0, count: c * l * k * sp)
        for o in 0..<s {
            for ci in 0..<c {
                for r in 0..<l {
                    let src = ((o * c + ci) * l + r) * k
                    for j in 0..<k { h[((ci * k + j) * l + r) * sp + o] = b.data[src + j] }
                    for i in 0..<k { v[((ci * l + r) * k + i) * sp + o] = a.data[src + i] }
                }
            }
        }
        horizontal = FloatStorage(h)
        vertical = FloatStorage(v)
        self.bias = bias.map { FloatStorage($0.data) }
    }

    init(attributes: RankConv2DAttributes, outChannels: Int, inChannels: Int, rank: Int, k: Int,
         horizontal: FloatStorage, vertical: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes
        self.outChannels = outChannels; self.inChannels = inChannels; self.rank = rank; self.k = k
        paddedOut = (outChannels + 7) / 8 * 8
        self.horizontal = horizontal
        self.vertical = vertical
        self.bias = bias
    }
}
