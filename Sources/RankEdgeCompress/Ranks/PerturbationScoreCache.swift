import Foundation
import RankEdge

/// Output-perturbation and output-variance scores of every singular vector, kept between runs. They
/// depend on the weights, the calibration images and the blocking, not on the sparsity or the CPU:
/// a sparsity sweep (seed 004's 80–98 %) scores each blocking once, and both scores come from the
/// same forward passes, so they are stored together with the time the scoring took.
struct PerturbationScoreCache {
    struct Scores: Codable, Equatable {
        /// Per block, per singular vector.
        var output: [[Double]]
        var variance: [[Double]]
        /// Wall time of the forward passes that produced them.
        var seconds: Double
    }

    let path: String?
    let key: String
    private(set) var entries: [String: Scores] = [:]

    private struct File: Codable { var key: String; var layers: [String: Scores] }

    init(path: String?, graph: Graph, calibration: LabeledSamples) {
        self.path = path
        var data = Fingerprint()
        data.add(calibration.images)
        key = "\(graph.name) weights \(Fingerprint.weights(of: graph)) calibration \(calibration.count) \(data)"
        if let path, let bytes = FileManager.default.contents(atPath: path),
           let file = try? JSONDecoder().decode(File.self, from: bytes), file.key == key {
            entries = file.layers
        }
    }

    subscript(layer: String, blocks: RankPolicy.Blocking) -> Scores? {
        get { entries["\(blocks.rawValue) \(layer)"] }
        set { entries["\(blocks.rawValue) \(layer)"] = newValue }
    }

    func save() throws(CompressError) {
        guard let path else { return }
        do {
            let data = try JSONEncoder().encode(File(key: key, layers: entries))
            try writeFileAtomically([UInt8](data), to: path)
        } catch { throw .badOption("cannot write the perturbation score cache \(path): \(error)") }
    }
}
