import CRankEdgeKernels

/// The matrices of one Winograd minimal-filtering algorithm F(m×m, r×r) (Lavin & Gray, 2016), built
/// by Toom–Cook from the points 0, 1, −1, 2, −2 (as many as α − 1 = m + r − 2 needs) and ∞:
/// for finite points aⱼ with fⱼ = Πₗ≠ⱼ (aⱼ − aₗ),
/// - Aᵀ[i][j] = aⱼⁱ, and the ∞ column is 1 in the last row only;
/// - G[j][k] = aⱼᵏ / fⱼ, and the ∞ row picks the last tap;
/// - Bᵀ row j holds the coefficients of Πₗ≠ⱼ (x − aₗ), and the ∞ row those of Πₗ (x − aₗ),
/// so that y = Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation yᵢ = Σₖ dᵢ₊ₖ gₖ; with signs normalised as
/// below, F(2, 3) gives exactly the paper's matrices.
public struct WinogradTransform: Sendable, Equatable {
    public let m: Int, r: Int
    public var alpha: Int { m + r - 1 }
    /// Transformed positions per tile: one GEMM each.
    public var positions: Int { alpha * alpha }
    /// "F(m×m, r×r)", for reports.
    public var name: String { "F(\(m)×\(m), \(r)×\(r))" }
    /// Bᵀ (α × α) and Aᵀ (m × α), row-major: the C transforms' matrices (tested equal).
    public let bt: [Float], at: [Float]
    /// G (α × r), row-major, in double (the tests check the algorithm in double; the weight
    /// transform uses it rounded to float).
    public let g: [Double]

    static let f23 = WinogradTransform(m: 2, r: 3)
    static let f25 = WinogradTransform(m: 2, r: 5)
    /// 4×4 output tiles: 2.25 multiply-adds per output and channel pair against F(2×2, 3×3)'s 4,
    /// for larger rounding (its points reach ±2, and Aᵀ has entries of 8).
    public static let f43 = WinogradTransform(m: 4, r: 3)

    /// The algorithm for a k×k kernel, if there is one: F(2×2, 3×3) or F(2×2, 5×5).
    public static func forKernel(_ k: Int) -> WinogradTransform? { k == 3 ? .f23 : (k == 5 ? .f25 : nil) }

    /// The algorithm with the largest output tile for a k×k kernel: F(4×4, 3×3) or F(2×2, 5×5).
    public static func largest(forKernel k: Int) -> WinogradTransform? { k == 3 ? .f43 : forKernel(k) }

    /// The algorithm for a k×k kernel with m×m output tiles, if there is one.
    public static func forKernel(_ k: Int, outputTile m: Int) -> WinogradTransform? {
        [forKernel(k), largest(forKernel: k)].compactMap { $0 }.first { $0.m == m }
    }

    /// Bᵀ d B of tiles first ..< first + count, by the C transform of `isa`: m×m output tiles of an
    /// NHWC input [·, height, width, channels] with the given top and left padding, numbered image by
    /// image, row-major, tilesHigh × tilesWide per image. Position ξ of the chunk's tile t goes to
    /// v + (ξ · count + t) · channels (the α² GEMMs' A matrices); a pixel outside the image reads
    /// `zero` (`channels` zeros).
    public func transformInputTiles(x: UnsafePointer<Float>, height: Int, width: Int, channels c: Int, padTop: Int, padLeft: Int,
                                    tilesHigh: Int, tilesWide: Int, first: Int, count: Int, zero: UnsafePointer<Float>,
                                    into v: UnsafeMutablePointer<Float>, isa: GEMMISA) {
        let cIsa = Int32(isa.cValue.rawValue), perImage = tilesHigh * tilesWide
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: positions) { d in
            for tile in 0..<count {
                let index = first + tile, within = index % perImage
                let (image, ty, tx) = (index / perImage, within / tilesWide, within % tilesWide)
                for i in 0..<alpha {
                    let iy = m * ty - padTop + i
                    for j in 0..<alpha {
                        let ix = m * tx - padLeft + j
                        let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                        d[i * alpha + j] = inside ? x + ((image * height + iy) * width + ix) * c : zero
                    }
                }
                re_winograd_input(cIsa, Int32(m), Int32(r), d.baseAddress!, c, v + tile * c, count * c)
            }
        }
    }

    /// A dY Aᵀ of one tile (the weight gradient's transform of the output gradient): `dy` holds the
    /// m² output-gradient pixels (row-major; one outside the output points at zeros), each `channels`
    /// floats; position ξ's results go to `u + ξ · positionStride`.
    public func transformOutputGradientTile(_ dy: UnsafePointer<UnsafePointer<Float>?>, channels: Int,
                                            into u: UnsafeMutablePointer<Float>, positionStride: Int, isa: GEMMISA) {
        re_winograd_output_gradient(Int32(isa.cValue.rawValue), Int32(m), Int32(r), dy, channels, u, positionStride)
    }

    init(m: Int, r: Int) {
        self.m = m; self.r = r
        let alpha = m + r - 1
        let points = Array([0.0, 1, -1, 2, -2, 0.5, -0.5].prefix(alpha - 1))
        func power(_ a: Double, _ e: Int) -> Double { e == 0 ? 1 : (0..<e).reduce(1) { p, _ in p * a } }
        /// Coefficients (x⁰ first) of Π (x − aₗ) over `roots`, padded to α.
        func product(_ roots: [Double]) -> [Double] {
            var c = [1.0]
            for root in roots {
                var next = [Double](repeating: 0, count: c.count + 1)
                for (i, v) in c.enumerated() { next[i + 1] += v; next[i] -= root * v }
                c = next
            }
            return c + [Double](repeating: 0, count: alpha - c.count)
        }
        var bt = [Float](), at = [Float](repeating: 0, count: m * alpha), g = [Double]()
        for (j, a) in points.enumerated() {
            let others = points.enumerated().filter { $0.offset != j }.map { $0.element }
            bt += product(others).map { Float($0) }
            let f = others.reduce(1.0) { $0 * (a - $1) }
            g += (0..<r).map { power(a, $0) / f }
            for i in 0..<m { at[i * alpha + j] = Float(power(a, i)) }
        }
        bt += product(points).map { Float($0) }
        g += (0..<r).map { $0 == r - 1 ? 1 : 0 }
        at[(m - 1) * alpha + alpha - 1] = 1
        // Signs as in the paper: a finite point's rows of G and Bᵀ, or the ∞ row of Bᵀ and column of
        // Aᵀ, flip together (the product is unchanged) so that G's row, or Bᵀ's ∞ row, leads with a
        // positive coefficient. The C transforms' tables use these signs.
        for j in 0..<alpha {
            let lead = j < alpha - 1 ? g[j * r..<(j + 1) * r].first { $0 != 0 }! : Double(bt[j * alpha..<(j + 1) * alpha].first { $0 != 0 }!)
            guard lead < 0 else { continue }
            for k in 0..<alpha { bt[j * alpha + k] = -bt[j * alpha + k] }
            if j < alpha - 1 {
                for k in 0..<r { g[j * r + k] = -g[j * r + k] }
            } else {
                for i in 0..<m { at[i * alpha + j] = -at[i * alpha + j] }
            }
        }
        self.bt = bt; self.at = at; self.g = g
    }

    /// U_ξ = (G g Gᵀ) at position ξ (row-major in the α×α tile) for every ξ, all in one buffer
    /// [ξ][S][C] (each U_ξ stored transposed, as the OHWI weight itself is), from an OHWI weight
    /// [S, r, r, C].
    func transformedWeights(_ w: Tensor) -> [Float] {
        let (s, c, r, alpha, positions) = (w.shape[0], w.shape[3], r, alpha, positions)
        var u = [Float](repeating: 0, count: positions * s * c)
        // The trainer transforms its weights on every step: loops run along the contiguous input
        // channels (they vectorise), on raw pointers, skipping G's zeros; G g for one output
        // channel at a time lives in `left` [α][r][C].
        let gf = g.map { Float($0) }
        var left = [Float](repeating: 0, count: alpha * r * c)
        w.data.withUnsafeBufferPointer { wp in
        u.withUnsafeMutableBufferPointer { up in
        left.withUnsafeMutableBufferPointer { lp in
            let (w0, u0, l0) = (wp.baseAddress!, up.baseAddress!, lp.baseAddress!)
            for o in 0..<s {
                let wo = w0 + o * r * r * c
                for i in 0..<alpha {  // G g
                    for kx in 0..<r {
                        let dst = l0 + (i * r + kx) * c
                        dst.update(repeating: 0, count: c)
                        for ky in 0..<r where gf[i * r + ky] != 0 {
                            let (coefficient, src) = (gf[i * r + ky], wo + (ky * r + kx) * c)
                            for ci in 0..<c { dst[ci] += coefficient * src[ci] }
                        }
                    }
                }
                for i in 0..<alpha {  // (G g) Gᵀ
                    for j in 0..<alpha {
                        let dst = u0 + ((i * alpha + j) * s + o) * c
                        for kx in 0..<r where gf[j * r + kx] != 0 {
                            let (coefficient, src) = (gf[j * r + kx], l0 + (i * r + kx) * c)
                            for ci in 0..<c { dst[ci] += coefficient * src[ci] }
                        }
                    }
                }
            }
        }
        }
        }
        return u
    }
}

/// Winograd F(m×m, r×r) for a stride-1, undilated, ungrouped 3×3 or 5×5 conv: F(2×2, 3×3),
/// F(4×4, 3×3) or F(2×2, 5×5), chosen per layer (`ConvFormSelector`, for the compiler and for `BatchConvolution` in the
/// trainer).
///
/// The output is cut into m×m tiles. A tile's α×α input patch is transformed (Bᵀ d B); each of the
/// α² transformed positions is then one GEMM, [tiles × C] · [C × S], against the transformed
/// weights (G g Gᵀ, computed once); each tile's α² products are transformed back (Aᵀ M A) with
/// the bias, residual and activation. Per input–output channel pair that is 16 multiply-adds per
/// 4 outputs instead of 36 for F(2×2, 3×3) (2.25× fewer), 36 per 16 instead of 144 for F(4×4,
/// 3×3) (4×), 36 per 4 instead of 100 for F(2×2, 5×5) (2.8×), for transforms whose cost grows with
/// C + S rather than C · S. The transforms are exact in real arithmetic; in float32 F(2×2, r×r)
/// adds rounding of about one part in 10⁶, F(4×4, 3×3) somewhat more (both tested against the
/// reference conv). The C transforms are the matrix form unrolled over constant tables.
///
/// Tiles go in chunks; a chunk's transformed inputs and products live in the slot's scratch and
/// every one of its GEMMs streams one transformed weight matrix, so chunks are as large as about
/// 2 MB of scratch allows: weights are re-read once per chunk.
enum WinogradConv {
    /// A 3×3 or 5×5, stride-1, undilated, ungrouped conv.
    static func applies(weight: TensorShape, attributes a: Conv2DAttributes) -> Bool {
        weight.rank == 4 && weight[1] == weight[2] && WinogradTransform.forKernel(weight[1]) != nil && a.groups == 1
            && a.stride == .square(1) && a.dilation == .square(1)
    }

    /// How a layer's tiles are cut into chunks, and its output channels into column shares.
    struct Chunking: Equatable {
        var transform: WinogradTransform
        var tilesHigh: Int, tilesWide: Int
        /// Tiles over the whole batch.
        var tiles: Int
        var tilesPerChunk: Int
        var chunks: Int
        /// Column shares per chunk (1: no column split) and B panels per share.
        var columnShares: Int = 1
        var panelsPerShare: Int = 0
        /// Units the slots claim: chunks × column shares.
        var units: Int { chunks * columnShares }
        var scratchPerSlot: Int

        /// `panels`: B panels of the transformed weights (the GEMMs' output columns / NR); with more
        /// than one, a layer with few tiles and many channels may be shared out by columns.
        init(_ g: ConvGeometry, transform t: WinogradTransform, threads: Int, panels: Int = 1) {
            transform = t
            tilesHigh = (g.oh + t.m - 1) / t.m
            tilesWide = (g.ow + t.m - 1) / t.m
            tiles = g.n * tilesHigh * tilesWide
            let perTile = t.positions * (g.c + g.s)
            let byScratch = max(12, (1 << 19) / max(perTile, 1))
            let scratchChunks = (tiles + byScratch - 1) / byScratch
            var chunks = max(scratchChunks, min(threads, tiles))
            // Every chunk streams all α² transformed weight matrices (C·S each), so cutting the tiles
            // finer for the threads costs (chunks − scratchChunks)·C·S; a column share instead
            // transforms its chunk's inputs again and reads them whole (tiles·C per extra share) and
            // only its share of the weights. Few tiles and many channels favour columns. Weighting
            // the repeated transform 4× matches ResNet-50 at 2 threads: columns won for S ≥ 5 × tiles
            // (7×7 stage, 14×14 at 256 channels) and lost at 3 × tiles and below.
            // With fewer tiles than threads, only columns give the other threads work.
            if threads > 1 && panels > 1 && scratchChunks < threads {
                let shares = min(panels, (threads + scratchChunks - 1) / scratchChunks)
                let rowCost = (chunks - scratchChunks) * g.c * g.s
                let columnCost = 4 * (shares - 1) * tiles * g.c
                if shares > 1 && (chunks < threads || columnCost < rowCost) {
                    chunks = scratchChunks
                    (columnShares, panelsPerShare) = ConvStep.Tiling.columnShares(panels: panels, shares: shares)
                }
            }
            // A multiple of the threads, so no thread runs one chunk more than another.
            if columnShares == 1 && threads > 1 && chunks > threads { chunks = (chunks + threads - 1) / threads * threads }
            chunks = max(1, min(chunks, tiles))
            tilesPerChunk = max(1, (tiles + chunks - 1) / chunks)
            // Whole 4-, 6- and 12-row micro-tiles in every chunk but the last, where that leaves
            // the last chunk short by a quarter at most.
            if chunks > 1 && tilesPerChunk >= 48 { tilesPerChunk = (tilesPerChunk + 11) / 12 * 12 }
            self.chunks = (tiles + tilesPerChunk - 1) / tilesPerChunk
            // Transformed inputs and products, then one zero pixel (padding) and one throwaway one.
            scratchPerSlot = tilesPerChunk * perTile + 2 * max(g.c, g.s)
        }
    }

    /// Tiles `first ..< first + count` (numbered image by image, row-major) into `y`. `residual`
    /// may be `y` itself (each output reads its own residual just before it is written).
    static func chunk(_ weights: GEMMConvWeights, _ g: ConvGeometry, _ k: Chunking, x: UnsafePointer<Float>, first: Int, count: Int,
                      scratch: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                      activation: GEMMActivation, addBias: Bool = true, panels: Range<Int>? = nil) throws(GEMMError) {
        let (c, s) = (g.c, g.s)
        // Output channels [j0, j1): the B panels of a column share, or all of them.
        let panels = panels ?? 0..<weights.matrices[0].panelCount
        let nr = weights.matrices[0].nr
        let (j0, j1) = (panels.lowerBound * nr, min(panels.upperBound * nr, s))
        if j0 >= j1 { return }
        let t = k.transform
        let (m, positions) = (t.m, t.positions)
        let a = g.attributes
        let v = scratch, products = scratch + count * positions * c
        let zero = scratch + k.tilesPerChunk * positions * (c + s)
        let sink = zero + max(c, s)
        zero.update(repeating: 0, count: max(c, s))
        let isa = Int32(weights.matrices[0].isa.cValue.rawValue)
        t.transformInputTiles(x: x, height: g.h, width: g.w, channels: c, padTop: a.padding.top, padLeft: a.padding.left,
                              tilesHigh: k.tilesHigh, tilesWide: k.tilesWide, first: first, count: count, zero: zero, into: v,
                              isa: weights.matrices[0].isa)
        for xi in 0..<positions {
            let b = weights.matrices[xi]
            try gemm(m: count, n: s, k: c, a: v + xi * count * c, lda: c, packedB: b, panels: panels,
                     c: products + xi * count * s, ldc: s, epilogue: .none)
        }
        let bias = addBias ? weights.bias.map { UnsafePointer($0.pointer + j0) } : nil
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: m * m) { out in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: m * m) { res in
                for tile in 0..<count {
                    let (image, ty, tx) = place(first + tile, k)
                    for i in 0..<m {
                        for j in 0..<m {
                            let (oy, ox) = (m * ty + i, m * tx + j)
                            let offset = ((image * g.oh + oy) * g.ow + ox) * s + j0
                            let inside = oy < g.oh && ox < g.ow
                            out[i * m + j] = inside ? y + offset : sink
                            res[i * m + j] = residual.map { inside ? $0 + offset : UnsafePointer(zero) }
                        }
                    }
                    let r = residual == nil ? nil : UnsafePointer(res.baseAddress!)
                    re_winograd_output(isa, Int32(m), Int32(t.r), products + tile * s + j0, count * s, j1 - j0, bias, out.baseAddress!, r,
                                       Int32(activation.cValue))
                }
            }
        }
    }

    @inline(__always)
    private static func place(_ index: Int, _ k: Chunking) -> (image: Int, ty: Int, tx: Int) {
        let perImage = k.tilesHigh * k.tilesWide
        let within = index % perImage
        return (index / perImage, within / k.tilesWide, within % k.tilesWide)
    }
}
