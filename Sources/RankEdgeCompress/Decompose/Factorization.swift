import Foundation
import RankEdge

/// The decompositions `compress` knows (METHODS.md §3, §1).
public enum DecompositionMethod: String, Sendable, CaseIterable, Codable {
    /// Two layers: the layer's kernel with R outputs, then a 1×1 R→S (linear: two linears).
    case svd
    /// 1×1 C→R1, k×k core R1→R2 (grouped when branched), 1×1 R2→S.
    case tucker2
    /// k×1 C→R, then 1×k R→S.
    case spatial
    /// Seed 000's rank-L Toeplitz factors per channel pair: one rankConv2d.
    case rankL = "rank-l"
}

/// One node of a factored form, before it joins a graph: its op, weight and whether it takes the
/// original layer's bias (only the last one does).
public struct FactorLayer: Sendable {
    public var suffix: String
    public var op: Op
    /// Weight tensors in the op's input order (conv/linear: [weight]; rankConv2d: [a, b]).
    public var weights: [Tensor]
    public var takesBias: Bool
}

/// A layer decomposed at chosen ranks: the nodes that replace it and how well they approximate it.
public struct Factorization: Sendable {
    public var method: DecompositionMethod
    /// svd / spatial: [R]; tucker2: [R1, R2]; rank-l: [L].
    public var ranks: [Int]
    public var branches: Int
    public var layers: [FactorLayer]
    /// ‖W − Ŵ‖_F / ‖W‖_F, measured on the reconstruction.
    public var relativeError: Double

    public var params: Int { layers.reduce(0) { $0 + $1.weights.reduce(0) { $0 + $1.count } } }

    /// "tucker2, ranks 24/24, 2 branches" style label for provenance and tables.
    public var label: String {
        let r = ranks.map(String.init).joined(separator: "/")
        switch method {
        case .svd: return "svd of %@, rank \(r)"
        case .spatial: return "spatial svd of %@, rank \(r)"
        case .rankL: return "rank-l of %@, rank \(r)"
        case .tucker2: return branches > 1 ? "branched tucker2 of %@, ranks \(r), \(branches) branches" : "tucker2 of %@, ranks \(r)"
        }
    }

    /// The provenance note for a layer named `source`.
    public func provenance(of source: String) -> String {
        label.replacingOccurrences(of: "%@", with: source)
    }
}
