import ArgumentParser
import Foundation
import RankEdge
import RankEdgeTrain

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Top-1 and per-class accuracy of a classifier on a test set (CIFAR-10, CIFAR-100 or .npz), run on the runtime.",
        discussion: """
        Images are normalised with the constants in the model's metadata (rankedge.input_mean / \
        rankedge.input_std, for pixels scaled to 0…1); a model without them gets pixels scaled to 0…1.
        """)

    @Argument(help: "Model (.rkg).") var model: String
    @Option(help: "Test data: a CIFAR-10 or CIFAR-100 binary folder, a CIFAR-10 .bin file, or a NumPy .npz with x_test and y_test (docs/CLI.md).") var data: String
    @Option(help: "Evaluate only the first N images.") var limit: Int?
    @Option(help: "Images per runtime call.") var batch: Int = 50
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var memory: MemoryOption

    struct Report: Encodable {
        struct PerClass: Encodable { var label: Int; var name: String; var accuracy: Double?; var correct: Int; var count: Int }
        var model: String
        var backend: String
        var count: Int
        var correct: Int
        var accuracy: Double
        var per_class: [PerClass]
        var images_per_second: Double
    }

    func run() throws {
        if let limit, limit < 1 { throw CLIError("--limit must be at least 1") }
        guard batch >= 1 else { throw CLIError("--batch must be at least 1") }
        let dataset: Dataset
        do { dataset = try Dataset.load(path: data, training: false) } catch { throw CLIError("\(error)") }
        // A graph file is compiled now, a compiled file runs as it is.
        let runner = try ModelRunner(path: model, choices: RuntimeChoices(maxMemoryBytes: memory.bytes))
        let graph = runner.graph
        let split = dataset.test!
        var names = graph.classNames
        let shape = graph.inputs.first?.shape
        guard graph.inputs.count == 1, let shape, Array(shape.dims.dropFirst()) == split.imageShape else {
            throw CLIError("\(model): expects input \(shape?.description ?? "none"), the images of \(data) are [N, \(split.height), \(split.width), \(split.channels)]")
        }
        let normalization = Normalization(mean: runner.normalization.mean, std: runner.normalization.std)
        let backendName = "runtime"

        let n = min(limit ?? split.count, split.count)
        var predictions: [Int] = []
        let start = Date()
        var first = 0
        while first < n {
            let count = min(batch, n - first)
            let images = normalization.images(split, indices: Array(first..<(first + count)))
            let logits: Tensor
            do { logits = try runner.run(Tensor(shape: [count] + split.imageShape, data: images.array)) }
            catch { throw CLIError("\(model): \(error)") }
            let k = logits.count / count
            if names.isEmpty {
                // No names in the graph: the data's, as far as they go.
                names = (0..<k).map { $0 < dataset.classNames.count ? dataset.classNames[$0] : "class\($0)" }
            }
            guard k == names.count else { throw CLIError("\(model): produces \(k) scores per image but names \(names.count) classes") }
            guard k >= dataset.classCount else {
                throw CLIError("\(model): produces \(k) scores per image, the data has \(dataset.classCount) classes")
            }
            for r in 0..<count { predictions.append(argmax(Array(logits.data[(r * k)..<((r + 1) * k)]))) }
            first += count
        }
        let elapsed = Date().timeIntervalSince(start)
        let r = ClassificationReport(predictions: predictions, labels: Array(split.labels.prefix(n)), classes: names.count)
        if json {
            try printJSON(Report(model: model, backend: backendName, count: r.count, correct: r.correct, accuracy: r.accuracy,
                                 per_class: names.indices.map {
                                     .init(label: $0, name: names[$0], accuracy: r.perClassAccuracy[$0],
                                           correct: r.perClassCorrect[$0], count: r.perClassCount[$0])
                                 },
                                 images_per_second: Double(n) / max(elapsed, 1e-9)))
        } else {
            print(String(format: "accuracy %.2f%% (%d/%d images, %@ backend, %.1f img/s)", r.accuracy * 100, r.correct, r.count,
                         backendName, Double(n) / max(elapsed, 1e-9)))
            for (i, name) in names.enumerated() {
                let acc = r.perClassAccuracy[i].map { String(format: "%6.2f%%", $0 * 100) } ?? "     —"
                print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(acc)  (\(r.perClassCorrect[i])/\(r.perClassCount[i]))")
            }
        }
    }
}
