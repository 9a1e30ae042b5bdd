import Foundation
import RankEdge
import RankEdgeTrain

/// One finished training run as a row of the experiments CSV (docs/EXPERIMENTS.md): what was
/// trained, how well, how big, how long, and how fast the exported graph runs on this runtime.
struct ExperimentRow {
    static let columns = ["date", "experiment", "model", "kernel", "conv", "rank", "dso", "steps", "batch", "seed", "params",
                          "macs", "test_accuracy", "train_accuracy", "train_seconds", "latency_ms", "dense_latency_ms"]
    /// Training images scored for train accuracy: enough for a stable figure, quick to run.
    static let trainAccuracyImages = 10_000

    let values: [String]
    let latencyMilliseconds: Double
    let denseLatencyMilliseconds: Double?
    let trainAccuracy: Double

    init(trainer: Trainer, graph: Graph, test: ClassificationReport, tag: String) throws {
        let config = trainer.config, options = config.model
        trainAccuracy = trainer.evaluateTraining(limit: Self.trainAccuracyImages).accuracy
        let macs: Int
        do { macs = try graph.cost().total.macs } catch { throw CLIError("exported graph: \(error)") }
        latencyMilliseconds = try medianLatency(graph)
        // The same architecture in dense form, random weights: latency depends on shapes only.
        if options.conv != .dense {
            var dense = options
            dense.conv = .dense
            let denseGraph: Graph
            do { denseGraph = try ModelZoo.build(dense, seed: config.seed) } catch { throw CLIError("\(error)") }
            denseLatencyMilliseconds = try medianLatency(denseGraph)
        } else {
            denseLatencyMilliseconds = latencyMilliseconds
        }
        var rank = ""
        if case .rank(let l) = options.conv { rank = "\(l)" }
        let date = ISO8601DateFormatter().string(from: Date())
        // Only mini-VGG has a kernel option; the ResNets' and VGG-11's convs are all 3×3.
        let kernel = options.name == "minivgg" ? options.kernel : 3
        values = [date, tag, options.name, "\(kernel)", options.conv.description, rank, "\(options.orthogonality)",
                  "\(trainer.step)", "\(config.batchSize)", "\(config.seed)", "\(trainer.model.parameterCount)", "\(macs)",
                  String(format: "%.4f", test.accuracy), String(format: "%.4f", trainAccuracy),
                  trainer.trainSecondsComplete ? String(format: "%.1f", trainer.trainSeconds) : "", String(format: "%.4f", latencyMilliseconds),
                  denseLatencyMilliseconds.map { String(format: "%.4f", $0) } ?? ""]
    }

    /// Appends under the header (written when the file is new), by rewriting the file to a
    /// temporary name and renaming it, so an interrupted append never leaves half a row.
    func append(to path: String) throws {
        var text = ""
        if FileManager.default.fileExists(atPath: path) {
            guard let bytes = try? readFileBytes(path), let existing = String(bytes: bytes, encoding: .utf8) else {
                throw CLIError("cannot read results file \(path)")
            }
            text = existing
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        }
        if text.isEmpty { text = Self.columns.joined(separator: ",") + "\n" }
        text += values.map(csvField).joined(separator: ",") + "\n"
        do { try writeFileAtomically(Array(text.utf8), to: path) } catch { throw CLIError("cannot write results file \(path): \(error)") }
    }
}

/// Refuses, before training starts, a results file whose header is not ours.
func checkResultsFile(_ path: String) throws {
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: directory) else { throw CLIError("results directory \(directory) does not exist") }
    // The row is written by renaming a new file into place, so the directory must be writable.
    guard FileManager.default.isWritableFile(atPath: directory) else { throw CLIError("cannot write results into \(directory)") }
    guard FileManager.default.fileExists(atPath: path) else { return }
    guard let bytes = try? readFileBytes(path), let text = String(bytes: bytes, encoding: .utf8) else {
        throw CLIError("cannot read results file \(path)")
    }
    let header = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    guard text.isEmpty || header == ExperimentRow.columns.joined(separator: ",") else {
        throw CLIError("\(path) is not a RankEdge results CSV (its header differs); give a new file")
    }
}

private func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

/// How a rank-L conv trains, with the measurement behind an automatic choice.
func describeTrainingForm(_ model: TrainableGraph, node name: String) -> String {
    let form = model.rankForms[name] ?? .auto
    let measured = [RankExecution.reconstruct, .separable].compactMap { f in
        model.rankMeasurements[name]?[f].map { String(format: "%@ %.1f ms", f.rawValue, $0 * 1000) }
    }
    var shape = ""
    if let node = model.graph.node(named: name), let a = model.graph.weights[node.inputs[1]] {
        shape = "rank-\(a.shape[2]) \(a.shape[3])x\(a.shape[3]), "
    }
    return "\(name): \(shape)trains as \(form.rawValue)" + (measured.isEmpty ? "" : " (forward+backward: \(measured.joined(separator: ", ")))")
}

/// One line per rankConv2d node saying how it trains.
func describeTrainingForms(_ model: TrainableGraph) -> [String] {
    model.graph.nodes.filter { model.rankForms[$0.name] != nil }.map { describeTrainingForm(model, node: $0.name) }
}
