import ArgumentParser
import Foundation
import RankEdge
import RankEdgeCompress
import RankEdgeTrain

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a trained or compressed graph (.rkg) on a labelled image set and write it back.",
        discussion: """
        Any graph the runtime runs can be fine-tuned: imported from PyTorch, compressed, or trained here. \
        Node names are parameter names, so an imported model keeps its state_dict names through \
        fine-tuning and export. --val N holds N training images out: validation accuracy is printed \
        before and after, and during the run with --eval-every; the test split is only reported at \
        the end. The recipe and the accuracies go into the output graph's metadata.

        Freezing: --freeze GLOB holds the weights of matching nodes fixed (e.g. 'layer1.*'); \
        --freeze-factors first|first-last freezes the factors of decomposed layers found from their \
        provenance (seed 003: the first factor of each SVD pair, and with first-last the first and last \
        1×1 factors of each Tucker-2 chain). Frozen weights cost no weight-gradient work.

        Distillation: --teacher ORIGINAL.rkg blends the label loss with the teacher's softened class \
        scores: (1 − W)·CE + W·T²·KL, W = --distill-weight, T = --temperature.
        """)

    @Argument(help: "The graph to fine-tune (.rkg).") var model: String
    @Option(help: "Dataset: a CIFAR-10 or CIFAR-100 binary folder, or a NumPy .npz with x, y and optionally x_test, y_test (docs/CLI.md).") var data: String
    @OptionGroup var training: RunArguments
    @Option(help: "Training images held out for validation (default: 5000, at most a tenth of the training set; 0: none).") var val: Int?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Patterns (* and ? wildcards) of node or weight names whose node's weights stay fixed.", valueName: "glob"))
    var freeze: [String] = []
    @Option(help: ArgumentHelp("Freeze factors of decomposed layers: none, first, first-last.", valueName: "scheme"))
    var freezeFactors: String = "none"
    @Option(help: ArgumentHelp("Distil from this model's class scores (usually the uncompressed original).", valueName: "rkg"))
    var teacher: String?
    @Option(help: "Weight W of the distillation term.") var distillWeight: Float = 0.5
    @Option(help: "Softmax temperature T of the distillation term.") var temperature: Float = 4
    @Option(help: "Input mean per channel for pixels in 0…1, comma-separated (default: the graph's metadata, else measured).") var mean: String?
    @Option(help: "Input standard deviation per channel (default: the graph's metadata, else measured).") var std: String?
    @Option(help: "Batch-norm momentum for the running statistics (PyTorch's convention).") var bnMomentum: Float = 0.1
    @Option(help: ArgumentHelp("λ of ELRT's orthogonality regulariser on Tucker-2 factors (0: off).", valueName: "lambda")) var dso: Float = 0
    @Option(help: ArgumentHelp("How rankConv2d nodes train: auto, reconstruct, separable.", valueName: "form")) var rankForm: String = "auto"

    func validate() throws {
        guard FactorFreezing(rawValue: freezeFactors) != nil else {
            throw CLIError("unknown --freeze-factors '\(freezeFactors)' (none, first, first-last)")
        }
        guard RankExecution(rawValue: rankForm) != nil else { throw CLIError("unknown --rank-form '\(rankForm)' (auto, reconstruct, separable)") }
        if let val, val < 0 { throw CLIError("--val must not be negative") }
        guard distillWeight >= 0, distillWeight <= 1 else { throw CLIError("--distill-weight must be between 0 and 1") }
        guard temperature > 0, temperature.isFinite else { throw CLIError("--temperature must be positive") }
        guard bnMomentum >= 0, bnMomentum <= 1 else { throw CLIError("--bn-momentum must be between 0 and 1") }
        guard dso >= 0, dso.isFinite else { throw CLIError("--dso must be a number ≥ 0") }
        if (mean == nil) != (std == nil) { throw CLIError("give --mean and --std together") }
    }

    func run() throws {
        Parallel.setThreads(training.threads)
        try training.checkOutputAndMemory()
        let graph = try loadGraph(model)
        let frozenNodes = try frozenNodeNames(graph)
        let frozenWeights = Set(frozenNodes.flatMap { graph.node(named: $0)!.weightInputs })
        let trainable: TrainableGraph
        do { trainable = try TrainableGraph(graph, frozen: frozenWeights, rankExecution: RankExecution(rawValue: rankForm)!) }
        catch { throw CLIError("\(model): \(error)") }
        trainable.batchNormMomentum = bnMomentum
        if let last = graph.nodes.last(where: { $0.outputs.contains(graph.outputs[0]) }), last.op == .softmax {
            printError("note: \(model) ends in a softmax; the loss treats its probabilities as class scores (export the logits to train on them)")
        }
        trainable.orthogonality = dso

        let dataset: Dataset
        do { dataset = try Dataset.load(path: data, training: true) } catch { throw CLIError("\(error)") }
        guard let allTrain = dataset.train else { throw CLIError("\(data): no training images") }
        let classCount = dataset.classCount
        try checkFits(graph, images: allTrain, classes: classCount)
        let holdOut = val ?? min(5000, allTrain.count / 10)
        guard holdOut < allTrain.count else { throw CLIError("--val \(holdOut) leaves no training images (\(data) has \(allTrain.count))") }
        let train: LabeledImages, validation: LabeledImages?
        if holdOut > 0 {
            do { (train, validation) = try holdOutValidation(allTrain, count: holdOut, seed: training.seed) }
            catch { throw CLIError("\(error)") }
        } else {
            (train, validation) = (allTrain, nil)
        }
        let normalization = try inputNormalization(graph, train: train)

        let steps = try training.steps(trainCount: train.count)
        let (optimizer, schedule) = training.optimization(steps: steps, optimizer: .sgd, schedule: .cosine, sgdRate: 0.01, weightDecay: 5e-4)
        var options = ModelOptions(name: "finetune \(graph.name)")
        options.classes = classCount
        let distillation = try loadTeacher(student: graph, images: train, classes: classCount, normalization: normalization)
        // Everything else that defines the run, so --resume refuses a checkpoint made otherwise.
        let settings = ["finetune of \(graph.name) (\(graph.weights.count) tensors)", "val \(holdOut)",
                        "frozen \(fingerprint(frozenWeights.sorted()))", "bn-momentum \(bnMomentum)", "dso \(dso)",
                        distillation.map { "teacher \($0.teacher.graph.name) (\(fingerprint($0.teacher.graph.weights.keys.sorted()))) W \(distillWeight) T \(temperature)" }
                            ?? "no teacher"].joined(separator: "; ")
        let config = TrainingConfig(model: options, batchSize: training.batch, steps: steps, optimizer: optimizer, schedule: schedule,
                                    seed: training.seed, augment: training.augment, settings: settings)
        guard let evaluation = validation ?? dataset.test else {
            throw CLIError("\(data) has no test images (x_test, y_test) and --val 0 holds none out: nothing to evaluate on")
        }
        let trainer: Trainer
        do {
            trainer = try Trainer(config: config, model: trainable, train: train, test: evaluation,
                                  classNames: classNames(graph, dataset), normalization: normalization)
        } catch { throw CLIError("\(error)") }
        trainer.distillation = distillation

        let checkpointPath = try training.checkpointPath()
        let evaluationName = validation == nil ? "test" : "validation"
        var before: ClassificationReport?
        if try !training.resumeIfAsked(trainer, checkpointPath: checkpointPath, steps: steps) {
            printError("fine-tuning \(model) (\(trainable.trainableParameterCount) of \(trainable.parameterCount) parameters trained"
                       + (frozenNodes.isEmpty ? "" : ", \(frozenNodes.count) nodes frozen") + ") on \(train.count) images: \(config.recipe)"
                       + (trainer.distillation.map { ", distilling from \(teacher!) (W \($0.weight), T \($0.temperature))" } ?? ""))
            let report = trainer.evaluate(limit: training.evalLimit)
            printError(String(format: "before: %@ accuracy %.2f%% (%d images)", evaluationName, report.accuracy * 100, report.count))
            before = report
        }
        guard let progress = try training.loop(trainer, steps: steps, checkpointPath: checkpointPath, evaluationName: evaluationName).run()
        else { return }

        let after = trainer.evaluate(limit: training.evalLimit)
        progress.note(String(format: "finished %d steps (%.0f img/s, %.1f ms/step): %@ accuracy %.2f%% (%d images)",
                             steps, progress.overallRate, trainer.trainSeconds * 1000 / Double(max(trainer.step, 1)),
                             evaluationName, after.accuracy * 100, after.count))
        var meta = normalization.metadata
        meta[FinetuneMetadataKey.recipe] = config.recipe + recipeNotes(frozenNodes: frozenNodes)
        meta[FinetuneMetadataKey.steps] = "\(trainer.step)"
        if validation != nil {
            if let before { meta[FinetuneMetadataKey.validationBefore] = String(format: "%.4f", before.accuracy) }
            meta[FinetuneMetadataKey.validationAfter] = String(format: "%.4f", after.accuracy)
        }
        if validation != nil, let test = dataset.test {
            let report = trainer.evaluate(test, limit: training.evalLimit)
            progress.note(String(format: "test accuracy %.2f%% (%d images)", report.accuracy * 100, report.count))
            meta[FinetuneMetadataKey.testAccuracy] = String(format: "%.4f", report.accuracy)
        }
        var out = trainable.exportGraph()
        // A graph fine-tuned before carries that run's keys: none of them describes this one.
        out.metadata = out.metadata.filter { !$0.key.hasPrefix(FinetuneMetadataKey.prefix) }.merging(meta) { _, new in new }
        if out.classNames.count != classCount { out.classNames = dataset.classNames }
        do { try RKGFile.write(out, to: training.output) } catch { throw CLIError("\(error)") }
        printError("wrote \(training.output)")
    }

    /// The teacher for --teacher: it must take the same images and score the same classes in the same
    /// order; when it was trained with another input normalisation its inputs are re-normalised.
    private func loadTeacher(student: Graph, images: LabeledImages, classes: Int, normalization: Normalization) throws -> Distillation? {
        guard let teacher else { return nil }
        let teacherGraph = try loadGraph(teacher)
        let teacherModel: TrainableGraph
        do { teacherModel = try TrainableGraph(teacherGraph, frozen: Set(teacherGraph.weights.keys)) }
        catch { throw CLIError("teacher \(teacher): \(error)") }
        try checkFits(teacherGraph, images: images, classes: classes, role: "teacher \(teacher)")
        if !teacherGraph.classNames.isEmpty, !student.classNames.isEmpty, teacherGraph.classNames != student.classNames {
            throw CLIError("teacher \(teacher) names its classes \(teacherGraph.classNames.prefix(3))…, \(model) \(student.classNames.prefix(3))…: the scores would not line up")
        }
        let teacherNormalization = Normalization(metadata: teacherGraph.metadata)
        if let t = teacherNormalization, t != normalization {
            printError("note: teacher \(teacher) was trained with input mean \(t.mean), std \(t.std); its inputs are re-normalised")
        }
        return Distillation(teacher: teacherModel, weight: distillWeight, temperature: temperature,
                            student: normalization, teacherNormalization: teacherNormalization)
    }

    /// A short stable digest of a list of names (FNV-1a), for the checkpoint's settings line.
    private func fingerprint(_ names: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in names.joined(separator: "\n").utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "\(names.count) names, \(String(h, radix: 16))"
    }

    /// Nodes matched by --freeze and --freeze-factors; a pattern that matches nothing is an error.
    /// A pattern matches a node by its name or by one of its weights' names: graphs from PyTorch's
    /// dynamo exporter name nodes `node_conv2d_N`, and only the weights carry the module path.
    private func frozenNodeNames(_ graph: Graph) throws -> [String] {
        let weighted = graph.nodes.filter { !$0.weightInputs.isEmpty }
        var names: [String] = []
        for pattern in freeze {
            let matched = weighted.filter { node in
                globMatches(pattern, node.name) || node.weightInputs.contains { globMatches(pattern, $0) }
            }.map(\.name)
            guard !matched.isEmpty else { throw CLIError("--freeze '\(pattern)' matches no node with weights in \(model)") }
            names += matched
        }
        let scheme = FactorFreezing(rawValue: freezeFactors)!
        let factors = scheme.nodes(in: graph)
        if scheme != .none, factors.isEmpty {
            throw CLIError("--freeze-factors \(freezeFactors): \(model) has no decomposed layers (no node provenance names an SVD or Tucker-2 factor)")
        }
        var seen = Set<String>()
        return (names + factors).filter { seen.insert($0).inserted }
    }

    /// The graph's one input must take the images as they are, and its output must have a score per class.
    private func checkFits(_ graph: Graph, images: LabeledImages, classes: Int, role: String? = nil) throws {
        let who = role ?? model
        let input = graph.inputs[0].shape.dims
        guard input.count == 4, Array(input.dropFirst()) == images.imageShape else {
            throw CLIError("\(who) takes input \(graph.inputs[0].shape) (NHWC) but \(data) holds \(images.height)×\(images.width)×\(images.channels) images")
        }
        let shapes: [String: TensorShape]
        do { shapes = try graph.inferShapes() } catch { throw CLIError("\(who): \(error)") }
        let output = shapes[graph.outputs[0]]?.dims ?? []
        guard output.count == 2, output[1] == classes else {
            throw CLIError("\(who) outputs \(TensorShape(output)) but \(data) has \(classes) classes")
        }
    }

    private func inputNormalization(_ graph: Graph, train: LabeledImages) throws -> Normalization {
        try chooseNormalization(graph, model: model, mean: mean, std: std, images: train)
    }

    private func classNames(_ graph: Graph, _ dataset: Dataset) -> [String] {
        graph.classNames.count == dataset.classCount ? graph.classNames : dataset.classNames
    }

    private func recipeNotes(frozenNodes: [String]) -> String {
        var notes = ""
        if !freeze.isEmpty { notes += ", freeze \(freeze.joined(separator: " "))" }
        if freezeFactors != "none" { notes += ", freeze-factors \(freezeFactors)" }
        if !frozenNodes.isEmpty { notes += " (\(frozenNodes.count) nodes)" }
        if let teacher { notes += ", teacher \(URL(fileURLWithPath: teacher).lastPathComponent) W=\(distillWeight) T=\(temperature)" }
        if dso > 0 { notes += ", dso λ=\(dso)" }
        return notes
    }
}

/// Metadata keys `finetune` writes into its output graph.
enum FinetuneMetadataKey {
    static let prefix = "rankedge.finetune."
    static let recipe = "rankedge.finetune.recipe"
    static let steps = "rankedge.finetune.steps"
    static let validationBefore = "rankedge.finetune.val_accuracy_before"
    static let validationAfter = "rankedge.finetune.val_accuracy_after"
    static let testAccuracy = "rankedge.finetune.test_accuracy"
}
