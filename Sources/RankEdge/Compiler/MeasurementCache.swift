import Synchronization

/// The compiler's layer timings, kept between processes so that running a graph file (rather than
/// a compiled one) does not re-time every Winograd and rank-form candidate on every call. A timing
/// depends on the layer's op, attributes and shapes, the ISA and the thread count, not on its weight
/// values, so one entry serves every model with a layer of that shape. The file belongs to one CPU:
/// the command-line tool keeps one per CPU model, and a file written for another CPU is ignored.
///
/// Entries are read at `load` and written back by `save` (atomically); a damaged file counts as an
/// empty one, since the cache is only ever a shortcut past a measurement.
public final class MeasurementCache: @unchecked Sendable {
    /// Who measured: the CPU model string the file is valid for.
    public let cpu: String
    public let path: String?
    /// Time everything again and overwrite what is stored (`--remeasure`, and `compile`, which is
    /// the step that measures for this CPU on purpose).
    public var refresh = false
    private let state = Mutex<(entries: [String: [Double]], order: [String], dirty: Bool)>(([:], [], false))

    /// Format version: bump when a key's meaning or the timer's method changes.
    static let version = 1

    /// An empty cache for `cpu`, saved to `path` (nil: memory only).
    public init(cpu: String, path: String? = nil) {
        self.cpu = cpu; self.path = path
    }

    /// The cache stored at `path` for `cpu`; empty when the file is missing, damaged, of another
    /// version or written on another CPU.
    public static func load(path: String, cpu: String) -> MeasurementCache {
        let cache = MeasurementCache(cpu: cpu, path: path)
        guard let bytes = try? FileIO.readAll(path: path), let json = try? JSONParser.parse(bytes),
              let root = json.objectValue, root["version"]?.intValue == version, root["cpu"]?.stringValue == cpu,
              let entries = root["entries"]?.objectValue else { return cache }
        cache.state.withLock { s in
            for (key, value) in entries.entries {
                guard let times = value.arrayValue?.compactMap({ $0.doubleValue }),
                      times.count == value.arrayValue?.count, !times.isEmpty else { continue }
                s.entries[key] = times
                s.order.append(key)
            }
        }
        return cache
    }

    public var count: Int { state.withLock { $0.entries.count } }

    func times(for key: String) -> [Double]? { refresh ? nil : state.withLock { $0.entries[key] } }

    func store(_ times: [Double], for key: String) {
        guard times.allSatisfy({ $0.isFinite }) else { return }
        state.withLock { s in
            if s.entries.updateValue(times, forKey: key) == nil { s.order.append(key) }
            s.dirty = true
        }
    }

    /// Writes the entries back when something was added; a cache without a path keeps them in memory.
    public func save() throws(RKGFormatError) {
        guard let path else { return }
        let (entries, order, dirty) = state.withLock { ($0.entries, $0.order, $0.dirty) }
        guard dirty else { return }
        let object = JSONObject(order.map { key in (key, JSONValue.array(entries[key]!.map { .number(String($0)) })) })
        let root = JSONValue.object(JSONObject([("version", .int(Self.version)), ("cpu", .string(cpu)), ("entries", .object(object))]))
        try FileIO.writeAtomically(Array(root.serialized.utf8), to: path)
        state.withLock { $0.dirty = false }
    }
}

extension JSONValue {
    /// The number as a `Double` (nil for any other value).
    var doubleValue: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }
}
