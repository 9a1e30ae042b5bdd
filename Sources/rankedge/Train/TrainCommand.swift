import ArgumentParser
import Foundation
import RankEdge
import RankEdgeTrain

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CNN on CIFAR-10-format data and export it as a .rkg graph.",
        discussion: """
        Progress (step, loss and accuracy over the last 50 steps, learning rate, images/s, ETA) goes to \
        stderr. With --checkpoint DIR the run saves DIR/checkpoint.rkck every --checkpoint-every steps, \
        on Ctrl-C (after finishing the current step) and at the end; --resume continues from it to the \
        same weights an uninterrupted run reaches. Same seed, same result.
        """)

    @OptionGroup var modelArguments: ModelArguments
    @Option(help: "Dataset: a CIFAR-10 or CIFAR-100 binary folder, or a NumPy .npz with x, y, x_test, y_test (docs/CLI.md).") var data: String
    @OptionGroup var training: RunArguments
    @Option(help: ArgumentHelp("Append a row (accuracies, params, MACs, training time, runtime latency) to this CSV when the run finishes; see docs/EXPERIMENTS.md.", valueName: "csv"))
    var results: String?
    @Option(help: "Experiment label for the --results row.") var tag: String = "train"
    @Option(help: "Training images held out (seeded) for validation: --eval-every reads them, the test split is only reported at the end (default 0: evaluate on the test split).")
    var val: Int = 0

    func run() throws {
        Parallel.setThreads(training.threads)
        try training.checkOutputAndMemory()
        let dataset: Dataset
        do { dataset = try Dataset.load(path: data, training: true) } catch { throw CLIError("\(error)") }
        let trainCount = dataset.train!.count
        guard dataset.test != nil else { throw CLIError("\(data): no test images (arrays x_test and y_test); train evaluates on them") }
        guard dataset.classCount >= 2 else { throw CLIError("\(data): every label is 0; training needs at least 2 classes") }
        var modelOptions = try modelArguments.options()
        modelOptions.classes = dataset.classCount  // the zoo's classifier gets one score per class of the data
        let steps = try training.steps(trainCount: trainCount)
        let (optimizer, schedule) = training.optimization(steps: steps, optimizer: .adam, schedule: .constant, sgdRate: 0.1, weightDecay: 0)
        guard val >= 0, val < trainCount else { throw CLIError("--val \(val) must be from 0 to below the \(trainCount) training images") }
        let config = TrainingConfig(model: modelOptions, batchSize: training.batch, steps: steps, optimizer: optimizer,
                                    schedule: schedule, seed: training.seed, augment: training.augment,
                                    settings: val > 0 ? "val \(val)" : nil)
        let trainer: Trainer
        do { trainer = try Trainer(config: config, data: dataset, rankExecution: try modelArguments.rankExecution(), validation: val) }
        catch { throw CLIError("\(error)") }
        let evaluationName = val > 0 ? "validation" : "test"
        if let results { try checkResultsFile(results) }

        let checkpointPath = try training.checkpointPath()
        if try !training.resumeIfAsked(trainer, checkpointPath: checkpointPath, steps: steps) {
            printError("training \(config.model.summary) (\(trainer.model.parameterCount) parameters) on \(trainCount) images: \(config.recipe)")
        }
        guard let progress = try training.loop(trainer, steps: steps, checkpointPath: checkpointPath, evaluationName: evaluationName).run()
        else { return }
        var extra: [String: String] = [:]
        if val > 0 {
            let validation = trainer.evaluate(limit: training.evalLimit)
            progress.note(String(format: "validation accuracy %.2f%% (%d images)", validation.accuracy * 100, validation.count))
            extra[TrainerMetadataKey.validationAccuracy] = String(format: "%.4f", validation.accuracy)
        }
        let report = trainer.evaluate(dataset.test!, limit: training.evalLimit)
        progress.note(String(format: "finished %d steps (%.0f img/s): test accuracy %.2f%% (%d images)",
                             steps, progress.overallRate, report.accuracy * 100, report.count))
        extra[TrainerMetadataKey.testAccuracy] = String(format: "%.4f", report.accuracy)
        extra[TrainerMetadataKey.testCount] = "\(report.count)"
        let graph = trainer.exportGraph(extraMetadata: extra)
        do { try RKGFile.write(graph, to: training.output) } catch { throw CLIError("\(error)") }
        printError("wrote \(training.output)")
        if let results {
            let row = try ExperimentRow(trainer: trainer, graph: graph, test: report, tag: tag)
            try row.append(to: results)
            printError(String(format: "appended to %@: runtime latency %.3f ms (dense form %.3f ms), train accuracy %.2f%%",
                              results, row.latencyMilliseconds, row.denseLatencyMilliseconds ?? .nan, row.trainAccuracy * 100))
        }
    }
}
