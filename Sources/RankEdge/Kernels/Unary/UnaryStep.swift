import CRankEdgeKernels

/// Sigmoid, Tanh, HardSigmoid, HardSwish, SiLU, Erf or GELU over a tensor, in place or not, through
/// the vectorised C kernel (re_unary: polynomial exp and erf, 8 lanes at a time) of the model's
/// ISA; the elements are shared between threads in contiguous ranges.
final class UnaryStep: ExecutionStep, ParallelWork {
    let function: UnaryFunction
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    let count: Int
    let isa: GEMMISA
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(_ function: UnaryFunction, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, isa: GEMMISA) {
        self.function = function; self.x = x; self.y = y; self.count = count; self.isa = isa
    }

    func execute(_ context: StepContext) {
        // A vector of exp costs some ten multiply-adds per element: count it so when deciding to share.
        split = ChunkSplit(count: count, work: 10 * count, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let range = split.range(task)
        function.apply(x + range.lowerBound, y + range.lowerBound, count: range.count, isa: isa)
    }
}

extension UnaryFunction {
    /// The C kernel's code for this function (re_unary_function) and hard sigmoid's alpha and beta.
    var kernelArguments: (function: Int32, alpha: Float, beta: Float) {
        switch self {
        case .sigmoid: (Int32(RE_UNARY_SIGMOID.rawValue), 0, 0)
        case .tanh: (Int32(RE_UNARY_TANH.rawValue), 0, 0)
        case .hardSigmoid(let alpha, let beta): (Int32(RE_UNARY_HARD_SIGMOID.rawValue), alpha, beta)
        case .hardSwish: (Int32(RE_UNARY_HARD_SWISH.rawValue), 0, 0)
        case .silu: (Int32(RE_UNARY_SILU.rawValue), 0, 0)
        case .erf: (Int32(RE_UNARY_ERF.rawValue), 0, 0)
        case .gelu: (Int32(RE_UNARY_GELU.rawValue), 0, 0)
        }
    }

    /// y[i] = self(x[i]) for i < count (y may be x) with the vector kernel of `isa`; matches
    /// `callAsFunction` to within about 2e-7 × max(1, |y|).
    func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, isa: GEMMISA) {
        guard count > 0 else { return }
        let a = kernelArguments
        re_unary(Int32(isa.cValue.rawValue), a.function, x, y, count, a.alpha, a.beta)
    }
}
