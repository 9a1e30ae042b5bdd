/// One operation of a graph. `inputs` and `outputs` name tensors: activations produced by graph
/// inputs or earlier nodes, and weights held in `Graph.weights`.
public struct Node: Hashable, Sendable {
    public var name: String
    public var op: Op
    public var inputs: [String]
    public var outputs: [String]
    /// Free-form record of where the node came from, e.g. "tucker2 of conv3, ranks 24/24".
    public var provenance: String?

    public init(name: String, op: Op, inputs: [String], outputs: [String], provenance: String? = nil) {
        self.name = name; self.op = op; self.inputs = inputs; self.outputs = outputs; self.provenance = provenance
    }

    /// The activation inputs (those not naming weights).
    public var activationInputs: ArraySlice<String> {
        inputs.prefix(op.activationInputCount ?? inputs.count)
    }

    /// The weight inputs, in the order the op's table gives.
    public var weightInputs: ArraySlice<String> {
        inputs.dropFirst(op.activationInputCount ?? inputs.count)
    }
}
