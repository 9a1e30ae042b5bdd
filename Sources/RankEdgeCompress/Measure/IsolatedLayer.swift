import RankEdge

/// A one-layer graph at batch 1: the candidate as it is, or its factored form. What the latency
/// sweeps time and what per-layer MACs are counted on, so both see the same nodes the model will run.
enum IsolatedLayer {
    static func graph(_ layer: CandidateLayer, original: Graph, factorization: Factorization?) -> Graph {
        let node = layer.node
        var weights: [String: Tensor] = [:]
        for w in node.weightInputs { weights[w] = original.weights[w] }
        var g = Graph(name: node.name, inputs: [ValueInfo(name: node.inputs[0], shape: layer.inputShape)],
                      outputs: [node.outputs[0]], nodes: [node], weights: weights)
        if let factorization { g.substitute(node.name, with: factorization) }
        return g
    }

    /// (params, MACs) of the layer's nodes at batch 1.
    static func cost(_ g: Graph) -> (params: Int, macs: Int) {
        guard let total = try? g.cost().total else { return (0, 0) }
        return (total.params, total.macs)
    }
}
