import CZlib
import RankEdge

/// NumPy .npz datasets: a zip archive (stored by `np.savez`, deflated by `np.savez_compressed`)
/// of .npy arrays `x`, `y`, optional `x_test`, `y_test`, `class_names`. Everything is checked
/// against the file before anything is allocated from it: no size a header claims is trusted.
enum NPZDataset {
    static func load(path: String, training: Bool) throws -> Dataset {
        try load(bytes: readDatasetFile(path), path: path, training: training)
    }

    static func load(bytes: [UInt8], path: String, training: Bool) throws -> Dataset {
        let zip = try ZipArchive(bytes: bytes, path: path)
        var members: [String: ZipArchive.Entry] = [:]
        for e in zip.entries where e.name.hasSuffix(".npy") { members[String(e.name.dropLast(4))] = e }
        let found = members.isEmpty ? "no .npy arrays" : "arrays " + members.keys.sorted().joined(separator: ", ")
        func array(_ name: String) throws -> NpyArray? {
            guard let entry = members[name] else { return nil }
            return try NpyArray(bytes: zip.data(of: entry), name: name, path: path)
        }
        for (x, y) in [("x", "y"), ("x_test", "y_test")] where (members[x] == nil) != (members[y] == nil) {
            let (has, lacks) = members[x] == nil ? (y, x) : (x, y)
            throw DataError.malformed(path, "it has array '\(has)' but no '\(lacks)'")
        }
        if training, members["x"] == nil {
            throw DataError.missingSplit(path, "no training images: training needs arrays 'x' and 'y' (the file has \(found))")
        }
        if !training, members["x_test"] == nil {
            throw DataError.missingSplit(path, "no test images: evaluation needs arrays 'x_test' and 'y_test' (the file has \(found))")
        }
        // Labels of every split (cheap), so the class count does not depend on which images are read.
        let trainLabels = try array("y").map { try labels($0, path: path) }
        let testLabels = try array("y_test").map { try labels($0, path: path) }
        let names = try array("class_names").map { try classNames($0, path: path) }
        let maxLabel = ((trainLabels ?? []) + (testLabels ?? [])).max() ?? 0
        if let names, maxLabel >= names.count {
            throw DataError.malformed(path, "label \(maxLabel) is out of range for the \(names.count) entries of class_names")
        }
        let train = training ? try images(array("x")!, labels: trainLabels!, path: path) : nil
        let test = try array("x_test").map { try images($0, labels: testLabels!, path: path) }
        if let train, let test, train.imageShape != test.imageShape {
            throw DataError.malformed(path, "x holds \(train.height)x\(train.width)x\(train.channels) images but x_test \(test.height)x\(test.width)x\(test.channels)")
        }
        return Dataset(train: train, test: test, classNames: names ?? (0...maxLabel).map { "class\($0)" }, format: .npz)
    }

    /// A 1-D (or N×1) integer array of labels, each 0 ..< `Dataset.maxClasses`.
    static func labels(_ a: NpyArray, path: String) throws -> [Int] {
        guard a.shape.count == 1 || (a.shape.count == 2 && a.shape[1] == 1) else {
            throw DataError.malformed(path, "array \(a.name) has shape \(a.shapeText); labels must be 1-D")
        }
        guard a.kind == "i" || a.kind == "u", [1, 2, 4, 8].contains(a.itemSize) else {
            throw DataError.unsupported(path, "array \(a.name) has dtype \(a.descr); labels must be integers")
        }
        let size = a.itemSize, signed = a.kind == "i"
        var out = [Int](repeating: 0, count: a.count)
        try a.data.withUnsafeBytes { raw in
            for i in 0..<a.count {
                let o = i * size
                let value: Int64
                switch (size, signed) {
                case (1, true): value = Int64(raw.load(fromByteOffset: o, as: Int8.self))
                case (1, false): value = Int64(raw.load(fromByteOffset: o, as: UInt8.self))
                case (2, true): value = Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
                case (2, false): value = Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
                case (4, true): value = Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                case (4, false): value = Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                case (_, true): value = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self))
                default:
                    let u = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))
                    guard u < UInt64(Dataset.maxClasses) else {
                        throw DataError.malformed(path, "array \(a.name): label \(u) at index \(i) is out of range (labels are 0…\(Dataset.maxClasses - 1))")
                    }
                    value = Int64(u)
                }
                guard value >= 0, value < Int64(Dataset.maxClasses) else {
                    throw DataError.malformed(path, "array \(a.name): label \(value) at index \(i) is out of range (labels are 0…\(Dataset.maxClasses - 1))")
                }
                out[i] = Int(value)
            }
        }
        return out
    }

    /// uint8 images N×H×W×C (channels last: C is 1, 3 or 4) or N×C×H×W (C is 1 or 3 and the last
    /// dimension is not 1, 3 or 4), or N×H×W (one channel), as planar C×H×W images.
    static func images(_ a: NpyArray, labels: [Int], path: String) throws -> LabeledImages {
        guard a.kind == "u", a.itemSize == 1 else {
            throw DataError.unsupported(path, "array \(a.name) has dtype \(a.descr); images must be uint8 (|u1)")
        }
        let n: Int, h: Int, w: Int, c: Int, channelsLast: Bool
        switch a.shape.count {
        case 4 where [1, 3, 4].contains(a.shape[3]):
            (n, h, w, c, channelsLast) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3], true)
        case 4 where [1, 3].contains(a.shape[1]):
            (n, c, h, w, channelsLast) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3], false)
        case 4:
            throw DataError.unsupported(path, "array \(a.name) has shape \(a.shapeText): neither N×H×W×C (C = 1, 3 or 4 last) nor N×C×H×W (C = 1 or 3 second)")
        case 3:
            (n, h, w, c, channelsLast) = (a.shape[0], a.shape[1], a.shape[2], 1, false)
        default:
            throw DataError.unsupported(path, "array \(a.name) has shape \(a.shapeText); images must be N×H×W×C or N×C×H×W")
        }
        guard n >= 1 else { throw DataError.malformed(path, "array \(a.name) holds no images") }
        guard h >= 1, w >= 1 else { throw DataError.malformed(path, "array \(a.name) has shape \(a.shapeText): empty images") }
        guard n == labels.count else {
            let y = a.name == "x" ? "y" : "y_test"
            throw DataError.malformed(path, "array \(a.name) holds \(n) images but \(y) holds \(labels.count) labels")
        }
        guard channelsLast, c > 1 else {
            return LabeledImages(height: h, width: w, channels: c, pixels: Array(a.data), labels: labels)
        }
        let plane = h * w, size = plane * c
        var pixels = [UInt8](repeating: 0, count: n * size)
        pixels.withUnsafeMutableBufferPointer { dst in
            a.data.withUnsafeBufferPointer { src in
                for image in 0..<n {
                    let s = src.baseAddress! + image * size, d = dst.baseAddress! + image * size
                    for p in 0..<plane { for ch in 0..<c { d[ch * plane + p] = s[p * c + ch] } }
                }
            }
        }
        return LabeledImages(height: h, width: w, channels: c, pixels: pixels, labels: labels)
    }

    /// A 1-D string array (numpy's fixed-width unicode `<U…` or bytes `|S…`).
    static func classNames(_ a: NpyArray, path: String) throws -> [String] {
        guard a.shape.count == 1, a.count >= 1, a.count <= Dataset.maxClasses else {
            throw DataError.malformed(path, "array class_names has shape \(a.shapeText); it must be 1-D with 1…\(Dataset.maxClasses) names")
        }
        var names: [String] = []
        for i in 0..<a.count {
            let item = a.data[(a.data.startIndex + i * a.itemBytes)..<(a.data.startIndex + (i + 1) * a.itemBytes)]
            switch a.kind {
            case "U":
                var scalars = String.UnicodeScalarView()
                for k in stride(from: item.startIndex, to: item.endIndex, by: 4) {
                    let v = UInt32(item[k]) | UInt32(item[k + 1]) << 8 | UInt32(item[k + 2]) << 16 | UInt32(item[k + 3]) << 24
                    if v == 0 { break }
                    guard let s = Unicode.Scalar(v) else { throw DataError.malformed(path, "class_names entry \(i) is not valid text") }
                    scalars.append(s)
                }
                names.append(String(scalars))
            case "S":
                let bytes = item.prefix { $0 != 0 }
                guard let s = String(bytes: bytes, encoding: .utf8) else { throw DataError.malformed(path, "class_names entry \(i) is not UTF-8") }
                names.append(s)
            default:
                throw DataError.unsupported(path, "array class_names has dtype \(a.descr); save it as a string array (np.array(names, dtype=str))")
            }
        }
        return names
    }
}

/// One .npy array, its header checked against its bytes.
struct NpyArray {
    let name: String
    let descr: String
    /// Byte order, kind and size from `descr`: "<i8" is ("<", "i", 8).
    let kind: Character
    let itemSize: Int
    let shape: [Int]
    let count: Int
    let data: ArraySlice<UInt8>

    /// Bytes per element: `itemSize`, except unicode strings (4 bytes a character).
    var itemBytes: Int { kind == "U" ? itemSize * 4 : itemSize }
    var shapeText: String { "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")") }

    init(bytes: [UInt8], name: String, path: String) throws {
        func bad(_ why: String) -> DataError { .malformed(path, "array \(name): \(why)") }
        self.name = name
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw bad("not a .npy array (bad magic)") }
        let headerStart: Int, headerLength: Int
        switch bytes[6] {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerStart = 12
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        default:
            throw DataError.unsupported(path, "array \(name): .npy format version \(bytes[6]).\(bytes[7]) (versions 1–3 are read)")
        }
        guard headerLength <= bytes.count - headerStart else { throw bad("header of \(headerLength) bytes runs past the end of the array") }
        var parser = PythonLiteralParser(bytes: bytes[headerStart..<(headerStart + headerLength)])
        guard case .dict(let entries)? = try? parser.parseHeader() else { throw bad("header is not a Python dict literal") }
        var fields: [String: PythonLiteral] = [:]
        for (k, v) in entries { fields[k] = v }

        guard case .string(let descr)? = fields["descr"] else {
            if case .list? = fields["descr"] { throw DataError.unsupported(path, "array \(name) has a structured dtype") }
            throw bad("header has no 'descr' string")
        }
        self.descr = descr
        let chars = Array(descr)
        guard chars.count >= 3, "<>|=".contains(chars[0]), let size = Int(String(chars[2...])), size >= 1 else {
            throw DataError.unsupported(path, "array \(name) has dtype '\(descr)'")
        }
        kind = chars[1]
        itemSize = size
        if chars[0] == ">" || (chars[0] == "=" && size > 1) {
            throw DataError.unsupported(path, "array \(name) is big-endian or native-order ('\(descr)'); only little-endian arrays are read")
        }
        guard case .bool(let fortran)? = fields["fortran_order"] else { throw bad("header has no 'fortran_order' True/False") }
        if fortran { throw DataError.unsupported(path, "array \(name) is in Fortran order; save it C-ordered (np.ascontiguousarray)") }
        guard case .tuple(let dims)? = fields["shape"] else { throw bad("header has no 'shape' tuple") }
        let dimsText = PythonLiteral.tuple(dims).text
        var shape: [Int] = [], count = 1
        for d in dims {
            guard case .int(let digits) = d, !digits.hasPrefix("-") else { throw bad("shape \(dimsText) has an entry that is not a non-negative integer") }
            guard let v = Int(digits) else { throw bad("absurd shape \(dimsText) (a dimension does not fit in 64 bits)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw bad("absurd shape \(dimsText) (the element count overflows)") }
            shape.append(v); count = product
        }
        self.shape = shape
        self.count = count
        let dataStart = headerStart + headerLength
        let itemBytes = kind == "U" ? size.multipliedReportingOverflow(by: 4) : (size, false)
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: itemBytes.0)
        guard !itemBytes.1, !overflow, byteCount == bytes.count - dataStart else {
            let text = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
            throw bad("shape \(text) of '\(descr)' needs \(overflow || itemBytes.1 ? "more than \(Int.max)" : "\(byteCount)") bytes, the array holds \(bytes.count - dataStart)")
        }
        data = bytes[dataStart...]
    }
}

/// The subset of Python literals a .npy header uses: dicts, tuples, lists, strings, ints, booleans.
indirect enum PythonLiteral {
    case string(String)
    /// The digits as written (with a sign); `Int(_:)` of them is nil when they do not fit.
    case int(String)
    case bool(Bool)
    case null
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([(String, PythonLiteral)])

    var text: String {
        switch self {
        case .string(let s): "'\(s)'"
        case .int(let digits): digits
        case .bool(let b): b ? "True" : "False"
        case .null: "None"
        case .tuple(let t): "(" + t.map(\.text).joined(separator: ", ") + (t.count == 1 ? ",)" : ")")
        case .list(let l): "[" + l.map(\.text).joined(separator: ", ") + "]"
        case .dict(let d): "{" + d.map { "'\($0.0)': \($0.1.text)" }.joined(separator: ", ") + "}"
        }
    }
}

struct PythonLiteralParser {
    struct SyntaxError: Error {}
    let bytes: ArraySlice<UInt8>
    var i: Int
    init(bytes: ArraySlice<UInt8>) { self.bytes = bytes; i = bytes.startIndex }

    /// The header: one literal, then only spaces and the newline padding.
    mutating func parseHeader() throws -> PythonLiteral {
        let v = try value(depth: 0)
        skipSpace()
        guard i == bytes.endIndex else { throw SyntaxError() }
        return v
    }

    mutating func skipSpace() { while i < bytes.endIndex, [9, 10, 13, 32, 0].contains(bytes[i]) { i += 1 } }

    mutating func value(depth: Int) throws -> PythonLiteral {
        guard depth < 8 else { throw SyntaxError() }
        skipSpace()
        guard i < bytes.endIndex else { throw SyntaxError() }
        switch bytes[i] {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            let quote = bytes[i]; i += 1
            let start = i
            while i < bytes.endIndex, bytes[i] != quote {
                guard bytes[i] != UInt8(ascii: "\\") else { throw SyntaxError() }
                i += 1
            }
            guard i < bytes.endIndex, let s = String(bytes: bytes[start..<i], encoding: .utf8) else { throw SyntaxError() }
            i += 1
            return .string(s)
        case UInt8(ascii: "("), UInt8(ascii: "["):
            let tuple = bytes[i] == UInt8(ascii: "("); i += 1
            let close = UInt8(ascii: tuple ? ")" : "]")
            var items: [PythonLiteral] = []
            while true {
                skipSpace()
                guard i < bytes.endIndex else { throw SyntaxError() }
                if bytes[i] == close { i += 1; break }
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.endIndex else { throw SyntaxError() }
                if bytes[i] == UInt8(ascii: ",") { i += 1 } else if bytes[i] != close { throw SyntaxError() }
            }
            return tuple ? .tuple(items) : .list(items)
        case UInt8(ascii: "{"):
            i += 1
            var entries: [(String, PythonLiteral)] = []
            while true {
                skipSpace()
                guard i < bytes.endIndex else { throw SyntaxError() }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                guard case .string(let key) = try value(depth: depth + 1) else { throw SyntaxError() }
                skipSpace()
                guard i < bytes.endIndex, bytes[i] == UInt8(ascii: ":") else { throw SyntaxError() }
                i += 1
                entries.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.endIndex else { throw SyntaxError() }
                if bytes[i] == UInt8(ascii: ",") { i += 1 } else if bytes[i] != UInt8(ascii: "}") { throw SyntaxError() }
            }
            return .dict(entries)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = i
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            let firstDigit = i
            while i < bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > firstDigit, i - firstDigit <= 100 else { throw SyntaxError() }
            let digits = String(decoding: bytes[start..<i], as: UTF8.self)
            if i < bytes.endIndex, bytes[i] == UInt8(ascii: "L") { i += 1 }  // Python 2 longs
            return .int(digits)
        default:
            for (word, literal) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .null)] {
                let w = Array(word.utf8)
                if bytes.endIndex - i >= w.count, Array(bytes[i..<(i + w.count)]) == w { i += w.count; return literal }
            }
            throw SyntaxError()
        }
    }
}

/// A zip archive's members from its central directory (zip64 included). Only what .npz files
/// use is read: stored and deflated members, no encryption, one disk.
struct ZipArchive {
    struct Entry {
        var name: String
        var flags: Int
        var method: Int
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    let path: String
    let bytes: [UInt8]
    let entries: [Entry]

    init(bytes: [UInt8], path: String) throws {
        self.path = path
        self.bytes = bytes
        func bad(_ why: String) -> DataError { .malformed(path, why) }
        func field(_ offset: Int, _ width: Int) throws -> UInt64 {
            guard offset >= 0, width <= bytes.count, offset <= bytes.count - width else { throw bad("zip structure runs past the end of the file (truncated?)") }
            var v: UInt64 = 0
            for k in (0..<width).reversed() { v = v << 8 | UInt64(bytes[offset + k]) }
            return v
        }
        func int(_ v: UInt64) throws -> Int {
            guard let i = Int(exactly: v) else { throw bad("zip field \(v) is out of range") }
            return i
        }
        // End of central directory: the last 22+ bytes, after at most a 64 KB comment.
        guard bytes.count >= 22 else { throw bad("not a zip archive (\(bytes.count) bytes; truncated?)") }
        var eocd = -1
        var p = bytes.count - 22
        while p >= max(0, bytes.count - 22 - 0xFFFF) {
            if bytes[p] == 0x50, bytes[p + 1] == 0x4B, bytes[p + 2] == 5, bytes[p + 3] == 6 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw bad("no zip end-of-central-directory record (truncated, or not an .npz)") }
        var entryCount = try field(eocd + 10, 2), directorySize = try field(eocd + 12, 4), directoryOffset = try field(eocd + 16, 4)
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            guard eocd >= 20, try field(eocd - 20, 4) == 0x0706_4B50 else { throw bad("zip64 sizes without a zip64 locator") }
            let record = try int(try field(eocd - 12, 8))
            guard try field(record, 4) == 0x0606_4B50 else { throw bad("bad zip64 end-of-central-directory record") }
            entryCount = try field(record + 32, 8); directorySize = try field(record + 40, 8); directoryOffset = try field(record + 48, 8)
        }
        guard directoryOffset <= UInt64(bytes.count), directorySize <= UInt64(bytes.count) - directoryOffset else {
            throw bad("the zip central directory runs past the end of the file (truncated?)")
        }
        guard entryCount <= directorySize / 46 else { throw bad("the zip central directory claims \(entryCount) members in \(directorySize) bytes") }
        var entries: [Entry] = []
        var q = Int(directoryOffset)
        let end = q + Int(directorySize)
        for _ in 0..<Int(entryCount) {
            guard q <= end - 46, try field(q, 4) == 0x0201_4B50 else { throw bad("bad zip central directory entry") }
            let nameLength = Int(try field(q + 28, 2)), extraLength = Int(try field(q + 30, 2)), commentLength = Int(try field(q + 32, 2))
            guard q + 46 + nameLength + extraLength + commentLength <= end else { throw bad("zip central directory entry runs past the directory") }
            let name = String(decoding: bytes[(q + 46)..<(q + 46 + nameLength)], as: UTF8.self)
            var size = try field(q + 24, 4), compressed = try field(q + 20, 4), offset = try field(q + 42, 4)
            // Zip64 extra field: 64-bit values for those of the three that are 0xFFFFFFFF, in this order.
            var x = q + 46 + nameLength
            let extraEnd = x + extraLength
            while x + 4 <= extraEnd {
                let id = try field(x, 2), length = Int(try field(x + 2, 2))
                guard x + 4 + length <= extraEnd else { throw bad("zip extra field of member \(name) runs past its entry") }
                if id == 1 {
                    var y = x + 4
                    let limit = x + 4 + length
                    func next() throws -> UInt64 {
                        guard y + 8 <= limit else { throw bad("zip64 field of member \(name) is too short") }
                        defer { y += 8 }
                        return try field(y, 8)
                    }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if offset == 0xFFFF_FFFF { offset = try next() }
                }
                x += 4 + length
            }
            guard let s = Int(exactly: size), let c = Int(exactly: compressed), let o = Int(exactly: offset) else {
                throw bad("member \(name) has sizes out of range")
            }
            entries.append(Entry(name: name, flags: Int(try field(q + 8, 2)), method: Int(try field(q + 10, 2)),
                                 crc: UInt32(try field(q + 16, 4)), compressedSize: c, size: s, localHeaderOffset: o))
            q += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    /// The member's bytes, inflated when deflated, CRC-checked.
    func data(of entry: Entry) throws -> [UInt8] {
        func bad(_ why: String) -> DataError { .malformed(path, "member \(entry.name): \(why)") }
        let o = entry.localHeaderOffset
        guard o >= 0, o <= bytes.count - 30, bytes[o] == 0x50, bytes[o + 1] == 0x4B, bytes[o + 2] == 3, bytes[o + 3] == 4 else {
            throw bad("no local zip header at offset \(o) (truncated?)")
        }
        let start = o + 30 + (Int(bytes[o + 26]) | Int(bytes[o + 27]) << 8) + (Int(bytes[o + 28]) | Int(bytes[o + 29]) << 8)
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw bad("its \(entry.compressedSize) bytes run past the end of the file (truncated?)")
        }
        guard entry.flags & 1 == 0 else { throw DataError.unsupported(path, "member \(entry.name) is encrypted") }
        let out: [UInt8]
        switch entry.method {
        case 0:
            guard entry.size == entry.compressedSize else { throw bad("stored with \(entry.compressedSize) bytes but claims \(entry.size)") }
            out = Array(bytes[start..<(start + entry.size)])
        case 8:
            // Deflate expands at most 1032:1; a larger claim is corrupt, and is not allocated.
            guard entry.compressedSize <= (Int.max - 1024) / 1032, entry.size <= entry.compressedSize * 1032 + 1024 else {
                throw bad("claims \(entry.size) bytes from \(entry.compressedSize) compressed bytes, more than deflate can produce")
            }
            guard let inflated = bytes.withUnsafeBufferPointer({ b in
                Self.inflateRaw(UnsafeBufferPointer(rebasing: b[start..<(start + entry.compressedSize)]), size: entry.size)
            }) else { throw bad("the deflate stream is corrupt or does not hold the \(entry.size) bytes it claims") }
            out = inflated
        default:
            throw DataError.unsupported(path, "member \(entry.name) uses zip compression method \(entry.method); only stored (np.savez) and deflate (np.savez_compressed) are read")
        }
        guard Self.crc32(out) == entry.crc else { throw bad("CRC mismatch (the file is corrupt)") }
        return out
    }

    /// Raw deflate (no zlib header) into exactly `size` bytes; nil unless the stream ends there.
    /// The output grows chunk by chunk as inflate produces it, so a member that claims far more than
    /// its stream holds costs no more memory than the stream really inflates to.
    static func inflateRaw(_ source: UnsafeBufferPointer<UInt8>, size: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 20
        var out: [UInt8] = []
        out.reserveCapacity(min(size, chunk))
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status = Z_OK
        var inPosition = 0
        repeat {
            if stream.avail_in == 0, inPosition < source.count {
                let n = min(source.count - inPosition, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress! + inPosition)
                stream.avail_in = UInt32(n); inPosition += n
            }
            let produced: Int = buffer.withUnsafeMutableBufferPointer { dst in
                stream.next_out = dst.baseAddress!
                stream.avail_out = UInt32(chunk)
                status = inflate(&stream, Z_NO_FLUSH)
                return chunk - Int(stream.avail_out)
            }
            guard out.count + produced <= size else { return nil }
            out.append(contentsOf: buffer[0..<produced])
        } while status == Z_OK
        guard status == Z_STREAM_END, out.count == size else { return nil }
        return out
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { b in
            var crc = CZlib.crc32(0, nil, 0)
            var position = 0
            while position < b.count {
                let n = min(b.count - position, Int(UInt32.max))
                crc = CZlib.crc32(crc, b.baseAddress! + position, UInt32(n))
                position += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
