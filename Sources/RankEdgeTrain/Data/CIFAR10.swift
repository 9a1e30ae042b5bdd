import Foundation
import RankEdge

public enum DataError: Error, CustomStringConvertible {
    case missingFile(String)
    case unreadable(String, String)
    case malformed(String, String)
    public var description: String {
        switch self {
        case .missingFile(let p): "missing dataset file \(p)"
        case .unreadable(let p, let why): "cannot read \(p): \(why)"
        case .malformed(let p, let why): "malformed CIFAR-10 file \(p): \(why)"
        }
    }
}

/// Images of one CIFAR-10 split as stored on disk: per record a label byte and 3072 pixel bytes
/// (1024 red, 1024 green, 1024 blue, each plane row-major 32×32).
public struct CIFAR10Split: Sendable {
    public static let recordSize = 3073
    public static let imageSize = 3072
    public var pixels: [UInt8]
    public var labels: [Int]
    public var count: Int { labels.count }

    public init(pixels: [UInt8], labels: [Int]) { self.pixels = pixels; self.labels = labels }

    /// Reads and validates one CIFAR-10 binary file (size a multiple of 3073, labels 0–9).
    public static func read(path: String, classes: Int = 10) throws -> CIFAR10Split {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.missingFile(path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) }
        catch { throw DataError.unreadable(path, error.localizedDescription) }
        guard !data.isEmpty, data.count % recordSize == 0 else {
            throw DataError.malformed(path, "size \(data.count) bytes is not a positive multiple of the \(recordSize)-byte record")
        }
        let n = data.count / recordSize
        var pixels = [UInt8](repeating: 0, count: n * imageSize)
        var labels = [Int](repeating: 0, count: n)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            try pixels.withUnsafeMutableBufferPointer { dst in
                for r in 0..<n {
                    let label = Int(bytes[r * recordSize])
                    guard label < classes else {
                        throw DataError.malformed(path, "record \(r) has label \(label), expected 0…\(classes - 1)")
                    }
                    labels[r] = label
                    let src = UnsafeBufferPointer(rebasing: bytes[(r * recordSize + 1)..<((r + 1) * recordSize)])
                    dst.baseAddress!.advanced(by: r * imageSize).update(from: src.baseAddress!, count: imageSize)
                }
            }
        }
        return CIFAR10Split(pixels: pixels, labels: labels)
    }

    /// Records `range` as a new split.
    public func slice(_ range: Range<Int>) -> CIFAR10Split {
        CIFAR10Split(pixels: Array(pixels[(range.lowerBound * Self.imageSize)..<(range.upperBound * Self.imageSize)]),
                     labels: Array(labels[range]))
    }

    /// Writes the split back in the binary record format (atomically).
    public func write(to path: String) throws {
        var out = [UInt8](); out.reserveCapacity(count * Self.recordSize)
        for r in 0..<count {
            out.append(UInt8(labels[r]))
            out.append(contentsOf: pixels[(r * Self.imageSize)..<((r + 1) * Self.imageSize)])
        }
        try Data(out).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// The CIFAR-10 directory layout: data_batch_1…5.bin, test_batch.bin, optional batches.meta.txt.
public struct CIFAR10: Sendable {
    public var train: CIFAR10Split?
    public var test: CIFAR10Split
    public var classNames: [String]

    /// Loads the test split, and the five training batches when `training` is set.
    public static func load(directory: String, training: Bool) throws -> CIFAR10 {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw DataError.missingFile("\(directory) (dataset directory)")
        }
        let dir = URL(fileURLWithPath: directory)
        var train: CIFAR10Split?
        if training {
            var pixels: [UInt8] = [], labels: [Int] = []
            for i in 1...5 {
                let split = try CIFAR10Split.read(path: dir.appendingPathComponent("data_batch_\(i).bin").path)
                pixels += split.pixels; labels += split.labels
            }
            train = CIFAR10Split(pixels: pixels, labels: labels)
        }
        let test = try CIFAR10Split.read(path: dir.appendingPathComponent("test_batch.bin").path)
        return CIFAR10(train: train, test: test, classNames: try classNames(directory: dir))
    }

    /// Names from batches.meta.txt (one per line, label order) when present, else the standard list.
    static func classNames(directory: URL) throws -> [String] {
        let meta = directory.appendingPathComponent("batches.meta.txt")
        guard let text = try? String(contentsOf: meta, encoding: .utf8) else { return cifar10ClassNames }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == 10 else {
            throw DataError.malformed(meta.path, "expected 10 class names, found \(names.count)")
        }
        return names
    }
}
