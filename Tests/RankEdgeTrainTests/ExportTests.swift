import Foundation
import Testing
import RankEdge
@testable import RankEdgeTrain

@Suite struct ExportTests {
    /// Every layer kind the exporter handles, small enough for the reference executor in debug builds.
    static func tinyModel() -> Sequential {
        var rng = SeededRandom(seed: 3)
        let block = Residual(name: "res", body: Sequential(name: "res", [
            Conv2D(name: "res.conv1", inChannels: 8, outChannels: 8, kernel: 3, groups: 2, bias: false, rng: &rng),
            BatchNorm2D(name: "res.bn1", channels: 8),
            ReLU(name: "res.relu"),
            Conv2D(name: "res.conv2", inChannels: 8, outChannels: 12, kernel: 3, dilation: 2, rng: &rng),
        ]), shortcut: Conv2D(name: "res.shortcut", inChannels: 8, outChannels: 12, kernel: 1, padding: 0, rng: &rng))
        return Sequential(name: "", [
            Conv2D(name: "conv1", inChannels: 3, outChannels: 8, kernel: 5, stride: 2, rng: &rng),
            BatchNorm2D(name: "bn1", channels: 8),
            ReLU(name: "relu1"),
            block,
            MaxPool2D(name: "pool1", kernel: 3, stride: 2, padding: 1),
            Dropout(name: "drop", rate: 0.4),
            AvgPool2D(name: "pool2", kernel: 2, stride: 2),
            Flatten(name: "flatten"),
            Linear(name: "fc1", inFeatures: 4 * 4 * 12, outFeatures: 16, rng: &rng),
            ReLU(name: "fc1.relu"),
            Linear(name: "fc2", inFeatures: 16, outFeatures: 10, rng: &rng),
        ])
    }

    /// A few Adam steps so batch-norm running statistics and weights move off their initialisation.
    static func trainBriefly(_ model: any Module, _ split: CIFAR10Split, _ norm: Normalization, steps: Int, batch: Int) {
        let opt = Optimizer(OptimizerConfig(kind: .adam), parameters: model.parameters)
        let sampler = BatchSampler(split: split, normalization: norm, batchSize: batch, seed: 2)
        for step in 0..<steps {
            let (x, y) = sampler.batch(step: step)
            _ = trainStep(model: model, optimizer: opt, images: x, labels: y, learningRate: 3e-3,
                          context: ForwardContext(mode: .training, seed: 2, step: step))
        }
    }

    @Test func trainerAndRuntimeAgreeOnEveryPrediction() throws {
        let split = try fixtureSplit()
        let norm = Normalization.measure(split)
        let model = Self.tinyModel()
        Self.trainBriefly(model, split, norm, steps: 6, batch: 16)
        let graph = exportGraph(model, name: "tiny", classNames: cifar10ClassNames, normalization: norm)
        // Through the file format and back, as `eval` sees it.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-\(UUID().uuidString).rkg").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try RKGFile.write(graph, to: path)
        let loaded = try RKGFile.read(path: path)
        #expect(Normalization(metadata: loaded.metadata) == norm)
        #expect(loaded.classNames == cifar10ClassNames)

        let n = 40
        let images = norm.images(split, indices: Array(0..<n))
        let trainerLogits = predictLogits(model: model, images: images, count: n)
        let runtime = try ReferenceExecutor(graph: loaded).run(Tensor(shape: [n, 32, 32, 3], data: images.array))
        var maxDiff: Float = 0
        for r in 0..<n {
            let row = Array(runtime.data[(r * 10)..<((r + 1) * 10)])
            #expect(argmax(row) == argmax(trainerLogits[r]), "image \(r)")
            maxDiff = max(maxDiff, zip(row, trainerLogits[r]).map { abs($0 - $1) }.max()!)
        }
        #expect(maxDiff < 1e-3, "largest logit difference \(maxDiff)")
        // The predictions are not all one class (the comparison means something).
        #expect(Set(trainerLogits.map(argmax)).count > 1)
    }

    @Test func miniVGGExportMatchesTheRuntimeNaming() throws {
        let model = try ModelZoo.build(ModelOptions(name: "minivgg", kernel: 5, batchNorm: true, dropout: true), seed: 0)
        let exported = exportGraph(model, name: "minivgg-k5", classNames: cifar10ClassNames, normalization: nil)
        let reference = buildMiniVGG(MiniVGGOptions(kernel: 5, batchNorm: true, dropout: true))
        #expect(exported.nodes.map(\.name) == reference.nodes.map(\.name))
        #expect(exported.nodes.map(\.op) == reference.nodes.map(\.op))
        #expect(exported.weights.keys.sorted() == reference.weights.keys.sorted())
        for (k, w) in reference.weights { #expect(exported.weights[k]?.shape == w.shape, "\(k)") }
        try exported.validate()
    }

    @Test func resnetExportValidates() throws {
        let g = exportGraph(try ModelZoo.build(ModelOptions(name: "resnet20"), seed: 0), name: "resnet20",
                            classNames: cifar10ClassNames, normalization: nil)
        try g.validate()
        #expect(g.node(named: "layer2.0.shortcut.conv") != nil && g.node(named: "layer3.2.add") != nil)
    }
}

extension ExportTests {
    /// Low-rank models export as rankConv2d nodes or Tucker conv chains, and the runtime (reference
    /// and fast executors) predicts what the trainer predicts.
    @Test(arguments: ["rank:2", "elrt:2"])
    func lowRankExportsRunOnTheRuntime(form: String) throws {
        let split = try fixtureSplit()
        let norm = Normalization.measure(split)
        let options = ModelOptions(name: "minivgg", kernel: 3, conv: try ConvForm(parsing: form))
        let model = try ModelZoo.build(options, seed: 1, rankExecution: .separable)
        Self.trainBriefly(model, split, norm, steps: 3, batch: 8)
        let graph = exportGraph(model, name: "lowrank", classNames: cifar10ClassNames, normalization: norm)
        try graph.validate()
        if form.hasPrefix("rank") {
            #expect(graph.nodes.filter { if case .rankConv2d = $0.op { true } else { false } }.count == 6)
        } else {
            #expect(graph.node(named: "block2.conv1.tucker_core")?.provenance?.contains("elrt") == true)
        }
        let n = 12
        let images = norm.images(split, indices: Array(0..<n))
        let trainerLogits = predictLogits(model: model, images: images, count: n)
        let session = try InferenceSession(graph: graph, options: .init(threads: 1))
        for r in 0..<n {
            let x = Tensor(shape: [1, 32, 32, 3], data: Array(images.buffer[(r * 3072)..<((r + 1) * 3072)]))
            let y = try session.run(x).data
            let err = zip(y, trainerLogits[r]).map { abs($0 - $1) }.max()!
            #expect(argmax(y) == argmax(trainerLogits[r]) && err < 1e-3, "image \(r): error \(err)")
        }
    }
}
