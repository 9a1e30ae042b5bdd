import Foundation
import RankEdgeTrain

/// The step loop `train` and `finetune` share: progress on stderr, evaluation every N steps,
/// checkpoints every N steps, on Ctrl-C and at the end, `--stop-after` time slices, and a stop with
/// the step number when the loss stops being finite (the last checkpoint stays the good one).
struct TrainingLoop {
    let trainer: Trainer
    let steps: Int
    let evalEvery: Int
    let evalLimit: Int?
    /// What `trainer.evaluate()` reads, for the progress notes ("test", "validation").
    let evaluationName: String
    let checkpointPath: String?
    let checkpointEvery: Int
    let stopAfter: Int?

    func saveCheckpoint() throws {
        guard let checkpointPath else { return }
        do { try trainer.checkpoint().write(to: checkpointPath) } catch { throw CLIError("\(error)") }
    }

    /// Trains to `steps`; returns the progress line when the run finished, nil when `--stop-after`
    /// stopped it (with a checkpoint saved).
    func run() throws -> ProgressLine? {
        Interrupt.install()
        var progress = ProgressLine(total: steps, batch: trainer.config.batchSize)
        let startStep = trainer.step
        var formsReported = trainer.model.rankForms.values.allSatisfy { $0 != .auto }
        while trainer.step < steps {
            let lr = trainer.learningRate
            let stepStart = nowMilliseconds()
            let (loss, correct) = trainer.trainOneStep()
            trainer.trainSeconds += (nowMilliseconds() - stepStart) / 1000
            if !formsReported {
                for line in describeTrainingForms(trainer.model) { progress.note(line) }
                formsReported = true
            }
            guard loss.isFinite else {
                let kept = checkpointPath.map { "the last checkpoint in \($0) is from before it" } ?? "nothing was written"
                throw CLIError("loss became \(loss) at step \(trainer.step); lower --lr (\(kept))")
            }
            progress.update(step: trainer.step, loss: loss, correct: correct, lr: lr)
            let done = trainer.step
            if evalEvery > 0, done % evalEvery == 0, done < steps {
                let r = trainer.evaluate(limit: evalLimit)
                progress.note(String(format: "step %d: %@ accuracy %.2f%% (%d images)", done, evaluationName, r.accuracy * 100, r.count))
            }
            if done % checkpointEvery == 0, done < steps { try saveCheckpoint() }
            if Interrupt.requested || (stopAfter.map { done - startStep >= $0 } ?? false) {
                try saveCheckpoint()
                let saved = checkpointPath.map { "checkpoint saved to \($0); continue with --resume" } ?? "no --checkpoint directory, nothing saved"
                progress.note("stopped at step \(done)/\(steps): \(saved)")
                if Interrupt.requested { throw CLIError("interrupted at step \(done)/\(steps); \(saved)") }
                return nil
            }
        }
        try saveCheckpoint()
        return progress
    }
}
