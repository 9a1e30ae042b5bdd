/// Why a RankEdge graph could not be exported to ONNX.
public enum ONNXExportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The graph failed validation, so its shapes are unknown.
    case invalidGraph(String)
    /// A node or input the exporter cannot express in ONNX.
    case unsupported(node: String, reason: String)

    public var description: String {
        switch self {
        case .invalidGraph(let message): "cannot export an invalid graph: \(message)"
        case .unsupported(let node, let reason): "cannot export node '\(node)': \(reason)"
        }
    }
}
