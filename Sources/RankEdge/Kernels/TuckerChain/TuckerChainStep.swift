/// A low-rank chain 1×1 (C→R1) → k×k (R1→R2) → 1×1 (R2→S) run band by band: for a band of output
/// rows, the first 1×1 computes only the input rows the band needs into scratch, the core conv
/// reads them through im2col, and the last 1×1 writes the band with the fused epilogue. The narrow
/// intermediates never leave the thread's scratch (about 256 KB), where three separate steps would
/// write them to the arena and read them back. Threads take bands (of any image) one at a time.
final class TuckerChainStep: ExecutionStep, ParallelWork {
    struct Tiling: Equatable {
        var rows: Int
        /// Core-conv output pixels per im2col sub-tile.
        var patchRows: Int
        var scratchPerSlot: Int
        var slots: Int
        var units: Int
        var bandsPerImage: Int

        /// Bands whose two intermediates fit about 256 KB (the k − 1 halo rows of the first 1×1 are
        /// recomputed per band, so bands are as tall as that allows), and im2col in sub-tiles of
        /// about 64 KB beside them.
        static func choose(_ w: TuckerChainWeights, input: TensorShape, output: TensorShape, threads: Int) -> Tiling {
            let (n, width, oh, ow) = (input[0], input[2], output[1], output[2])
            let stride = w.core.attributes.stride.h
            func intermediates(_ rows: Int) -> Int {
                let uRows = min(input[1], (rows - 1) * stride + w.core.kh)
                return uRows * width * w.first.outChannels + rows * ow * w.core.outChannels
            }
            var rows = oh
            while rows > 1 && intermediates(rows) > 64 * 1024 { rows = (rows + 1) / 2 }
            var bands = (oh + rows - 1) / rows
            // Too little work to be worth sharing (see minimumSharedMACs).
            let threads = n * oh * ow * (w.core.depth * w.core.outChannels + w.last.depth * w.last.outChannels) < minimumSharedMACs ? 1 : threads
            while n * bands < 2 * threads && threads > 1 && rows > 1 {
                rows = (rows + 1) / 2
                bands = (oh + rows - 1) / rows
            }
            let units = n * bands
            let patchRows = max(8, min(rows * ow, 16 * 1024 / max(w.core.depth, 1) / 8 * 8))
            return Tiling(rows: rows, patchRows: patchRows, scratchPerSlot: intermediates(rows) + patchRows * w.core.depth,
                          slots: min(threads, units), units: units, bandsPerImage: bands)
        }
    }

    let name: String
    let w: TuckerChainWeights
    let input: TensorShape, output: TensorShape
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?
    let activation: GEMMActivation
    let tiling: Tiling
    let scratch: SlotScratch
    private let units = SlotUnits()

    init(name: String, weights: TuckerChainWeights, input: TensorShape, output: TensorShape, x: UnsafePointer<Float>,
         y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, activation: GEMMActivation, tiling: Tiling, scratch: SlotScratch) {
        self.name = name; self.w = weights; self.input = input; self.output = output
        self.x = x; self.y = y; self.residual = residual; self.activation = activation
        self.tiling = tiling; self.scratch = scratch
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        try units.run(self, slots: tiling.slots, context: context, node: name)
    }

    func run(task slot: Int) {
        let (h, width, c) = (input[1], input[2], input[3])
        let (oh, ow, s) = (output[1], output[2], output[3])
        let (r1, r2) = (w.first.outChannels, w.core.outChannels)
        let core = w.core.attributes
        let base = scratch.slot(slot)
        while let unit = units.claim(below: tiling.units) {
            let b = unit / tiling.bandsPerImage, band = unit % tiling.bandsPerImage
            let oy0 = band * tiling.rows, oy1 = min(oh, oy0 + tiling.rows)
            let rows = oy1 - oy0
            // The rows of the first conv's output the band's core windows touch, clipped to the image.
            let wanted = oy0 * core.stride.h - core.padding.top
            let u0 = max(0, wanted), u1 = min(h, (oy1 - 1) * core.stride.h - core.padding.top + w.core.kh)
            let uRows = max(0, u1 - u0)
            let u = base, v = base + uRows * width * r1, patches = v + rows * ow * r2
            do {
                if uRows > 0 {
                    try gemm(m: uRows * width, n: r1, k: c, a: x + ((b * h + u0) * width) * c, lda: c, packedB: w.first.matrices[0],
                             c: u, ldc: r1, epilogue: GEMMEpilogue(bias: w.first.bias.map { UnsafePointer($0.pointer) }), threads: 1)
                }
                // The core conv on the band as an image of its own: padding above the band's first
                // computed row is what remains of the top padding; rows below the image read as zero.
                var attrs = core
                attrs.padding.top = u0 - wanted
                let g = ConvGeometry(input: TensorShape([1, max(uRows, 1), width, r1]), output: TensorShape([1, rows, ow, r2]),
                                     kh: w.core.kh, kw: w.core.kw, cg: w.core.cg, groups: w.core.groups, attributes: attrs)
                let gh = uRows  // real rows: im2col treats rows ≥ uRows as padding
                let sg = w.core.outPerGroup
                var p0 = 0
                while p0 < rows * ow {
                    let count = min(tiling.patchRows, rows * ow - p0)
                    for group in 0..<w.core.groups {
                        Im2col.fill(g, realRows: gh, x: u, firstRow: p0, rows: count, group: group, into: patches)
                        try gemm(m: count, n: sg, k: w.core.depth, a: patches, lda: w.core.depth, packedB: w.core.matrices[group],
                                 c: v + p0 * r2 + group * sg, ldc: r2,
                                 epilogue: GEMMEpilogue(bias: w.core.bias.map { UnsafePointer($0.pointer + group * sg) }), threads: 1)
                    }
                    p0 += count
                }
                let first = (b * oh + oy0) * ow
                try gemm(m: rows * ow, n: s, k: r2, a: v, lda: r2, packedB: w.last.matrices[0], c: y + first * s, ldc: s,
                         epilogue: GEMMEpilogue(bias: w.last.bias.map { UnsafePointer($0.pointer) }, activation: activation,
                                                residual: residual.map { $0 + first * s }, residualStride: s),
                         threads: 1)
            } catch {
                units.fail()
            }
        }
    }
}

/// The three convs of a fused low-rank chain, each prepared for the GEMM.
final class TuckerChainWeights: @unchecked Sendable {
    let first: GEMMConvWeights
    let core: GEMMConvWeights
    let last: GEMMConvWeights
    init(first: GEMMConvWeights, core: GEMMConvWeights, last: GEMMConvWeights) {
        self.first = first; self.core = core; self.last = last
    }
}
