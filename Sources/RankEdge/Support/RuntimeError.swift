/// What a runtime call that can fail in more than one way throws (compiling a graph: validation,
/// the ISA, lowering; opening a session on a model).
///
/// The normal build keeps every error its own type, so callers go on catching `ExecutionError`,
/// `GEMMError`, `GraphValidationError`… Embedded Swift has no `any Error` (typed throws only), so
/// there the same calls throw one enum holding whichever error it was; its description is the
/// wrapped error's, word for word.
#if hasFeature(Embedded)
public typealias RuntimeError = RankEdgeError
#else
public typealias RuntimeError = any Error
#endif

/// Any error of the runtime, as one concrete type (Embedded Swift's `RuntimeError`, the C API's
/// error codes).
public enum RankEdgeError: Error, CustomStringConvertible {
    case graph(GraphValidationError)
    case execution(ExecutionError)
    case gemm(GEMMError)
    case compiledModel(CompiledModelError)
    case format(RKGFormatError)

    public var description: String {
        switch self {
        case .graph(let e): return e.description
        case .execution(let e): return e.description
        case .gemm(let e): return e.description
        case .compiledModel(let e): return e.description
        case .format(let e): return e.description
        }
    }
}

/// The runtime's error types, each convertible to `RankEdgeError`.
protocol RankEdgeErrorConvertible: Error {
    var rankEdgeError: RankEdgeError { get }
}

extension GraphValidationError: RankEdgeErrorConvertible { var rankEdgeError: RankEdgeError { .graph(self) } }
extension ExecutionError: RankEdgeErrorConvertible { var rankEdgeError: RankEdgeError { .execution(self) } }
extension GEMMError: RankEdgeErrorConvertible { var rankEdgeError: RankEdgeError { .gemm(self) } }
extension CompiledModelError: RankEdgeErrorConvertible { var rankEdgeError: RankEdgeError { .compiledModel(self) } }
extension RKGFormatError: RankEdgeErrorConvertible { var rankEdgeError: RankEdgeError { .format(self) } }

/// `error` as a `RuntimeError`: itself in the normal build, wrapped in Embedded Swift.
@inline(__always)
func runtimeError<E: RankEdgeErrorConvertible>(_ error: E) -> RuntimeError {
    #if hasFeature(Embedded)
    error.rankEdgeError
    #else
    error
    #endif
}

/// Runs a call that throws one of the runtime's error types inside one that throws `RuntimeError`.
@inline(__always)
func lift<T, E: RankEdgeErrorConvertible>(_ body: () throws(E) -> T) throws(RuntimeError) -> T {
    do { return try body() } catch { throw runtimeError(error) }
}
