/// Why a compression run stopped. Every case is one line for the CLI.
public enum CompressError: Error, CustomStringConvertible, Sendable, Equatable {
    case badOption(String)
    case badPolicy(String)
    case badGraph(String)
    case needsData(String)
    case nothingToCompress(String)
    case measurement(String)

    public var description: String {
        switch self {
        case .badOption(let m): m
        case .badPolicy(let m): "bad --rank policy: \(m)"
        case .badGraph(let m): "graph: \(m)"
        case .needsData(let m): m
        case .nothingToCompress(let m): "nothing to compress: \(m)"
        case .measurement(let m): "measurement failed: \(m)"
        }
    }
}
