import Foundation
import RankEdge

/// A layer the graph holds in factored form, recognised from its nodes' provenance
/// ("svd of fc, rank 32 (…)", "tucker2 of layer1.0.conv1, ranks 8/8 (…)", "elrt of …",
/// "branched tucker2 of …"): the zoo, the trainer and `compress` all write it that way, so seed
/// 003's layer freezing and ELRT's regulariser find their factors in any graph, imported included.
public struct Decomposition: Equatable, Sendable {
    public enum Kind: String, Sendable { case svd, tucker2 }
    public var kind: Kind
    /// The layer that was decomposed.
    public var source: String
    /// Its factor nodes in graph order (2 for SVD, 3 for Tucker-2: first 1×1, core, last 1×1).
    public var nodes: [String]

    /// The factored layers of `graph`, in the order their first node appears.
    public static func all(in graph: Graph) -> [Decomposition] {
        var found: [Decomposition] = []
        var index: [String: Int] = [:]
        for node in graph.nodes {
            guard let provenance = node.provenance, let (kind, source) = parse(provenance) else { continue }
            let key = "\(kind.rawValue) \(source)"
            if let i = index[key] { found[i].nodes.append(node.name) }
            else { index[key] = found.count; found.append(Decomposition(kind: kind, source: source, nodes: [node.name])) }
        }
        return found.filter { $0.nodes.count == ($0.kind == .svd ? 2 : 3) }
    }

    /// (kind, source layer) of a provenance note, or nil when it records no decomposition. Notes
    /// may be chains of "; "-separated parts ("imported from ONNX Conv; tucker2 of X, …" after an
    /// export and import): the last part that names a decomposition counts.
    public static func parse(_ provenance: String) -> (Kind, String)? {
        for part in provenance.components(separatedBy: "; ").reversed() {
            if let found = parsePart(part) { return found }
        }
        return nil
    }

    private static func parsePart(_ part: String) -> (Kind, String)? {
        var words = part.split(separator: " ", maxSplits: 3).map(String.init)
        if words.first == "branched" { words.removeFirst() }
        guard words.count >= 3, words[1] == "of" else { return nil }
        let kind: Kind
        switch words[0] {
        case "svd": kind = .svd
        case "tucker2", "elrt": kind = .tucker2
        default: return nil
        }
        let source = String(words[2].prefix { $0 != "," && $0 != " " })
        return source.isEmpty ? nil : (kind, source)
    }

    /// The 1×1 factors of every Tucker-2 chain (first and last node): where ELRT's DSO applies.
    public static func tuckerFactors(in graph: Graph) -> [String] {
        all(in: graph).filter { $0.kind == .tucker2 }.flatMap { [$0.nodes[0], $0.nodes[2]] }
    }
}

/// Shell-style patterns over node names: `*` any run of characters, `?` one character.
public func globMatches(_ pattern: String, _ name: String) -> Bool {
    let p = Array(pattern), s = Array(name)
    var pi = 0, si = 0, star = -1, mark = 0
    while si < s.count {
        if pi < p.count, p[pi] == "?" || p[pi] == s[si] { pi += 1; si += 1 }
        else if pi < p.count, p[pi] == "*" { star = pi; mark = si; pi += 1 }
        else if star >= 0 { pi = star + 1; mark += 1; si = mark }
        else { return false }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}
