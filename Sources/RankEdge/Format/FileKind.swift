/// What a file is, told from its first bytes (and, for ONNX, whose protobuf has no magic number,
/// its name too): so a file given to the wrong command gets a message saying what it is and what
/// to run, not a complaint about a .rkg header it never had.
public enum FileKind: Equatable, Sendable {
    case rkg, onnx, png, jpeg, npz, unknown

    public static func of(_ bytes: [UInt8], path: String? = nil) -> FileKind {
        func starts(_ magic: [UInt8]) -> Bool { bytes.count >= magic.count && Array(bytes.prefix(magic.count)) == magic }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return .npz }
        // A safetensors header: an 8-byte little-endian length that fits the file, then JSON
        // starting with '{' (raw float32 samples almost never pass both).
        if bytes.count >= 9, bytes[8] == UInt8(ascii: "{") {
            let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if length >= 2, length <= UInt64(bytes.count - 8) { return .rkg }
        }
        if path?.asciiLowercased.hasUTF8Suffix(".onnx") == true { return .onnx }
        // A ModelProto begins with ir_version (field 1, varint: tag 0x08), then usually
        // producer_name (0x12), opset_import (0x42) or graph (0x3A).
        if bytes.count >= 3, bytes[0] == 0x08, bytes[1] < 0x80, [0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x42].contains(bytes[2]) { return .onnx }
        return .unknown
    }

    /// For a file that is not a .rkg: what it is and what to do with it.
    var advice: String? {
        switch self {
        case .rkg, .unknown: nil
        case .onnx: "this is an ONNX model: run `rankedge import` on it first to get a .rkg"
        case .png, .jpeg: "this is an image, not a model (`rankedge run MODEL --input IMAGE` takes PNG, JPEG and PPM images)"
        case .npz: "this is a NumPy .npz archive (a dataset?), not a model"
        }
    }
}
