/// A conv2d or linear layer on the GEMM, with bias, residual add and activation fused into the
/// GEMM's store.
///
/// The output pixels are cut into tiles of rows; threads claim tiles one at a time and run a
/// one-thread GEMM per tile and group (the runtime threads the layer itself, so no GEMM call
/// shares out work, which keeps an inference free of heap allocations).
/// - 1×1, stride 1, no padding: the NHWC input is already the A matrix [pixels × C]; a tile is a
///   band of its rows, read in place with leading dimension C.
/// - shifted rows (stride 1, narrow outputs; see `GEMMConvWeights.prefersShifted`): a tile is a
///   band of output rows. Its input rows are copied once, zero-padded, into scratch; in that padded
///   band the receptive fields of consecutive outputs along a row, for one tap row ky, are the
///   rows of a matrix with leading dimension C and width kw·C (overlapping rows), so the conv is
///   kh GEMMs accumulating into a band of padded width, with no im2col. The band is then copied
///   out (dropping the padded columns) with the residual and activation applied.
/// - Winograd (a 3×3 or 5×5 stride-1 conv the compiler chose it for, `ConvFormSelector`): a tile is a chunk
///   of m×m output tiles (2×2, or 4×4 for F(4×4, 3×3)), transformed, multiplied and transformed back in the slot's scratch
///   (`WinogradConv`).
/// - anything else: im2col the tile into the thread's scratch, then GEMM it. Where the GEMM would
///   pack A (wide outputs), the patches are written straight into its packed panels
///   (`Im2col.fillPanels`); thin outputs read plain im2col rows in place, which measured faster. Tiles are sized so the patch matrix stays near L2
///   (about 256 KB), or, when the weights outgrow L2, to at least S rows, since every tile streams
///   all of them.
/// Layers with few output pixels and many channels (late ResNet stages, the classifier) are split
/// between threads by columns instead: each share multiplies all the rows by its own slice of the
/// weights, so the weights are streamed once in all rather than once per row tile.
final class ConvStep: ExecutionStep, ParallelWork {
    struct Tiling: Equatable {
        /// Output pixels per tile (shifted form: output rows per band).
        var rows: Int
        var pointwise: Bool
        var shifted: Bool = false
        /// Shifted form: bands per image, padded row width.
        var bandsPerImage: Int = 0
        var paddedWidth: Int = 0
        /// Column shares per row tile (1: no column split) and B panels per share.
        var columnShares: Int = 1
        var panelsPerShare: Int = 0
        /// Scratch floats per slot (0 for the pointwise path).
        var scratchPerSlot: Int
        /// Threads that take tiles (each with its own scratch).
        var slots: Int
        /// Units the slots claim: row tiles × column shares (shifted form: bands; Winograd form:
        /// chunks of tiles).
        var tiles: Int
        /// The Winograd form's chunks (nil for the other forms).
        var winograd: WinogradConv.Chunking? = nil

        static func choose(_ w: GEMMConvWeights, geometry g: ConvGeometry, threads: Int) -> Tiling {
            let panels = w.matrices.first?.panelCount ?? 1
            switch w.form {
            case .winograd(let t, _): return chooseWinograd(g, transform: t, panels: panels, threads: threads)
            case .pointwise: return choose(g, pointwise: true, panels: panels, threads: threads)
            case .im2col: return choose(g, pointwise: false, panels: panels, threads: threads)
            case .shiftedRows: return chooseShifted(g, threads: threads)
            }
        }

        /// `panels`: B panels of each transformed weight matrix.
        static func chooseWinograd(_ g: ConvGeometry, transform: WinogradTransform, panels: Int, threads: Int) -> Tiling {
            let threads = g.pixels * g.depth * g.s < minimumSharedMACs ? 1 : threads
            let k = WinogradConv.Chunking(g, transform: transform, threads: threads, panels: panels)
            return Tiling(rows: k.tilesPerChunk, pointwise: false, columnShares: k.columnShares, panelsPerShare: k.panelsPerShare,
                          scratchPerSlot: k.scratchPerSlot, slots: min(threads, k.units), tiles: k.units, winograd: k)
        }

        /// `panels`: B panels (NR columns each) per group.
        static func choose(_ g: ConvGeometry, pointwise: Bool, shifted: Bool = false, panels: Int, threads: Int) -> Tiling {
            if shifted { return chooseShifted(g, threads: threads) }
            let m = g.pixels, depth = g.depth
            var rows: Int
            if pointwise {
                rows = m
            } else {
                // Multiples of 24 rows: whole micro-tiles for 4-, 6- and 8-row kernels.
                rows = max(24, (64 * 1024 / max(depth, 1)) / 24 * 24)
                if depth * g.s * MemoryLayout<Float>.size > CPUCaches.current.l2 {
                    // Weights beyond L2 come from L3 or memory once per tile: S rows or more per tile
                    // keep that below the tile's own patch traffic (patches capped at 2 MB).
                    let cap = max(24, (512 * 1024 / max(depth, 1)) / 24 * 24)
                    rows = max(rows, min((g.s + 23) / 24 * 24, cap))
                }
            }
            rows = max(1, min(rows, m))
            let threads = g.pixels * g.depth * g.s < minimumSharedMACs ? 1 : threads
            var shares = 1
            if threads > 1 {
                // Row split: at least two tiles per thread, so a thread slowed by another process
                // does not hold up the step; every tile streams all of B. Column split: the row
                // tiles as they are, cut into one column share per thread, each re-reading the
                // tile's rows (a second share per thread measured slower: A is packed per share).
                let balanced = ((m + 2 * threads - 1) / (2 * threads) + 11) / 12 * 12
                let rowSplit = min(rows, max(balanced, min(m, 16)))
                let rowSplitTiles = (m + rowSplit - 1) / rowSplit
                let rowTiles = (m + rows - 1) / rows
                let columnShares = min(panels, (threads + rowTiles - 1) / rowTiles)
                let weights = depth * g.s, patches = m * depth
                let rowCost = rowSplitTiles * weights + patches
                let columnCost = rowTiles * weights + columnShares * patches
                if g.groups == 1 && columnShares > 1 && (rowSplitTiles < threads || columnCost < rowCost) {
                    shares = columnShares
                } else {
                    rows = rowSplit
                }
            }
            // Equal tiles, as many as a multiple of the threads: 784 rows in tiles of 144 would leave
            // a 64-row tail, and 6 tiles of 144 on two threads run 432 rows on one and 352 on the other.
            var rowTiles = (m + rows - 1) / rows
            if rowTiles > 1 {
                if threads > 1 && shares == 1 { rowTiles = (rowTiles + threads - 1) / threads * threads }
                rows = min(rows, equalRows(m, tiles: rowTiles))
                rowTiles = (m + rows - 1) / rows
            }
            let (columnShares, panelsPerShare) = Self.columnShares(panels: panels, shares: shares)
            let tiles = rowTiles * columnShares
            let slots = min(threads, tiles)
            // Packed patches fill whole MR-row panels: room for up to MR − 1 padding rows.
            return Tiling(rows: rows, pointwise: pointwise, columnShares: columnShares, panelsPerShare: panelsPerShare,
                          scratchPerSlot: pointwise ? 0 : (rows + GEMMKernels.maxMR - 1) * depth, slots: slots, tiles: tiles)
        }

        /// `panels` B panels in about `shares` shares of whole panels: the shares that are not empty
        /// (5 panels in 4 shares of 2 leave 3), and the panels per share.
        static func columnShares(panels: Int, shares: Int) -> (shares: Int, panelsPerShare: Int) {
            let perShare = (panels + max(shares, 1) - 1) / max(shares, 1)
            return ((panels + perShare - 1) / perShare, perShare)
        }

        /// The B panels of column share `share` (never empty: see columnShares(panels:shares:)).
        func panels(ofShare share: Int, panelCount: Int) -> Range<Int> {
            let first = share * panelsPerShare
            return first..<min(panelCount, first + panelsPerShare)
        }

        /// Rows per tile cutting m rows into `tiles` near-equal tiles: a multiple of 12 (whole 4-, 6-
        /// and 12-row micro-tiles) or else of 6 where the last tile then stays within one unit of
        /// the others; otherwise the plain quotient.
        static func equalRows(_ m: Int, tiles: Int) -> Int {
            let even = (m + tiles - 1) / tiles
            for unit in [12, 6] {
                let rows = (even + unit - 1) / unit * unit
                if (m + rows - 1) / rows == tiles && m - (tiles - 1) * rows >= rows - unit { return rows }
            }
            return even
        }

        /// Bands whose padded input and output fit about 256 KB, at least two per thread when the layer
        /// is worth sharing.
        static func chooseShifted(_ g: ConvGeometry, threads: Int) -> Tiling {
            let a = g.attributes
            let wp = g.w + a.padding.left + a.padding.right
            func scratch(_ rows: Int) -> Int { (rows + g.kh - 1) * wp * g.c + g.kw * g.c + rows * wp * g.s }
            var rows = g.oh
            while rows > 1 && scratch(rows) > 64 * 1024 { rows = (rows + 1) / 2 }
            let threads = g.pixels * g.depth * g.s < minimumSharedMACs ? 1 : threads
            while threads > 1 && g.n * ((g.oh + rows - 1) / rows) < 2 * threads && rows > 1 { rows = (rows + 1) / 2 }
            let bands = (g.oh + rows - 1) / rows
            let tiles = g.n * bands
            return Tiling(rows: rows, pointwise: false, shifted: true, bandsPerImage: bands, paddedWidth: wp,
                          scratchPerSlot: scratch(rows), slots: min(threads, tiles), tiles: tiles)
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
    private let units = SlotUnits()
    /// Per slot, the row tile whose patches its scratch holds (-1: none), so consecutive column
    /// shares of one tile im2col it once.
    private let filledTile: UnsafeMutablePointer<Int>
    /// The kernels whose panels the patches are packed for (nil: plain im2col rows); per slot,
    /// `Im2col.fillPanels`'s scratch.
    private let kernels: GEMMKernels?
    private let tapPointers: UnsafeMutablePointer<UnsafePointer<Float>?>
    private let tapOrigins: UnsafeMutablePointer<Int>

    init(name: String, weights: GEMMConvWeights, geometry: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
         residual: UnsafePointer<Float>?, activation: GEMMActivation, tiling: Tiling, scratch: SlotScratch) {
        self.name = name; self.weights = weights; self.g = geometry
        self.x = x; self.y = y; self.residual = residual; self.activation = activation
        self.tiling = tiling; self.scratch = scratch
        filledTile = .allocate(capacity: max(tiling.slots, 1))
        kernels = (weights.form.kind == .im2col ? weights.matrices.first : nil).flatMap { try? GEMMKernels($0.isa) }.flatMap {
            $0.mr <= GEMMKernels.maxMR && GEMMDriver.shouldPackA(n: weights.outPerGroup, nr: $0.nr) ? $0 : nil
        }
        tapPointers = .allocate(capacity: max(tiling.slots, 1) * 2 * GEMMKernels.maxMR)
        tapPointers.initialize(repeating: nil, count: max(tiling.slots, 1) * 2 * GEMMKernels.maxMR)
        tapOrigins = .allocate(capacity: max(tiling.slots, 1) * 3 * GEMMKernels.maxMR)
        tapOrigins.initialize(repeating: 0, count: max(tiling.slots, 1) * 3 * GEMMKernels.maxMR)
    }

    deinit {
        filledTile.deallocate()
        tapPointers.deallocate()
        tapOrigins.deallocate()
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        filledTile.update(repeating: -1, count: max(tiling.slots, 1))
        try units.run(self, slots: tiling.slots, context: context, node: name)
    }

    /// One slot: claims tiles until none are left.
    func run(task slot: Int) {
        if tiling.shifted { runShifted(slot: slot); return }
        if let chunking = tiling.winograd { runWinograd(slot: slot, chunking); return }
        let sg = weights.outPerGroup
        while let unit = units.claim(below: tiling.tiles) {
            let tile = unit / tiling.columnShares, share = unit % tiling.columnShares
            let row = tile * tiling.rows
            let rows = min(tiling.rows, g.pixels - row)
            for group in 0..<g.groups {
                let packedB = weights.matrices[group]
                let panels = tiling.panels(ofShare: share, panelCount: packedB.panelCount)
                if panels.isEmpty { continue }
                let a: UnsafePointer<Float>, lda: Int
                if tiling.pointwise {
                    (a, lda) = (x + row * g.c + group * g.cg, g.c)
                } else {
                    let patches = scratch.slot(slot)
                    // Grouped convs fill one group at a time, so only ungrouped tiles are reused.
                    if g.groups > 1 || filledTile[slot] != tile {
                        if let kernels {
                            Im2col.fillPanels(g, x: x, firstRow: row, rows: rows, group: group, mr: kernels.mr, pack: kernels.packRows,
                                              pointers: tapPointers + slot * 2 * GEMMKernels.maxMR,
                                              origins: tapOrigins + slot * 3 * GEMMKernels.maxMR, into: patches)
                        } else {
                            Im2col.fill(g, x: x, firstRow: row, rows: rows, group: group, into: patches)
                        }
                        filledTile[slot] = tile
                    }
                    (a, lda) = (UnsafePointer(patches), g.depth)
                }
                let column = group * sg
                let epilogue = GEMMEpilogue(bias: weights.bias.map { UnsafePointer($0.pointer + column) }, activation: activation,
                                            residual: residual.map { $0 + row * g.s + column }, residualStride: g.s)
                do {
                    try gemm(m: rows, n: sg, k: tiling.pointwise ? g.cg : g.depth, a: a, lda: lda,
                             aPanels: !tiling.pointwise && kernels != nil, packedB: packedB, panels: panels, c: y + row * g.s + column, ldc: g.s, epilogue: epilogue)
                } catch {
                    units.fail()
                }
            }
        }
    }

    /// The Winograd form for one slot (`WinogradConv`).
    func runWinograd(slot: Int, _ k: WinogradConv.Chunking) {
        let space = scratch.slot(slot)
        while let unit = units.claim(below: tiling.tiles) {
            let (chunk, share) = (unit / k.columnShares, unit % k.columnShares)
            let first = chunk * k.tilesPerChunk
            let panels = k.columnShares == 1 ? nil : tiling.panels(ofShare: share, panelCount: weights.matrices[0].panelCount)
            do {
                try WinogradConv.chunk(weights, g, k, x: x, first: first, count: min(k.tilesPerChunk, k.tiles - first), scratch: space,
                                      y: y, residual: residual, activation: activation, panels: panels)
            } catch {
                units.fail()
            }
        }
    }

    /// The shifted-row form for one slot (see the type's documentation).
    func runShifted(slot: Int) {
        let band = scratch.slot(slot)
        while let tile = units.claim(below: tiling.tiles) {
            let image = tile / tiling.bandsPerImage
            let oy0 = (tile % tiling.bandsPerImage) * tiling.rows
            do {
                try ShiftedRowsConv.band(weights, g, x: x, image: image, firstRow: oy0, rows: min(tiling.rows, g.oh - oy0),
                                         paddedWidth: tiling.paddedWidth, scratch: band, y: y, residual: residual,
                                         activation: activation, accumulate: false)
            } catch {
                units.fail()
            }
        }
    }
}
