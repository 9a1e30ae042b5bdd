import RankEdge

/// Spatial SVD (Jaderberg et al.; AIMET's "spatial SVD"): a kh×kw conv as a kh×1 conv C→R followed
/// by a 1×kw conv R→S, from the SVD of the kernel rearranged as M[(c, i), (s, j)] = W[s, i, j, c].
public struct SpatialSVD: Sendable {
    public let weight: LayerWeight
    public let svd: SVD

    public init(_ weight: LayerWeight) throws {
        self.weight = weight
        let (s, kh, kw, c) = (weight.outputs, weight.kernelH, weight.kernelW, weight.inputs)
        var m = [Float](repeating: 0, count: weight.count)
        let cols = s * kw
        for o in 0..<s { for i in 0..<kh { for j in 0..<kw { for ci in 0..<c {
            m[(ci * kh + i) * cols + o * kw + j] = weight.data[((o * kh + i) * kw + j) * c + ci]
        } } } }
        svd = try SVD(m, rows: c * kh, cols: cols)
    }

    public var singularValues: [Float] { svd.s }
    public var fullRank: Int { svd.rank }

    public static func params(_ w: LayerWeight, rank r: Int) -> Int { r * (w.inputs * w.kernelH + w.outputs * w.kernelW) }

    public func factor(rank: Int, geometry: LayerGeometry) -> Factorization {
        let attrs = geometry.conv ?? Conv2DAttributes()
        let r = max(1, min(rank, fullRank))
        let (s, kh, kw, c) = (weight.outputs, weight.kernelH, weight.kernelW, weight.inputs)
        let full = svd.rank, cols = s * kw
        var vertical = [Float](repeating: 0, count: r * kh * c)     // [R, kh, 1, C]
        var horizontal = [Float](repeating: 0, count: s * kw * r)   // [S, 1, kw, R]
        for l in 0..<r {
            let root = svd.s[l].squareRoot()
            for ci in 0..<c { for i in 0..<kh { vertical[(l * kh + i) * c + ci] = root * svd.u[(ci * kh + i) * full + l] } }
            for o in 0..<s { for j in 0..<kw { horizontal[(o * kw + j) * r + l] = root * svd.vt[l * cols + o * kw + j] } }
        }
        var approx = [Float](repeating: 0, count: weight.count)
        for o in 0..<s { for i in 0..<kh { for j in 0..<kw { for ci in 0..<c {
            var sum: Float = 0
            for l in 0..<r { sum += horizontal[(o * kw + j) * r + l] * vertical[(l * kh + i) * c + ci] }
            approx[((o * kh + i) * kw + j) * c + ci] = sum
        } } } }
        let p = attrs.padding
        let first = Conv2DAttributes(stride: Size2(attrs.stride.h, 1), padding: Padding(top: p.top, left: 0, bottom: p.bottom, right: 0),
                                     dilation: Size2(attrs.dilation.h, 1))
        let second = Conv2DAttributes(stride: Size2(1, attrs.stride.w), padding: Padding(top: 0, left: p.left, bottom: 0, right: p.right),
                                      dilation: Size2(1, attrs.dilation.w))
        let layers = [
            FactorLayer(suffix: "spatial_v", op: .conv2d(first), weights: [Tensor(shape: [r, kh, 1, c], data: vertical)], takesBias: false),
            FactorLayer(suffix: "spatial_h", op: .conv2d(second), weights: [Tensor(shape: [s, 1, kw, r], data: horizontal)], takesBias: true),
        ]
        return Factorization(method: .spatial, ranks: [r], branches: 1, layers: layers,
                             relativeError: MatrixProducts.relativeError(weight.data, approx))
    }
}
