import CRankEdgeKernels

/// A rank-L spatial conv run in separable form (METHODS.md §1): per input channel, a horizontal
/// pass with the b factors, then a vertical pass with the a factors, 2·L·k multiply-adds per
/// (output, input channel) pair instead of k². The input is first copied once into zero-padded
/// planes that every tile reads. Work is then split into tiles of output rows and blocks of output
/// channels; a block needs only its own channels' horizontal results, so splitting channels costs
/// no recomputation, unlike splitting rows (whose inputs overlap by k − 1 rows).
final class SeparableRankConvStep: ExecutionStep, ParallelWork {
    struct Tiling: Equatable {
        var rows: Int
        /// Output channels per block (a multiple of 8).
        var block: Int
        /// Input channels per pass of the kernel.
        var group: Int
        /// Floats of the zero-padded planar input, all images, shared by every slot.
        var planarFloats: Int
        var scratchPerSlot: Int
        var slots: Int
        var units: Int

        var scratchFloats: Int { planarFloats + scratchPerSlot * slots }

        /// The ring of horizontal results ((k + 1) rows × group channels × ow × L × block) within
        /// about 24 KB of L1, blocks of at least 256 outputs per row so the short loops have work,
        /// then as many channels per pass (up to 8) as fit, since each pass reads and writes the
        /// accumulators once (measured on Zen 2, docs/BENCHMARKS.md). Whole images where the
        /// accumulators fit about 256 KB of L2 (rows split only beyond that, since split rows
        /// recompute k − 1 halo rows), then enough units that every thread has work, splitting
        /// channel blocks first (they share no work).
        static func choose(_ w: SeparableRankWeights, output: TensorShape, threads: Int) -> Tiling {
            var params = SeparableRankConvStep.parameters(w, input: nil, output: output)
            let (n, oh, ow) = (output[0], output[1], output[2])
            let ringRows = w.attributes.stride.h == 1 ? w.k + 1 : w.k
            func ring(_ block: Int, _ group: Int) -> Int { ringRows * group * ow * w.rank * block }
            let budget = 6 * 1024
            var block = min(w.paddedOut, max(8, (256 / max(ow, 1) + 7) / 8 * 8))
            while ring(block, 1) > budget && block > 8 { block -= 8 }
            var group = 8
            while group > 1 && (ring(block, group) > budget || group > w.inChannels) { group /= 2 }
            var rows = oh
            while rows * ow * block > 64 * 1024 && rows > 1 { rows = (rows + 1) / 2 }
            func units(_ r: Int, _ b: Int) -> Int { n * ((oh + r - 1) / r) * ((w.paddedOut + b - 1) / b) }
            // Too little work to be worth sharing (see minimumSharedMACs).
            let threads = n * oh * ow * w.outChannels * w.inChannels * 2 * w.rank * w.k < minimumSharedMACs ? 1 : threads
            while units(rows, block) < threads {
                if block >= 16 { block = (block / 2 + 7) / 8 * 8 } else if rows > 1 { rows = (rows + 1) / 2 } else { break }
            }
            let u = units(rows, block)
            return Tiling(rows: rows, block: block, group: group, planarFloats: n * re_rankconv_planar_floats(&params),
                          scratchPerSlot: re_rankconv_scratch_floats(&params, rows, block, group), slots: min(threads, u), units: u)
        }
    }

    static func parameters(_ w: SeparableRankWeights, input: TensorShape?, output: TensorShape) -> re_rankconv_params {
        let a = w.attributes
        return re_rankconv_params(
            h: input?[1] ?? 0, w: input?[2] ?? 0, c: w.inChannels, oh: output[1], ow: output[2], s: w.outChannels,
            rank: w.rank, k: w.k, stride_h: a.stride.h, stride_w: a.stride.w,
            pad_top: a.padding.top, pad_left: a.padding.left, sp: w.paddedOut,
            bh: UnsafePointer(w.horizontal.pointer), av: UnsafePointer(w.vertical.pointer),
            bias: w.bias.map { UnsafePointer($0.pointer) }, activation: 0)
    }

    let weights: SeparableRankWeights
    let params: re_rankconv_params
    let out: PlanarStepOutput
    let tiling: Tiling
    let input: PlanarInputCopy
    /// Where the slots' scratch regions start, after the planar input.
    let slotScratch: UnsafeMutablePointer<Float>
    private let units = SlotUnits()

    /// `scratch` holds the planar input (tiling.planarFloats), then one region per slot.
    init(weights: SeparableRankWeights, input: TensorShape, output: TensorShape, x: UnsafePointer<Float>,
         y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, activation: GEMMActivation,
         tiling: Tiling, scratch: UnsafeMutablePointer<Float>, isa: GEMMISA) {
        self.weights = weights
        var p = Self.parameters(weights, input: input, output: output)
        p.activation = Int32(activation.cValue)
        params = p
        out = PlanarStepOutput(output: output, y: y, residual: residual, isa: isa)
        self.tiling = tiling
        let copyParams = p
        self.input = PlanarInputCopy(x: x, input: input, planar: scratch, planarFloats: tiling.planarFloats) { image, planes, c0, c1 in
            withUnsafePointer(to: copyParams) { re_rankconv_planar($0, image, planes, c0, c1) }
        }
        slotScratch = scratch + tiling.planarFloats
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        try input.run(context, slots: tiling.slots)
        try units.run(self, slots: tiling.slots, context: context, node: "rankConv2d")
    }

    /// One slot: claims units (image, row tile, channel block) until none are left.
    func run(task slot: Int) {
        let t = tiling
        let sp = weights.paddedOut
        let rowTiles = (out.rows + t.rows - 1) / t.rows
        let blocks = (sp + t.block - 1) / t.block
        let scratch = slotScratch + slot * t.scratchPerSlot
        withUnsafePointer(to: params) { p in
            while let unit = units.claim(below: t.units) {
                let block = unit % blocks, tile = (unit / blocks) % rowTiles, b = unit / (blocks * rowTiles)
                let oy0 = tile * t.rows, o0 = block * t.block
                let o = out.at(b)
                re_rankconv_tile(out.isa, p, input.planes(b), o.y, o.residual, oy0, min(out.rows, oy0 + t.rows), o0,
                                 min(sp, o0 + t.block), t.group, scratch)
            }
        }
    }
}
