/// Removes dropout nodes (the identity at inference) by pointing their readers at their input, so
/// the passes after it see the layers on either side as neighbours. A dropout whose output is a
/// graph output stays, since the output's name must survive.
public enum RemoveIdentities {
    public static func apply(_ graph: consuming Graph) -> Graph {
        var g = consume graph
        let outputs = Set(g.outputs)
        var replacement: [String: String] = [:]
        g.nodes = g.nodes.filter { node in
            guard case .dropout = node.op, !outputs.contains(node.outputs[0]) else { return true }
            replacement[node.outputs[0]] = replacement[node.inputs[0]] ?? node.inputs[0]
            return false
        }
        for i in g.nodes.indices {
            let count = g.nodes[i].op.activationInputCount ?? g.nodes[i].inputs.count
            for j in 0..<count { if let r = replacement[g.nodes[i].inputs[j]] { g.nodes[i].inputs[j] = r } }
        }
        return g
    }
}
