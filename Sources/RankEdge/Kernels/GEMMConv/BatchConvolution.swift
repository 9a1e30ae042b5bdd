/// One NHWC convolution on the runtime's GEMM engine for callers outside a compiled graph (the
/// trainer): the weights are packed once, then any range of output pixels of any batch runs on the
/// calling thread, so the caller can share a batch between its own threads.
///
/// It runs `ConvStep`'s paths with the bias added, or the result accumulated onto the output, in
/// the GEMM's store (the Winograd form: in its output transform): a 1×1, stride-1, unpadded conv
/// reads its input in place; where `ConvFormSelector.training` chooses the Winograd form it runs
/// that (`WinogradConv`); a narrow stride-1 k×k conv runs in the shifted-row form (`ShiftedRowsConv`, no im2col: at training batch sizes im2col's
/// copy of kh·kw·C floats per output cost as much as the GEMM for 16-channel layers); any other
/// conv im2cols a tile of output pixels (straight into packed A panels where the GEMM would pack A)
/// and multiplies it by the packed weights.
public final class BatchConvolution: @unchecked Sendable {
    /// The NHWC input and output shapes the conv was prepared for.
    public let input: [Int], output: [Int]
    /// Floats of scratch one `run` needs.
    public let scratchCount: Int
    private let weights: GEMMConvWeights
    private let kernels: GEMMKernels
    private let geometry: ConvGeometry
    private let packsPatches: Bool
    /// Im2col path: output pixels per tile, so the patch matrix stays near 256 KB, in L2 while the
    /// GEMM reads it. Shifted form: output rows per band.
    private let tileRows: Int
    private let paddedWidth: Int
    /// Winograd form: how the tiles of the whole batch are cut into chunks.
    private let chunking: WinogradConv.Chunking?

    /// - Parameters:
    ///   - input: NHWC; the batch size is the most `run` may be given.
    ///   - weight: OHWI [S, kh, kw, C/groups], `weightData` in that order; `bias`: S floats or nil.
    ///   - isa: nil takes `RANKEDGE_ISA` or, when unset, the best this CPU runs.
    public init(input: [Int], weight: [Int], weightData: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                attributes: Conv2DAttributes, isa: GEMMISA? = nil) throws(GEMMError) {
        guard input.allSatisfy({ $0 > 0 }), weight.allSatisfy({ $0 > 0 }), weightData.count == weight.reduce(1, *),
              bias == nil || bias!.count == weight.first else {
            throw .invalidArgument("conv weight \(weight) given \(weightData.count) floats, bias \(bias.map { "\($0.count)" } ?? "none")")
        }
        // The graph's own shape rule, so a conv here accepts exactly what a conv2d node does.
        let output: [Int]
        switch Graph.outputShape(op: .conv2d(attributes), inputs: [TensorShape(input)], weights: [TensorShape(weight)]) {
        case .success(let shape): output = shape.dims
        case .failure(let problem): throw .invalidArgument("conv of input \(input) with weight \(weight): \(problem.message)")
        }
        self.input = input
        self.output = output
        let g = ConvGeometry(input: TensorShape(input), output: TensorShape(output), kh: weight[1], kw: weight[2], cg: weight[3],
                             groups: attributes.groups, attributes: attributes)
        geometry = g
        let chosen = try GEMMISA.resolve(isa)
        kernels = try GEMMKernels(chosen)
        let form = ConvFormSelector.training(weight: TensorShape(weight), attributes: attributes, input: TensorShape(input),
                                             output: TensorShape(output))
        weights = try GEMMConvWeights(weight: Tensor(shape: weight, data: Array(weightData)),
                                      bias: bias.map { Tensor(shape: [$0.count], data: Array($0)) },
                                      attributes: attributes, isa: chosen, form: form)
        packsPatches = kernels.mr <= GEMMKernels.maxMR && GEMMDriver.shouldPackA(n: g.s / g.groups, nr: kernels.nr)
        chunking = weights.winogradTransform.map { WinogradConv.Chunking(g, transform: $0, threads: 1) }
        if let chunking {
            (tileRows, paddedWidth, scratchCount) = (chunking.tilesPerChunk, 0, chunking.scratchPerSlot)
        } else if weights.isShifted {
            let tiling = ConvStep.Tiling.chooseShifted(g, threads: 1)
            (tileRows, paddedWidth, scratchCount) = (tiling.rows, tiling.paddedWidth, tiling.scratchPerSlot)
        } else {
            tileRows = max(24, (64 * 1024 / g.depth) / 24 * 24)
            paddedWidth = 0
            scratchCount = weights.isPointwise ? 0 : (tileRows + GEMMKernels.maxMR - 1) * g.depth
        }
    }

    /// The outputs of `images` (a range of the batch `input` gave) of the conv of `x` into `y`
    /// ([pixels × S] over the whole batch): written (plus the bias), or with `accumulate` added to
    /// what `y` holds. `scratch` holds `scratchCount` floats and is the calling thread's own.
    public func run(x: UnsafePointer<Float>, images: Range<Int>, into y: UnsafeMutablePointer<Float>,
                    accumulate: Bool, scratch: UnsafeMutablePointer<Float>) throws(GEMMError) {
        let g = geometry
        guard images.lowerBound >= 0, images.upperBound <= g.n else {
            throw .invalidArgument("images \(images) outside the batch of \(g.n)")
        }
        if let k = chunking {
            // Accumulating adds y to the transform's result as its residual, pixel by pixel in place.
            let perImage = k.tilesHigh * k.tilesWide
            var first = images.lowerBound * perImage
            let end = images.upperBound * perImage
            while first < end {
                let count = min(k.tilesPerChunk, end - first)
                try WinogradConv.chunk(weights, g, k, x: x, first: first, count: count, scratch: scratch, y: y,
                                      residual: accumulate ? UnsafePointer(y) : nil, activation: .none, addBias: !accumulate)
                first += count
            }
            return
        }
        if weights.isShifted {
            for image in images {
                for oy0 in stride(from: 0, to: g.oh, by: tileRows) {
                    try ShiftedRowsConv.band(weights, g, x: x, image: image, firstRow: oy0, rows: min(tileRows, g.oh - oy0),
                                             paddedWidth: paddedWidth, scratch: scratch, y: y, residual: nil,
                                             activation: .none, accumulate: accumulate)
                }
            }
            return
        }
        let pixelsPerImage = g.oh * g.ow
        let rows = (images.lowerBound * pixelsPerImage)..<(images.upperBound * pixelsPerImage)
        let sg = weights.outPerGroup, depth = g.depth
        // fillPanels' per-panel tap pointers and origins, on the stack: a run allocates nothing.
        try withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 2 * GEMMKernels.maxMR) { pointerBuffer throws(GEMMError) in
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * GEMMKernels.maxMR) { originBuffer throws(GEMMError) in
        let pointers = pointerBuffer.baseAddress!, origins = originBuffer.baseAddress!
        var row = rows.lowerBound
        while row < rows.upperBound {
            let count = weights.isPointwise ? rows.count : min(tileRows, rows.upperBound - row)
            for group in 0..<g.groups {
                let packedB = weights.matrices[group]
                let a: UnsafePointer<Float>, lda: Int
                if weights.isPointwise {
                    (a, lda) = (x + row * g.c + group * g.cg, g.c)
                } else if packsPatches {
                    Im2col.fillPanels(g, x: x, firstRow: row, rows: count, group: group, mr: kernels.mr, pack: kernels.packRows,
                                      pointers: pointers, origins: origins, into: scratch)
                    (a, lda) = (UnsafePointer(scratch), depth)
                } else {
                    Im2col.fill(g, x: x, firstRow: row, rows: count, group: group, into: scratch)
                    (a, lda) = (UnsafePointer(scratch), depth)
                }
                let column = group * sg
                let epilogue = GEMMEpilogue(bias: accumulate ? nil : weights.bias.map { UnsafePointer($0.pointer + column) },
                                            accumulate: accumulate)
                try gemm(m: count, n: sg, k: weights.isPointwise ? g.cg : depth, a: a, lda: lda,
                         aPanels: !weights.isPointwise && packsPatches, packedB: packedB, panels: 0..<packedB.panelCount,
                         c: y + row * g.s + column, ldc: g.s, epilogue: epilogue)
            }
            row += count
        }
        }
        }
    }
}
