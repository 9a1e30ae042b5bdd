import RankEdge

extension Graph {
    /// Replaces the conv or linear node `name` by the nodes of `factorization`, named `name.suffix`
    /// (or `name` itself for a single node), each carrying the provenance note. The last node writes
    /// the original output tensor and takes the original bias, so readers downstream are untouched.
    public mutating func substitute(_ name: String, with factorization: Factorization) {
        guard let index = nodes.firstIndex(where: { $0.name == name }) else {
            preconditionFailure("substitute: no node \(name)")
        }
        let original = nodes[index]
        let note = appendingNote(factorization.provenance(of: name), to: original.provenance)
        let bias = original.inputs.count > 2 ? original.inputs[2] : nil
        var replacement: [Node] = []
        var current = original.inputs[0]
        for (i, layer) in factorization.layers.enumerated() {
            let last = i == factorization.layers.count - 1
            let nodeName = layer.suffix.isEmpty ? name : "\(name).\(layer.suffix)"
            var inputs = [current]
            let weightNames = layer.weights.count == 1 ? ["\(nodeName).weight"] : ["\(nodeName).a", "\(nodeName).b"]
            for (w, tensor) in zip(weightNames, layer.weights) {
                weights[w] = tensor
                inputs.append(w)
            }
            if layer.takesBias, let bias { inputs.append(bias) }
            let output = last ? original.outputs[0] : nodeName
            replacement.append(Node(name: nodeName, op: layer.op, inputs: inputs, outputs: [output], provenance: note))
            current = output
        }
        nodes.replaceSubrange(index...index, with: replacement)
        let used = Set(nodes.flatMap(\.weightInputs))
        for w in original.weightInputs where !used.contains(w) { weights[w] = nil }
    }

    private func appendingNote(_ note: String, to existing: String?) -> String {
        guard let existing, !existing.isEmpty else { return note }
        return "\(existing); \(note)"
    }
}
