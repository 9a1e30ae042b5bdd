import RankEdge

/// The form every k×k conv of a model takes (k > 1; 1×1 convs and the linear layers stay dense):
/// `dense`, `rank:L` (RankConv2D), `tucker2:RATIO` (Tucker2Conv with METHODS.md §3 ranks for a
/// parameter ratio) or `elrt:RATIO` (the same, Xavier-initialised and with the DSO regulariser).
public enum ConvForm: Sendable, Equatable, Codable, CustomStringConvertible {
    case dense
    case rank(Int)
    case tucker2(ratio: Double)
    case elrt(ratio: Double)

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func ratio() throws -> Double {
            guard parts.count == 2, let r = Double(parts[1]), r > 1, r <= Self.maximumRatio else {
                throw ModelError.badOption("--conv \(text): the ratio must be a number above 1 and at most \(Int(Self.maximumRatio)) (e.g. \(parts[0]):2)")
            }
            return r
        }
        switch parts[0] {
        case "dense" where parts.count == 1: self = .dense
        case "rank":
            guard parts.count == 2, let l = Int(parts[1]), l >= 1, l <= 15 else { throw ModelError.badOption("--conv \(text): the rank must be a whole number from 1 to 15 (e.g. rank:1)") }
            self = .rank(l)
        case "tucker2": self = .tucker2(ratio: try ratio())
        case "elrt": self = .elrt(ratio: try ratio())
        default: throw ModelError.badOption("unknown --conv '\(text)' (dense, rank:L, tucker2:RATIO, elrt:RATIO)")
        }
    }

    /// Beyond this every layer is at rank 1 anyway.
    static let maximumRatio = 1e6

    public var description: String {
        switch self {
        case .dense: "dense"
        case .rank(let l): "rank:\(l)"
        case .tucker2(let r): "tucker2:\(formatRatio(r))"
        case .elrt(let r): "elrt:\(formatRatio(r))"
        }
    }

    public var isTucker: Bool {
        switch self {
        case .tucker2, .elrt: true
        case .dense, .rank: false
        }
    }

    /// λ of the orthogonality regulariser when `--dso` is not given: on for ELRT only.
    public var defaultOrthogonality: Float {
        if case .elrt = self { return 1e-3 }
        return 0
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
