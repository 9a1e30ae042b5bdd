import RankEdge
import RankEdgeCompress

/// Seed 003's layer freezing while fine-tuning a decomposed model (METHODS.md §3).
public enum FactorFreezing: String, Sendable, CaseIterable {
    case none
    /// The first factor of every decomposition (SVD pair and Tucker-2 chain).
    case first
    /// The paper's scheme: the first factor of each SVD pair, the first and last 1×1 factors of
    /// each Tucker-2 chain.
    case firstLast = "first-last"

    /// Node names whose weights this scheme freezes.
    public func nodes(in graph: Graph) -> [String] {
        Decomposition.all(in: graph).flatMap { d -> [String] in
            switch self {
            case .none: []
            case .first: [d.nodes[0]]
            case .firstLast: d.kind == .svd ? [d.nodes[0]] : [d.nodes[0], d.nodes[2]]
            }
        }
    }
}
