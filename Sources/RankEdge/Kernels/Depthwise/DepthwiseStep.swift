import CRankEdgeKernels

/// Depthwise conv (one filter per channel) with its own vectorised loop: a GEMM per channel would
/// have N = 1. Output rows are shared between threads. A fused activation function (SiLU, hard
/// swish, …) goes over each few rows right after they are computed, while they are in L1.
final class DepthwiseStep: ExecutionStep, ParallelWork {
    let weights: DepthwiseWeights
    let g: ConvGeometry
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?
    let params: re_depthwise_params
    let isa: GEMMISA
    let function: UnaryFunction?
    /// Output rows per kernel call when a function follows: about 16 KB of output.
    let rowsPerBlock: Int
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(weights: DepthwiseWeights, geometry g: ConvGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
         residual: UnsafePointer<Float>?, activation: GEMMActivation, isa: GEMMISA) {
        self.weights = weights; self.g = g; self.x = x; self.y = y; self.residual = residual; self.isa = isa
        function = activation.function
        rowsPerBlock = RowBlocks.rowsPerBlock(function: activation.function, rowsPerImage: g.oh, rowFloats: g.ow * g.c)
        let a = weights.attributes
        params = re_depthwise_params(
            h: g.h, w: g.w, c: g.c, oh: g.oh, ow: g.ow, kh: g.kh, kw: g.kw,
            stride_h: a.stride.h, stride_w: a.stride.w, pad_top: a.padding.top, pad_left: a.padding.left,
            dilation_h: a.dilation.h, dilation_w: a.dilation.w,
            weights: UnsafePointer(weights.weights.pointer), bias: weights.bias.map { UnsafePointer($0.pointer) },
            activation: Int32(activation.cValue))
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: g.n * g.oh, work: g.n * g.oh * g.ow * g.c * g.kh * g.kw, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let g = g
        let isa = Int32(isa.cValue.rawValue)
        let inImage = g.h * g.w * g.c, outImage = g.oh * g.ow * g.c
        withUnsafePointer(to: params) { p in
            RowBlocks.forEach(split.range(task), rowsPerImage: g.oh, rowsPerBlock: rowsPerBlock) { b, oy0, oy1 in
                re_depthwise_rows(isa, p, x + b * inImage, y + b * outImage, residual.map { $0 + b * outImage }, oy0, oy1)
                if let function {
                    let first = y + b * outImage + oy0 * g.ow * g.c
                    function.apply(first, first, count: (oy1 - oy0) * g.ow * g.c, isa: self.isa)
                }
            }
        }
    }
}
