import Synchronization

/// A conv2d or linear layer on the GEMM, with bias, residual add and activation fused into the
/// GEMM's store.
///
/// - 1×1, stride 1, no padding: the NHWC input is already the A matrix [pixels × C]; one GEMM per
///   group with A's leading dimension C.
/// - anything else: im2col one tile of output pixels at a time into scratch, then GEMM the tile.
///   When there are enough tiles each thread takes whole tiles (its own scratch, one-thread GEMMs);
///   otherwise the tiles run in turn and every thread works inside each GEMM.
final class ConvStep: ExecutionStep {
    struct Tiling: Equatable {
        /// Output pixels per im2col tile (0 for the pointwise path).
        var rows: Int
        var parallelTiles: Bool
        var scratchPerSlot: Int
        var slots: Int

        /// Im2col tiles of about 256 KB (half of a typical L2), rounded to a multiple of 24 rows
        /// (whole micro-tiles for 4-, 6- and 8-row kernels); shrunk when that leaves fewer than two
        /// tiles per thread, as long as tiles keep at least 48 rows.
        static func choose(_ g: ConvGeometry, pointwise: Bool, threads: Int) -> Tiling {
            if pointwise { return Tiling(rows: 0, parallelTiles: false, scratchPerSlot: 0, slots: 0) }
            let m = g.pixels, depth = g.depth
            var rows = max(24, (64 * 1024 / max(depth, 1)) / 24 * 24)
            rows = min(rows, m)
            var tiles = (m + rows - 1) / rows
            if threads > 1 && tiles < 2 * threads {
                let smaller = max(48, ((m + 2 * threads - 1) / (2 * threads) + 23) / 24 * 24)
                if smaller < rows { rows = smaller; tiles = (m + rows - 1) / rows }
            }
            let parallel = threads > 1 && tiles >= 2 * threads
            return Tiling(rows: rows, parallelTiles: parallel, scratchPerSlot: rows * depth, slots: parallel ? threads : 1)
        }
    }

    let name: String
    let weights: GEMMConvWeights
    let g: ConvGeometry
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?
    let activation: GEMMActivation
    let tiling: Tiling
    let scratch: SlotScratch

    init(name: String, weights: GEMMConvWeights, geometry: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
         residual: UnsafePointer<Float>?, activation: GEMMActivation, tiling: Tiling, scratch: SlotScratch) {
        self.name = name; self.weights = weights; self.g = geometry
        self.x = x; self.y = y; self.residual = residual; self.activation = activation
        self.tiling = tiling; self.scratch = scratch
    }

    /// The epilogue for output rows starting at `row`, group `group`.
    @inline(__always)
    func epilogue(row: Int, group: Int) -> GEMMEpilogue {
        let column = group * weights.outPerGroup
        return GEMMEpilogue(bias: weights.bias.map { UnsafePointer($0.pointer + column) }, activation: activation,
                            residual: residual.map { $0 + row * g.s + column }, residualStride: g.s)
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        let sg = weights.outPerGroup
        do {
            if tiling.rows == 0 {
                for group in 0..<g.groups {
                    try gemm(m: g.pixels, n: sg, k: g.cg, a: x + group * g.cg, lda: g.c, packedB: weights.packed[group],
                             c: y + group * sg, ldc: g.s, epilogue: epilogue(row: 0, group: group),
                             threads: context.threads, pool: context.pool)
                }
            } else if !tiling.parallelTiles {
                var row = 0
                while row < g.pixels {
                    let rows = min(tiling.rows, g.pixels - row)
                    for group in 0..<g.groups {
                        Im2col.fill(g, x: x, firstRow: row, rows: rows, group: group, into: scratch.slot(0))
                        try gemm(m: rows, n: sg, k: g.depth, a: scratch.slot(0), lda: g.depth, packedB: weights.packed[group],
                                 c: y + row * g.s + group * sg, ldc: g.s, epilogue: epilogue(row: row, group: group),
                                 threads: context.threads, pool: context.pool)
                    }
                    row += rows
                }
            } else {
                let failed = Atomic<Bool>(false)
                let tiles = (g.pixels + tiling.rows - 1) / tiling.rows
                context.parallelSlots(tiles) { slot, tile in
                    let row = tile * tiling.rows
                    let rows = min(tiling.rows, g.pixels - row)
                    let patches = scratch.slot(slot)
                    for group in 0..<g.groups {
                        Im2col.fill(g, x: x, firstRow: row, rows: rows, group: group, into: patches)
                        do {
                            try gemm(m: rows, n: sg, k: g.depth, a: patches, lda: g.depth, packedB: weights.packed[group],
                                     c: y + row * g.s + group * sg, ldc: g.s, epilogue: epilogue(row: row, group: group),
                                     threads: 1, pool: context.pool)
                        } catch {
                            failed.store(true, ordering: .relaxed)
                        }
                    }
                }
                if failed.load(ordering: .relaxed) { throw ExecutionError.kernelFailed(node: name, message: "GEMM rejected a tile") }
            }
        } catch let error as GEMMError {
            throw .kernelFailed(node: name, message: error.description)
        } catch let error as ExecutionError {
            throw error
        } catch {
            throw .kernelFailed(node: name, message: "\(error)")
        }
    }
}
