/// The dense conv weight of a rank-L spatial conv (METHODS.md §1, with its correction: a sum of
/// rank-1 kernels, not the paper's product):
///
///     W[o, i, j, c] = Σ_l a[o, c, l, i] · b[o, c, l, j]
///
/// `a` and `b` are [S, C, L, k] (a the vertical/row factor, b the horizontal/column one); the result
/// is OHWI [S, k, k, C], ready for a `conv2d` with the same stride and padding.
///
/// Precondition: `a` and `b` have the same rank-4 shape, as graph validation guarantees for every
/// rankConv2d node.
public func reconstructRankKernel(a: Tensor, b: Tensor) -> Tensor {
    precondition(a.shape.rank == 4 && a.shape == b.shape,
                 "reconstructRankKernel: factors must share a shape [S, C, L, k], got \(a.shape) and \(b.shape)")
    let (s, c, rank, k) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    var w = [Float](repeating: 0, count: s * k * k * c)
    for o in 0..<s {
        for ci in 0..<c {
            for i in 0..<k {
                for j in 0..<k {
                    var sum: Double = 0
                    for l in 0..<rank {
                        let base = ((o * c + ci) * rank + l) * k
                        sum += Double(a.data[base + i]) * Double(b.data[base + j])
                    }
                    w[((o * k + i) * k + j) * c + ci] = Float(sum)
                }
            }
        }
    }
    return Tensor(shape: [s, k, k, c], data: w)
}
