/// Why a .rkg file could not be read or written. One case per failure, so callers and tests can
/// tell them apart; every message names the tensor, node, key or file it concerns.
///
/// `RKGFile.read` and `RKGFile.write` wrap failures about a file's contents in `inFile`, so the
/// message names the file; `underlying` strips that wrapper for matching.
public enum RKGFormatError: Error, CustomStringConvertible, Equatable, Sendable {
    // Files.
    case fileNotFound(path: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    indirect case inFile(path: String, error: RKGFormatError)

    /// The file is something else (`FileKind`): an ONNX model, an image, an archive.
    case notRKG(advice: String)

    // The safetensors container.
    /// Fewer than the 8 bytes of the header length.
    case fileTooShort(size: Int)
    /// The declared header length is beyond `RKGFile.headerLengthLimit`.
    case headerTooLarge(length: UInt64, limit: Int)
    /// The declared header length runs past the end of the file.
    case headerLengthExceedsFile(length: UInt64, available: Int)
    case headerNotUTF8
    case headerNotJSON(reason: String)
    case headerNotObject(found: String)
    /// A tensor entry lacks a field, has one of the wrong type, or has an unknown one.
    case badTensorEntry(tensor: String, reason: String)
    /// `__metadata__` is not an object of strings.
    case badMetadata(reason: String)
    /// A dtype safetensors does not define.
    case unknownDtype(tensor: String, dtype: String)
    /// A safetensors dtype RankEdge does not hold (graphs are float32).
    case unsupportedDtype(tensor: String, dtype: String)
    /// The product of the shape's dimensions does not fit a 64-bit integer.
    case shapeOverflow(tensor: String, shape: [Int])
    /// `data_offsets` with begin after end.
    case invalidOffsets(tensor: String, begin: Int, end: Int)
    /// `data_offsets` ending past the byte buffer.
    case offsetsOutOfRange(tensor: String, end: Int, bufferLength: Int)
    /// The byte range does not hold shape × dtype size bytes.
    case tensorSizeMismatch(tensor: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    case overlappingTensors(first: String, second: String)
    /// Bytes of the buffer no tensor covers, between two tensors (or before the first).
    case bufferGap(after: String?, before: String, begin: Int, end: Int)
    /// Bytes after the last tensor.
    case trailingBytes(after: String?, count: Int)

    // The graph under __metadata__["rankedge.graph"].
    case missingGraphMetadata
    case graphNotJSON(reason: String)
    case unsupportedFormatVersion(found: Int, supported: Int)
    /// A field of the graph JSON is missing, of the wrong type or unknown; `node` is nil for the
    /// graph's own fields.
    case badGraphField(node: String?, field: String, reason: String)
    case unknownOpKind(node: String, kind: String)
    case missingAttribute(node: String, op: String, attribute: String)
    case unknownAttribute(node: String, op: String, attribute: String)
    /// The graph does not check out against itself and the tensor table (dangling names, shapes
    /// that disagree with an op, cycles or nodes out of order): every problem, with node names.
    case invalidGraph(problems: [GraphProblem])

    // Writing.
    /// A tensor called `__metadata__`, or an extra metadata key RankEdge itself writes.
    case reservedName(String)

    /// The error without the `inFile` wrapper.
    public var underlying: RKGFormatError {
        if case .inFile(_, let e) = self { return e.underlying }
        return self
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path): "'\(path)': no such file"
        case .cannotRead(let path, let reason): "cannot read '\(path)': \(reason)"
        case .cannotWrite(let path, let reason): "cannot write '\(path)': \(reason)"
        case .inFile(let path, let e): "'\(path)': \(e)"
        case .notRKG(let advice): "not a .rkg model; \(advice)"
        case .fileTooShort(let size):
            "file is \(size) bytes, too short for the 8-byte header length"
        case .headerTooLarge(let length, let limit):
            "header length \(length) is beyond the limit of \(limit) bytes"
        case .headerLengthExceedsFile(let length, let available):
            "header length \(length) is larger than the \(available) bytes after the length field (truncated file?)"
        case .headerNotUTF8: "header is not valid UTF-8"
        case .headerNotJSON(let reason): "header is not valid JSON: \(reason)"
        case .headerNotObject(let found): "header must be a JSON object, found \(found)"
        case .badTensorEntry(let t, let reason): "tensor '\(t)': \(reason)"
        case .badMetadata(let reason): "__metadata__: \(reason)"
        case .unknownDtype(let t, let d): "tensor '\(t)': unknown dtype '\(d)'"
        case .unsupportedDtype(let t, let d): "tensor '\(t)': dtype \(d) is not supported (RankEdge graphs hold F32 tensors)"
        case .shapeOverflow(let t, let shape): "tensor '\(t)': shape \(TensorShape(shape)) has too many elements"
        case .invalidOffsets(let t, let b, let e): "tensor '\(t)': data_offsets [\(b), \(e)] begin after they end"
        case .offsetsOutOfRange(let t, let e, let n):
            "tensor '\(t)': data_offsets end at \(e), past the \(n)-byte buffer"
        case .tensorSizeMismatch(let t, let shape, let expected, let actual):
            "tensor '\(t)': shape \(TensorShape(shape)) of F32 needs \(expected) bytes, data_offsets give \(actual)"
        case .overlappingTensors(let a, let b): "tensors '\(a)' and '\(b)' overlap in the buffer"
        case .bufferGap(let after, let before, let b, let e):
            "buffer bytes \(b)..<\(e) " + (after.map { "between tensors '\($0)' and '\(before)'" } ?? "before tensor '\(before)'")
                + " belong to no tensor"
        case .trailingBytes(let after, let count):
            "\(count) trailing buffer bytes " + (after.map { "after tensor '\($0)'" } ?? "in a file with no tensors") + " belong to no tensor"
        case .missingGraphMetadata: "__metadata__ has no \"\(RKGFile.graphMetadataKey)\" entry (not a RankEdge graph)"
        case .graphNotJSON(let reason): "\(RKGFile.graphMetadataKey) is not valid JSON: \(reason)"
        case .unsupportedFormatVersion(let found, let supported):
            "format_version \(found) is not supported (this reader reads version \(supported))"
        case .badGraphField(let node, let field, let reason):
            (node.map { "node '\($0)': " } ?? "graph: ") + "field '\(field)' \(reason)"
        case .unknownOpKind(let node, let kind): "node '\(node)': unknown op '\(kind)'"
        case .missingAttribute(let node, let op, let a): "node '\(node)': \(op) needs attribute '\(a)'"
        case .unknownAttribute(let node, let op, let a): "node '\(node)': \(op) has no attribute '\(a)'"
        case .invalidGraph(let problems): GraphValidationError(problems: problems).description
        case .reservedName(let name): "'\(name)' is reserved by the .rkg format"
        }
    }
}
