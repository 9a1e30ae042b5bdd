import RankEdge

/// Runs a graph with the reference ops, node by node in the graph's order: the oracle every fast
/// path is tested against. Clear, not fast.
///
/// Graph inputs carry a batch dimension; `run` accepts the same H, W, C (every dimension but the
/// first) at any batch N ≥ 1, as long as all inputs share it.
public struct ReferenceExecutor: Sendable {
    public let graph: Graph

    /// Validates the graph; throws the `GraphValidationError` listing every problem, each with its
    /// node (a compiled model's graph, whose weights are shapes only, is refused).
    public init(graph: Graph) throws {
        try graph.validate()
        try graph.requireWeightValues()
        self.graph = graph
    }

    /// Every graph output, by name.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let values = try runCapturingAll(inputs)
        var outputs: [String: Tensor] = [:]
        for name in graph.outputs { outputs[name] = values[name] }
        return outputs
    }

    /// The single output of a graph with a single input.
    public func run(_ input: Tensor) throws -> Tensor {
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw ExecutionError.notSingleInputOutput(inputs: graph.inputs.count, outputs: graph.outputs.count)
        }
        let values = try runCapturingAll([graph.inputs[0].name: input])
        return values[graph.outputs[0]]!
    }

    /// Every tensor the run produced (the inputs and each node's output), by name: for finding the
    /// first node where a fast path parts from the reference.
    public func runCapturingAll(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try checkInputs(inputs)
        var values = inputs
        for node in graph.nodes {
            // Validation guarantees every name resolves; a failure here would be a validation bug,
            // so it still becomes an error naming the node rather than a trap.
            var activations: [Tensor] = []
            for name in node.activationInputs {
                guard let t = values[name] else {
                    throw ExecutionError.invalidOperands(op: node.op.kind, node: node.name, message: "input '\(name)' has no value")
                }
                activations.append(t)
            }
            var weights: [Tensor] = []
            for name in node.weightInputs {
                guard let t = graph.weights[name] else {
                    throw ExecutionError.invalidOperands(op: node.op.kind, node: node.name, message: "weight '\(name)' is missing")
                }
                weights.append(t)
            }
            do {
                values[node.outputs[0]] = try ReferenceOps.apply(node.op, activations: activations, weights: weights)
            } catch ExecutionError.invalidOperands(let op, _, let message) {
                throw ExecutionError.invalidOperands(op: op, node: node.name, message: message)
            }
        }
        return values
    }

    /// Every input present and known, shaped as declared apart from the batch, all at one batch size.
    func checkInputs(_ inputs: [String: Tensor]) throws {
        var firstBatch: (name: String, batch: Int)?
        for info in graph.inputs {
            guard let t = inputs[info.name] else {
                throw ExecutionError.missingInput(name: info.name, expected: info.shape)
            }
            guard t.shape.rank == info.shape.rank, t.shape.dims.dropFirst() == info.shape.dims.dropFirst(),
                  t.shape[0] >= 1
            else {
                throw ExecutionError.inputShapeMismatch(name: info.name, expected: info.shape, actual: t.shape)
            }
            guard t.shape.checkedElementCount == t.data.count else {
                throw ExecutionError.inputDataMismatch(name: info.name, shape: t.shape, count: t.data.count)
            }
            if let first = firstBatch, first.batch != t.shape[0] {
                throw ExecutionError.batchMismatch(name: info.name, batch: t.shape[0],
                                                   otherInput: first.name, otherBatch: first.batch)
            }
            firstBatch = firstBatch ?? (info.name, t.shape[0])
        }
        let known = Set(graph.inputs.map(\.name))
        if let extra = inputs.keys.sorted().first(where: { !known.contains($0) }) {
            throw ExecutionError.unexpectedInput(name: extra, graphInputs: graph.inputs.map(\.name))
        }
    }
}
