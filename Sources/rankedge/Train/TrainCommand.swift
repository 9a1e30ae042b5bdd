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
    @Option(help: "Directory with data_batch_1.bin … data_batch_5.bin and test_batch.bin.") var data: String
    @Option(help: "Training steps (batches).") var iterations: Int?
    @Option(help: "Training epochs (alternative to --iterations).") var epochs: Double?
    @Option(help: "Batch size.") var batch: Int = 64
    @Option(help: "Optimizer: adam, sgd, adamw.") var optimizer: String = "adam"
    @Option(help: "Learning rate (default 1e-3 for adam/adamw, 0.1 for sgd).") var lr: Float?
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Flag(help: "SGD: Nesterov momentum.") var nesterov = false
    @Option(help: "Weight decay (L2 for sgd/adam, decoupled for adamw).") var weightDecay: Float = 0
    @Option(help: "Learning-rate schedule: constant, step, cosine.") var schedule: String = "constant"
    @Option(help: "Linear warm-up steps.") var warmup: Int = 0
    @Option(help: "Step schedule: decay every N steps (default a third of the run).") var stepSize: Int = 0
    @Option(help: "Step schedule: decay factor.") var gamma: Float = 0.1
    @Flag(inversion: .prefixedNo, help: "Random 4-pixel-padded crops and horizontal flips.") var augment = true
    @Option(help: "Seed for initialisation, shuffling, augmentation and dropout.") var seed: UInt64 = 0
    @Option(help: "Threads.") var threads: Int = 2
    @Option(help: "Evaluate on the test set every N steps (0: only at the end).") var evalEvery: Int = 1000
    @Option(help: "Test images per evaluation (default all).") var evalLimit: Int?
    @Option(help: "Checkpoint directory.") var checkpoint: String?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int = 500
    @Flag(help: "Continue from the checkpoint in --checkpoint.") var resume = false
    @Option(help: "Stop (with a checkpoint) after this many steps of this invocation; for tests and time slices.") var stopAfter: Int?
    @Option(name: .shortAndLong, help: "Output .rkg file.") var output: String
    @Option(help: ArgumentHelp("Append a row (accuracies, params, MACs, training time, runtime latency) to this CSV when the run finishes; see docs/EXPERIMENTS.md.", valueName: "csv"))
    var results: String?
    @Option(help: "Experiment label for the --results row.") var tag: String = "train"

    func validate() throws {
        guard (iterations == nil) != (epochs == nil) else { throw CLIError("give exactly one of --iterations and --epochs") }
        if let iterations, iterations < 1 { throw CLIError("--iterations must be at least 1") }
        if let epochs, !(epochs > 0) { throw CLIError("--epochs must be positive") }
        guard batch >= 1, batch <= 4096 else { throw CLIError("--batch must be between 1 and 4096") }
        guard threads >= 1 else { throw CLIError("--threads must be at least 1") }
        guard checkpointEvery >= 1, evalEvery >= 0, warmup >= 0 else { throw CLIError("--checkpoint-every, --eval-every and --warmup must not be negative") }
        if resume && checkpoint == nil { throw CLIError("--resume needs --checkpoint DIR") }
        guard OptimizerKind(rawValue: optimizer) != nil else { throw CLIError("unknown optimizer '\(optimizer)' (adam, sgd, adamw)") }
        guard ScheduleKind(rawValue: schedule) != nil else { throw CLIError("unknown schedule '\(schedule)' (constant, step, cosine)") }
        if let lr, !(lr > 0) { throw CLIError("--lr must be positive") }
    }

    func run() throws {
        Parallel.setThreads(threads)
        let outputDirectory = URL(fileURLWithPath: output).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: outputDirectory) else { throw CLIError("output directory \(outputDirectory) does not exist") }
        // ~100 bytes of activations and gradients per pixel-channel: refuse batches that cannot fit.
        let estimate = Double(batch) * 5e6
        if estimate > Double(ProcessInfo.processInfo.physicalMemory) * 0.8 {
            throw CLIError("--batch \(batch) needs about \(Int(estimate / 1e9)) GB, more than this machine has")
        }
        let dataset: CIFAR10
        do { dataset = try CIFAR10.load(directory: data, training: true) } catch { throw CLIError("\(error)") }
        let trainCount = dataset.train!.count
        let steps = iterations ?? Int((epochs! * Double(trainCount) / Double(batch)).rounded(.up))
        let kind = OptimizerKind(rawValue: optimizer)!
        let config = TrainingConfig(
            model: try modelArguments.options(), batchSize: batch, steps: steps,
            optimizer: OptimizerConfig(kind: kind, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay),
            schedule: LearningRateSchedule(kind: ScheduleKind(rawValue: schedule)!, baseLR: lr ?? (kind == .sgd ? 0.1 : 1e-3),
                                           totalSteps: steps, warmup: warmup, stepSize: stepSize, gamma: gamma),
            seed: seed, augment: augment)
        let trainer: Trainer
        do { trainer = try Trainer(config: config, data: dataset, rankExecution: try modelArguments.rankExecution()) }
        catch { throw CLIError("\(error)") }
        if let results { try checkResultsFile(results) }

        var checkpointPath: String?
        if let checkpoint {
            try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: true)
            checkpointPath = URL(fileURLWithPath: checkpoint).appendingPathComponent("checkpoint.rkck").path
        }
        if resume, let checkpointPath {
            do { try trainer.restore(try Checkpoint.read(path: checkpointPath), path: checkpointPath) }
            catch { throw CLIError("\(error)") }
            printError("resumed from \(checkpointPath) at step \(trainer.step)/\(steps)")
        } else {
            printError("training \(config.model.summary) (\(trainer.model.parameterCount) parameters) on \(trainCount) images: \(config.recipe)")
        }
        func saveCheckpoint() throws {
            guard let checkpointPath else { return }
            do { try trainer.checkpoint().write(to: checkpointPath) } catch { throw CLIError("\(error)") }
        }

        Interrupt.install()
        var progress = ProgressLine(total: steps, batch: batch)
        let startStep = trainer.step
        var formsReported = trainer.rankLayers.allSatisfy { $0.execution != .auto }
        while trainer.step < steps {
            let lr = trainer.learningRate
            let stepStart = nowMilliseconds()
            let (loss, correct) = trainer.trainOneStep()
            trainer.trainSeconds += (nowMilliseconds() - stepStart) / 1000
            if !formsReported {
                for layer in trainer.rankLayers { progress.note(describeTrainingForm(layer)) }
                formsReported = true
            }
            guard loss.isFinite else {
                throw CLIError("loss became \(loss) at step \(trainer.step); lower --lr (the last checkpoint is still valid)")
            }
            progress.update(step: trainer.step, loss: loss, correct: correct, lr: lr)
            let done = trainer.step
            if evalEvery > 0, done % evalEvery == 0, done < steps {
                let r = trainer.evaluate(limit: evalLimit)
                progress.note(String(format: "step %d: test accuracy %.2f%% (%d images)", done, r.accuracy * 100, r.count))
            }
            if done % checkpointEvery == 0, done < steps { try saveCheckpoint() }
            if Interrupt.requested || (stopAfter.map { done - startStep >= $0 } ?? false) {
                try saveCheckpoint()
                let saved = checkpointPath.map { "checkpoint saved to \($0); continue with --resume" } ?? "no --checkpoint directory, nothing saved"
                progress.note("stopped at step \(done)/\(steps): \(saved)")
                if Interrupt.requested { throw CLIError("interrupted at step \(done)/\(steps); \(saved)") }
                return
            }
        }
        try saveCheckpoint()
        let report = trainer.evaluate(limit: evalLimit)
        progress.note(String(format: "finished %d steps (%.0f img/s): test accuracy %.2f%% (%d images)",
                             steps, progress.overallRate, report.accuracy * 100, report.count))
        let graph = trainer.exportGraph(extraMetadata: [
            TrainerMetadataKey.testAccuracy: String(format: "%.4f", report.accuracy),
            TrainerMetadataKey.testCount: "\(report.count)",
        ])
        do { try RKGFile.write(graph, to: output) } catch { throw CLIError("\(error)") }
        printError("wrote \(output)")
        if let results {
            let row = try ExperimentRow(trainer: trainer, graph: graph, test: report, tag: tag)
            try row.append(to: results)
            printError(String(format: "appended to %@: runtime latency %.3f ms (dense form %.3f ms), train accuracy %.2f%%",
                              results, row.latencyMilliseconds, row.denseLatencyMilliseconds ?? .nan, row.trainAccuracy * 100))
        }
    }
}
