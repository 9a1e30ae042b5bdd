/// A named input of a graph. The first dimension is the batch; a graph runs at any batch size.
public struct ValueInfo: Hashable, Sendable {
    public var name: String
    public var shape: TensorShape
    public init(name: String, shape: TensorShape) { self.name = name; self.shape = shape }
}

/// A computation graph: nodes in topological order over named tensors.
public struct Graph: Sendable, Equatable {
    public var name: String
    public var inputs: [ValueInfo]
    public var outputs: [String]
    public var nodes: [Node]
    public var weights: [String: Tensor]
    /// Class names in label order, when the graph is a classifier.
    public var classNames: [String]
    /// Free-form string metadata (training recipe, accuracy, source model).
    public var metadata: [String: String]

    public init(name: String, inputs: [ValueInfo], outputs: [String], nodes: [Node],
                weights: [String: Tensor], classNames: [String] = [], metadata: [String: String] = [:]) {
        self.name = name; self.inputs = inputs; self.outputs = outputs; self.nodes = nodes
        self.weights = weights; self.classNames = classNames; self.metadata = metadata
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// The graph with every weight's values dropped and its shape kept (`Tensor.withoutValues`):
    /// what a running model keeps of a graph whose steps hold their own copies of the weights.
    public func withoutWeightValues() -> Graph {
        var g = self
        g.weights = weights.mapValues { $0.withoutValues }
        return g
    }

    /// Whether some weight is stored as a shape only (a compiled model's graph).
    public var hasShapeOnlyWeights: Bool { weights.values.contains { !$0.holdsValues } }

    /// Throws when a weight holds no values: what computes with the weights (the reference
    /// executor, training, compression, export) needs the graph a model was compiled from.
    public func requireWeightValues() throws(GraphValidationError) {
        guard let name = weights.keys.sorted().first(where: { !weights[$0]!.holdsValues }) else { return }
        throw GraphValidationError(problems: [GraphProblem(node: nil, "weight '\(name)' is stored as a shape only (a compiled model keeps its weights in the kernels' layouts): use the graph file it was compiled from")])
    }

    /// Bytes of the weights as float32, counted from their shapes (held or not).
    public var weightBytes: Int { weights.values.reduce(0) { $0 + $1.shape.elementCount } * MemoryLayout<Float>.size }
}
