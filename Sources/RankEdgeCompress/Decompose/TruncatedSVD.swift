import RankEdge

/// Truncated SVD of a layer taken as the matrix [S, kh·kw·C] (METHODS.md §3): the layer's own
/// kernel with R outputs (√Σ Vᵀ), then a 1×1 R→S (U √Σ). For a 1×1 conv or a linear layer this is
/// the two-matrix factorisation; the error is the Eckart–Young optimum at every rank.
public struct TruncatedSVD: Sendable {
    public let weight: LayerWeight
    public let svd: SVD

    public init(_ weight: LayerWeight) throws {
        self.weight = weight
        svd = try SVD(weight.data, rows: weight.outputs, cols: weight.fanIn)
    }

    /// Singular values, descending.
    public var singularValues: [Float] { svd.s }
    public var fullRank: Int { svd.rank }

    /// Parameters of the two factors at rank r.
    public static func params(_ w: LayerWeight, rank r: Int) -> Int { r * (w.fanIn + w.outputs) }

    public func factor(rank: Int, geometry: LayerGeometry) -> Factorization {
        let r = max(1, min(rank, fullRank))
        let (s, k) = (weight.outputs, weight.fanIn)
        let full = svd.rank
        var first = [Float](repeating: 0, count: r * k)
        var second = [Float](repeating: 0, count: s * r)
        for l in 0..<r {
            let root = svd.s[l].squareRoot()
            for j in 0..<k { first[l * k + j] = root * svd.vt[l * k + j] }
            for i in 0..<s { second[i * r + l] = root * svd.u[i * full + l] }
        }
        let approx = MatrixProducts.multiply(second, first, m: s, k: r, n: k)
        let layers = [
            geometry.spatial(first, outputs: r, kernelH: weight.kernelH, kernelW: weight.kernelW,
                             inputsPerGroup: weight.inputs, suffix: "svd_v", takesBias: false),
            geometry.pointwise(second, outputs: s, inputs: r, suffix: "svd_u", takesBias: true),
        ]
        return Factorization(method: .svd, ranks: [r], branches: 1, layers: layers,
                             relativeError: MatrixProducts.relativeError(weight.data, approx))
    }
}
