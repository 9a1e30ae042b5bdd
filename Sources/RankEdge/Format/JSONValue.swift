/// A JSON value as the .rkg reader and writer see it. Numbers keep their source text, so an integer
/// converts without passing through a double and a float attribute converts straight to `Float`
/// (correctly rounded, so the writer's shortest round-trip text reads back bit-exact). Objects keep
/// their key order: the writer's output is then exactly the order it chose, and it is deterministic.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    static func int(_ v: Int) -> JSONValue { .number(String(v)) }

    /// Swift prints the shortest decimal that reads back as the same `Float`; only finite values
    /// have a JSON spelling, so callers check finiteness first.
    static func float(_ v: Float) -> JSONValue {
        precondition(v.isFinite, "JSON has no spelling for \(v)")
        return .number(v.description)
    }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
    static func ints(_ values: [Int]) -> JSONValue { .array(values.map(JSONValue.int)) }

    /// A short name of the value's type, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object with its keys in order. Keys are unique: the parser rejects duplicates, because
/// two readers may disagree on which one wins.
struct JSONObject: Equatable, Sendable {
    private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    init() {}

    /// Builds an object from pairs in the given order; a repeated key keeps its first value.
    init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { _ = insert(k, v) }
    }

    subscript(key: String) -> JSONValue? { values[key] }

    var count: Int { keys.count }

    /// Appends a key; returns false (and changes nothing) when the key is already present.
    mutating func insert(_ key: String, _ value: JSONValue) -> Bool {
        guard values[key] == nil else { return false }
        keys.append(key)
        values[key] = value
        return true
    }

    var entries: [(key: String, value: JSONValue)] { keys.map { ($0, values[$0]!) } }
}

extension JSONValue {
    /// Compact JSON text: no whitespace, keys in the object's order, non-ASCII written as UTF-8.
    var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let text): out += text
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (i, entry) in object.entries.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(entry.key, to: &out)
                out += ":"
                entry.value.write(to: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.utf8.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }

    /// An integer written without fraction or exponent that fits `Int`; nil otherwise.
    var intValue: Int? {
        guard case .number(let text) = self, !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else {
            return nil
        }
        return Int(text)
    }

    /// The number correctly rounded to `Float` (may be ±infinity for huge literals; callers
    /// validate ranges).
    var floatValue: Float? {
        guard case .number(let text) = self else { return nil }
        return Float(text)
    }

    /// An array whose every element is a string.
    var stringArrayValue: [String]? {
        guard let items = arrayValue else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let s = item.stringValue else { return nil }
            out.append(s)
        }
        return out
    }

    /// An array whose every element is an integer (see `intValue`).
    var intArrayValue: [Int]? {
        guard let items = arrayValue else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = item.intValue else { return nil }
            out.append(v)
        }
        return out
    }
}
