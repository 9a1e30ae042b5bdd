/// How a GEMM conv runs, with the packed B matrices of that form and no others: no weights can
/// hold both tap rows and Winograd matrices.
enum GEMMConvForm {
    /// 1×1, stride 1, unpadded (and linear layers): the NHWC input rows are the A matrix. One B
    /// [C/g × S/g] per group.
    case pointwise([PackedMatrixB])
    /// Patches im2col'd a tile at a time. One B [kh·kw·C/g × S/g] per group.
    case im2col([PackedMatrixB])
    /// Stride 1, one group (`ShiftedRowsConv`): one B [kw·C × S] per kernel row ky.
    case shiftedRows([PackedMatrixB])
    /// `WinogradConv`: one B [C × S] per transformed tile position.
    case winograd(WinogradTransform, [PackedMatrixB])

    /// A form before any weight is packed: what the selector (`ConvFormSelector`) decides.
    enum Kind: Equatable, Sendable {
        case pointwise, im2col, shiftedRows
        case winograd(WinogradTransform)

        /// The plain GEMM form of a conv: pointwise where the input can be read in place, else im2col.
        static func plain(kh: Int, kw: Int, attributes a: Conv2DAttributes) -> Kind {
            kh == 1 && kw == 1 && a.stride == .square(1) && a.padding == .zero ? .pointwise : .im2col
        }
    }

    var kind: Kind {
        switch self {
        case .pointwise: .pointwise
        case .im2col: .im2col
        case .shiftedRows: .shiftedRows
        case .winograd(let t, _): .winograd(t)
        }
    }

    /// The B matrices, indexed by group, tap row or tile position as the form says.
    var matrices: [PackedMatrixB] {
        switch self {
        case .pointwise(let m), .im2col(let m), .shiftedRows(let m), .winograd(_, let m): m
        }
    }
}

/// A conv2d (dense or grouped) or a linear layer prepared for the GEMM in one `GEMMConvForm`.
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
    let form: GEMMConvForm
    /// `form.matrices`, kept so the steps' inner loops index an array rather than switch.
    let matrices: [PackedMatrixB]
    let bias: FloatStorage?

    var isPointwise: Bool { if case .pointwise = form { true } else { false } }
    var isShifted: Bool { if case .shiftedRows = form { true } else { false } }
    var winogradTransform: WinogradTransform? { if case .winograd(let t, _) = form { t } else { nil } }

    var depth: Int { kh * kw * cg }
    var outPerGroup: Int { outChannels / groups }

    /// Why a form does not fit a conv, nil when it does.
    static func formProblem(_ kind: GEMMConvForm.Kind, kh: Int, kw: Int, attributes a: Conv2DAttributes) -> String? {
        switch kind {
        case .pointwise:
            return GEMMConvForm.Kind.plain(kh: kh, kw: kw, attributes: a) == .pointwise ? nil : "the pointwise form needs a 1×1, stride-1, unpadded conv"
        case .im2col:
            return nil
        case .shiftedRows:
            return a.groups == 1 && a.stride == .square(1) && a.dilation == .square(1) ? nil : "the shifted-row form needs a stride-1, undilated, ungrouped conv"
        case .winograd(let t):
            guard WinogradConv.applies(weight: TensorShape([1, kh, kw, 1]), attributes: a) else {
                return "the Winograd form needs a 3×3 or 5×5, stride-1, undilated, ungrouped conv"
            }
            return t.r == kh ? nil : "a Winograd transform for \(t.r)×\(t.r) kernels given a \(kh)×\(kw) conv"
        }
    }

    /// `weight` is OHWI [S, kh, kw, C/groups], or a linear weight [S, C]; `form` must fit the conv
    /// (`formProblem`).
    init(weight: Tensor, bias: Tensor?, attributes: Conv2DAttributes, isa: GEMMISA, form kind: GEMMConvForm.Kind) throws(GEMMError) {
        self.attributes = attributes
        if weight.shape.rank == 2 {
            (kh, kw, cg) = (1, 1, weight.shape[1])
        } else {
            (kh, kw, cg) = (weight.shape[1], weight.shape[2], weight.shape[3])
        }
        outChannels = weight.shape[0]
        groups = attributes.groups
        if let problem = Self.formProblem(kind, kh: kh, kw: kw, attributes: attributes) { throw .invalidArgument(problem) }
        let depth = kh * kw * cg, perGroup = outChannels / groups
        let (kw, cg, s) = (kw, cg, outChannels)
        func perGroupMatrices() throws(GEMMError) -> [PackedMatrixB] {
            var out: [PackedMatrixB] = []
            for g in 0..<attributes.groups {
                out.append(try weight.data.withUnsafeBufferPointer { w throws(GEMMError) in
                    try PackedMatrixB(k: depth, n: perGroup, b: w.baseAddress! + g * perGroup * depth, ldb: depth, transposed: true, isa: isa)
                })
            }
            return out
        }
        switch kind {
        case .pointwise: form = .pointwise(try perGroupMatrices())
        case .im2col: form = .im2col(try perGroupMatrices())
        case .shiftedRows:
            var taps: [PackedMatrixB] = []
            for ky in 0..<kh {
                taps.append(try weight.data.withUnsafeBufferPointer { w throws(GEMMError) in
                    try PackedMatrixB(k: kw * cg, n: s, b: w.baseAddress! + ky * kw * cg, ldb: depth, transposed: true, isa: isa)
                })
            }
            form = .shiftedRows(taps)
        case .winograd(let t):
            let u = t.transformedWeights(weight)
            var positions: [PackedMatrixB] = []
            for xi in 0..<t.positions {
                positions.append(try u.withUnsafeBufferPointer { u throws(GEMMError) in
                    try PackedMatrixB(k: cg, n: s, b: u.baseAddress! + xi * s * cg, ldb: cg, transposed: true, isa: isa)
                })
            }
            form = .winograd(t, positions)
        }
        matrices = form.matrices
        self.bias = bias.map { FloatStorage($0.data) }
    }

    /// From matrices packed earlier (a compiled model): no weight transformation.
    init(attributes: Conv2DAttributes, kh: Int, kw: Int, cg: Int, outChannels: Int, form: GEMMConvForm, bias: FloatStorage?) {
        self.attributes = attributes
        self.kh = kh; self.kw = kw; self.cg = cg
        self.outChannels = outChannels
        self.groups = attributes.groups
        self.form = form
        matrices = form.matrices
        self.bias = bias
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
}
