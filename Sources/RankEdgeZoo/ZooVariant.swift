import RankEdge

/// How the zoo builds each conv of a reference architecture.
public enum ZooVariant: Hashable, Sendable, CustomStringConvertible {
    case dense
    /// Vanilla low-rank decomposition: SVD pairs for 1×1 convs and linears, Tucker-2 chains for k×k.
    case lrd
    /// Layer merging: bottleneck widths set to the Tucker ranks, same depth.
    case merged
    /// Tucker-2 with the core split into N branches (a grouped k×k conv).
    case branched(Int)
    /// Every k×k conv (k > 1) as a rank-L spatial conv.
    case rank(Int)
    /// Tucker-2 chains for k×k convs only (1×1 convs and linears stay dense): the form the trainer
    /// trains from scratch (`--conv tucker2:RATIO`, and ELRT).
    case tucker2

    public init?(parsing text: String) {
        switch text {
        case "dense": self = .dense
        case "lrd": self = .lrd
        case "merged": self = .merged
        case "tucker2": self = .tucker2
        default:
            let parts = text.split(separator: ":")
            guard parts.count == 2, let n = Int(parts[1]), n >= 1 else { return nil }
            switch parts[0] {
            case "branched": self = .branched(n)
            case "rank": self = .rank(n)
            default: return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .dense: "dense"
        case .lrd: "lrd"
        case .merged: "merged"
        case .branched(let n): "branched:\(n)"
        case .rank(let l): "rank:\(l)"
        case .tucker2: "tucker2"
        }
    }
}

public struct ZooError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}
