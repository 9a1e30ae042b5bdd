import Foundation
import RankEdge

/// Everything that defines a training run; a checkpoint only resumes a run with the same config.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var model: ModelOptions
    public var batchSize: Int
    public var steps: Int
    public var optimizer: OptimizerConfig
    public var schedule: LearningRateSchedule
    public var seed: UInt64
    public var augment: Bool
    /// What else defines the run beyond the model options (fine-tuning: the source graph, frozen
    /// weights, teacher, distillation, validation split…), compared verbatim on resume; nil for
    /// runs from scratch and in checkpoints written before it existed.
    public var settings: String?

    public init(model: ModelOptions, batchSize: Int, steps: Int, optimizer: OptimizerConfig,
                schedule: LearningRateSchedule, seed: UInt64, augment: Bool, settings: String? = nil) {
        self.model = model; self.batchSize = batchSize; self.steps = steps; self.optimizer = optimizer
        self.schedule = schedule; self.seed = seed; self.augment = augment; self.settings = settings
    }

    public var recipe: String {
        "\(optimizer.kind.rawValue) lr=\(schedule.baseLR) \(schedule.kind.rawValue)" +
            (schedule.warmup > 0 ? " warmup=\(schedule.warmup)" : "") +
            (optimizer.weightDecay > 0 ? " wd=\(optimizer.weightDecay)" : "") +
            ", batch \(batchSize), \(steps) steps, seed \(seed)" + (augment ? ", crop+flip" : "")
    }
}

public enum CheckpointError: Error, CustomStringConvertible {
    case missing(String)
    case corrupt(String, String)
    case mismatch(String, String)
    case cannotWrite(String, String)
    public var description: String {
        switch self {
        case .missing(let p): "no checkpoint at \(p)"
        case .corrupt(let p, let why): "corrupt checkpoint \(p): \(why)"
        case .mismatch(let p, let why): "checkpoint \(p) does not match this run: \(why)"
        case .cannotWrite(let p, let why): "cannot write checkpoint \(p): \(why)"
        }
    }
}

/// A training snapshot: config, step, normalisation, and named float tensors (model parameters and
/// buffers, optimizer slots). File layout: "RKCKPT01", u64 header length, JSON header, the tensors'
/// little-endian float32 data back to back, then a u64 FNV-1a checksum of everything before it.
public struct Checkpoint {
    static let magic = Array("RKCKPT01".utf8)

    struct Header: Codable {
        var config: TrainingConfig
        var step: Int
        var optimizerStep: Int
        var normalization: Normalization
        var tensors: [Entry]
        var rankForms: [String: RankExecution]?
        var trainSeconds: Double?
        struct Entry: Codable { var name: String; var count: Int }
    }

    public var config: TrainingConfig
    public var step: Int
    public var optimizerStep: Int
    public var normalization: Normalization
    public var tensors: [(String, [Float])]
    /// The training form each rank-L conv settled on (absent in dense runs).
    public var rankForms: [String: RankExecution]? = nil
    /// Wall time spent in training steps up to this checkpoint, over all sittings.
    public var trainSeconds: Double? = nil

    public func encode() throws -> [UInt8] {
        let header = Header(config: config, step: step, optimizerStep: optimizerStep, normalization: normalization,
                            tensors: tensors.map { Header.Entry(name: $0.0, count: $0.1.count) }, rankForms: rankForms, trainSeconds: trainSeconds)
        let json = try JSONEncoder().encode(header)
        var out = Self.magic
        appendU64(&out, UInt64(json.count))
        out += json
        for (_, values) in tensors {
            values.withUnsafeBytes { out.append(contentsOf: $0) }  // little-endian hosts only (x86-64, arm64)
        }
        appendU64(&out, fnv1a(out[...]))
        return out
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> Checkpoint {
        func corrupt(_ why: String) -> CheckpointError { .corrupt(path, why) }
        guard bytes.count >= 24, Array(bytes[0..<8]) == magic else { throw corrupt("not a RankEdge checkpoint (bad magic)") }
        let stored = readU64(bytes, bytes.count - 8)
        guard stored == fnv1a(bytes[0..<(bytes.count - 8)]) else { throw corrupt("checksum mismatch (truncated or damaged)") }
        let headerLength = readU64(bytes, 8)
        guard headerLength <= UInt64(bytes.count - 24) else { throw corrupt("header length \(headerLength) exceeds the file") }
        let headerEnd = 16 + Int(headerLength)
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes[16..<headerEnd])) }
        catch { throw corrupt("unreadable header: \(error)") }
        var offset = headerEnd
        var tensors: [(String, [Float])] = []
        for e in header.tensors {
            guard e.count >= 0, e.count <= (bytes.count - 8 - offset) / 4 else { throw corrupt("tensor \(e.name) runs past the data") }
            let values = bytes[offset..<(offset + 4 * e.count)].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            tensors.append((e.name, values))
            offset += 4 * e.count
        }
        guard offset == bytes.count - 8 else { throw corrupt("\(bytes.count - 8 - offset) unexplained bytes after the tensors") }
        return Checkpoint(config: header.config, step: header.step, optimizerStep: header.optimizerStep,
                          normalization: header.normalization, tensors: tensors, rankForms: header.rankForms,
                          trainSeconds: header.trainSeconds)
    }

    /// Writes to a temporary file in the same directory, then renames over `path`.
    public func write(to path: String) throws {
        let bytes = try encode()
        // RankEdge's writer: its temporary file is removed if a signal ends the process mid-write.
        do { try writeFileAtomically(bytes, to: path) }
        catch { throw CheckpointError.cannotWrite(path, "\(error)") }
    }

    public static func read(path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missing(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError.corrupt(path, "unreadable") }
        return try decode([UInt8](data), path: path)
    }
}

private func appendU64(_ out: inout [UInt8], _ v: UInt64) { for i in 0..<8 { out.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
private func readU64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
private func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
