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
        if contents.extraMetadata[graphMetadataKey] != nil { throw .reservedName(graphMetadataKey) }
        let graph = contents.graph
        if graph.weights[SafetensorsContainer.metadataKey] != nil { throw .reservedName(SafetensorsContainer.metadataKey) }
        try check(graph)
        var metadata = contents.extraMetadata
        metadata[graphMetadataKey] = try GraphJSON.encode(graph)
        return try SafetensorsContainer(metadata: metadata, tensors: graph.weights).encode()
    }

    public static func decode(_ bytes: [UInt8]) throws(RKGFormatError) -> Graph {
        try decodeContents(bytes).graph
    }

    public static func decodeContents(_ bytes: [UInt8]) throws(RKGFormatError) -> Contents {
        let container = try SafetensorsContainer.decode(bytes)
        guard let text = container.metadata[graphMetadataKey] else { throw .missingGraphMetadata }
        var graph = try GraphJSON.decode(text)
        graph.weights = container.tensors
        try check(graph)
        var extra = container.metadata
        extra[graphMetadataKey] = nil
        return Contents(graph: graph, extraMetadata: extra)
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

    public static func readContents(path: String) throws(RKGFormatError) -> Contents {
        let bytes = try FileIO.readAll(path: path)
        do { return try decodeContents(bytes) } catch {
            if let advice = FileKind.of(bytes, path: path).advice { throw .inFile(path: path, error: .notRKG(advice: advice)) }
            throw .inFile(path: path, error: error)
        }
    }

    public static func write(_ graph: Graph, to path: String) throws(RKGFormatError) {
        try write(Contents(graph: graph), to: path)
    }

    /// Validates and encodes in memory, then writes a temporary file in the same directory and
    /// renames it over `path`: on any failure `path` keeps its old contents (or stays absent).
    public static func write(_ contents: Contents, to path: String) throws(RKGFormatError) {
        let bytes: [UInt8]
        do { bytes = try encode(contents) } catch { throw .inFile(path: path, error: error) }
        try FileIO.writeAtomically(bytes, to: path)
    }
}
