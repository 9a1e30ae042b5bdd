import CRankEdgeKernels

/// A rank-L spatial conv run in separable form (METHODS.md §1): per input channel, a horizontal
/// pass with the b factors, then a vertical pass with the a factors, 2·L·k multiply-adds per
/// (output, input channel) pair instead of k². Work is split into tiles of output rows and blocks
/// of output channels; a block needs only its own channels' horizontal results, so splitting
/// channels costs no recomputation, unlike splitting rows (whose inputs overlap by k − 1 rows).
final class SeparableRankConvStep: ExecutionStep, ParallelWork {
    struct Tiling: Equatable {
        var rows: Int
        /// Output channels per block (a multiple of 8).
        var block: Int
        var scratchPerSlot: Int
        var slots: Int
        var units: Int

        /// Channel blocks small enough that the ring of k horizontal rows stays in L1 (about 32 KB),
        /// whole images where the planar input and accumulators fit about 384 KB of L2 (rows split
        /// only beyond that, since split rows recompute k − 1 halo rows), then enough units that
        /// every thread has work, splitting channel blocks first (they share no work).
        static func choose(_ w: SeparableRankWeights, output: TensorShape, threads: Int) -> Tiling {
            var params = SeparableRankConvStep.parameters(w, input: nil, output: output)
            let (n, oh, ow) = (output[0], output[1], output[2])
            var rows = oh, block = w.paddedOut
            while w.k * ow * w.rank * block > 8 * 1024 && block > 8 { block = max(8, (block / 2 + 7) / 8 * 8) }
            func scratch(_ r: Int, _ b: Int) -> Int { re_rankconv_scratch_floats(&params, r, b) }
            while scratch(rows, block) > 96 * 1024 && rows > 1 { rows = (rows + 1) / 2 }
            func units(_ r: Int, _ b: Int) -> Int { n * ((oh + r - 1) / r) * ((w.paddedOut + b - 1) / b) }
            // Too little work to be worth sharing (see ConvStep.Tiling).
            let threads = n * oh * ow * w.outChannels * w.inChannels * 2 * w.rank * w.k < 1 << 18 ? 1 : threads
            while units(rows, block) < threads {
                if block >= 16 { block = (block / 2 + 7) / 8 * 8 } else if rows > 1 { rows = (rows + 1) / 2 } else { break }
            }
            let u = units(rows, block)
            return Tiling(rows: rows, block: block, scratchPerSlot: scratch(rows, block), slots: min(threads, u), units: u)
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
    let n: Int, inImage: Int, outImage: Int, oh: Int
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?
    let tiling: Tiling
    let scratch: SlotScratch
    let isa: Int32
    private let counter = ItemCounter()

    init(weights: SeparableRankWeights, input: TensorShape, output: TensorShape, x: UnsafePointer<Float>,
         y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, activation: GEMMActivation,
         tiling: Tiling, scratch: SlotScratch, isa: GEMMISA) {
        self.weights = weights
        var p = Self.parameters(weights, input: input, output: output)
        p.activation = Int32(activation.cValue)
        params = p
        n = input[0]
        inImage = input[1] * input[2] * input[3]
        outImage = output[1] * output[2] * output[3]
        oh = output[1]
        self.x = x; self.y = y; self.residual = residual
        self.tiling = tiling; self.scratch = scratch
        self.isa = Int32(isa.cValue.rawValue)
    }

    func execute(_ context: StepContext) {
        counter.reset()
        context.run(self, tasks: tiling.slots)
    }

    /// One slot: claims units (image, row tile, channel block) until none are left.
    func run(task slot: Int) {
        let t = tiling
        let sp = weights.paddedOut
        let rowTiles = (oh + t.rows - 1) / t.rows
        let blocks = (sp + t.block - 1) / t.block
        withUnsafePointer(to: params) { p in
            while let unit = counter.claim(below: t.units) {
                let block = unit % blocks, tile = (unit / blocks) % rowTiles, b = unit / (blocks * rowTiles)
                let oy0 = tile * t.rows, o0 = block * t.block
                re_rankconv_tile(isa, p, x + b * inImage, y + b * outImage, residual.map { $0 + b * outImage },
                                 oy0, min(oh, oy0 + t.rows), o0, min(sp, o0 + t.block), scratch.slot(slot))
            }
        }
    }
}
