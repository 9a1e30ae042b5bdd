import RankEdge

/// Sigmoid, Tanh, HardSigmoid, HardSwish, and SiLU, which both PyTorch exporters write as
/// Mul(x, Sigmoid(x)) (the Mul imports it: ImportArithmeticOps).
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

    /// Gelu (opset 20): the exact form; the tanh approximation is not supported.
    mutating func importGeluOp(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let approximate = try attrs.string("approximate", default: "none")
        guard approximate == "none" else { throw attrs.unsupported("approximate", "\(approximate) (only the exact GELU)") }
        try importUnary(i, .unary(.gelu))
    }
}
