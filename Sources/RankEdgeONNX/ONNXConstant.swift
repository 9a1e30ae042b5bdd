#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RankEdge

/// ONNX TensorProto element types the importer reads (onnx.proto's TensorProto.DataType numbers).
enum ONNXElementType: Int32 {
    case float = 1, int32 = 6, int64 = 7, bool = 9, double = 11

    var name: String {
        switch self {
        case .float: "FLOAT"
        case .int32: "INT32"
        case .int64: "INT64"
        case .bool: "BOOL"
        case .double: "DOUBLE"
        }
    }
    /// Bytes per element in `raw_data`.
    var rawSize: Int {
        switch self {
        case .float, .int32: 4
        case .int64, .double: 8
        case .bool: 1
        }
    }
}

/// A constant from an initializer or a Constant node: weights, biases, shapes, clip bounds.
/// Values keep their kind (floating or integer) so a shape is never read through a float.
struct ONNXConstant: Sendable {
    enum Values: Sendable {
        case floating([Float])
        case integer([Int64])
    }
    var dims: [Int]
    var values: Values
    /// The ONNX tensor name that holds these values as given (an initializer, a Constant node's
    /// output, an Identity of either); nil for values the importer computed (folded shapes).
    /// Weights taken from a named constant keep that name in the RankEdge graph.
    var name: String? = nil

    var count: Int {
        switch values {
        case .floating(let v): v.count
        case .integer(let v): v.count
        }
    }

    /// The values as floats (integers converted), e.g. a clip bound given as INT64 by some exporters.
    var floats: [Float] {
        switch values {
        case .floating(let v): v
        case .integer(let v): v.map { Float($0) }
        }
    }

    /// The values as integers; nil when they are floating-point.
    var integers: [Int64]? {
        if case .integer(let v) = values { return v }
        return nil
    }

    /// Reads a TensorProto; every inconsistency becomes `invalidTensor` naming the tensor.
    init(_ t: Onnx_TensorProto, name: String) throws(ONNXImportError) {
        func bad(_ reason: String) -> ONNXImportError { .invalidTensor(tensor: name, reason: reason) }
        if t.dataLocation == .external || !t.externalData.isEmpty {
            throw bad("weights stored as external data are not supported (save the model with its data inside)")
        }
        if t.hasSegment { throw bad("segmented tensors are not supported") }
        self.name = name
        guard let type = ONNXElementType(rawValue: t.dataType) else {
            throw bad("element type \(t.dataType) is not supported (FLOAT, DOUBLE, INT32, INT64, BOOL are)")
        }
        var dims: [Int] = []
        var count = 1
        for d in t.dims {
            guard d >= 0, d <= Int64(ONNXLimits.maxElements) else { throw bad("invalid dimension \(d) in \(t.dims)") }
            let (p, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, p <= ONNXLimits.maxElements else { throw bad("shape \(t.dims) is too large") }
            dims.append(Int(d)); count = p
        }
        self.dims = dims

        let raw = t.rawData
        if !raw.isEmpty {
            guard raw.count == count * type.rawSize else {
                throw bad("raw_data holds \(raw.count) bytes, shape \(t.dims) of \(type.name) needs \(count * type.rawSize)")
            }
            values = Self.decodeRaw(raw, type: type, count: count)
            return
        }
        func checkCount(_ n: Int, _ field: String) throws(ONNXImportError) {
            guard n == count else { throw bad("\(field) holds \(n) values, shape \(t.dims) needs \(count)") }
        }
        switch type {
        case .float:
            try checkCount(t.floatData.count, "float_data")
            values = .floating(t.floatData)
        case .double:
            try checkCount(t.doubleData.count, "double_data")
            values = .floating(t.doubleData.map { Float($0) })
        case .int64:
            try checkCount(t.int64Data.count, "int64_data")
            values = .integer(t.int64Data)
        case .int32, .bool:
            try checkCount(t.int32Data.count, "int32_data")
            values = .integer(t.int32Data.map { Int64($0) })
        }
    }

    init(dims: [Int], values: Values, name: String? = nil) { self.dims = dims; self.values = values; self.name = name }

    /// True for integer values (shapes, indices), false for floating-point ones.
    var isInteger: Bool { integers != nil }

    private static func decodeRaw(_ raw: Data, type: ONNXElementType, count: Int) -> Values {
        raw.withUnsafeBytes { (p: UnsafeRawBufferPointer) -> Values in
            switch type {
            case .float:
                return .floating((0..<count).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) })
            case .double:
                return .floating((0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) })
            case .int64:
                return .integer((0..<count).map { Int64(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) })
            case .int32:
                return .integer((0..<count).map { Int64(Int32(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) })
            case .bool:
                return .integer((0..<count).map { Int64(p[$0]) })
            }
        }
    }
}

/// Bounds that keep every size computation in the importer far from overflow.
enum ONNXLimits {
    /// Largest element count of one tensor (2³¹, 8 GiB of float32).
    static let maxElements = 1 << 31
    /// Largest single dimension, stride, dilation or padding accepted from a model.
    static let maxExtent = 1 << 24
    /// Constants built by folding shape subgraphs at import.
    static let maxFoldedElements = 1 << 20
}

extension Onnx_TensorProto {
    /// A FLOAT tensor with its values in raw_data (little-endian), the form ONNX tools write.
    static func float(name: String, dims: [Int], values: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ONNXElementType.float.rawValue
        t.dims = dims.map { Int64($0) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for v in values {
            let bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        t.rawData = Data(bytes)
        return t
    }

    /// An INT64 tensor (shapes, gather indices) in int64_data.
    static func int64(name: String, dims: [Int], values: [Int64]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ONNXElementType.int64.rawValue
        t.dims = dims.map { Int64($0) }
        t.int64Data = values
        return t
    }
}
