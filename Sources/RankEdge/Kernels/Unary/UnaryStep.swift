#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Sigmoid, Tanh, HardSigmoid, HardSwish, SiLU, Erf or GELU over a tensor, in place or not: the elements are
/// shared between threads in contiguous ranges. Each function has its own loop so the compiler
/// vectorises the hard ones and keeps the exp / tanh calls of the others out of a switch.
final class UnaryStep: ExecutionStep, ParallelWork {
    let function: UnaryFunction
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    let count: Int
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(_ function: UnaryFunction, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        self.function = function; self.x = x; self.y = y; self.count = count
    }

    func execute(_ context: StepContext) {
        // An exp or tanh costs some ten multiply-adds: count it so when deciding to share.
        split = ChunkSplit(count: count, work: 10 * count, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (x, y) = (x, y)
        let range = split.range(task)
        switch function {
        case .sigmoid: for i in range { y[i] = UnaryFunction.logistic(x[i]) }
        case .tanh: for i in range { y[i] = tanhf(x[i]) }
        case .hardSigmoid(let alpha, let beta):
            for i in range { let t = alpha * x[i] + beta; y[i] = t < 0 ? 0 : (t > 1 ? 1 : t) }
        case .hardSwish:
            for i in range { let v = x[i], t = v * (1 / 6) + 0.5; y[i] = v * (t < 0 ? 0 : (t > 1 ? 1 : t)) }
        case .silu: for i in range { let v = x[i]; y[i] = v * UnaryFunction.logistic(v) }
        case .erf: for i in range { y[i] = erff(x[i]) }
        case .gelu: for i in range { y[i] = UnaryFunction.exactGELU(x[i]) }
        }
    }
}
