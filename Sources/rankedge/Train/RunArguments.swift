import ArgumentParser
import Foundation
import RankEdgeTrain

/// The options `train` and `finetune` share: length, optimizer, schedule, augmentation, threads,
/// evaluation, checkpoints and the output file. Defaults that differ between the two (optimizer,
/// schedule, learning rate) are left nil here and given by each command.
struct RunArguments: ParsableArguments {
    @Option(help: "Training steps (batches).") var iterations: Int?
    @Option(help: "Training epochs (alternative to --iterations).") var epochs: Double?
    @Option(help: "Batch size.") var batch: Int = 64
    @Option(help: "Optimizer: adam, sgd, adamw (default: train adam, finetune sgd).") var optimizer: String?
    @Option(help: "Learning rate (default: 1e-3 for adam/adamw; sgd 0.1 in train, 0.01 in finetune).") var lr: Float?
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Flag(help: "SGD: Nesterov momentum.") var nesterov = false
    @Option(help: "Weight decay (L2 for sgd/adam, decoupled for adamw).") var weightDecay: Float?
    @Option(help: "Learning-rate schedule: constant, step, cosine (default: train constant, finetune cosine).") var schedule: String?
    @Option(help: "Linear warm-up steps.") var warmup: Int = 0
    @Option(help: "Step schedule: decay every N steps (default a third of the run).") var stepSize: Int = 0
    @Option(help: "Step schedule: decay factor.") var gamma: Float = 0.1
    @Flag(inversion: .prefixedNo, help: "Random 4-pixel-padded crops and horizontal flips.") var augment = true
    @Option(help: "Seed for initialisation, shuffling, augmentation and dropout.") var seed: UInt64 = 0
    @Option(help: "Threads.") var threads: Int = 2
    @Option(help: "Evaluate every N steps (0: only at the end).") var evalEvery: Int = 1000
    @Option(help: "Images per evaluation (default all).") var evalLimit: Int?
    @Option(help: "Checkpoint directory.") var checkpoint: String?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int = 500
    @Flag(help: "Continue from the checkpoint in --checkpoint.") var resume = false
    @Option(help: "Stop (with a checkpoint) after this many steps of this invocation; for tests and time slices.") var stopAfter: Int?
    @Option(name: .shortAndLong, help: "Output .rkg file.") var output: String

    func validate() throws {
        guard (iterations == nil) != (epochs == nil) else { throw CLIError("give exactly one of --iterations and --epochs") }
        if let iterations, iterations < 1 { throw CLIError("--iterations must be at least 1") }
        if let epochs, !(epochs > 0 && epochs <= 100_000) { throw CLIError("--epochs must be a positive number up to 100000") }
        if let iterations, iterations > 1_000_000_000 { throw CLIError("--iterations must be at most 1000000000") }
        if let evalLimit, evalLimit < 1 { throw CLIError("--eval-limit must be at least 1") }
        if let stopAfter, stopAfter < 1 { throw CLIError("--stop-after must be at least 1") }
        guard batch >= 1, batch <= 4096 else { throw CLIError("--batch must be between 1 and 4096") }
        // The same cap as run/bench/compile: a huge count would ask the system for that many threads.
        guard (1...256).contains(threads) else { throw CLIError("--threads must be between 1 and 256, got \(threads)") }
        guard checkpointEvery >= 1, evalEvery >= 0, warmup >= 0 else { throw CLIError("--checkpoint-every, --eval-every and --warmup must not be negative") }
        if resume && checkpoint == nil { throw CLIError("--resume needs --checkpoint DIR") }
        if let optimizer, OptimizerKind(rawValue: optimizer) == nil { throw CLIError("unknown optimizer '\(optimizer)' (adam, sgd, adamw)") }
        if let schedule, ScheduleKind(rawValue: schedule) == nil { throw CLIError("unknown schedule '\(schedule)' (constant, step, cosine)") }
        if let lr, !(lr > 0) { throw CLIError("--lr must be positive") }
        if let weightDecay, !(weightDecay >= 0) { throw CLIError("--weight-decay must not be negative") }
    }

    /// Refuses an output whose folder does not exist and a batch that cannot fit in memory, before any work.
    func checkOutputAndMemory() throws {
        let outputDirectory = URL(fileURLWithPath: output).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: outputDirectory) else { throw CLIError("output directory \(outputDirectory) does not exist") }
        // ~100 bytes of activations and gradients per pixel-channel: refuse batches that cannot fit.
        let estimate = Double(batch) * 5e6
        if estimate > Double(ProcessInfo.processInfo.physicalMemory) * 0.8 {
            throw CLIError("--batch \(batch) needs about \(Int(estimate / 1e9)) GB, more than this machine has")
        }
    }

    func steps(trainCount: Int) throws -> Int {
        if let iterations { return iterations }
        let steps = (epochs! * Double(trainCount) / Double(batch)).rounded(.up)
        guard steps <= 1e9 else { throw CLIError("--epochs \(epochs!) is more than 10⁹ steps of batch \(batch)") }
        return max(1, Int(steps))
    }

    /// The optimizer and schedule, with the command's defaults where no option was given.
    func optimization(steps: Int, optimizer defaultOptimizer: OptimizerKind, schedule defaultSchedule: ScheduleKind,
                      sgdRate: Float, weightDecay defaultDecay: Float) -> (OptimizerConfig, LearningRateSchedule) {
        let kind = optimizer.flatMap(OptimizerKind.init(rawValue:)) ?? defaultOptimizer
        let rate = lr ?? (kind == .sgd ? sgdRate : 1e-3)
        let scheduleKind = schedule.flatMap(ScheduleKind.init(rawValue:)) ?? defaultSchedule
        return (OptimizerConfig(kind: kind, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay ?? defaultDecay),
                LearningRateSchedule(kind: scheduleKind, baseLR: rate, totalSteps: steps, warmup: warmup, stepSize: stepSize, gamma: gamma))
    }

    /// DIR/checkpoint.rkck, the folder created, when --checkpoint is given.
    func checkpointPath() throws -> String? {
        guard let checkpoint else { return nil }
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: true)
        return URL(fileURLWithPath: checkpoint).appendingPathComponent("checkpoint.rkck").path
    }

    /// Restores `trainer` from the checkpoint when --resume is set; returns whether it did.
    func resumeIfAsked(_ trainer: Trainer, checkpointPath: String?, steps: Int) throws -> Bool {
        guard resume, let checkpointPath else { return false }
        do { try trainer.restore(try Checkpoint.read(path: checkpointPath), path: checkpointPath) }
        catch { throw CLIError("\(error)") }
        printError("resumed from \(checkpointPath) at step \(trainer.step)/\(steps)")
        return true
    }

    func loop(_ trainer: Trainer, steps: Int, checkpointPath: String?, evaluationName: String) -> TrainingLoop {
        TrainingLoop(trainer: trainer, steps: steps, evalEvery: evalEvery, evalLimit: evalLimit, evaluationName: evaluationName,
                     checkpointPath: checkpointPath, checkpointEvery: checkpointEvery, stopAfter: stopAfter)
    }
}
