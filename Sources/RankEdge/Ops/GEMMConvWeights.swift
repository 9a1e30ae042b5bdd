/// A conv2d (dense or grouped) or a linear layer prepared for the GEMM: for each group, the
/// weight rows packed once as the B operand of `C[pixels × S/g] = A[pixels × kh·kw·C/g] · B`.
///
/// The OHWI weight row of output channel o is (ky, kx, ci) flattened, which is exactly the
/// column order im2col writes, so B is the weight itself read transposed.
final class GEMMConvWeights: @unchecked Sendable {
    let attributes: Conv2DAttributes
    let kh: Int, kw: Int
    /// Input channels per group.
    let cg: Int
    let outChannels: Int
    let groups: Int
    let packed: [PackedMatrixB]
    /// For the shifted-row form (`ConvStep`), one B per tap row ky: the weight columns (ky, ·, ·)
    /// packed as [kw·C × S]; empty otherwise (then `packed` holds the full weight).
    let tapRows: [PackedMatrixB]
    /// For the Winograd form (`WinogradConv`), one B per transformed tile position: U_ξ as [C × S];
    /// empty otherwise.
    let winograd: [PackedMatrixB]
    /// The Winograd algorithm `winograd` was transformed for.
    let winogradTransform: WinogradTransform?
    let bias: FloatStorage?

    var isShifted: Bool { !tapRows.isEmpty }
    var isWinograd: Bool { !winograd.isEmpty }

    var depth: Int { kh * kw * cg }
    var outPerGroup: Int { outChannels / groups }

    /// A 1×1 conv with stride 1 and no padding reads its input as the A matrix directly.
    var isPointwise: Bool {
        kh == 1 && kw == 1 && attributes.stride == .square(1) && attributes.padding == .zero
    }

    /// `weight` is OHWI [S, kh, kw, C/groups], or a linear weight [S, C]. With `shifted` (a
    /// stride-1, undilated, ungrouped k×k conv), B is packed per tap row instead; with `winograd`
    /// (`WinogradConv.applies`), per transformed tile position, for `winogradTransform` (default:
    /// `WinogradTransform.forKernel`).
    init(weight: Tensor, bias: Tensor?, attributes: Conv2DAttributes, isa: GEMMISA, shifted: Bool = false,
         winograd: Bool = false, winogradTransform: WinogradTransform? = nil) throws(GEMMError) {
        self.attributes = attributes
        if weight.shape.rank == 2 {
            (kh, kw, cg) = (1, 1, weight.shape[1])
        } else {
            (kh, kw, cg) = (weight.shape[1], weight.shape[2], weight.shape[3])
        }
        outChannels = weight.shape[0]
        groups = attributes.groups
        let depth = kh * kw * cg, perGroup = outChannels / groups
        var packed: [PackedMatrixB] = []
        var tapRows: [PackedMatrixB] = []
        var transformed: [PackedMatrixB] = []
        if winograd {
            guard WinogradConv.applies(weight: weight.shape, attributes: attributes) else {
                throw .invalidArgument("the Winograd form needs a 3×3 or 5×5, stride-1, undilated, ungrouped conv")
            }
            let (c, s) = (cg, outChannels)
            let t = winogradTransform ?? WinogradTransform.forKernel(kh)!
            guard t.r == kh else { throw .invalidArgument("a Winograd transform for \(t.r)×\(t.r) kernels given a \(kh)×\(kw) conv") }
            let u = t.transformedWeights(weight)
            for xi in 0..<t.positions {
                transformed.append(try u.withUnsafeBufferPointer { u throws(GEMMError) in
                    try PackedMatrixB(k: c, n: s, b: u.baseAddress! + xi * s * c, ldb: c, transposed: true, isa: isa)
                })
            }
        } else if shifted {
            let (kw, cg, s) = (kw, cg, outChannels)
            for ky in 0..<kh {
                let p = try weight.data.withUnsafeBufferPointer { w throws(GEMMError) in
                    try PackedMatrixB(k: kw * cg, n: s, b: w.baseAddress! + ky * kw * cg, ldb: depth, transposed: true, isa: isa)
                }
                tapRows.append(p)
            }
        }
        for g in 0..<groups where !shifted && !winograd {
            let p = try weight.data.withUnsafeBufferPointer { w throws(GEMMError) in
                try PackedMatrixB(k: depth, n: perGroup, b: w.baseAddress! + g * perGroup * depth, ldb: depth,
                                  transposed: true, isa: isa)
            }
            packed.append(p)
        }
        self.packed = packed
        self.tapRows = tapRows
        self.winograd = transformed
        self.winogradTransform = winograd ? (winogradTransform ?? WinogradTransform.forKernel(kh)) : nil
        self.bias = bias.map { FloatStorage($0.data) }
    }

    /// Whether to run a conv in the shifted-row form: stride 1, no dilation, one group, k×k, and
    /// narrow outputs (≤ 48 channels), where im2col's copy of kh·kw·C floats per output costs most
    /// next to the GEMM's kh·kw·C·S multiply-adds; and at most 20 % extra columns computed (the form
    /// computes kw − 1 + padding throwaway outputs per row).
    static func prefersShifted(weight: TensorShape, attributes a: Conv2DAttributes, input: TensorShape, output: TensorShape) -> Bool {
        guard weight.rank == 4, input.rank == 4, a.groups == 1, a.stride == .square(1), a.dilation == .square(1),
              weight[1] * weight[2] > 1, weight[0] <= 48 else { return false }
        let paddedWidth = input[2] + a.padding.left + a.padding.right
        return Double(paddedWidth) <= 1.2 * Double(output[2])
    }

    /// Whether a grouped conv should run as one GEMM over its block-diagonal weight: when all its
    /// outputs fit one register tile's width, the per-group GEMMs would fill no more lanes and cost
    /// one call (and one im2col pass) per group.
    static func prefersBlockDiagonal(weight: TensorShape, groups: Int, isa: GEMMISA) -> Bool {
        guard groups > 1, let nr = try? GEMMKernels(isa).nr else { return false }
        return weight[0] <= nr
    }

    /// The dense OHWI weight [S, kh, kw, C] of a grouped one [S, kh, kw, C/groups]: each output's
    /// taps on other groups' channels are zero.
    static func blockDiagonal(_ w: Tensor, groups: Int) -> Tensor {
        let (s, kh, kw, cg) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let c = cg * groups, perGroup = s / groups
        var dense = [Float](repeating: 0, count: s * kh * kw * c)
        for o in 0..<s {
            let g = o / perGroup
            for tap in 0..<(kh * kw) {
                for ci in 0..<cg { dense[(o * kh * kw + tap) * c + g * cg + ci] = w.data[(o * kh * kw + tap) * cg + ci] }
            }
        }
        return Tensor(shape: [s, kh, kw, c], data: dense)
    }

    /// From panels packed earlier (a compiled model): no weight transformation.
    init(attributes: Conv2DAttributes, kh: Int, kw: Int, cg: Int, outChannels: Int, packed: [PackedMatrixB],
         tapRows: [PackedMatrixB] = [], winograd: [PackedMatrixB] = [], winogradTransform: WinogradTransform? = nil, bias: FloatStorage?) {
        self.attributes = attributes
        self.kh = kh; self.kw = kw; self.cg = cg
        self.outChannels = outChannels
        self.groups = attributes.groups
        self.packed = packed
        self.tapRows = tapRows
        self.winograd = winograd
        self.winogradTransform = winograd.isEmpty ? nil : (winogradTransform ?? WinogradTransform.forKernel(kh))
        self.bias = bias
    }
}

/// A depthwise conv (groups = input channels = output channels) with its filters laid out
/// [kh][kw][C], so one vector load covers neighbouring channels of one tap.
final class DepthwiseWeights: @unchecked Sendable {
    let attributes: Conv2DAttributes
    let kh: Int, kw: Int, channels: Int
    let weights: FloatStorage
    let bias: FloatStorage?

    /// `weight` is OHWI [C, kh, kw, 1].
    init(weight: Tensor, bias: Tensor?, attributes: Conv2DAttributes) {
        self.attributes = attributes
        (channels, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2])
        var laid = [Float](repeating: 0, count: weight.count)
        for o in 0..<channels {
            for tap in 0..<(kh * kw) { laid[tap * channels + o] = weight.data[o * kh * kw + tap] }
        }
        weights = FloatStorage(laid)
        self.bias = bias.map { FloatStorage($0.data) }
    }

    init(attributes: Conv2DAttributes, kh: Int, kw: Int, channels: Int, weights: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes
        self.kh = kh; self.kw = kw; self.channels = channels
        self.weights = weights
        self.bias = bias
    }

    /// One filter per channel, and at least one vector's worth of channels: with fewer, the kernel's
    /// per-pixel work is mostly overhead and a (block-diagonal) GEMM does better.
    static func applies(weight: TensorShape, attributes: Conv2DAttributes, inputChannels: Int) -> Bool {
        attributes.groups > 1 && attributes.groups == inputChannels && weight[0] == inputChannels && weight[3] == 1
            && inputChannels >= 8
    }
}

/// The factor banks of a rank-L spatial conv for the separable kernel (METHODS.md §1): the
/// horizontal factor b as [C][k][L][S'] and the vertical factor a as [C][L][k][S'], S' = S rounded
/// up to 8 with zeros, so each (input channel, tap, rank) row is a run of whole vectors over o.
final class SeparableRankWeights: @unchecked Sendable {
    let attributes: RankConv2DAttributes
    let outChannels: Int, inChannels: Int, rank: Int, k: Int
    let paddedOut: Int
    let horizontal: FloatStorage
    let vertical: FloatStorage
    let bias: FloatStorage?

    /// `a`, `b` are [S, C, L, k]: a the vertical (row) factor, b the horizontal one.
    init(a: Tensor, b: Tensor, bias: Tensor?, attributes: RankConv2DAttributes) {
        self.attributes = attributes
        (outChannels, inChannels, rank, k) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
        paddedOut = (outChannels + 7) / 8 * 8
        let (s, c, l, k, sp) = (outChannels, inChannels, rank, k, paddedOut)
        var h = [Float](repeating: 0, count: c * k * l * sp)
        var v = [Float](repeating: 0, count: c * l * k * sp)
        for o in 0..<s {
            for ci in 0..<c {
                for r in 0..<l {
                    let src = ((o * c + ci) * l + r) * k
                    for j in 0..<k { h[((ci * k + j) * l + r) * sp + o] = b.data[src + j] }
                    for i in 0..<k { v[((ci * l + r) * k + i) * sp + o] = a.data[src + i] }
                }
            }
        }
        horizontal = FloatStorage(h)
        vertical = FloatStorage(v)
        self.bias = bias.map { FloatStorage($0.data) }
    }

    init(attributes: RankConv2DAttributes, outChannels: Int, inChannels: Int, rank: Int, k: Int,
         horizontal: FloatStorage, vertical: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes
        self.outChannels = outChannels; self.inChannels = inChannels; self.rank = rank; self.k = k
        paddedOut = (outChannels + 7) / 8 * 8
        self.horizontal = horizontal
        self.vertical = vertical
        self.bias = bias
    }
}

/// A conv for the narrow direct kernel (re_narrowconv): weights as [C][kh][kw][S], so the output
/// channels of one tap and input channel, broadcast one after another, are adjacent.
final class NarrowConvWeights: @unchecked Sendable {
    let attributes: Conv2DAttributes
    let kh: Int, kw: Int, inChannels: Int, outChannels: Int
    let weights: FloatStorage
    let bias: FloatStorage?

    /// `weight` is OHWI [S, kh, kw, C].
    init(weight: Tensor, bias: Tensor?, attributes: Conv2DAttributes) {
        self.attributes = attributes
        (outChannels, kh, kw, inChannels) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let (s, taps, c) = (outChannels, kh * kw, inChannels)
        var laid = [Float](repeating: 0, count: weight.count)
        for o in 0..<s {
            for t in 0..<taps {
                for ci in 0..<c { laid[(ci * taps + t) * s + o] = weight.data[(o * taps + t) * c + ci] }
            }
        }
        weights = FloatStorage(laid)
        self.bias = bias.map { FloatStorage($0.data) }
    }

    init(attributes: Conv2DAttributes, kh: Int, kw: Int, inChannels: Int, outChannels: Int, weights: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes
        self.kh = kh; self.kw = kw; self.inChannels = inChannels; self.outChannels = outChannels
        self.weights = weights
        self.bias = bias
    }

    /// Dense stride-1 k×k convs whose output channels would leave a quarter or more of the GEMM's
    /// 16-lane tiles empty (S = 1…11 or 17…23: the 9- and 19-channel Tucker cores of a 2× ResNet),
    /// on rows of at least one 8-pixel vector. Measured on the ResNet-56 cores (docs/BENCHMARKS.md):
    /// 2.1× faster than the GEMM at S = 9, 1.6× at 19, even at 38, and slower for 1×1 convs, whose
    /// per-pixel work is too short for the kernel's transposing store.
    static func applies(weight: TensorShape, attributes a: Conv2DAttributes, output: TensorShape) -> Bool {
        let s = weight[0]
        return a.groups == 1 && a.stride == .square(1) && a.dilation == .square(1) && weight[1] * weight[2] > 1
            && output.rank == 4 && output[2] >= 8 && s <= 23 && 4 * s < 3 * ((s + 15) / 16 * 16)
    }
}
