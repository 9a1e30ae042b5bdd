import RankEdge

/// Seed 000's form for a trained k×k conv: every (output, input) channel pair's k×k kernel truncated
/// to rank L by its own SVD, √σ on both factors (METHODS.md §1), as one rankConv2d node.
public struct RankLFactors: Sendable {
    public let weight: LayerWeight
    /// Per pair p = o·C + c: (u [k×k], σ [k], vᵀ [k×k]) flattened.
    private let pairs: [SVD]

    public init(_ weight: LayerWeight) throws {
        precondition(weight.kernelH == weight.kernelW, "rank-L needs a square kernel")
        self.weight = weight
        let (s, k, c) = (weight.outputs, weight.kernelH, weight.inputs)
        var pairs: [SVD] = []
        pairs.reserveCapacity(s * c)
        var kernel = [Float](repeating: 0, count: k * k)
        for o in 0..<s {
            for ci in 0..<c {
                for i in 0..<k { for j in 0..<k { kernel[i * k + j] = weight.data[((o * k + i) * k + j) * c + ci] } }
                pairs.append(try SVD(kernel, rows: k, cols: k))
            }
        }
        self.pairs = pairs
    }

    public var fullRank: Int { weight.kernelH }

    /// Σ over channel pairs of σ_l², per l: the energy the l-th rank-1 term holds across the layer.
    public var energyByRank: [Double] {
        var e = [Double](repeating: 0, count: weight.kernelH)
        for svd in pairs { for l in 0..<svd.s.count { e[l] += Double(svd.s[l]) * Double(svd.s[l]) } }
        return e
    }

    public static func params(_ w: LayerWeight, rank l: Int) -> Int { 2 * w.outputs * w.inputs * l * w.kernelH }

    public func factor(rank: Int, geometry: LayerGeometry) -> Factorization {
        let attrs = geometry.conv ?? Conv2DAttributes()
        let (s, k, c) = (weight.outputs, weight.kernelH, weight.inputs)
        let l = max(1, min(rank, k))
        var a = [Float](repeating: 0, count: s * c * l * k), b = a
        for o in 0..<s {
            for ci in 0..<c {
                let svd = pairs[o * c + ci]
                for r in 0..<l {
                    let root = svd.s[r].squareRoot()
                    let base = ((o * c + ci) * l + r) * k
                    for i in 0..<k {
                        a[base + i] = root * svd.u[i * k + r]
                        b[base + i] = root * svd.vt[r * k + i]
                    }
                }
            }
        }
        let ta = Tensor(shape: [s, c, l, k], data: a), tb = Tensor(shape: [s, c, l, k], data: b)
        let approx = reconstructRankKernel(a: ta, b: tb)
        let layer = FactorLayer(suffix: "", op: .rankConv2d(RankConv2DAttributes(stride: attrs.stride, padding: attrs.padding)),
                                weights: [ta, tb], takesBias: true)
        return Factorization(method: .rankL, ranks: [l], branches: 1, layers: [layer],
                             relativeError: MatrixProducts.relativeError(weight.data, approx.data))
    }
}
