import ArgumentParser
import Foundation
import RankEdge
import RankEdgeTrain

/// Training throughput on random data, the same measurement as tools' PyTorch benchmark.
struct TrainBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-bench",
        abstract: "Measure training throughput (images/s, Adam, train mode) on random 32×32×3 batches.")

    @OptionGroup var modelArguments: ModelArguments
    @Option(help: "Batch size.") var batch: Int = 64
    @Option(help: "Threads.") var threads: Int = 2
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 3
    @Option(help: "Seconds to measure for.") var seconds: Double = 8
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard batch >= 1 else { throw CLIError("--batch must be at least 1") }
        Parallel.setThreads(threads)
        let options = try modelArguments.options()
        let model: TrainableGraph
        do { model = try TrainableGraph(try ModelZoo.build(options, seed: 0), rankExecution: try modelArguments.rankExecution()) }
        catch { throw CLIError("\(error)") }
        model.orthogonality = options.orthogonality
        let optimizer = Optimizer(OptimizerConfig(kind: .adam), parameters: model.parameters)
        var rng = SeededRandom(seed: 1)
        let images = Variable(shape: [batch, 32, 32, 3], data: (0..<batch * 3072).map { _ in rng.normal() })
        let labels = (0..<batch).map { _ in Int(rng.next() % 10) }
        var step = 0
        func once() {
            _ = trainStep(model: model, optimizer: optimizer, images: images, labels: labels, learningRate: 1e-3,
                          context: ForwardContext(mode: .training, seed: 1, step: step))
            step += 1
        }
        for _ in 0..<warmup { once() }
        for line in describeTrainingForms(model) { printError(line) }
        let start = Date()
        var n = 0
        while Date().timeIntervalSince(start) < seconds || n == 0 { once(); n += 1 }
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(n * batch) / elapsed
        if json {
            print("{\"model\": \"\(options.summary)\", \"batch\": \(batch), \"threads\": \(threads), \"steps\": \(n), \"images_per_second\": \(String(format: "%.1f", rate))}")
        } else {
            print("\(options.summary)\tthreads=\(threads)\ttrain \(String(format: "%.0f", rate)) img/s (batch \(batch), Adam, \(n) steps)")
        }
    }
}
