import Foundation
import Testing
import RankEdge
@testable import RankEdgeTrain
@testable import RankEdgeReference
@testable import RankEdgeZoo

@Suite struct ExportTests {
    /// A graph with every layer kind the zoo uses and more (grouped, dilated, strided convs, padded
    /// pools, dropout, a projection shortcut), small enough for the reference executor in debug builds.
    static func tinyGraph() throws -> Graph {
        var b = GraphBuilder(name: "tiny", shape: [1, 32, 32, 3], seed: 3)
        var x = b.conv("input", out: 8, kernel: 5, stride: 2, name: "conv1")
        x = b.relu(b.batchNorm(x, name: "bn1"), name: "relu1")
        var y = b.conv(x, out: 8, kernel: 3, groups: 2, bias: false, name: "res.conv1")
        y = b.relu(b.batchNorm(y, name: "res.bn1"), name: "res.relu")
        y = b.conv(y, out: 12, kernel: 3, dilation: 2, name: "res.conv2")
        let shortcut = b.conv(x, out: 12, kernel: 1, padding: 0, name: "res.shortcut")
        x = b.addTensors(y, shortcut, name: "res.add")
        x = b.maxPool(x, kernel: 3, stride: 2, padding: 1, name: "pool1")
        x = b.dropout(x, rate: 0.4, name: "drop")
        x = b.avgPool(x, kernel: 2, stride: 2, countIncludePad: true, name: "pool2")
        x = b.flatten(x, name: "flatten")
        x = b.relu(b.linear(x, out: 16, name: "fc1"), name: "fc1.relu")
        x = b.linear(x, out: 10, name: "fc2")
        return try initializeForTraining(b.build(outputs: [x], classNames: cifar10ClassNames), seed: 3)
    }

    static func tinyModel() throws -> TrainableGraph { try TrainableGraph(tinyGraph()) }

    /// A few Adam steps so batch-norm running statistics and weights move off their initialisation.
    static func trainBriefly(_ model: TrainableGraph, _ split: LabeledImages, _ norm: Normalization, steps: Int, batch: Int) {
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
        let model = try Self.tinyModel()
        Self.trainBriefly(model, split, norm, steps: 6, batch: 16)
        let graph = model.exportGraph(metadata: norm.metadata)
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

    /// The trainer's models are the runtime zoo's graphs: one set of builders, the same names.
    @Test func trainerModelsAreTheZooGraphs() throws {
        let trained = try ModelZoo.build(ModelOptions(name: "minivgg", kernel: 5, batchNorm: true, dropout: true), seed: 0)
        let reference = buildMiniVGG(MiniVGGOptions(kernel: 5, batchNorm: true, dropout: true))
        #expect(trained.nodes.map(\.name) == reference.nodes.map(\.name))
        #expect(trained.nodes.map(\.op) == reference.nodes.map(\.op))
        #expect(trained.weights.keys.sorted() == reference.weights.keys.sorted())
        for (k, w) in reference.weights { #expect(trained.weights[k]?.shape == w.shape, "\(k)") }
        let resnet = try ModelZoo.build(ModelOptions(name: "resnet20"), seed: 0)
        #expect(resnet.nodes.map(\.name) == (try Zoo.build("resnet20")).nodes.map(\.name))
        #expect(resnet.node(named: "layer2.0.downsample.conv") != nil && resnet.node(named: "layer3.2.add") != nil)
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
        let model = try TrainableGraph(try ModelZoo.build(options, seed: 1), rankExecution: .separable)
        Self.trainBriefly(model, split, norm, steps: 3, batch: 8)
        let graph = model.exportGraph(metadata: norm.metadata)
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
