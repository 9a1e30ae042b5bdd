import ArgumentParser
import Foundation
import RankEdge
import RankEdgeTrain
import RankEdgeZoo

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the shipped model on the shipped CIFAR-10 images: predictions, accuracy, latency.",
        discussion: """
        Defaults to the best model in models/ (the rank-1 mini-VGG when present) and \
        models/samples/cifar10-test-100.bin, and sets every other shipped trained model beside it \
        (accuracy, parameters, MACs, latency). Run it from the repository root (make demo does).
        """
    )

    static let defaultModels = ["models/minivgg-k5-rank1-bn-dropout.rkg", "models/minivgg-k5-bn-dropout.rkg", "models/minivgg-k5-random.rkg"]

    @Option(help: "Model (.rkg); default: the first of \(defaultModels.joined(separator: ", ")) that exists.") var model: String?
    @Option(help: "CIFAR-10 binary file of sample images.") var samples = "models/samples/cifar10-test-100.bin"
    @Option(help: "How many predictions to print.") var show = 10

    /// One model's pass over the samples.
    struct Outcome {
        let path: String
        let graph: Graph
        let correct: Int, count: Int
        let medianMilliseconds: Double, minMilliseconds: Double
    }

    func run() throws {
        guard show >= 0 else { throw CLIError("--show must be non-negative") }
        guard let path = model ?? Self.defaultModels.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw CLIError("no model found (looked for \(Self.defaultModels.joined(separator: ", ")); run from the repository root or pass --model)")
        }
        let records: LabeledImages
        do { records = try LabeledImages.readCIFAR10(path: samples) } catch { throw CLIError("\(error)") }
        let main = try evaluate(path, records, show: show)
        print(String(format: "accuracy %d/%d = %.1f %%", main.correct, main.count, Double(main.correct) * 100 / Double(main.count)))
        print(String(format: "latency  median %.3f ms per image (batch 1, 1 thread), min %.3f ms", main.medianMilliseconds, main.minMilliseconds))

        // Beside it: the other shipped trained models, so the low-rank gain is visible in one run.
        guard model == nil else { return }
        let others = Self.defaultModels.filter { $0 != path && FileManager.default.fileExists(atPath: $0) }
        var outcomes = [main]
        for other in others {
            // A damaged extra model must not spoil the demo of the main one: say so and go on.
            do {
                guard try loadGraph(other).metadata["rankedge.zoo"] == nil else { continue }
                outcomes.append(try evaluate(other, records, show: 0))
            } catch { printError("note: skipped \(other): \(error)") }
        }
        guard outcomes.count > 1 else { return }
        print("\ncompared on the same \(records.count) images:")
        let table = TextTable(columns: ["model", "params", "MACs", "test acc (trainer)", "samples acc", "latency p50"], rightAligned: [1, 2, 3, 4, 5])
        table.print(outcomes.map { o in
            let test = o.graph.metadata["rankedge.train.test_accuracy"].flatMap(Double.init).map { String(format: "%.2f %%", $0 * 100) } ?? "-"
            return [URL(fileURLWithPath: o.path).lastPathComponent, formatCount((try? o.graph.cost().total.params) ?? 0),
                    formatCount((try? o.graph.cost().total.macs) ?? 0), test,
                    String(format: "%.1f %%", Double(o.correct) * 100 / Double(o.count)), String(format: "%.3f ms", o.medianMilliseconds)]
        })
        for o in outcomes.dropFirst() {
            let ratio = o.medianMilliseconds / main.medianMilliseconds
            print(String(format: "%@ runs %.2fx %@ than %@", URL(fileURLWithPath: main.path).lastPathComponent,
                         ratio >= 1 ? ratio : 1 / ratio, ratio >= 1 ? "faster" : "slower", URL(fileURLWithPath: o.path).lastPathComponent))
        }
    }

    private func evaluate(_ path: String, _ records: LabeledImages, show: Int) throws -> Outcome {
        let graph = try loadGraph(path)
        let runner = try ModelRunner(graph: graph)
        let total = try graph.cost().total
        if show > 0 {
            print("model   \(path): \(graph.name), \(formatCount(total.params)) params, \(formatCount(total.macs)) MACs")
            print("samples \(samples): \(records.count) CIFAR-10 test images")
            if graph.metadata["rankedge.zoo"] != nil {
                print("note    this model has seeded random weights, so its accuracy is chance level")
            }
        }
        let names = graph.classNames.isEmpty ? cifar10ClassNames : graph.classNames
        var correct = 0
        var times: [Double] = []
        // Untimed warm-up: the first runs fault in the arena and packed weights.
        let first = try runner.tensor(hwc: records.imageHWC(0), height: records.height, width: records.width, source: "\(samples) record 0")
        for _ in 0..<5 { _ = try runner.run(first) }
        for i in 0..<records.count {
            let x = try runner.tensor(hwc: records.imageHWC(i), height: records.height, width: records.width, source: "\(samples) record \(i)")
            let start = nowMilliseconds()
            let logits = try runner.run(x)
            times.append(nowMilliseconds() - start)
            let p = probabilities(logits.data[...])
            let predicted = p.indices.max { p[$0] < p[$1] }!
            let label = records.labels[i]
            if predicted == label { correct += 1 }
            if i < show {
                let mark = predicted == label ? "ok " : "MISS"
                print("  #\(i) \(mark) predicted \(name(names, predicted)) (\(String(format: "%.1f", p[predicted] * 100)) %), truth \(name(names, label))")
            }
        }
        times.sort()
        return Outcome(path: path, graph: graph, correct: correct, count: records.count,
                       medianMilliseconds: nearestRankPercentile(times, 50), minMilliseconds: times[0])
    }

    func name(_ names: [String], _ i: Int) -> String { i < names.count ? names[i] : "class \(i)" }
}
