/// The .rkg graph file: a safetensors file whose tensors are the graph's weights and whose
/// `__metadata__["rankedge.graph"]` holds the graph as JSON. The full spec is docs/FORMAT.md.
///
/// Reading validates everything (container layout, dtypes, sizes, offsets, the graph JSON, and
/// every graph reference against the tensor table) and throws `RKGFormatError`; no byte sequence
/// traps. Writing validates the graph first and replaces the destination atomically.
public enum RKGFile {
    /// The graph JSON version this code writes and the only one it reads.
    public static let formatVersion = 1
    /// The `__metadata__` key holding the graph JSON.
    public static let graphMetadataKey = "rankedge.graph"
    /// Reserved for the compiled form (target ISA, plan); see docs/FORMAT.md.
    public static let compiledMetadataKey = "rankedge.compiled"
    /// The `__metadata__` key listing the weights stored as shapes only (JSON `{name: shape}`): a
    /// compiled file's natural-layout weights, whose values live only in its prepared tensors.
    /// They read back as `Tensor(shapeOnly:)`.
    public static let shapeOnlyWeightsKey = "rankedge.shape_only_weights"
    /// Declared header lengths above this are rejected as corrupt.
    public static let headerLengthLimit = SafetensorsContainer.headerLengthLimit

    /// A whole file: the graph plus every other `__metadata__` entry, kept as read so a tool that
    /// passes a file through (or a later format extension such as "rankedge.compiled") loses
    /// nothing. Functions taking a bare `Graph` write no extra entries on purpose: a tool that
    /// changes the graph must not carry over entries (a compiled plan, say) that describe the old one.
    public struct Contents: Equatable, Sendable {
        public var graph: Graph
        /// `__metadata__` entries other than "rankedge.graph", verbatim.
        public var extraMetadata: [String: String]
        public init(graph: Graph, extraMetadata: [String: String] = [:]) {
            self.graph = graph; self.extraMetadata = extraMetadata
        }
    }

    // MARK: Bytes

    public static func encode(_ graph: Graph) throws(RKGFormatError) -> [UInt8] {
        try encode(Contents(graph: graph))
    }

    /// Validates the graph, then lays it out; the same contents always give the same bytes.
    public static func encode(_ contents: Contents) throws(RKGFormatError) -> [UInt8] {
        try encode(contents, adding: [:])
    }

    /// `encode` with `extra` tensors stored beside the graph's weights (a compiled file's prepared
    /// weights, read in place).
    static func encode(_ contents: Contents, adding extra: [String: TensorValues]) throws(RKGFormatError) -> [UInt8] {
        let (metadata, tensors) = try layout(contents, adding: extra)
        var out: [UInt8] = []
        try SafetensorsContainer.write(metadata: metadata, tensors: tensors) { (bytes: UnsafeRawBufferPointer) in out.append(contentsOf: bytes) }
        return out
    }

    /// The container's metadata and tensors for `contents`: the graph as JSON, its weights with
    /// values, the shape-only ones listed under `shapeOnlyWeightsKey`.
    private static func layout(_ contents: Contents, adding extra: [String: TensorValues]) throws(RKGFormatError)
        -> (metadata: [String: String], tensors: [String: TensorValues]) {
        for key in [graphMetadataKey, shapeOnlyWeightsKey] where contents.extraMetadata[key] != nil { throw .reservedName(key) }
        let graph = contents.graph
        if graph.weights[SafetensorsContainer.metadataKey] != nil { throw .reservedName(SafetensorsContainer.metadataKey) }
        if let clash = extra.keys.first(where: { graph.weights[$0] != nil }) { throw .reservedName(clash) }
        try check(graph)
        var metadata = contents.extraMetadata
        metadata[graphMetadataKey] = try GraphJSON.encode(graph)
        let shapeOnly = graph.weights.keys.filter { !graph.weights[$0]!.holdsValues }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if !shapeOnly.isEmpty {
            metadata[shapeOnlyWeightsKey] = JSONValue.object(JSONObject(shapeOnly.map { ($0, .ints(graph.weights[$0]!.shape.dims)) })).serialized
        }
        var tensors = extra
        for (name, t) in graph.weights where t.holdsValues { tensors[name] = TensorValues(t) }
        return (metadata, tensors)
    }

    public static func decode(_ bytes: [UInt8]) throws(RKGFormatError) -> Graph {
        try decodeContents(bytes).graph
    }

    public static func decodeContents(_ bytes: [UInt8]) throws(RKGFormatError) -> Contents {
        try contents(of: SafetensorsContainer.decode(bytes))
    }

    private static func contents(of container: SafetensorsContainer) throws(RKGFormatError) -> Contents {
        guard let text = container.metadata[graphMetadataKey] else { throw .missingGraphMetadata }
        var graph = try GraphJSON.decode(text)
        graph.weights = container.tensors
        if let listed = container.metadata[shapeOnlyWeightsKey] {
            for (name, shape) in try shapeOnlyWeights(listed) {
                guard graph.weights[name] == nil else { throw .badMetadata(reason: "\(shapeOnlyWeightsKey): '\(name)' is also a stored tensor") }
                graph.weights[name] = Tensor(shapeOnly: TensorShape(shape))
            }
        }
        try check(graph)
        var extra = container.metadata
        extra[graphMetadataKey] = nil
        extra[shapeOnlyWeightsKey] = nil
        return Contents(graph: graph, extraMetadata: extra)
    }

    /// The `shapeOnlyWeightsKey` entry: names with shapes whose float32 size does not overflow.
    private static func shapeOnlyWeights(_ text: String) throws(RKGFormatError) -> [(String, [Int])] {
        func bad(_ reason: String) -> RKGFormatError { .badMetadata(reason: "\(shapeOnlyWeightsKey): \(reason)") }
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw bad("not JSON (\(error))") }
        guard let object = value.objectValue else { throw bad("must be an object, found \(value.typeName)") }
        var out: [(String, [Int])] = []
        for (name, v) in object.entries {
            guard let dims = v.intArrayValue, dims.allSatisfy({ $0 >= 0 }), SafetensorsContainer.float32ByteCount(dims) != nil else {
                throw bad("'\(name)' has no valid shape")
            }
            out.append((name, dims))
        }
        return out
    }

    /// Graph validation, as a format error carrying every problem.
    private static func check(_ graph: Graph) throws(RKGFormatError) {
        do {
            try graph.validate()
        } catch {
            throw .invalidGraph(problems: error.problems)
        }
    }

    // MARK: Files

    public static func read(path: String) throws(RKGFormatError) -> Graph {
        try readContents(path: path).graph
    }

    /// Reads the file tensor by tensor (`FileIO.readContainer`): its bytes are never all in memory.
    public static func readContents(path: String) throws(RKGFormatError) -> Contents {
        do { return try contents(of: FileIO.readContainer(path: path)) } catch {
            switch error {
            case .fileNotFound, .cannotRead: throw error
            default: break
            }
            // Not an .rkg: say what the file is when its first bytes tell (an ONNX model, an image).
            if let bytes = try? FileIO.readAll(path: path), let advice = FileKind.of(bytes, path: path).advice {
                throw .inFile(path: path, error: .notRKG(advice: advice))
            }
            throw .inFile(path: path, error: error)
        }
    }

    public static func write(_ graph: Graph, to path: String) throws(RKGFormatError) {
        try write(Contents(graph: graph), to: path)
    }

    /// Validates, then writes a temporary file in the same directory piece by piece (the file's
    /// bytes are never all in memory) and renames it over `path`: on any failure `path` keeps its
    /// old contents (or stays absent).
    public static func write(_ contents: Contents, to path: String) throws(RKGFormatError) {
        try write(contents, adding: [:], to: path)
    }

    /// `write` with `extra` tensors beside the graph's weights (`encode(_:adding:)`).
    static func write(_ contents: Contents, adding extra: [String: TensorValues], to path: String) throws(RKGFormatError) {
        let (metadata, tensors): ([String: String], [String: TensorValues])
        do { (metadata, tensors) = try layout(contents, adding: extra) } catch { throw .inFile(path: path, error: error) }
        try FileIO.writeAtomically(to: path) { (emit: (UnsafeRawBufferPointer) throws(RKGFormatError) -> Void) throws(RKGFormatError) in
            try SafetensorsContainer.write(metadata: metadata, tensors: tensors, emit: emit)
        }
    }
}
