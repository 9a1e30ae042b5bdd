/// A safetensors file in memory: string metadata and named float32 tensors. This layer knows
/// nothing of graphs; it checks the container's own rules (docs/FORMAT.md, "Validation").
struct SafetensorsContainer: Equatable, Sendable {
    var metadata: [String: String]
    var tensors: [String: Tensor]

    /// The same bound the reference safetensors implementation uses: a larger header is corrupt.
    static let headerLengthLimit = 100_000_000
    static let metadataKey = "__metadata__"
    /// The buffer starts at a multiple of this (the header is padded with spaces to get there).
    static let alignment = 8

    /// One tensor's header entry, checked on its own.
    struct Entry {
        var name: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    static func decode(_ bytes: [UInt8]) throws(RKGFormatError) -> SafetensorsContainer {
        let headerEnd = try headerEnd(prefix: bytes, fileSize: bytes.count)
        let (metadata, entries) = try parseHeader(Array(bytes[8..<headerEnd]), bufferLength: bytes.count - headerEnd)
        var tensors: [String: Tensor] = [:]
        for e in entries {
            let count = (e.end - e.begin) / SafetensorsDType.float32Size
            tensors[e.name] = Tensor(shape: e.shape, data: bytes.withUnsafeBytes {
                floats(UnsafeRawBufferPointer(rebasing: $0[(headerEnd + e.begin)...]), count: count)
            })
        }
        return SafetensorsContainer(metadata: metadata, tensors: tensors)
    }

    /// Where the header ends (8 + its declared length), from the file's first bytes (at least 8,
    /// else `fileTooShort`) and its size.
    static func headerEnd(prefix bytes: [UInt8], fileSize: Int) throws(RKGFormatError) -> Int {
        guard bytes.count >= 8, fileSize >= 8 else { throw .fileTooShort(size: min(bytes.count, fileSize)) }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(headerLengthLimit) else { throw .headerTooLarge(length: length, limit: headerLengthLimit) }
        let available = fileSize - 8
        guard length <= UInt64(available) else { throw .headerLengthExceedsFile(length: length, available: available) }
        return 8 + Int(length)
    }

    /// The header's metadata and tensor entries, each checked, and every buffer byte covered once.
    static func parseHeader(_ headerBytes: [UInt8], bufferLength: Int) throws(RKGFormatError) -> ([String: String], [Entry]) {
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw .headerNotUTF8 }
        let root: JSONValue
        do { root = try JSONParser.parse(headerBytes) } catch { throw .headerNotJSON(reason: error.description) }
        guard let header = root.objectValue else { throw .headerNotObject(found: root.typeName) }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (key, value) in header.entries {
            if key == metadataKey {
                metadata = try parseMetadata(value)
            } else {
                entries.append(try parseEntry(name: key, value, bufferLength: bufferLength))
            }
        }
        try checkCoverage(entries, bufferLength: bufferLength)
        return (metadata, entries)
    }

    private static func parseMetadata(_ value: JSONValue) throws(RKGFormatError) -> [String: String] {
        guard let object = value.objectValue else { throw .badMetadata(reason: "must be an object, found \(value.typeName)") }
        var out: [String: String] = [:]
        for (key, v) in object.entries {
            guard let s = v.stringValue else { throw .badMetadata(reason: "value of \"\(key)\" must be a string, found \(v.typeName)") }
            out[key] = s
        }
        return out
    }

    private static func parseEntry(name: String, _ value: JSONValue, bufferLength: Int) throws(RKGFormatError) -> Entry {
        func bad(_ reason: String) -> RKGFormatError { .badTensorEntry(tensor: name, reason: reason) }
        guard let o = value.objectValue else { throw bad("entry must be an object, found \(value.typeName)") }
        for key in o.keys where key != "dtype" && key != "shape" && key != "data_offsets" {
            throw bad("unknown field '\(key)'")
        }
        guard let dtypeValue = o["dtype"] else { throw bad("missing field 'dtype'") }
        guard let dtype = dtypeValue.stringValue else { throw bad("field 'dtype' must be a string, found \(dtypeValue.typeName)") }
        guard let shape = o["shape"]?.intArrayValue, shape.allSatisfy({ $0 >= 0 }) else {
            throw bad(o["shape"] == nil ? "missing field 'shape'" : "field 'shape' must be an array of non-negative integers")
        }
        guard let offsets = o["data_offsets"]?.intArrayValue, offsets.count == 2, offsets.allSatisfy({ $0 >= 0 }) else {
            throw bad(o["data_offsets"] == nil ? "missing field 'data_offsets'"
                                               : "field 'data_offsets' must be two non-negative integers [begin, end]")
        }
        guard SafetensorsDType.known.contains(dtype) else { throw .unknownDtype(tensor: name, dtype: dtype) }
        guard dtype == SafetensorsDType.float32 else { throw .unsupportedDtype(tensor: name, dtype: dtype) }
        guard let byteCount = float32ByteCount(shape) else { throw .shapeOverflow(tensor: name, shape: shape) }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw .invalidOffsets(tensor: name, begin: begin, end: end) }
        guard end <= bufferLength else { throw .offsetsOutOfRange(tensor: name, end: end, bufferLength: bufferLength) }
        guard byteCount == end - begin else {
            throw .tensorSizeMismatch(tensor: name, shape: shape, expectedBytes: byteCount, actualBytes: end - begin)
        }
        return Entry(name: name, shape: shape, begin: begin, end: end)
    }

    /// Bytes of an F32 tensor of this shape; nil when the product of the dimensions (each counted
    /// as at least 1, so a zero cannot hide a huge neighbour from later arithmetic) overflows.
    static func float32ByteCount(_ shape: [Int]) -> Int? {
        var bound = SafetensorsDType.float32Size
        var bytes = SafetensorsDType.float32Size
        for d in shape {
            guard d >= 0 else { return nil }
            let (b, overflow) = bound.multipliedReportingOverflow(by: max(d, 1))
            if overflow { return nil }
            bound = b
            bytes *= d  // cannot overflow: bytes ≤ bound
        }
        return bytes
    }

    /// Every buffer byte belongs to exactly one tensor: sorted by offset, each tensor starts where
    /// the previous one ended, and the last ends at the end of the file.
    private static func checkCoverage(_ entries: [Entry], bufferLength: Int) throws(RKGFormatError) {
        let sorted = entries.sorted { a, b in
            if a.begin != b.begin { return a.begin < b.begin }
            if a.end != b.end { return a.end < b.end }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var cursor = 0
        var previous: String?
        for e in sorted {
            if e.begin < cursor { throw .overlappingTensors(first: previous ?? "", second: e.name) }
            if e.begin > cursor { throw .bufferGap(after: previous, before: e.name, begin: cursor, end: e.begin) }
            cursor = e.end
            previous = e.name
        }
        if cursor < bufferLength { throw .trailingBytes(after: previous, count: bufferLength - cursor) }
    }

    /// `count` little-endian float32 values from the start of `bytes`, whatever the host's order.
    static func floats(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            convert(bytes, into: out.baseAddress!, count: count)
            initialized = count
        }
    }

    static func convert(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let p = 4 * i
            let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
            out[i] = Float(bitPattern: bits)
        }
    }

    /// Deterministic bytes: `__metadata__` first with sorted keys, then tensors sorted by the UTF-8
    /// bytes of their names, laid out in that order; the header is padded with spaces so the
    /// buffer starts on an 8-byte boundary.
    func encode() throws(RKGFormatError) -> [UInt8] {
        var out: [UInt8] = []
        try Self.write(metadata: metadata, tensors: tensors.mapValues(TensorValues.init)) { (bytes: UnsafeRawBufferPointer) in
            out.append(contentsOf: bytes)
        }
        return out
    }

    /// `encode`'s bytes handed to `emit` in pieces (the header, then at most `chunkBytes` of values
    /// at a time), so a file is written without holding its bytes.
    static func write(metadata: [String: String], tensors: [String: TensorValues],
                      emit: (UnsafeRawBufferPointer) throws(RKGFormatError) -> Void) throws(RKGFormatError) {
        if tensors[metadataKey] != nil { throw .reservedName(metadataKey) }
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var header = JSONObject()
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            _ = header.insert(metadataKey, .object(JSONObject(keys.map { ($0, .string(metadata[$0]!)) })))
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            guard let byteCount = float32ByteCount(t.shape) else { throw .shapeOverflow(tensor: name, shape: t.shape) }
            guard byteCount == t.count * SafetensorsDType.float32Size else {
                throw .tensorSizeMismatch(tensor: name, shape: t.shape, expectedBytes: byteCount,
                                          actualBytes: t.count * SafetensorsDType.float32Size)
            }
            _ = header.insert(name, .object(JSONObject([
                ("dtype", .string(SafetensorsDType.float32)),
                ("shape", .ints(t.shape)),
                ("data_offsets", .ints([offset, offset + byteCount])),
            ])))
            offset += byteCount
        }
        var headerBytes = Array(JSONValue.object(header).serialized.utf8)
        while (8 + headerBytes.count) % alignment != 0 { headerBytes.append(UInt8(ascii: " ")) }
        guard headerBytes.count <= headerLengthLimit else {
            throw .headerTooLarge(length: UInt64(headerBytes.count), limit: headerLengthLimit)
        }
        let length = UInt64(headerBytes.count)
        var prefix = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
        prefix.append(contentsOf: headerBytes)
        // The standard library's pointer closures rethrow untyped errors: the first failure is
        // kept here and thrown after the closure returns.
        var failure: RKGFormatError?
        prefix.withUnsafeBytes { b in
            do throws(RKGFormatError) { try emit(b) } catch { failure = error }
        }
        if let failure { throw failure }

        // Little-endian bytes whatever the host's order, through one staging buffer.
        var staging = [UInt8](repeating: 0, count: chunkBytes)
        for name in names {
            tensors[name]!.withBuffer { values in
                var first = 0
                while first < values.count && failure == nil {
                    let n = min(values.count - first, chunkBytes / 4)
                    for i in 0..<n {
                        let bits = values[first + i].bitPattern
                        staging[4 * i] = UInt8(truncatingIfNeeded: bits)
                        staging[4 * i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                        staging[4 * i + 2] = UInt8(truncatingIfNeeded: bits >> 16)
                        staging[4 * i + 3] = UInt8(truncatingIfNeeded: bits >> 24)
                    }
                    staging.withUnsafeBytes { b in
                        do throws(RKGFormatError) { try emit(UnsafeRawBufferPointer(rebasing: b[0..<(4 * n)])) } catch { failure = error }
                    }
                    first += n
                }
            }
            if let failure { throw failure }
        }
    }

    static let chunkBytes = 1 << 20
}

/// One tensor's values for writing, read in place: a graph tensor's array, or a buffer the caller
/// keeps alive until the write returns (a compiled step's prepared weights).
struct TensorValues {
    enum Source {
        case array([Float])
        case borrowed(UnsafeBufferPointer<Float>)
    }
    let shape: [Int]
    let source: Source

    init(_ tensor: Tensor) { shape = tensor.shape.dims; source = .array(tensor.data) }

    init(shape: [Int], borrowing buffer: UnsafeBufferPointer<Float>) { self.shape = shape; source = .borrowed(buffer) }

    var count: Int {
        switch source {
        case .array(let a): a.count
        case .borrowed(let b): b.count
        }
    }

    func withBuffer<R>(_ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        switch source {
        case .array(let a): a.withUnsafeBufferPointer(body)
        case .borrowed(let b): body(b)
        }
    }
}
