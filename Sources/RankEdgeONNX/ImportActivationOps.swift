import RankEdge

/// Sigmoid, Tanh, HardSigmoid, HardSwish, and SiLU, which both PyTorch exporters write as
/// Mul(x, Sigmoid(x)).
extension ImportContext {
    /// Sigmoid, unless it is the gate of a SiLU (its only reader a Mul of its own input), which the
    /// Mul imports as one node.
    mutating func importSigmoid(_ i: Int) throws(ONNXImportError) {
        if siluMul(gate: i) != nil { return }
        try importUnary(i, .unary(.sigmoid))
    }

    mutating func importHardSigmoid(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let alpha = try attrs.float("alpha") ?? 0.2, beta = try attrs.float("beta") ?? 0.5
        guard alpha.isFinite, beta.isFinite else { throw attrs.unsupported("alpha/beta", "\(alpha)/\(beta) (not finite)") }
        try importUnary(i, .unary(.hardSigmoid(alpha: alpha, beta: beta)))
    }

    /// Mul(x, Sigmoid(x)) (either order) as SiLU; any other Mul is not supported yet.
    mutating func importMul(_ i: Int) throws(ONNXImportError) {
        let inputs = onnxNodes[i].input
        guard inputs.count == 2 else { throw unsupportedUse(i, "Mul takes two inputs, got \(inputs.count)") }
        for (gateInput, other) in [(inputs[1], inputs[0]), (inputs[0], inputs[1])] {
            guard let g = producer[gateInput], onnxNodes[g].opType == "Sigmoid", siluMul(gate: g) == i else { continue }
            let x = try activation(other, node: i)
            emit(.unary(.silu), node: i, inputs: [x.name], output: try singleOutput(i), layout: x.layout,
                 provenance: "imported from ONNX Sigmoid '\(nodeNames[g])' + Mul '\(nodeNames[i])' (SiLU)")
            return
        }
        throw unsupportedUse(i, "only Mul(x, Sigmoid(x)) (SiLU) is supported so far; general and broadcasting Mul is not")
    }

    /// The Mul that makes Sigmoid node `gate` a SiLU: the Sigmoid's output is read only by that Mul,
    /// whose other input is the Sigmoid's own input.
    func siluMul(gate: Int) -> Int? {
        let sigmoid = onnxNodes[gate]
        guard sigmoid.input.count == 1, let out = sigmoid.output.first, !graphOutputs.contains(out),
              let users = consumers[out], users.count == 1 else { return nil }
        let mul = onnxNodes[users[0]]
        guard mul.opType == "Mul", mul.domain.isEmpty || mul.domain == "ai.onnx", mul.input.count == 2,
              Set(mul.input) == Set([out, sigmoid.input[0]]) else { return nil }
        return users[0]
    }
}
