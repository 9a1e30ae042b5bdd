import CRankEdgeKernels

/// Winograd F(2×2, 3×3) (Lavin & Gray, 2016) for a stride-1, undilated, ungrouped 3×3 conv.
///
/// The output is cut into 2×2 tiles. A tile's 4×4 input patch is transformed (Bᵀ d B); each of the
/// 16 transformed positions is then one GEMM, [tiles × C] · [C × S], against the transformed
/// weights (G g Gᵀ, computed once); each tile's 16 products are transformed back (Aᵀ M A) with the
/// bias, residual and activation. That is 16 multiply-adds per input–output channel pair for 4
/// outputs where the direct conv spends 36: 2.25× fewer, for transforms whose cost grows with
/// C + S rather than C · S. The transforms are exact in real arithmetic; in float32 they add
/// rounding of about one part in 10⁶ (tested against the reference conv).
///
/// Tiles go in chunks; a chunk's transformed inputs and products live in the slot's scratch and
/// every one of its 16 GEMMs streams one transformed weight matrix, so chunks are as large as
/// about 2 MB of scratch allows: weights are re-read once per chunk.
enum WinogradF23 {
    static let positions = 16

    /// A 3×3, stride-1, undilated, ungrouped conv.
    static func applies(weight: TensorShape, attributes a: Conv2DAttributes) -> Bool {
        weight.rank == 4 && weight[1] == 3 && weight[2] == 3 && a.groups == 1 && a.stride == .square(1)
            && a.dilation == .square(1)
    }

    /// U_ξ = (G g Gᵀ) at position ξ (row-major in the 4×4 tile) for every ξ < 16, each a row-major
    /// [C × S] matrix, from an OHWI weight [S, 3, 3, C]. G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
    static func transformedWeights(_ w: Tensor) -> [[Float]] {
        let (s, c) = (w.shape[0], w.shape[3])
        var u = [[Float]](repeating: [Float](repeating: 0, count: c * s), count: positions)
        // G applied to three values: v₀, ½(v₀ + v₁ + v₂), ½(v₀ − v₁ + v₂), v₂.
        @inline(__always) func apply(_ a: Float, _ b: Float, _ d: Float) -> (Float, Float, Float, Float) {
            (a, 0.5 * (a + b + d), 0.5 * (a - b + d), d)
        }
        // The trainer transforms its weights on every step: no allocation per channel pair.
        w.data.withUnsafeBufferPointer { wp in
            for o in 0..<s {
                for ci in 0..<c {
                    @inline(__always) func g(_ ky: Int, _ kx: Int) -> Float { wp[((o * 3 + ky) * 3 + kx) * c + ci] }
                    // G g, column by column of the kernel: rows i = 0…3 of each column.
                    let c0 = apply(g(0, 0), g(1, 0), g(2, 0))
                    let c1 = apply(g(0, 1), g(1, 1), g(2, 1))
                    let c2 = apply(g(0, 2), g(1, 2), g(2, 2))
                    // (G g) Gᵀ, row by row.
                    let at = ci * s + o
                    func store(_ i: Int, _ row: (Float, Float, Float, Float)) {
                        (u[i * 4][at], u[i * 4 + 1][at], u[i * 4 + 2][at], u[i * 4 + 3][at]) = row
                    }
                    store(0, apply(c0.0, c1.0, c2.0))
                    store(1, apply(c0.1, c1.1, c2.1))
                    store(2, apply(c0.2, c1.2, c2.2))
                    store(3, apply(c0.3, c1.3, c2.3))
                }
            }
        }
        return u
    }

    /// How a layer's tiles are cut into chunks.
    struct Chunking: Equatable {
        var tilesHigh: Int, tilesWide: Int
        /// Tiles over the whole batch.
        var tiles: Int
        var tilesPerChunk: Int
        var chunks: Int
        var scratchPerSlot: Int

        init(_ g: ConvGeometry, threads: Int) {
            tilesHigh = (g.oh + 1) / 2
            tilesWide = (g.ow + 1) / 2
            tiles = g.n * tilesHigh * tilesWide
            let perTile = WinogradF23.positions * (g.c + g.s)
            let byScratch = max(12, (1 << 19) / max(perTile, 1))
            var chunks = max((tiles + byScratch - 1) / byScratch, min(threads, tiles))
            // A multiple of the threads, so no thread runs one chunk more than another.
            if threads > 1 && chunks > threads { chunks = (chunks + threads - 1) / threads * threads }
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
                      activation: GEMMActivation, addBias: Bool = true) throws(GEMMError) {
        let (c, s) = (g.c, g.s)
        let a = g.attributes
        let v = scratch, m = scratch + count * positions * c
        let zero = scratch + k.tilesPerChunk * positions * (c + s)
        let sink = zero + max(c, s)
        zero.update(repeating: 0, count: max(c, s))
        let isa = Int32(weights.winograd[0].isa.cValue.rawValue)
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 16) { d in
            for t in 0..<count {
                let (image, ty, tx) = tile(first + t, k)
                for i in 0..<4 {
                    let iy = 2 * ty - a.padding.top + i
                    for j in 0..<4 {
                        let ix = 2 * tx - a.padding.left + j
                        let inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w
                        d[i * 4 + j] = inside ? x + ((image * g.h + iy) * g.w + ix) * c : UnsafePointer(zero)
                    }
                }
                re_winograd_f23_input(isa, d.baseAddress!, c, v + t * c, count * c)
            }
        }
        for xi in 0..<positions {
            let b = weights.winograd[xi]
            try gemm(m: count, n: s, k: c, a: v + xi * count * c, lda: c, packedB: b, panels: 0..<b.panelCount,
                     c: m + xi * count * s, ldc: s, epilogue: .none)
        }
        let bias = addBias ? weights.bias.map { UnsafePointer($0.pointer) } : nil
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: 4) { out in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 4) { res in
                for t in 0..<count {
                    let (image, ty, tx) = tile(first + t, k)
                    for i in 0..<2 {
                        for j in 0..<2 {
                            let (oy, ox) = (2 * ty + i, 2 * tx + j)
                            let offset = ((image * g.oh + oy) * g.ow + ox) * s
                            let inside = oy < g.oh && ox < g.ow
                            out[i * 2 + j] = inside ? y + offset : sink
                            res[i * 2 + j] = residual.map { inside ? $0 + offset : UnsafePointer(zero) }
                        }
                    }
                    re_winograd_f23_output(isa, m + t * s, count * s, s, bias, out.baseAddress!,
                                           residual == nil ? nil : UnsafePointer(res.baseAddress!), Int32(activation.cValue))
                }
            }
        }
    }

    @inline(__always)
    private static func tile(_ index: Int, _ k: Chunking) -> (image: Int, ty: Int, tx: Int) {
        let perImage = k.tilesHigh * k.tilesWide
        let within = index % perImage
        return (index / perImage, within / k.tilesWide, within % k.tilesWide)
    }
}
