/// One NHWC convolution on the runtime's GEMM engine for callers outside a compiled graph (the
/// trainer): the weights are packed once, then any range of output pixels of any batch runs on the
/// calling thread, so the caller can share a batch between its own threads.
///
/// It runs `ConvStep`'s paths with the bias added, or the result accumulated onto the output, in
/// the GEMM's store (the Winograd form: in its output transform): a 1×1, stride-1, unpadded conv
/// reads its input in place; a 3×3 stride-1 conv of 16 or more channels each side, or a 5×5 one of
/// 32 or more, runs in the Winograd form (`WinogradConv`, `winogradTransform`); a narrow stride-1 k×k
/// conv runs in the shifted-row form (`ShiftedRowsConv`, no im2col: at training batch sizes im2col's
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

    /// The Winograd form (`WinogradConv`) where it applies and both sides have at least 16 channels
    /// (3×3) or 32 (5×5). In F(2×2, 3×3), measured at the trainer's batch of 64 on ResNet-20's 3×3
    /// layers, it was 1.2–1.4× faster than the GEMM form at 32 channels, 1.4–1.7× at 64, and 1.2×
    /// slower at 16, where its GEMMs are only 16 deep. F(4×4, 3×3) multiplies 1.8× less again:
    /// with it (and the Winograd weight gradient) a ResNet-20 training step ran 1.19× faster with
    /// the 16-channel layers included than with F(2×2, 3×3) from 32 (2 threads, Zen 1;
    /// docs/BENCHMARKS.md, trainer session 10). On mini-VGG's 5×5 layers F(2×2, 5×5) was about even
    /// at 32 channels (32×32 pixels) and 1.2–2× faster at 64 and 128; it was not measured at 16.
    static func prefersWinograd(weight: [Int], attributes: Conv2DAttributes) -> Bool {
        let least = weight[1] == 3 ? 16 : 32
        return WinogradConv.applies(weight: TensorShape(weight), attributes: attributes) && weight[0] >= least && weight[3] >= least
    }

    /// F(4×4, 3×3) for 3×3 kernels whose output is at least 8 pixels each way, F(2×2, 3×3) for
    /// smaller ones (a 4×4 tile on a 2×2 or 4×6 output computes mostly throwaway outputs), F(2×2,
    /// 5×5) for 5×5. The 4×4 tiles round more than F(2×2, 3×3) (tested within 1e-4 of the largest
    /// output, as the reference conv); for training that is far below the gradient noise. The
    /// compiled runtime keeps F(2×2, 3×3).
    public static func winogradTransform(kernel: Int, outputHeight: Int, outputWidth: Int) -> WinogradTransform? {
        guard kernel == 3 else { return WinogradTransform.forKernel(kernel) }
        return min(outputHeight, outputWidth) >= 8 ? .f43 : .f23
    }

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
        let winograd = Self.prefersWinograd(weight: weight, attributes: attributes)
        let transform = winograd ? Self.winogradTransform(kernel: weight[1], outputHeight: output[1], outputWidth: output[2]) : nil
        let shifted = !winograd && GEMMConvWeights.prefersShifted(weight: TensorShape(weight), attributes: attributes,
                                                                  input: TensorShape(input), output: TensorShape(output))
        weights = try GEMMConvWeights(weight: Tensor(shape: weight, data: Array(weightData)),
                                      bias: bias.map { Tensor(shape: [$0.count], data: Array($0)) },
                                      attributes: attributes, isa: chosen, shifted: shifted, winograd: winograd,
                                      winogradTransform: transform)
        packsPatches = kernels.mr <= GEMMKernels.maxMR && GEMMDriver.shouldPackA(n: g.s / g.groups, nr: kernels.nr)
        chunking = transform.map { WinogradConv.Chunking(g, transform: $0, threads: 1) }
        if let chunking {
            (tileRows, paddedWidth, scratchCount) = (chunking.tilesPerChunk, 0, chunking.scratchPerSlot)
        } else if shifted {
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
                let packedB = weights.packed[group]
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
