/// Why a graph could not be run on the tensors given. Every case names the tensor or node at fault.
public enum ExecutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A graph input was not supplied.
    case missingInput(name: String, expected: TensorShape)
    /// A tensor was supplied under a name that is not a graph input.
    case unexpectedInput(name: String, graphInputs: [String])
    /// An input's shape disagrees with the graph's (any batch ≥ 1 is accepted; the rest must match).
    case inputShapeMismatch(name: String, expected: TensorShape, actual: TensorShape)
    /// An input's element count disagrees with its own shape.
    case inputDataMismatch(name: String, shape: TensorShape, count: Int)
    /// Two inputs were given different batch sizes.
    case batchMismatch(name: String, batch: Int, otherInput: String, otherBatch: Int)
    /// The single-tensor convenience was used on a graph with several inputs or outputs.
    case notSingleInputOutput(inputs: Int, outputs: Int)
    /// An op was given operands it cannot take; `node` is set when it ran inside a graph.
    case invalidOperands(op: String, node: String?, message: String)
    /// The fast runtime has no kernel for this node's op or attributes.
    case unsupported(node: String, message: String)
    /// A kernel refused its arguments at run time (a runtime bug, reported rather than trapped).
    case kernelFailed(node: String, message: String)
    /// What `what` needs (estimated before allocating; nil: past Int.max) is above the memory bound
    /// (`InferenceSession.Options.maxMemoryBytes`, `CompileOptions.maxMemoryBytes`, `--max-memory`).
    case memoryBoundExceeded(what: String, estimateBytes: Int?, boundBytes: Int)
    /// The system refused memory the bound allowed (a bound above what the machine can give).
    case allocationRefused(what: String)

    public var description: String {
        switch self {
        case .missingInput(let name, let expected):
            return "missing input '\(name)' (expected shape \(Self.anyBatch(expected)))"
        case .unexpectedInput(let name, let graphInputs):
            return "'\(name)' is not an input of the graph (inputs: \(graphInputs.map { "'\($0)'" }.joined(separator: ", ")))"
        case .inputShapeMismatch(let name, let expected, let actual):
            return "input '\(name)' has shape \(actual), expected \(Self.anyBatch(expected)) with any batch N ≥ 1"
        case .inputDataMismatch(let name, let shape, let count):
            return "input '\(name)' has \(count) values for shape \(shape)"
        case .batchMismatch(let name, let batch, let other, let otherBatch):
            return "input '\(name)' has batch \(batch) but input '\(other)' has batch \(otherBatch)"
        case .notSingleInputOutput(let inputs, let outputs):
            return "graph has \(inputs) input(s) and \(outputs) output(s); pass inputs by name"
        case .invalidOperands(let op, let node, let message):
            return (node.map { "node '\($0)' (\(op))" } ?? op) + ": " + message
        case .unsupported(let node, let message):
            return "node '\(node)': not supported by the fast runtime: \(message)"
        case .kernelFailed(let node, let message):
            return "node '\(node)': kernel failed: \(message)"
        case .memoryBoundExceeded(let what, let estimate, let bound):
            return "\(what) needs \(MemoryBound.describe(estimate)), above the memory bound of \(MemoryBound.describe(bound))"
                + " (raise it with --max-memory MB, or maxMemoryBytes in the API)"
        case .allocationRefused(let what):
            return "\(what): the system refused the memory (lower --max-memory MB, or maxMemoryBytes in the API, to fail before asking)"
        }
    }

    /// A graph input shape with its batch written as N, since any batch runs.
    static func anyBatch(_ shape: TensorShape) -> String {
        guard shape.rank > 0 else { return shape.description }
        return "[" + (["N"] + shape.dims.dropFirst().map(String.init)).joined(separator: ", ") + "]"
    }
}
