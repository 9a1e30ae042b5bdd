import CRankEdgeKernels

/// A low-rank chain 1×1 (C → R1) → k×k (R1 → R2) → 1×1 (R2 → S) with a narrow core, as one step on
/// re_narrowchain: the first 1×1 writes the core's zero-padded input planes directly, then rows of
/// the output are shared between the slots, each running the core into a channel-major row buffer
/// and the last 1×1 (with bias, residual and activation) out of it. Neither narrow intermediate is
/// written in NHWC form: on the 9- and 19-channel chains of the low-rank CIFAR ResNets the two
/// 1×1s otherwise run as GEMMs with 9 or 19 of 16 or 32 lanes used, plus a planar copy and a
/// transposing store around the core.
final class NarrowChainStep: ExecutionStep, ParallelWork {
    struct Tiling: Equatable {
        var bands: RowBands
        /// Floats of the projected planes, all images; then one row buffer per slot.
        var planarFloats: Int
        var rowFloats: Int
        var slots: Int { bands.slots }
        var scratchFloats: Int { planarFloats + rowFloats * slots }

        static func choose(_ w: NarrowChainWeights, input: TensorShape, output: TensorShape, threads: Int) -> Tiling {
            var params = NarrowChainStep.parameters(w, input: input, output: output)
            let (n, oh, ow) = (output[0], output[1], output[2])
            let core = w.core
            let macs = n * (input[1] * input[2] * w.inChannels * core.inChannels
                            + oh * ow * core.outChannels * (core.inChannels * core.kh * core.kw + w.outChannels))
            return Tiling(bands: RowBands(images: n, rows: oh, macs: macs, threads: threads),
                          planarFloats: n * re_narrowconv_planar_floats(&params.core), rowFloats: re_narrowchain_row_floats(&params))
        }
    }

    static func parameters(_ w: NarrowChainWeights, input: TensorShape, output: TensorShape) -> re_narrowchain_params {
        let core = w.core, a = core.attributes
        let coreParams = re_narrowconv_params(
            h: input[1], w: input[2], c: core.inChannels, oh: output[1], ow: output[2], s: core.outChannels, kh: core.kh,
            kw: core.kw, pad_top: a.padding.top, pad_left: a.padding.left, weights: UnsafePointer(core.weights.pointer),
            bias: core.bias.map { UnsafePointer($0.pointer) }, activation: 0)
        return re_narrowchain_params(
            core: coreParams, c: w.inChannels, in_weights: UnsafePointer(w.first.pointer),
            in_bias: w.firstBias.map { UnsafePointer($0.pointer) }, s: w.outChannels, out_weights: UnsafePointer(w.last.pointer),
            out_bias: w.lastBias.map { UnsafePointer($0.pointer) }, activation: 0)
    }

    let name: String
    let weights: NarrowChainWeights
    let params: re_narrowchain_params
    let out: PlanarStepOutput
    let tiling: Tiling
    let input: PlanarInputCopy
    let rowBuffers: UnsafeMutablePointer<Float>
    private let units = SlotUnits()

    /// `scratch` holds tiling.scratchFloats: the planes of every image, then the row buffers.
    init(name: String, weights: NarrowChainWeights, input: TensorShape, output: TensorShape, x: UnsafePointer<Float>,
         y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, activation: GEMMActivation,
         tiling: Tiling, scratch: UnsafeMutablePointer<Float>, isa: GEMMISA) {
        self.name = name
        self.weights = weights
        var p = Self.parameters(weights, input: input, output: output)
        p.activation = Int32(activation.cValue)
        params = p
        out = PlanarStepOutput(output: output, y: y, residual: residual, isa: isa)
        self.tiling = tiling
        rowBuffers = scratch + tiling.planarFloats
        let (projectParams, isaValue) = (p, out.isa)
        // The projection is shared out by plane rows (hp of them per image), about four units per slot.
        let planeRows = output[1] + weights.core.kh - 1
        self.input = PlanarInputCopy(x: x, input: input, planar: scratch, planarFloats: tiling.planarFloats, parts: planeRows,
                                     partsPerUnit: tiling.slots > 1 ? (planeRows + 4 * tiling.slots - 1) / (4 * tiling.slots) : planeRows) {
            image, planes, row0, row1 in
            withUnsafePointer(to: projectParams) { re_narrowchain_project(isaValue, $0, image, planes, row0, row1) }
        }
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        try input.run(context, slots: tiling.slots)
        try units.run(self, slots: tiling.slots, context: context, node: name)
    }

    /// One slot: claims units (image, band of rows) until none are left.
    func run(task slot: Int) {
        let rowBuffer = rowBuffers + slot * tiling.rowFloats
        withUnsafePointer(to: params) { p in
            while let unit = units.claim(below: tiling.bands.units) {
                let (b, rows) = tiling.bands.band(unit)
                let o = out.at(b)
                re_narrowchain_rows(out.isa, p, input.planes(b), o.y, o.residual, rows.lowerBound, rows.upperBound, rowBuffer)
            }
        }
    }
}

/// A chain's weights for re_narrowchain: the first 1×1 as [R1][C], the core as for the narrow direct
/// kernel, the last 1×1 transposed to [R2][S16] and its bias to [S16] (S rounded up to 16, zero
/// padded: the kernel's tiles are 16 channels wide).
final class NarrowChainWeights: @unchecked Sendable {
    /// S rounded up to the kernel's 16-channel tiles.
    static func padded(_ s: Int) -> Int { (s + 15) / 16 * 16 }

    let inChannels: Int, outChannels: Int
    let first: FloatStorage
    let firstBias: FloatStorage?
    let core: NarrowConvWeights
    let last: FloatStorage
    let lastBias: FloatStorage?

    /// OHWI weights: `first` [R1, 1, 1, C], `core` [R2, kh, kw, R1], `last` [S, 1, 1, R2].
    init(first: Tensor, firstBias: Tensor?, core: Tensor, coreBias: Tensor?, coreAttributes: Conv2DAttributes,
         last: Tensor, lastBias: Tensor?) {
        inChannels = first.shape[3]
        outChannels = last.shape[0]
        self.first = FloatStorage(first.data)
        self.firstBias = firstBias.map { FloatStorage($0.data) }
        self.core = NarrowConvWeights(weight: core, bias: coreBias, attributes: coreAttributes)
        let (s, r2, s16) = (last.shape[0], last.shape[3], Self.padded(last.shape[0]))
        var transposed = [Float](repeating: 0, count: r2 * s16)
        for o in 0..<s { for r in 0..<r2 { transposed[r * s16 + o] = last.data[o * r2 + r] } }
        self.last = FloatStorage(transposed)
        self.lastBias = lastBias.map { FloatStorage($0.data + [Float](repeating: 0, count: s16 - s)) }
    }

    init(inChannels: Int, outChannels: Int, first: FloatStorage, firstBias: FloatStorage?, core: NarrowConvWeights,
         last: FloatStorage, lastBias: FloatStorage?) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.first = first; self.firstBias = firstBias
        self.core = core
        self.last = last; self.lastBias = lastBias
    }

    /// A chain whose core suits the narrow direct kernel, between 1×1s of at most 64 channels
    /// outside (the regime measured: the 16/32-channel chains of the low-rank CIFAR ResNets).
    static func applies(first: TensorShape, core: TensorShape, coreAttributes: Conv2DAttributes, coreOutput: TensorShape,
                        last: TensorShape) -> Bool {
        NarrowConvWeights.applies(weight: core, attributes: coreAttributes, output: coreOutput)
            && first[0] == core[3] && last[3] == core[0] && first[3] <= 64 && last[0] <= 64
    }
}
