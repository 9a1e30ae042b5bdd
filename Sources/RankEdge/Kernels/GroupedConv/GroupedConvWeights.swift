/// A grouped conv with 8 or 16 outputs per group, or a stem conv (`isStem`) as one group, for the
/// direct kernel (`GroupedConvStep`, re_grouped_rows): the filters laid out
/// [groups][kh][kw][C/groups][S/groups], so one tap and input channel of a group give its outputs as
/// contiguous vectors.
final class GroupedConvWeights: @unchecked Sendable {
    let attributes: Conv2DAttributes
    let kh: Int, kw: Int
    /// Input and output channels per group.
    let cg: Int, sg: Int
    let weights: FloatStorage
    let bias: FloatStorage?
    var groups: Int { attributes.groups }

    /// `weight` is OHWI [S, kh, kw, C/groups].
    init(weight: Tensor, bias: Tensor?, attributes: Conv2DAttributes) {
        self.attributes = attributes
        (kh, kw, cg) = (weight.shape[1], weight.shape[2], weight.shape[3])
        sg = weight.shape[0] / attributes.groups
        var laid = [Float](repeating: 0, count: weight.count)
        for o in 0..<weight.shape[0] {
            let (g, j) = (o / sg, o % sg)
            for tap in 0..<(kh * kw) {
                for i in 0..<cg { laid[((g * kh * kw + tap) * cg + i) * sg + j] = weight.data[(o * kh * kw + tap) * cg + i] }
            }
        }
        weights = FloatStorage(laid)
        self.bias = bias.map { FloatStorage($0.data) }
    }

    init(attributes: Conv2DAttributes, kh: Int, kw: Int, cg: Int, sg: Int, weights: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes
        self.kh = kh; self.kw = kw; self.cg = cg; self.sg = sg
        self.weights = weights
        self.bias = bias
    }

    /// A stem conv (`isStem`) as one group; or more than one group, 8 or 16 outputs per group, and
    /// few enough inputs per group for the kernel's zero row (RE_GROUPED_MAX_CG). Depthwise convs have their own kernel. Measured
    /// (docs/BENCHMARKS.md, session 20): 16 per group runs at 43–54 GMAC/s against the GEMM form's
    /// 15–25 at RegNetX's shapes; with 24 or 32 (three or four vectors, 12 accumulators) the kernel
    /// fell to 25–28, and padding a Tucker core's 9 or 19 per group to whole vectors made branched
    /// ResNets 4–15 % slower than one GEMM per group, so those keep the GEMM.
    static func applies(weight: TensorShape, attributes: Conv2DAttributes) -> Bool {
        guard weight.rank == 4, weight[0] % attributes.groups == 0 else { return false }
        let sg = weight[0] / attributes.groups
        if attributes.groups == 1 { return isStem(weight: weight) }
        return (sg == 8 || sg == 16) && weight[3] <= maxInputsPerGroup
    }

    /// An image model's first conv as one group: at most 4 input channels (RGB, RGBA, grey), a
    /// multiple of 8 outputs up to 64, a kernel larger than 1×1. The GEMM's im2col rows would be only
    /// k²·C values deep, so writing them costs about as much as the multiply-adds, and Winograd's
    /// GEMMs would be C = 3 deep. Measured on its own (docs/BENCHMARKS.md, session 22) against the
    /// best GEMM form: 0.22 vs 0.50 ms for torchvision's 3→16 3×3 stride-2 stem, 0.44 vs 0.65 for
    /// 3→32, 0.019 vs 0.031 for the CIFAR ResNets' 3→16 stride 1, and even for 3→64 7×7 stride 2.
    static func isStem(weight: TensorShape) -> Bool {
        weight.rank == 4 && weight[3] <= 4 && weight[0] % 8 == 0 && weight[0] <= 64 && weight[1] * weight[2] > 1
    }

    static let maxInputsPerGroup = 64
}
