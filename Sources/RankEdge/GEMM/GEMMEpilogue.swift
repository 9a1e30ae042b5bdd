import CRankEdgeKernels

/// The activation the epilogue applies last, after bias and residual.
public enum GEMMActivation: Sendable, Equatable {
    case none
    /// max(x, 0)
    case relu
    /// min(max(x, 0), 6)
    case relu6
    /// Sigmoid, SiLU, hard swish, … (a conv's SE gate or mobile activation): the micro-kernels store
    /// without it, and the step applies the vector kernel (`re_unary`) to each block of C it has
    /// just finished, while the block is still in cache.
    case function(UnaryFunction)

    /// The activation the micro-kernels apply (none for `.function`, which runs after the store).
    var cValue: UInt32 {
        switch self {
        case .none, .function: return UInt32(RE_ACT_NONE.rawValue)
        case .relu: return UInt32(RE_ACT_RELU.rawValue)
        case .relu6: return UInt32(RE_ACT_RELU6.rawValue)
        }
    }

    /// The function applied after the store, for `.function`.
    public var function: UnaryFunction? {
        if case .function(let f) = self { return f }
        return nil
    }

    /// The activation on one value; the naive GEMM uses it, so it is the definition.
    @inlinable
    public func apply(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .relu: return max(x, 0)
        case .relu6: return min(max(x, 0), 6)
        case .function(let f): return f(x)
        }
    }
}

/// Work fused into the GEMM's store, while each output tile is still in registers:
///
///     C[i][j] = activation( (accumulate ? C[i][j] : 0) + (A·B)[i][j] + bias[j] + residual[i·residualStride + j] )
///
/// In the runtime's NHWC convolutions C is [spatial × channels], so `bias` is per output channel
/// (one value per column of C, N floats) and `residual` is the shortcut tensor of a residual block.
/// The pointers must stay valid for the duration of the call. `residual` must not overlap C (to add
/// into C, use `accumulate`, which reads C before any partial sum is written).
public struct GEMMEpilogue {
    /// N floats, one per column of C, or nil.
    public var bias: UnsafePointer<Float>?
    public var activation: GEMMActivation
    /// An M × N row-major matrix added to the product, or nil.
    public var residual: UnsafePointer<Float>?
    /// Leading dimension of `residual`; 0 means "same as ldc".
    public var residualStride: Int
    /// Adds the result to C's previous contents (BLAS beta = 1) instead of overwriting them.
    public var accumulate: Bool

    public init(bias: UnsafePointer<Float>? = nil, activation: GEMMActivation = .none,
                residual: UnsafePointer<Float>? = nil, residualStride: Int = 0, accumulate: Bool = false) {
        self.bias = bias
        self.activation = activation
        self.residual = residual
        self.residualStride = residualStride
        self.accumulate = accumulate
    }

    /// Plain C = A·B.
    public static var none: GEMMEpilogue { GEMMEpilogue() }
}
