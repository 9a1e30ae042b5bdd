#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Typed access to one ONNX node's attributes. A missing attribute gives the default; one of the
/// wrong type, or outside the bounds the importer can compute with, is an `unsupportedAttribute`.
struct NodeAttributes {
    let node: String
    let opType: String
    private let byName: [String: Onnx_AttributeProto]

    init(_ proto: Onnx_NodeProto, nodeName: String) {
        node = nodeName
        opType = proto.opType
        byName = Dictionary(proto.attribute.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func unsupported(_ attribute: String, _ value: String) -> ONNXImportError {
        .unsupportedAttribute(node: node, opType: opType, attribute: attribute, value: value)
    }

    private func typed(_ name: String, _ type: Onnx_AttributeProto.AttributeType) throws(ONNXImportError) -> Onnx_AttributeProto? {
        guard let a = byName[name] else { return nil }
        // Old exporters leave `type` unset; accept them when the matching field is filled.
        guard a.type == type || a.type == .undefined else { throw unsupported(name, "of attribute type \(a.type)") }
        return a
    }

    func int(_ name: String, default value: Int) throws(ONNXImportError) -> Int {
        guard let a = try typed(name, .int) else { return value }
        return try bounded(a.i, name)
    }

    func ints(_ name: String) throws(ONNXImportError) -> [Int]? {
        guard let a = try typed(name, .ints) else { return nil }
        var out: [Int] = []
        for v in a.ints { out.append(try bounded(v, name)) }
        return out
    }

    /// Integer values exactly as stored (Constant's value_int / value_ints), without the range check.
    func int64(_ name: String) throws(ONNXImportError) -> Int64? { try typed(name, .int)?.i }
    func int64s(_ name: String) throws(ONNXImportError) -> [Int64]? { try typed(name, .ints)?.ints }

    func float(_ name: String) throws(ONNXImportError) -> Float? {
        try typed(name, .float)?.f
    }

    func floats(_ name: String) throws(ONNXImportError) -> [Float]? {
        try typed(name, .floats)?.floats
    }

    func string(_ name: String, default value: String) throws(ONNXImportError) -> String {
        guard let a = try typed(name, .string) else { return value }
        guard let s = String(data: a.s, encoding: .utf8) else { throw unsupported(name, "(not UTF-8)") }
        return s
    }

    func tensor(_ name: String) throws(ONNXImportError) -> Onnx_TensorProto? {
        try typed(name, .tensor)?.t
    }

    /// Attribute names present on the node, for rejecting ones the importer does not implement.
    var names: [String] { byName.keys.sorted() }

    private func bounded(_ v: Int64, _ name: String) throws(ONNXImportError) -> Int {
        let limit = Int64(ONNXLimits.maxExtent)
        guard v >= -limit, v <= limit else { throw unsupported(name, "value \(v) (out of range)") }
        return Int(v)
    }
}
