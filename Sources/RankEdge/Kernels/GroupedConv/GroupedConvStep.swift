import CRankEdgeKernels

/// A grouped conv on its direct kernel: per group, runs of output pixels along a row times the
/// group's outputs are register tiles whose inputs are read in place from the NHWC tensor, so no
/// im2col matrix is written per group (the GEMM form's cost at RegNet's 16-channel groups). Output
/// rows are shared between threads. A fused activation function goes over each few rows right after
/// they are computed, while they are in L1.
final class GroupedConvStep: ExecutionStep, ParallelWork {
    let weights: GroupedConvWeights
    let g: ConvGeometry
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?
    let params: re_grouped_params
    let isa: GEMMISA
    let function: UnaryFunction?
    /// Output rows per kernel call when a function follows: about 16 KB of output.
    let rowsPerBlock: Int
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(weights: GroupedConvWeights, geometry g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
         residual: UnsafePointer<Float>?, activation: GEMMActivation, isa: GEMMISA) {
        self.weights = weights; self.g = g; self.x = x; self.y = y; self.residual = residual; self.isa = isa
        function = activation.function
        rowsPerBlock = RowBlocks.rowsPerBlock(function: activation.function, rowsPerImage: g.oh, rowFloats: g.ow * g.s)
        let a = weights.attributes
        params = re_grouped_params(
            h: g.h, w: g.w, c: g.c, oh: g.oh, ow: g.ow, s: g.s, kh: g.kh, kw: g.kw,
            stride_h: a.stride.h, stride_w: a.stride.w, pad_top: a.padding.top, pad_left: a.padding.left,
            dilation_h: a.dilation.h, dilation_w: a.dilation.w, groups: g.groups, cg: weights.cg, sg: weights.sg,
            weights: UnsafePointer(weights.weights.pointer), bias: weights.bias.map { UnsafePointer($0.pointer) },
            activation: Int32(activation.cValue))
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: g.n * g.oh, work: g.pixels * g.depth * g.s, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let g = g
        let isa = Int32(isa.cValue.rawValue)
        let inImage = g.h * g.w * g.c, outImage = g.oh * g.ow * g.s
        withUnsafePointer(to: params) { p in
            RowBlocks.forEach(split.range(task), rowsPerImage: g.oh, rowsPerBlock: rowsPerBlock) { b, oy0, oy1 in
                re_grouped_rows(isa, p, x + b * inImage, y + b * outImage, residual.map { $0 + b * outImage }, oy0, oy1)
                if let function {
                    let first = y + b * outImage + oy0 * g.ow * g.s
                    function.apply(first, first, count: (oy1 - oy0) * g.ow * g.s, isa: self.isa)
                }
            }
        }
    }
}
