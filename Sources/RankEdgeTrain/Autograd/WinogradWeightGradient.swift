import RankEdge

/// The weight gradient of a stride-1, undilated, ungrouped 3×3 or 5×5 conv by the forward pass's
/// Winograd algorithm (`ConvFormSelector.trainingWinogradTransform`: F(4×4, 3×3), F(2×2, 3×3) on small
/// outputs, or F(2×2, 5×5)), read backwards.
///
/// Forward, an m×m output tile is y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, bilinear in the kernel g and the
/// tile's α×α input patch d. The gradient of Σ dy·y with respect to g is therefore
///     dW = Gᵀ [ Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ d B) ] G,
/// with dY the tile's output gradient (zeros where the tile overhangs the output) and Bᵀ d B the
/// forward's own input transform. At each of the α² positions ξ the sum over tiles, for every
/// channel pair, is one GEMM whose reduction runs over the tiles:
///     M_ξ[S × C] += U_ξᵀ V_ξ,   U_ξ = (A dY Aᵀ)_ξ [tiles × S],   V_ξ = (Bᵀ d B)_ξ [tiles × C],
/// 36 multiply-adds per channel pair and 16 outputs instead of 144 for F(4×4, 3×3), 36 per 4
/// outputs instead of 100 for F(2×2, 5×5). The transforms cost per channel rather than per
/// channel pair, so the form needs both sides reasonably wide
/// (`ConvFormSelector.trainingWinogradChannels`, the same rule as the forward pass: narrower, the
/// transforms and the short GEMM rows cost more than the multiply-adds saved; with F(4×4, 3×3)
/// ResNet-20's 16-channel layers gain too, 2 threads, Zen 1, docs/BENCHMARKS.md, trainer session 10).
struct WinogradWeightGradient {
    /// The α² products M_ξ [S × C] are read and written by every chunk's GEMMs; above this many
    /// floats (8 MB) per thread they no longer stay in L2/L3 and im2col + GEMM is used instead.
    static let maximumProducts = 1 << 21

    let geo: ConvGeometry
    let transform: WinogradTransform
    let isa: GEMMISA
    let tilesHigh: Int, tilesWide: Int
    /// Tiles transformed and multiplied together: their V and U stay in L2 for the α² GEMMs.
    let tilesPerChunk: Int
    /// Floats one thread's `compute` needs: V, U, the α² products M, one zero pixel.
    var scratchCount: Int {
        let (p, c, s) = (transform.positions, geo.c, geo.s)
        return tilesPerChunk * p * (c + s) + p * s * c + max(c, s)
    }

    init?(_ g: ConvGeometry) {
        let least = ConvFormSelector.trainingWinogradChannels(kernel: g.kh)
        guard g.groups == 1, g.sh == 1, g.sw == 1, g.dh == 1, g.dw == 1, g.kh == g.kw, g.c >= least, g.s >= least,
              let t = ConvFormSelector.trainingWinogradTransform(kernel: g.kh, outputHeight: g.oh, outputWidth: g.ow),
              t.positions * g.s * g.c <= Self.maximumProducts,
              let isa = try? GEMMISA.fromEnvironment() else { return nil }
        geo = g
        transform = t
        self.isa = isa
        tilesHigh = (g.oh + t.m - 1) / t.m
        tilesWide = (g.ow + t.m - 1) / t.m
        tilesPerChunk = max(16, (1 << 18) / (t.positions * (g.c + g.s)))
    }

    /// dW ([S, r, r, C], overwritten) summed over `images`; `scratch` holds `scratchCount` floats.
    func compute(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, images: Range<Int>, into dW: UnsafeMutablePointer<Float>,
                 scratch: UnsafeMutablePointer<Float>) {
        let (c, s, p) = (geo.c, geo.s, transform.positions)
        let v = scratch, u = v + tilesPerChunk * p * c, products = u + tilesPerChunk * p * s
        let zero = products + p * s * c
        zero.update(repeating: 0, count: max(c, s))
        let perImage = tilesHigh * tilesWide
        let end = images.upperBound * perImage
        var first = images.lowerBound * perImage
        var beta: Float = 0
        while first < end {
            let count = min(tilesPerChunk, end - first)
            transform.transformInputTiles(x: x, height: geo.h, width: geo.w, channels: c, padTop: geo.pt, padLeft: geo.pl,
                                          tilesHigh: tilesHigh, tilesWide: tilesWide, first: first, count: count, zero: zero,
                                          into: v, isa: isa)
            for tile in 0..<count {
                transformOutputGradient(dy, tile: first + tile, zero: zero, into: u + tile * s, positionStride: count * s)
            }
            for xi in 0..<p {
                sgemm(transA: true, transB: false, m: s, n: c, k: count, a: u + xi * count * s, lda: s,
                      b: v + xi * count * c, ldb: c, beta: beta, c: products + xi * s * c, ldc: c)
            }
            beta = 1
            first += count
        }
        if beta == 0 { products.update(repeating: 0, count: p * s * c) }
        foldPositions(products, into: dW)
    }

    private func place(_ tile: Int) -> (image: Int, ty: Int, tx: Int) {
        let within = tile % (tilesHigh * tilesWide)
        return (tile / (tilesHigh * tilesWide), within / tilesWide, within % tilesWide)
    }

    /// U = A dY Aᵀ of one tile, by the C transform (a pixel outside the output reads `zero`).
    private func transformOutputGradient(_ dy: UnsafePointer<Float>, tile: Int, zero: UnsafePointer<Float>,
                                         into u: UnsafeMutablePointer<Float>, positionStride: Int) {
        let g = geo, m = transform.m
        let (image, ty, tx) = place(tile)
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: m * m) { d in
            for a in 0..<m {
                for b in 0..<m {
                    let (oy, ox) = (m * ty + a, m * tx + b)
                    d[a * m + b] = oy < g.oh && ox < g.ow ? dy + ((image * g.oh + oy) * g.ow + ox) * g.s : zero
                }
            }
            transform.transformOutputGradientTile(d.baseAddress!, channels: g.s, into: u, positionStride: positionStride, isa: isa)
        }
    }

    /// dW[o, ky, kx, c] = Σ_ξ=(i, j) G[i][ky] G[j][kx] M_ξ[o][c], one side at a time: first
    /// T[i][kx] = Σ_j G[j][kx] M_(i, j), then dW[ky][kx] = Σ_i G[i][ky] T[i][kx].
    private func foldPositions(_ products: UnsafePointer<Float>, into dW: UnsafeMutablePointer<Float>) {
        let (c, s, r, alpha) = (geo.c, geo.s, transform.r, transform.alpha)
        let gf = transform.g.map { Float($0) }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: alpha * r * c) { buffer in
            let half = buffer.baseAddress!
            for o in 0..<s {
                half.update(repeating: 0, count: alpha * r * c)
                for i in 0..<alpha {
                    for j in 0..<alpha {
                        let src = products + ((i * alpha + j) * s + o) * c
                        for kx in 0..<r where gf[j * r + kx] != 0 {
                            let (coefficient, dst) = (gf[j * r + kx], half + (i * r + kx) * c)
                            for ci in 0..<c { dst[ci] += coefficient * src[ci] }
                        }
                    }
                }
                let out = dW + o * r * r * c
                out.update(repeating: 0, count: r * r * c)
                for ky in 0..<r {
                    for i in 0..<alpha where gf[i * r + ky] != 0 {
                        let coefficient = gf[i * r + ky]
                        for kx in 0..<r {
                            let (src, dst) = (half + (i * r + kx) * c, out + (ky * r + kx) * c)
                            for ci in 0..<c { dst[ci] += coefficient * src[ci] }
                        }
                    }
                }
            }
        }
    }
}
