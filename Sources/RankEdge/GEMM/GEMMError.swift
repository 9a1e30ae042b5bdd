/// Why a GEMM call, an ISA choice or a packed matrix was rejected.
public enum GEMMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `RANKEDGE_ISA` or an `--isa` flag named something that is not an ISA.
    case unknownISA(String)
    /// The ISA exists but this CPU (or this build) cannot run it.
    case isaUnavailable(GEMMISA)
    /// A size or leading dimension is out of range; the message names it.
    case invalidArgument(String)
    /// A prepacked B does not fit the call (other K, or packed for another ISA).
    case packedMatrixMismatch(String)

    public var description: String {
        switch self {
        case .unknownISA(let name):
            return "unknown GEMM ISA '\(name)' (expected one of: \(GEMMISA.allCases.map { $0.rawValue }.joined(separator: ", ")))"
        case .isaUnavailable(let isa):
            return "GEMM ISA '\(isa.rawValue)' is not supported on this CPU (available: \(GEMMISA.available().map { $0.rawValue }.joined(separator: ", ")))"
        case .invalidArgument(let message):
            return "invalid GEMM argument: \(message)"
        case .packedMatrixMismatch(let message):
            return "packed B does not match the GEMM call: \(message)"
        }
    }
}
