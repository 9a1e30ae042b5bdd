import RankEdge

/// A training run over CIFAR-10-format data: a trainable graph, optimizer, deterministic batches,
/// and the state a checkpoint captures. The caller drives it step by step (progress, interrupts,
/// files). The same class trains zoo models from scratch and fine-tunes any graph.
public final class Trainer {
    public let config: TrainingConfig
    public let model: TrainableGraph
    public let optimizer: Optimizer
    public let sampler: BatchSampler
    public let normalization: Normalization
    public let test: LabeledImages
    public let classNames: [String]
    /// A teacher to distil from (`finetune --teacher`).
    public var distillation: Distillation?
    /// Steps completed.
    public private(set) var step = 0
    /// Wall time of the training steps so far (the caller times them; checkpoints carry it).
    public var trainSeconds = 0.0
    /// False after resuming from a checkpoint that predates the timing, so `trainSeconds` is partial.
    public private(set) var trainSecondsComplete = true

    /// Training a zoo model from scratch; `rankExecution`: how rank-L convs run in training
    /// (`.auto` measures on the first batch). With `validation` > 0 that many training images are
    /// held out (seeded by the run's seed) and `evaluate()` reads them instead of the test split.
    public convenience init(config: TrainingConfig, data: Dataset, rankExecution: RankExecution = .auto, validation: Int = 0) throws {
        guard var train = data.train else { throw DataError.missingSplit("the dataset", "no training images") }
        guard var evaluation = data.test else { throw DataError.missingSplit("the dataset", "no test images") }
        if validation > 0 { (train, evaluation) = try holdOutValidation(train, count: validation, seed: config.seed) }
        let model = try TrainableGraph(try ModelZoo.build(config.model, seed: config.seed), rankExecution: rankExecution)
        model.orthogonality = config.model.orthogonality
        try self.init(config: config, model: model, train: train, test: evaluation, classNames: data.classNames,
                      normalization: Normalization.measure(train))
    }

    /// Training `model` on `train`; `test` is what `evaluate()` reads.
    public init(config: TrainingConfig, model: TrainableGraph, train: LabeledImages, test: LabeledImages, classNames: [String],
                normalization: Normalization) throws {
        guard config.batchSize >= 1 else { throw ModelError.badOption("--batch must be at least 1") }
        guard config.steps >= 1 else { throw ModelError.badOption("the run needs at least one step") }
        for images in [train, test] where Array(model.inputShape.dropFirst()) != images.imageShape {
            throw DataError.invalidArgument("the model takes input \(model.inputShape) (NHWC) but the images are \(images.height)×\(images.width)×\(images.channels)")
        }
        guard normalization.mean.count == train.channels, normalization.std.count == train.channels else {
            throw DataError.invalidArgument("the input normalisation has \(normalization.mean.count) channels, the images \(train.channels)")
        }
        self.config = config
        self.model = model
        optimizer = Optimizer(config.optimizer, parameters: model.parameters)
        self.normalization = normalization
        sampler = BatchSampler(split: train, normalization: normalization, batchSize: config.batchSize,
                               seed: config.seed, augment: config.augment)
        self.test = test
        self.classNames = classNames
    }

    public var learningRate: Float { config.schedule.rate(at: step) }

    /// Runs step `step` and advances. Returns the batch loss and correct count.
    public func trainOneStep() -> (loss: Float, correct: Int) {
        let (images, labels) = sampler.batch(step: step)
        let result = trainStep(model: model, optimizer: optimizer, images: images, labels: labels,
                               learningRate: config.schedule.rate(at: step),
                               context: ForwardContext(mode: .training, seed: config.seed, step: step),
                               distillation: distillation)
        step += 1
        return result
    }

    /// Test-set accuracy with the trainer's own forward pass in evaluation mode.
    public func evaluate(limit: Int? = nil) -> ClassificationReport { evaluate(test, limit: limit) }

    /// Training-set accuracy in evaluation mode (no augmentation, no dropout) on the first images.
    public func evaluateTraining(limit: Int? = nil) -> ClassificationReport { evaluate(sampler.split, limit: limit) }

    /// Accuracy on any split, in evaluation mode.
    public func evaluate(_ split: LabeledImages, limit: Int? = nil) -> ClassificationReport {
        let n = min(limit ?? split.count, split.count)
        let images = normalization.images(split, indices: Array(0..<n))
        let predictions = predictLogits(model: model, images: images, count: n).map(argmax)
        return ClassificationReport(predictions: predictions, labels: Array(split.labels.prefix(n)), classes: classNames.count)
    }

    public func checkpoint() -> Checkpoint {
        // The measured training forms go with the weights: a resumed run must compute exactly as
        // the interrupted one did, whatever a new measurement would say.
        let forms = model.rankForms.filter { $0.value != .auto }
        return Checkpoint(config: config, step: step, optimizerStep: optimizer.step, normalization: normalization,
                          tensors: model.state.map { ($0.name, $0.variable.data) } + optimizer.slots.map { ($0.0, $0.1.array) },
                          rankForms: forms.isEmpty ? nil : forms, trainSeconds: trainSeconds)
    }

    /// Restores weights, buffers, optimizer state and the step from a checkpoint of the same run.
    public func restore(_ c: Checkpoint, path: String) throws {
        guard c.config == config else {
            let detail = c.config.settings != config.settings ? (c.config.settings ?? "none") : "\(c.config.model.summary), \(c.config.recipe)"
            throw CheckpointError.mismatch(path, "it was made with different settings (\(detail))")
        }
        guard c.normalization == normalization else {
            throw CheckpointError.mismatch(path, "it normalised inputs with mean \(c.normalization.mean), std \(c.normalization.std)")
        }
        for (name, form) in model.rankForms {
            if let stored = c.rankForms?[name], form != .auto, form != stored {
                throw CheckpointError.mismatch(path, "\(name) trained in \(stored.rawValue) form; resume with --rank-form auto or \(stored.rawValue) (another form rounds differently)")
            }
        }
        var byName: [String: [Float]] = [:]
        for (n, v) in c.tensors { byName[n] = v }
        let targets = model.state.map { ($0.name, $0.variable.value) } + optimizer.slots
        guard byName.count == targets.count else {
            throw CheckpointError.mismatch(path, "it holds \(byName.count) tensors, this run has \(targets.count)")
        }
        for (name, storage) in targets {
            guard let values = byName[name] else { throw CheckpointError.mismatch(path, "tensor \(name) is missing") }
            guard values.count == storage.count else {
                throw CheckpointError.mismatch(path, "tensor \(name) has \(values.count) values, expected \(storage.count)")
            }
            values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
        }
        for (name, form) in c.rankForms ?? [:] where model.rankForms[name] != nil { model.rankForms[name] = form }
        step = c.step
        trainSeconds = c.trainSeconds ?? 0
        trainSecondsComplete = c.trainSeconds != nil || c.step == 0
        optimizer.step = c.optimizerStep
    }

    /// The trained model as a runtime graph: the graph it started from with the trained weights,
    /// class names, normalisation and the recipe in its metadata.
    public func exportGraph(extraMetadata: [String: String] = [:]) -> Graph {
        var meta = [TrainerMetadataKey.model: config.model.summary, TrainerMetadataKey.recipe: config.recipe,
                    TrainerMetadataKey.steps: "\(step)"]
        let forms = model.rankForms.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }
        if !forms.isEmpty { meta[TrainerMetadataKey.rankForms] = forms.joined(separator: ",") }
        meta.merge(normalization.metadata) { _, new in new }
        meta.merge(extraMetadata) { _, new in new }
        var graph = model.exportGraph(metadata: meta)
        if graph.classNames.isEmpty || graph.classNames.count != classNames.count { graph.classNames = classNames }
        return graph
    }
}

/// Metadata keys the trainer writes into exported graphs (besides `Normalization`'s input keys).
public enum TrainerMetadataKey {
    public static let model = "rankedge.train.model"
    public static let recipe = "rankedge.train.recipe"
    public static let steps = "rankedge.train.steps"
    public static let testAccuracy = "rankedge.train.test_accuracy"
    public static let testCount = "rankedge.train.test_count"
    /// With `train --val N`: the final accuracy on the held-out images.
    public static let validationAccuracy = "rankedge.train.val_accuracy"
    /// How each rank-L conv ran in training (`name=reconstruct,…`), since the choice can be measured.
    public static let rankForms = "rankedge.train.rank_forms"
}
