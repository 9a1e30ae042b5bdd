/// Transposed conv on NHWC, one sample at a time: the GEMM X[H·W × C] · W[C × kh·kw·S] gives every
/// input cell's contribution to its kh×kw output window (the columns); col2im then builds each
/// output cell as the bias plus the columns that land on it. Written as a gather over output rows
/// (each output cell reads the input cells whose window covers it) so threads never write the same
/// cell, where the scatter of the definition would need locks.
final class ConvTransposeStep: ExecutionStep, ParallelWork {
    /// For one output row or column: the (input index, kernel index) pairs that reach it.
    typealias Taps = [(input: Int, tap: Int)]
    let name: String
    let n: Int, h: Int, w: Int, c: Int, oh: Int, ow: Int, s: Int
    let kernel: Size2
    let packed: PackedMatrixB
    let bias: FloatStorage?
    let x: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    let rowTaps: [Taps], columnTaps: [Taps]
    private var sample = 0
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(name: String, n: Int, h: Int, w: Int, c: Int, oh: Int, ow: Int, s: Int, kernel: Size2, attributes a: ConvTranspose2DAttributes,
         packed: PackedMatrixB, bias: FloatStorage?, x: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.name = name; self.n = n; self.h = h; self.w = w; self.c = c; self.oh = oh; self.ow = ow; self.s = s
        self.kernel = kernel; self.packed = packed; self.bias = bias; self.x = x; self.columns = columns; self.y = y
        // Output index o = i·stride + k − padBefore, so input i = (o + padBefore − k) / stride when that divides.
        func taps(_ outSize: Int, _ inSize: Int, _ k: Int, _ stride: Int, _ before: Int) -> [Taps] {
            (0..<outSize).map { o in
                (0..<k).compactMap { t in
                    let shifted = o + before - t
                    guard shifted >= 0, shifted % stride == 0, shifted / stride < inSize else { return nil }
                    return (shifted / stride, t)
                }
            }
        }
        rowTaps = taps(oh, h, kernel.h, a.stride.h, a.padding.top)
        columnTaps = taps(ow, w, kernel.w, a.stride.w, a.padding.left)
    }

    func execute(_ context: StepContext) throws(ExecutionError) {
        let width = kernel.h * kernel.w * s
        split = ChunkSplit(count: oh, work: oh * ow * kernel.h * kernel.w * s, threads: context.threads)
        for b in 0..<n {
            do {
                try gemm(m: h * w, n: width, k: c, a: x + b * h * w * c, lda: c, packedB: packed, c: columns, ldc: width,
                         threads: context.threads, pool: context.pool)
            } catch {
                throw .kernelFailed(node: name, message: "the GEMM rejected its arguments: \(error)")
            }
            sample = b
            context.run(self, tasks: split.chunks)
        }
    }

    func run(task: Int) {
        let (w, ow, s, kw) = (w, ow, s, kernel.w)
        let width = kernel.h * kw * s
        let out = y + sample * oh * ow * s
        for oy in split.range(task) {
            for ox in 0..<ow {
                let dst = out + (oy * ow + ox) * s
                if let bias { dst.update(from: bias.pointer, count: s) } else { dst.update(repeating: 0, count: s) }
                for (iy, ky) in rowTaps[oy] {
                    for (ix, kx) in columnTaps[ox] {
                        let src = columns + (iy * w + ix) * width + (ky * kw + kx) * s
                        for o in 0..<s { dst[o] += src[o] }
                    }
                }
            }
        }
    }
}
