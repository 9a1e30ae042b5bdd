import ArgumentParser
import Foundation
import RankEdge

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the shipped model on the shipped CIFAR-10 images: predictions, accuracy, latency.",
        discussion: "Defaults to the best model in models/ and models/samples/cifar10-test-100.bin; run it from the repository root (make demo does)."
    )

    static let defaultModels = ["models/minivgg-k5-rank1-bn-dropout.rkg", "models/minivgg-k5-bn-dropout.rkg", "models/minivgg-k5-random.rkg"]

    @Option(help: "Model (.rkg); default: the first of \(defaultModels.joined(separator: ", ")) that exists.") var model: String?
    @Option(help: "CIFAR-10 binary file of sample images.") var samples = "models/samples/cifar10-test-100.bin"
    @Option(help: "How many predictions to print.") var show = 10

    func run() throws {
        guard show >= 0 else { throw CLIError("--show must be non-negative") }
        guard let path = model ?? Self.defaultModels.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw CLIError("no model found (looked for \(Self.defaultModels.joined(separator: ", ")); run from the repository root or pass --model)")
        }
        let graph = try loadGraph(path)
        let runner = try ModelRunner(graph: graph)
        let records: CIFARRecords
        do { records = try CIFARRecords(path: samples) } catch { throw CLIError("\(error)") }
        let total = try graph.cost().total
        print("model   \(path): \(graph.name), \(formatCount(total.params)) params, \(formatCount(total.macs)) MACs")
        print("samples \(samples): \(records.count) CIFAR-10 test images")
        if graph.metadata["rankedge.zoo"] != nil {
            print("note    this model has seeded random weights, so its accuracy is chance level")
        }
        let names = graph.classNames.isEmpty ? cifar10ClassNames : graph.classNames

        var correct = 0
        var times: [Double] = []
        for i in 0..<records.count {
            let x = try runner.tensor(hwc: records.imageHWC(i), height: 32, width: 32, source: "\(samples) record \(i)")
            let start = DispatchTime.now().uptimeNanoseconds
            let logits = try runner.run(x)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            let p = probabilities(logits.data[...])
            let predicted = p.indices.max { p[$0] < p[$1] }!
            let label = Int(records.labels[i])
            if predicted == label { correct += 1 }
            if i < show {
                let mark = predicted == label ? "ok " : "MISS"
                print("  #\(i) \(mark) predicted \(name(names, predicted)) (\(String(format: "%.1f", p[predicted] * 100)) %), truth \(name(names, label))")
            }
        }
        times.sort()
        let median = times[times.count / 2]
        print(String(format: "accuracy %d/%d = %.1f %%", correct, records.count, Double(correct) * 100 / Double(records.count)))
        print(String(format: "latency  median %.3f ms per image (batch 1), min %.3f ms", median, times.first!))
    }

    func name(_ names: [String], _ i: Int) -> String { i < names.count ? names[i] : "class \(i)" }
}
