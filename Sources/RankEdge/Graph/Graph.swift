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
}
