import CRankEdgeKernels

/// A conv with few output channels on the direct kernel (re_narrowconv, vectors over output
/// pixels): the input is first copied into zero-padded planes, then rows of the output are shared
/// between the slots.
final class NarrowConvStep: ExecutionStep, ParallelWork {
    struct Tiling: Equatable {
        var bands: RowBands
        /// Floats of the planar input, all images.
        var planarFloats: Int
        var slots: Int { bands.slots }

        static func choose(_ w: NarrowConvWeights, input: TensorShape, output: TensorShape, threads: Int) -> Tiling {
            var params = NarrowConvStep.parameters(w, input: input, output: output)
            let (n, oh) = (output[0], output[1])
            let macs = n * oh * output[2] * w.outChannels * w.inChannels * w.kh * w.kw
            return Tiling(bands: RowBands(images: n, rows: oh, macs: macs, threads: threads),
                          planarFloats: n * re_narrowconv_planar_floats(&params))
        }
    }

    static func parameters(_ w: NarrowConvWeights, input: TensorShape, output: TensorShape) -> re_narrowconv_params {
        let a = w.attributes
        return re_narrowconv_params(
            h: input[1], w: input[2], c: w.inChannels, oh: output[1], ow: output[2], s: w.outChannels, kh: w.kh, kw: w.kw,
            pad_top: a.padding.top, pad_left: a.padding.left, weights: UnsafePointer(w.weights.pointer),
            bias: w.bias.map { UnsafePointer($0.pointer) }, activation: 0)
    }

    let weights: NarrowConvWeights
    let params: re_narrowconv_params
    let out: PlanarStepOutput
    let tiling: Tiling
    let input: PlanarInputCopy
    private let units = SlotUnits()

    /// `scratch` holds the planar input of every image (tiling.planarFloats).
    init(weights: NarrowConvWeights, input: TensorShape, output: TensorShape, x: UnsafePointer<Float>,
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
            withUnsafePointer(to: copyParams) { re_narrowconv_planar($0, image, planes, c0, c1) }
        }
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        try input.run(context, slots: tiling.slots)
        try units.run(self, slots: tiling.slots, context: context, node: "conv2d")
    }

    /// One slot: claims units (image, band of rows) until none are left.
    func run(task slot: Int) {
        withUnsafePointer(to: params) { p in
            while let unit = units.claim(below: tiling.bands.units) {
                let (b, rows) = tiling.bands.band(unit)
                let o = out.at(b)
                re_narrowconv_rows(out.isa, p, input.planes(b), o.y, o.residual, rows.lowerBound, rows.upperBound)
            }
        }
    }
}
