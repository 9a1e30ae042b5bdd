import Foundation
import RankEdge
import RankEdgeZoo

/// Everything that can be wrong with a dataset, each as one line naming the file.
public enum DataError: Error, CustomStringConvertible, Sendable {
    case missingFile(String)
    case unreadable(String, String)
    case unwritable(String, String)
    case malformed(String, String)
    case unsupported(String, String)
    /// The dataset lacks a split the caller needs (training images for `train`, test images for `eval`).
    case missingSplit(String, String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .missingFile(let p): "missing dataset file \(p)"
        case .unreadable(let p, let why): "cannot read \(p): \(why)"
        case .unwritable(let p, let why): "cannot write \(p): \(why)"
        case .malformed(let p, let why): "malformed dataset file \(p): \(why)"
        case .unsupported(let p, let why): "unsupported dataset \(p): \(why)"
        case .missingSplit(let p, let why): "\(p): \(why)"
        case .invalidArgument(let why): why
        }
    }
}

/// A labelled image dataset from any of the formats `train`, `eval` and `run` read (`load`).
public struct Dataset: Sendable {
    public enum Format: String, Sendable {
        case cifar10Folder = "CIFAR-10 folder"
        case cifar100Folder = "CIFAR-100 folder"
        case cifar10File = "CIFAR-10 file"
        case npz = "NumPy .npz"
    }

    public var train: LabeledImages?
    /// Nil when the data has no test split (an .npz without `x_test`): the caller decides.
    public var test: LabeledImages?
    public var classNames: [String]
    public var format: Format
    public var classCount: Int { classNames.count }

    public init(train: LabeledImages?, test: LabeledImages?, classNames: [String], format: Format) {
        self.train = train; self.test = test; self.classNames = classNames; self.format = format
    }

    /// The largest class count a dataset may have (labels are 0 ..< this).
    public static let maxClasses = 100_000

    /// Reads `path`, whichever of these it is:
    /// - a CIFAR-10 binary folder: data_batch_1…5.bin, test_batch.bin, optional batches.meta.txt
    ///   (class names, one a line);
    /// - a CIFAR-100 binary folder: train.bin, test.bin (fine labels, 100 classes), optional
    ///   fine_label_names.txt;
    /// - one CIFAR-10 .bin file: the test split only;
    /// - a NumPy .npz (`np.savez` or `np.savez_compressed`): uint8 `x` (N×H×W×C or N×C×H×W) with
    ///   integer labels `y`, optional `x_test`/`y_test` and `class_names`.
    /// With `training`, the training split is read and required; the test split is required too,
    /// except from an .npz, whose `test` is nil without `x_test`. Without `training`, only the test
    /// split is read, and it is required.
    public static func load(path: String, training: Bool) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missingFile("\(path) (dataset folder or file)")
        }
        if isDirectory.boolValue { return try loadFolder(path, training: training) }
        if path.lowercased().hasSuffix(".npz") || fileStarts(path, with: [0x50, 0x4B, 0x03, 0x04]) {
            return try NPZDataset.load(path: path, training: training)
        }
        guard !training else {
            throw DataError.missingSplit(path, "a single CIFAR-10 file is a test split only; training needs a CIFAR-10/CIFAR-100 folder or an .npz with x and y")
        }
        return Dataset(train: nil, test: try LabeledImages.readCIFAR10(path: path), classNames: cifar10ClassNames, format: .cifar10File)
    }

    /// An .npz dataset already in memory (what `load` does with an .npz file); `source` names it in errors.
    public static func decodeNPZ(_ bytes: [UInt8], source: String, training: Bool) throws -> Dataset {
        try NPZDataset.load(bytes: bytes, path: source, training: training)
    }

    static func loadFolder(_ directory: String, training: Bool) throws -> Dataset {
        let dir = URL(fileURLWithPath: directory)
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }
        if exists("data_batch_1.bin") || exists("test_batch.bin") {
            var train: LabeledImages?
            if training {
                var pixels: [UInt8] = [], labels: [Int] = []
                for i in 1...5 {
                    let batch = try LabeledImages.readCIFAR10(path: file("data_batch_\(i).bin"))
                    pixels += batch.pixels; labels += batch.labels
                }
                train = LabeledImages(height: 32, width: 32, channels: 3, pixels: pixels, labels: labels)
            }
            let test = try LabeledImages.readCIFAR10(path: file("test_batch.bin"))
            let names = try classNames(file: file("batches.meta.txt"), count: 10) ?? cifar10ClassNames
            return Dataset(train: train, test: test, classNames: names, format: .cifar10Folder)
        }
        if exists("train.bin") || exists("test.bin") {
            let train = training ? try LabeledImages.readCIFAR100(path: file("train.bin")) : nil
            let test = try LabeledImages.readCIFAR100(path: file("test.bin"))
            let names = try classNames(file: file("fine_label_names.txt"), count: 100) ?? (0..<100).map { "class\($0)" }
            return Dataset(train: train, test: test, classNames: names, format: .cifar100Folder)
        }
        throw DataError.unsupported(directory, "not a dataset folder: expected CIFAR-10 (data_batch_1…5.bin, test_batch.bin) or CIFAR-100 (train.bin, test.bin) binary files")
    }

    /// Class names from a text file (one a line, label order) when it exists; exactly `count`.
    static func classNames(file path: String, count: Int) throws -> [String]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let text = String(bytes: try readDatasetFile(path), encoding: .utf8) else {
            throw DataError.malformed(path, "class names are not UTF-8 text")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == count else { throw DataError.malformed(path, "expected \(count) class names, found \(names.count)") }
        return names
    }

    static func fileStarts(_ path: String, with magic: [UInt8]) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: magic.count)) ?? Data()
        return Array(head) == magic
    }
}
