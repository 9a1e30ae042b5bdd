/// CIFAR-10 binary records: 1 label byte then 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
/// each 32×32 row-major). Used by `run --cifar`, `demo` and `eval`; the trainer reads the same files.
public struct CIFARRecords: Sendable {
    public static let recordSize = 3073
    public static let side = 32

    public let labels: [UInt8]
    /// Pixels of every record, in the file's planar CHW order.
    public let pixels: [UInt8]
    public var count: Int { labels.count }

    public init(bytes: [UInt8], source: String = "CIFAR-10 data") throws {
        guard !bytes.isEmpty, bytes.count % Self.recordSize == 0 else {
            throw InputError("\(source): \(bytes.count) bytes is not a whole number of \(Self.recordSize)-byte CIFAR-10 records")
        }
        let n = bytes.count / Self.recordSize
        var labels = [UInt8](), pixels = [UInt8]()
        labels.reserveCapacity(n)
        pixels.reserveCapacity(n * (Self.recordSize - 1))
        for i in 0..<n {
            let start = i * Self.recordSize
            guard bytes[start] < 10 else {
                throw InputError("\(source): record \(i) has label \(bytes[start]), expected 0–9")
            }
            labels.append(bytes[start])
            pixels.append(contentsOf: bytes[(start + 1)..<(start + Self.recordSize)])
        }
        self.labels = labels
        self.pixels = pixels
    }

    public init(path: String) throws {
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path) } catch { throw InputError("\(error)") }
        try self.init(bytes: bytes, source: path)
    }

    /// Record `index` as HWC bytes (the runtime's layout), red, green, blue per pixel.
    public func imageHWC(_ index: Int) -> [UInt8] {
        let plane = Self.side * Self.side
        let base = index * 3 * plane
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for p in 0..<plane { for c in 0..<3 { out[p * 3 + c] = pixels[base + c * plane + p] } }
        return out
    }
}

public struct InputError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
