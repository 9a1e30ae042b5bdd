import RankEdge

/// One op type RankEdge cannot import, with every node that uses it.
public struct UnsupportedONNXOp: Sendable, Equatable, CustomStringConvertible {
    public var opType: String
    public var nodes: [String]
    public init(opType: String, nodes: [String]) { self.opType = opType; self.nodes = nodes }
    /// The op once, with how many nodes use it and the first of them: a model with hundreds of
    /// such nodes still gets a line a user can read.
    public var description: String {
        nodes.count == 1 ? "\(opType) (node '\(nodes[0])')" : "\(opType) ×\(nodes.count) (first node '\(nodes.first ?? "")')"
    }
}

/// Why an ONNX model could not be imported. Each case names the node, tensor or attribute concerned,
/// and its description is one line a user can act on.
public enum ONNXImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes do not decode as an ONNX ModelProto (truncated, not ONNX, corrupted).
    case malformedProtobuf(reason: String)
    /// The model is well-formed protobuf but not a model RankEdge can read (no graph, no inputs, …).
    case invalidModel(reason: String)
    /// The model's default-domain opset is outside the supported range.
    case unsupportedOpset(version: Int64, supported: ClosedRange<Int64>)
    /// Every op type the importer does not handle, listed in one error so a user sees them all at once.
    case unsupportedOps([UnsupportedONNXOp])
    /// A node needs a constant (weights, bias, a shape) that no initializer or Constant node provides.
    case missingInitializer(node: String, tensor: String)
    /// A node reads an activation no earlier node or graph input produces.
    case undefinedInput(node: String, tensor: String)
    /// A graph input dimension other than the batch is symbolic or unknown.
    case dynamicShape(input: String, axis: Int, dimension: String)
    /// An attribute (or constant operand acting as one) has a value RankEdge does not implement.
    case unsupportedAttribute(node: String, opType: String, attribute: String, value: String)
    /// A supported op used in a way RankEdge cannot represent (e.g. an Add with a constant that is not a bias).
    case unsupportedUse(node: String, opType: String, reason: String)
    /// A tensor whose data cannot be read: wrong element type, size mismatch, external data.
    case invalidTensor(tensor: String, reason: String)
    /// The converted graph failed RankEdge's validation (shape mismatch and the like).
    case invalidGraph(String)
    /// Running the model would need more memory than the bound (`ONNXImporter.maxMemoryBytes`,
    /// `--max-memory`): a graph input or activation declared with huge dimensions. `estimateBytes`
    /// is nil past Int.max.
    case memoryBoundExceeded(what: String, estimateBytes: Int?, boundBytes: Int)

    public var description: String {
        switch self {
        case .malformedProtobuf(let reason):
            "not a valid ONNX model (protobuf decoding failed: \(reason))"
        case .invalidModel(let reason):
            "invalid ONNX model: \(reason)"
        case .unsupportedOpset(let v, let r):
            "ONNX opset \(v) is not supported (supported: \(r.lowerBound)–\(r.upperBound))"
        case .unsupportedOps(let ops):
            "unsupported ONNX op\(ops.count == 1 ? "" : "s"): " + ops.map(\.description).joined(separator: ", ")
        case .missingInitializer(let node, let tensor):
            "node '\(node)': constant input '\(tensor)' has no initializer or Constant node"
        case .undefinedInput(let node, let tensor):
            "node '\(node)': input '\(tensor)' is not produced by any earlier node or graph input"
        case .dynamicShape(let input, let axis, let dim):
            "graph input '\(input)': dimension \(axis) is \(dim); give it with `--input-shape \(input)=N,C,H,W` (only the batch dimension may be left dynamic)"
        case .unsupportedAttribute(let node, let op, let attribute, let value):
            "node '\(node)' (\(op)): unsupported \(attribute) \(value)"
        case .unsupportedUse(let node, let op, let reason):
            "node '\(node)' (\(op)): \(reason)"
        case .invalidTensor(let tensor, let reason):
            "tensor '\(tensor)': \(reason)"
        case .invalidGraph(let message):
            "imported graph is invalid: \(message)"
        case .memoryBoundExceeded(let what, let estimate, let bound):
            "\(what) needs \(MemoryBound.describe(estimate)) to run, above the memory bound of \(MemoryBound.describe(bound))"
                + " (raise it with --max-memory MB, or maxMemoryBytes in the API)"
        }
    }
}
