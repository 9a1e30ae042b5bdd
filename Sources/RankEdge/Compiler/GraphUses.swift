/// Who reads each tensor, so a pass can tell when rewriting a producer is invisible to the rest.
struct GraphUses {
    private var readers: [String: Int] = [:]
    private let outputs: Set<String>

    init(_ graph: Graph) {
        for node in graph.nodes { for input in node.activationInputs { readers[input, default: 0] += 1 } }
        outputs = Set(graph.outputs)
    }

    /// True when exactly one node reads `tensor` and it is not a graph output.
    func hasSingleReader(_ tensor: String) -> Bool {
        readers[tensor] == 1 && !outputs.contains(tensor)
    }
}

extension Graph {
    /// Drops weights no node references (left behind when a pass replaces them).
    mutating func pruneUnusedWeights() {
        let used = Set(nodes.flatMap { $0.weightInputs })
        weights = weights.filter { used.contains($0.key) }
    }

    /// A weight name not yet in the table, derived from `base`.
    func freshWeightName(_ base: String) -> String {
        var name = base, i = 1
        while weights[name] != nil { i += 1; name = "\(base)\(i)" }
        return name
    }

    func appendingProvenance(_ note: String, to existing: String?) -> String {
        existing.map { "\($0); \(note)" } ?? note
    }
}
