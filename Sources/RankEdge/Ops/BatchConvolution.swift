/// One NHWC convolution on the runtime's GEMM engine for callers outside a compiled graph (the
/// trainer): the weights are packed once, then any range of output pixels of any batch runs on the
/// calling thread, so the caller can share a batch between its own threads.
///
/// It runs `ConvStep`'s general path: im2col a tile of output pixels (straight into packed A panels
/// where the GEMM would pack A) and multiply it by the packed weights, with the bias added or the
/// result accumulated onto the output in the GEMM's store. A 1×1, stride-1, unpadded conv reads its
/// input in place.
public final class BatchConvolution: @unchecked Sendable {
    /// Output pixels per tile: the patch matrix stays near 256 KB, in L2 while the GEMM reads it.
    public let tileRows: Int
    /// Floats of scratch one `run` needs.
    public let scratchCount: Int
    private let weights: GEMMConvWeights
    private let kernels: GEMMKernels
    private let packsPatches: Bool
    private let kh: Int, kw: Int, cg: Int, s: Int
    private let attributes: Conv2DAttributes

    /// - Parameters:
    ///   - weight: OHWI [S, kh, kw, C/groups], `weightData` in that order; `bias`: S floats or nil.
    ///   - isa: nil takes `RANKEDGE_ISA` or, when unset, the best this CPU runs.
    public init(weight: [Int], weightData: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                attributes: Conv2DAttributes, isa: GEMMISA? = nil) throws(GEMMError) {
        guard weight.count == 4, weight.allSatisfy({ $0 > 0 }), weightData.count == weight.reduce(1, *),
              attributes.groups >= 1, weight[0] % attributes.groups == 0 else {
            throw .invalidArgument("conv weight \(weight) with \(weightData.count) floats and \(attributes.groups) groups")
        }
        guard bias == nil || bias!.count == weight[0] else {
            throw .invalidArgument("conv bias has \(bias!.count) floats for \(weight[0]) outputs")
        }
        let chosen = try GEMMISA.resolve(isa)
        kernels = try GEMMKernels(chosen)
        weights = try GEMMConvWeights(weight: Tensor(shape: weight, data: Array(weightData)),
                                      bias: bias.map { Tensor(shape: [$0.count], data: Array($0)) },
                                      attributes: attributes, isa: chosen)
        (s, kh, kw, cg) = (weight[0], weight[1], weight[2], weight[3])
        self.attributes = attributes
        packsPatches = kernels.mr <= GEMMKernels.maxMR && GEMMDriver.shouldPackA(n: s / attributes.groups, nr: kernels.nr)
        let depth = kh * kw * cg
        tileRows = max(24, (64 * 1024 / depth) / 24 * 24)
        scratchCount = weights.isPointwise ? 0 : (tileRows + GEMMKernels.maxMR - 1) * depth
    }

    /// The output's [N, OH, OW, S] for an NHWC input, or nil when the input does not fit the weight.
    public func outputShape(input: [Int]) -> [Int]? {
        guard input.count == 4, input[3] == cg * attributes.groups else { return nil }
        let a = attributes
        let oh = (input[1] + a.padding.top + a.padding.bottom - a.dilation.h * (kh - 1) - 1) / a.stride.h + 1
        let ow = (input[2] + a.padding.left + a.padding.right - a.dilation.w * (kw - 1) - 1) / a.stride.w + 1
        guard oh > 0, ow > 0 else { return nil }
        return [input[0], oh, ow, s]
    }

    /// Output pixels `rows` (counted over (image, oy, ox)) of the conv of `x` (NHWC `input`) into
    /// `y` ([pixels × S]): written (plus the bias), or with `accumulate` added to what `y` holds.
    /// `scratch` holds `scratchCount` floats and is the calling thread's own.
    public func run(input: [Int], x: UnsafePointer<Float>, rows: Range<Int>, into y: UnsafeMutablePointer<Float>,
                    accumulate: Bool, scratch: UnsafeMutablePointer<Float>) throws(GEMMError) {
        guard let output = outputShape(input: input) else {
            throw .invalidArgument("input \(input) does not fit the conv weight [\(s), \(kh), \(kw), \(cg)]")
        }
        let g = ConvGeometry(input: TensorShape(input), output: TensorShape(output), kh: kh, kw: kw, cg: cg,
                             groups: attributes.groups, attributes: attributes)
        guard rows.lowerBound >= 0, rows.upperBound <= g.pixels else {
            throw .invalidArgument("rows \(rows) outside 0..<\(g.pixels)")
        }
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
