import Synchronization

/// A conv2d or linear layer on the GEMM, with bias, residual add and activation fused into the
/// GEMM's store.
///
/// The output pixels are cut into tiles of rows; threads claim tiles one at a time and run a
/// one-thread GEMM per tile and group (the runtime threads the layer itself, so no GEMM call
/// shares out work, which keeps an inference free of heap allocations).
/// - 1×1, stride 1, no padding: the NHWC input is already the A matrix [pixels × C]; a tile is a
///   band of its rows, read in place with leading dimension C.
/// - anything else: im2col the tile into the thread's scratch, then GEMM it. Tiles are sized so the
///   patch matrix stays near L2 (about 256 KB).
final class ConvStep: ExecutionStep, ParallelWork {
    struct Tiling: Equatable {
        /// Output pixels per tile.
        var rows: Int
        var pointwise: Bool
        /// Scratch floats per slot (0 for the pointwise path).
        var scratchPerSlot: Int
        /// Threads that take tiles (each with its own scratch).
        var slots: Int
        var tiles: Int

        static func choose(_ g: ConvGeometry, pointwise: Bool, threads: Int) -> Tiling {
            let m = g.pixels, depth = g.depth
            var rows: Int
            if pointwise {
                rows = m
            } else {
                // Multiples of 24 rows: whole micro-tiles for 4-, 6- and 8-row kernels.
                rows = max(24, (64 * 1024 / max(depth, 1)) / 24 * 24)
            }
            rows = max(1, min(rows, m))
            // Below about 256K multiply-adds a layer takes ~10 µs on one core: sharing it costs more
            // in hand-over than it saves.
            let threads = g.pixels * g.depth * g.s < 1 << 18 ? 1 : threads
            if threads > 1 {
                // At least two tiles per thread when the layer is big enough, so a thread slowed by
                // another process does not hold up the step.
                let balanced = ((m + 2 * threads - 1) / (2 * threads) + 7) / 8 * 8
                rows = min(rows, max(balanced, min(m, 16)))
            }
            let tiles = (m + rows - 1) / rows
            let slots = min(threads, tiles)
            return Tiling(rows: rows, pointwise: pointwise, scratchPerSlot: pointwise ? 0 : rows * depth, slots: slots, tiles: tiles)
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
    private let counter = ItemCounter()
    private let failed = Atomic<Bool>(false)

    init(name: String, weights: GEMMConvWeights, geometry: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
         residual: UnsafePointer<Float>?, activation: GEMMActivation, tiling: Tiling, scratch: SlotScratch) {
        self.name = name; self.weights = weights; self.g = geometry
        self.x = x; self.y = y; self.residual = residual; self.activation = activation
        self.tiling = tiling; self.scratch = scratch
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        counter.reset()
        failed.store(false, ordering: .relaxed)
        context.run(self, tasks: tiling.slots)
        if failed.load(ordering: .relaxed) { throw .kernelFailed(node: name, message: "the GEMM rejected its arguments") }
    }

    /// One slot: claims tiles until none are left.
    func run(task slot: Int) {
        let sg = weights.outPerGroup
        while let tile = counter.claim(below: tiling.tiles) {
            let row = tile * tiling.rows
            let rows = min(tiling.rows, g.pixels - row)
            for group in 0..<g.groups {
                let a: UnsafePointer<Float>, lda: Int
                if tiling.pointwise {
                    (a, lda) = (x + row * g.c + group * g.cg, g.c)
                } else {
                    let patches = scratch.slot(slot)
                    Im2col.fill(g, x: x, firstRow: row, rows: rows, group: group, into: patches)
                    (a, lda) = (UnsafePointer(patches), g.depth)
                }
                let column = group * sg
                let epilogue = GEMMEpilogue(bias: weights.bias.map { UnsafePointer($0.pointer + column) }, activation: activation,
                                            residual: residual.map { $0 + row * g.s + column }, residualStride: g.s)
                do {
                    try gemm(m: rows, n: sg, k: tiling.pointwise ? g.cg : g.depth, a: a, lda: lda, packedB: weights.packed[group],
                             c: y + row * g.s + column, ldc: g.s, epilogue: epilogue, threads: 1)
                } catch {
                    failed.store(true, ordering: .relaxed)
                }
            }
        }
    }
}
