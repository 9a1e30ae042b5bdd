import RankEdge

/// Labelled 8-bit images of one size, each stored planar C×H×W (CIFAR's own order: one row-major
/// H×W plane per channel), with one class label per image. Every dataset reader produces this; the
/// trainer, `eval`, `run --cifar` and `demo` consume it.
public struct LabeledImages: Sendable, Equatable {
    public let height: Int
    public let width: Int
    public let channels: Int
    /// `count` images of `channels × height × width` bytes, back to back.
    public let pixels: [UInt8]
    public let labels: [Int]

    public var count: Int { labels.count }
    /// Bytes per image.
    public var imageSize: Int { channels * height * width }
    /// One image as the model's NHWC input sees it: [height, width, channels].
    public var imageShape: [Int] { [height, width, channels] }

    /// `pixels` must hold `labels.count` planar images of the given size.
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8], labels: [Int]) {
        precondition(height > 0 && width > 0 && channels > 0, "LabeledImages: image dimensions must be positive")
        precondition(pixels.count == labels.count * channels * height * width, "LabeledImages: \(pixels.count) bytes for \(labels.count) images of \(channels)×\(height)×\(width)")
        self.height = height; self.width = width; self.channels = channels
        self.pixels = pixels; self.labels = labels
    }

    /// Images `range`, in order.
    public func slice(_ range: Range<Int>) -> LabeledImages {
        LabeledImages(height: height, width: width, channels: channels,
                      pixels: Array(pixels[(range.lowerBound * imageSize)..<(range.upperBound * imageSize)]),
                      labels: Array(labels[range]))
    }

    /// Images `indices`, in the order given (repeats allowed).
    public func subset(_ indices: [Int]) -> LabeledImages {
        let size = imageSize
        var out = [UInt8](repeating: 0, count: indices.count * size)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for (i, index) in indices.enumerated() {
                    precondition(index >= 0 && index < count, "LabeledImages.subset: index \(index) outside 0..<\(count)")
                    (dst.baseAddress! + i * size).update(from: src.baseAddress! + index * size, count: size)
                }
            }
        }
        return LabeledImages(height: height, width: width, channels: channels, pixels: out, labels: indices.map { labels[$0] })
    }

    /// Image `index` as HWC bytes (the runtime's layout: the channels of each pixel together).
    public func imageHWC(_ index: Int) -> [UInt8] {
        let plane = height * width, c = channels, base = index * imageSize
        var out = [UInt8](repeating: 0, count: imageSize)
        for p in 0..<plane { for ch in 0..<c { out[p * c + ch] = pixels[base + ch * plane + p] } }
        return out
    }

    /// Writes the images as a CIFAR-10 binary file (a label byte and 3072 pixel bytes per record),
    /// atomically. Only 32×32×3 images with labels 0…255 fit the format.
    public func write(cifarTo path: String) throws {
        guard imageShape == [32, 32, 3] else {
            throw DataError.unsupported(path, "CIFAR-10 records hold 32x32x3 images, these are \(height)x\(width)x\(channels)")
        }
        if let bad = labels.first(where: { !(0...255).contains($0) }) {
            throw DataError.unsupported(path, "label \(bad) does not fit a CIFAR-10 label byte")
        }
        var out = [UInt8](); out.reserveCapacity(count * (1 + imageSize))
        for r in 0..<count {
            out.append(UInt8(labels[r]))
            out.append(contentsOf: pixels[(r * imageSize)..<((r + 1) * imageSize)])
        }
        do { try writeFileAtomically(out, to: path) } catch { throw DataError.unwritable(path, "\(error)") }
    }
}

extension LabeledImages {
    /// One CIFAR-10 binary file: per record a label byte (0–9) and 3072 pixel bytes (1024 red,
    /// 1024 green, 1024 blue, each 32×32 row-major).
    public static func readCIFAR10(path: String) throws -> LabeledImages {
        try decodeCIFAR10(readDatasetFile(path), source: path)
    }

    /// `readCIFAR10` on bytes in memory; `source` names them in errors.
    public static func decodeCIFAR10(_ bytes: [UInt8], source: String) throws -> LabeledImages {
        try cifarRecords(bytes, source: source, format: "CIFAR-10", labelBytes: 1, classes: 10)
    }

    /// One CIFAR-100 binary file: per record a coarse label byte (0–19), a fine label byte (0–99)
    /// and 3072 pixel bytes. The labels are the fine ones.
    public static func readCIFAR100(path: String) throws -> LabeledImages {
        try decodeCIFAR100(readDatasetFile(path), source: path)
    }

    /// `readCIFAR100` on bytes in memory; `source` names them in errors.
    public static func decodeCIFAR100(_ bytes: [UInt8], source: String) throws -> LabeledImages {
        try cifarRecords(bytes, source: source, format: "CIFAR-100", labelBytes: 2, classes: 100)
    }

    /// Records of `labelBytes` label bytes (the last one is the label; a leading one is CIFAR-100's
    /// coarse label, 0–19) followed by a 32×32×3 planar image.
    static func cifarRecords(_ bytes: [UInt8], source path: String, format: String, labelBytes: Int, classes: Int) throws -> LabeledImages {
        let imageSize = 3072, recordSize = labelBytes + imageSize
        guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
            throw DataError.malformed(path, "size \(bytes.count) bytes is not a positive multiple of the \(recordSize)-byte \(format) record")
        }
        let n = bytes.count / recordSize
        var pixels = [UInt8](repeating: 0, count: n * imageSize)
        var labels = [Int](repeating: 0, count: n)
        try bytes.withUnsafeBufferPointer { src in
            try pixels.withUnsafeMutableBufferPointer { dst in
                for r in 0..<n {
                    let record = src.baseAddress! + r * recordSize
                    if labelBytes == 2, record[0] >= 20 {
                        throw DataError.malformed(path, "record \(r) has coarse label \(record[0]), expected 0…19")
                    }
                    let label = Int(record[labelBytes - 1])
                    guard label < classes else {
                        throw DataError.malformed(path, "record \(r) has label \(label), expected 0…\(classes - 1)")
                    }
                    labels[r] = label
                    (dst.baseAddress! + r * imageSize).update(from: record + labelBytes, count: imageSize)
                }
            }
        }
        return LabeledImages(height: 32, width: 32, channels: 3, pixels: pixels, labels: labels)
    }
}

/// A whole dataset file, with a missing or unreadable file as a `DataError` naming it.
func readDatasetFile(_ path: String) throws -> [UInt8] {
    do { return try readFileBytes(path) }
    catch RKGFormatError.fileNotFound { throw DataError.missingFile(path) }
    catch RKGFormatError.cannotRead(_, let reason) { throw DataError.unreadable(path, reason) }
    catch { throw DataError.unreadable(path, "\(error)") }
}
