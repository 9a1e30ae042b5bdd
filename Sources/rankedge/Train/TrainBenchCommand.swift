import ArgumentParser
import Foundation
import RankEdge
import RankEdgeTrain

/// Training throughput on random data, the same measurement as tools' PyTorch benchmark.
struct TrainBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-bench",
        abstract: "Measure training throughput (images/s, Adam, train mode) on random batches.",
        discussion: """
        Either a zoo model (--model, as `train` builds it) or any graph (--graph FILE.rkg, e.g. one \
        imported from PyTorch), optionally with frozen factors, on random inputs of the graph's shape.
        """)

    @OptionGroup var modelArguments: ModelArguments
    @Option(help: ArgumentHelp("Time fine-tuning this graph instead of a zoo model.", valueName: "rkg")) var graph: String?
    @Option(help: ArgumentHelp("With --graph: freeze factors of decomposed layers (none, first, first-last).", valueName: "scheme"))
    var freezeFactors: String = "none"
    @Option(help: "Batch size.") var batch: Int = 64
    @Option(help: "Threads.") var threads: Int = 2
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 3
    @Option(help: "Seconds to measure for.") var seconds: Double = 8
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard batch >= 1 else { throw CLIError("--batch must be at least 1") }
        guard (1...256).contains(threads) else { throw CLIError("--threads must be between 1 and 256, got \(threads)") }
        Parallel.setThreads(threads)
        guard let scheme = FactorFreezing(rawValue: freezeFactors) else {
            throw CLIError("unknown --freeze-factors '\(freezeFactors)' (none, first, first-last)")
        }
        let model: TrainableGraph
        let name: String
        if let graph {
            guard modelArguments.model == nil else { throw CLIError("give --model or --graph, not both") }
            let g = try loadGraph(graph)
            let frozen = Set(scheme.nodes(in: g).flatMap { g.node(named: $0)!.weightInputs })
            if scheme != .none, frozen.isEmpty { throw CLIError("--freeze-factors \(freezeFactors): \(graph) has no decomposed layers") }
            do { model = try TrainableGraph(g, frozen: frozen, rankExecution: try modelArguments.rankExecution()) }
            catch { throw CLIError("\(graph): \(error)") }
            name = URL(fileURLWithPath: graph).lastPathComponent + (scheme == .none ? "" : " freeze-factors \(freezeFactors)")
        } else {
            guard scheme == .none else { throw CLIError("--freeze-factors needs --graph") }
            let options = try modelArguments.options()
            do { model = try TrainableGraph(try ModelZoo.build(options, seed: 0), rankExecution: try modelArguments.rankExecution()) }
            catch { throw CLIError("\(error)") }
            model.orthogonality = options.orthogonality
            name = options.summary
        }
        let output: [Int]
        do { output = try model.graph.inferShapes()[model.graph.outputs[0]]?.dims ?? [] } catch { throw CLIError("\(error)") }
        guard output.count == 2, output[1] >= 1 else { throw CLIError("the graph's output is \(TensorShape(output)), not class scores [N, classes]") }
        let classes = output[1]
        let optimizer = Optimizer(OptimizerConfig(kind: .adam), parameters: model.parameters)
        var rng = SeededRandom(seed: 1)
        let imageShape = Array(model.inputShape.dropFirst())
        let imageSize = imageShape.reduce(1, *)
        let images = Variable(shape: [batch] + imageShape, data: (0..<batch * imageSize).map { _ in rng.normal() })
        let labels = (0..<batch).map { _ in Int(rng.next() % UInt64(classes)) }
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
            print("{\"model\": \"\(name)\", \"batch\": \(batch), \"threads\": \(threads), \"steps\": \(n), \"images_per_second\": \(String(format: "%.1f", rate))}")
        } else {
            print("\(name)\tthreads=\(threads)\ttrain \(String(format: "%.0f", rate)) img/s (batch \(batch), Adam, \(n) steps)")
        }
    }
}
