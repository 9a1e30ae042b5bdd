import Foundation
import Testing
import RankEdge
@testable import RankEdgeTrain

@Suite struct TrainingTests {
    static func config(steps: Int = 4, seed: UInt64 = 5) -> TrainingConfig {
        TrainingConfig(model: ModelOptions(name: "minivgg", kernel: 3, batchNorm: true, dropout: true), batchSize: 3, steps: steps,
                       optimizer: OptimizerConfig(kind: .adam),
                       schedule: LearningRateSchedule(kind: .cosine, baseLR: 1e-3, totalSteps: steps, warmup: 1),
                       seed: seed, augment: true)
    }

    static func state(_ t: Trainer) -> [String: [Float]] {
        var d: [String: [Float]] = [:]
        for (n, v) in t.checkpoint().tensors { d[n] = v }
        return d
    }

    @Test func resumeFromCheckpointIsBitIdentical() throws {
        let data = try loadFixtureTrainingSet()
        let straight = try Trainer(config: Self.config(), data: data)
        for _ in 0..<4 { _ = straight.trainOneStep() }

        let first = try Trainer(config: Self.config(), data: data)
        for _ in 0..<2 { _ = first.trainOneStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ck-\(UUID().uuidString).rkck").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.checkpoint().write(to: path)
        let resumed = try Trainer(config: Self.config(), data: data)
        try resumed.restore(try Checkpoint.read(path: path), path: path)
        #expect(resumed.step == 2)
        for _ in 0..<2 { _ = resumed.trainOneStep() }

        let a = Self.state(straight), b = Self.state(resumed)
        #expect(a.keys.sorted() == b.keys.sorted())
        #expect(a.keys.allSatisfy { a[$0]! == b[$0]! }, "weights differ after resume")
        // And the run actually changed the weights.
        let fresh = Self.state(try Trainer(config: Self.config(), data: data))
        #expect(fresh["block1.conv1.weight"]! != a["block1.conv1.weight"]!)
        #expect(fresh["block1.bn1.running_mean"]! != a["block1.bn1.running_mean"]!)
    }

    @Test func sameSeedSameResultOtherSeedDifferent() throws {
        let data = try loadFixtureTrainingSet()
        let runs = try [5, 5, 6].map { seed -> [String: [Float]] in
            let t = try Trainer(config: Self.config(steps: 2, seed: UInt64(seed)), data: data)
            for _ in 0..<2 { _ = t.trainOneStep() }
            return Self.state(t)
        }
        #expect(runs[0]["fc2.weight"]! == runs[1]["fc2.weight"]!)
        #expect(runs[0]["fc2.weight"]! != runs[2]["fc2.weight"]!)
    }

    @Test func corruptOrForeignCheckpointsAreRejected() throws {
        let data = try loadFixtureTrainingSet()
        let t = try Trainer(config: Self.config(), data: data)
        var bytes = try t.checkpoint().encode()
        #expect(throws: Never.self) { try Checkpoint.decode(bytes, path: "ck") }
        bytes[bytes.count / 2] ^= 0x40
        #expect { try Checkpoint.decode(bytes, path: "ck") } throws: { "\($0)".contains("checksum") }
        let good = try t.checkpoint().encode()
        #expect { try Checkpoint.decode(Array(good.prefix(good.count - 100)), path: "ck") } throws: { "\($0)".contains("corrupt checkpoint ck") }
        #expect { try Checkpoint.decode(Array("not a checkpoint at all, really".utf8), path: "ck") } throws: { "\($0)".contains("bad magic") }
        let other = try Trainer(config: Self.config(steps: 9), data: data)
        #expect { try other.restore(try Checkpoint.decode(good, path: "ck"), path: "ck") } throws: { "\($0)".contains("different settings") }
        #expect { try Checkpoint.read(path: "/nonexistent/ck.rkck") } throws: { "\($0)".contains("no checkpoint") }
    }

    @Test func modelsHaveTheExpectedParameterCounts() throws {
        // mini-VGG k=5 + BN: convs 1 057 216 incl. biases… summed by hand per layer (see METHODS.md §1).
        #expect(try parameterCount(ModelOptions(name: "minivgg", kernel: 5)) == 1_060_906)
        #expect(try parameterCount(ModelOptions(name: "minivgg", kernel: 5, batchNorm: false)) == 1_060_010)
        // ResNet-20 with 1×1 projection shortcuts (+BN) at the two downsampling blocks.
        #expect(try parameterCount(ModelOptions(name: "resnet20")) == 272_474)
        #expect(try parameterCount(ModelOptions(name: "vgg11")) == 9_231_114)
        #expect { try ModelZoo.build(ModelOptions(name: "alexnet"), seed: 0) } throws: { "\($0)".contains("unknown model 'alexnet'") }
        #expect { try ModelZoo.build(ModelOptions(name: "minivgg", kernel: 4), seed: 0) } throws: { "\($0)".contains("odd") }
    }

    @Test func trainingReducesLossOnAFixedBatch() throws {
        let s = try fixtureSplit()
        let sampler = BatchSampler(split: s, normalization: Normalization.measure(s), batchSize: 8, seed: 1, augment: false)
        let (images, labels) = sampler.batch(step: 0)
        let model = try ExportTests.tinyModel()
        let opt = Optimizer(OptimizerConfig(kind: .adam), parameters: model.parameters)
        var losses: [Float] = []
        for step in 0..<25 {
            losses.append(trainStep(model: model, optimizer: opt, images: images, labels: labels, learningRate: 5e-3,
                                    context: ForwardContext(mode: .training, seed: 1, step: step)).loss)
        }
        #expect(losses.last! < losses.first! * 0.5, "\(losses)")
    }
}

extension TrainingTests {
    /// The training form a rank-L conv measured goes into the checkpoint, and a resumed run adopts
    /// it instead of measuring again (a different choice would change the arithmetic).
    @Test func checkpointCarriesTheMeasuredRankForms() throws {
        let data = try loadFixtureTrainingSet()
        var config = Self.config(steps: 3)
        config.model.conv = .rank(1)
        let first = try Trainer(config: config, data: data)
        _ = first.trainOneStep()
        let chosen = first.model.rankForms
        #expect(chosen.count == 6 && !chosen.values.contains(.auto))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ck-\(UUID().uuidString).rkck").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        first.trainSeconds = 1.5
        try first.checkpoint().write(to: path)
        let resumed = try Trainer(config: config, data: data)
        try resumed.restore(try Checkpoint.read(path: path), path: path)
        #expect(resumed.model.rankForms == chosen)
        #expect(resumed.trainSeconds == 1.5)
        _ = resumed.trainOneStep()
        #expect(resumed.model.rankMeasurements.isEmpty, "a resumed run must not measure again")
    }

    /// Resume is bit-identical for a rank-L model too (pinned form), and a resume that asks for
    /// another form than the checkpoint's is refused.
    @Test func rankModelResumeIsBitIdentical() throws {
        let data = try loadFixtureTrainingSet()
        var config = Self.config(steps: 4)
        config.model.conv = .rank(2)
        let straight = try Trainer(config: config, data: data, rankExecution: .separable)
        for _ in 0..<4 { _ = straight.trainOneStep() }
        let first = try Trainer(config: config, data: data, rankExecution: .separable)
        for _ in 0..<2 { _ = first.trainOneStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ck-\(UUID().uuidString).rkck").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.checkpoint().write(to: path)
        let resumed = try Trainer(config: config, data: data, rankExecution: .auto)
        try resumed.restore(try Checkpoint.read(path: path), path: path)
        for _ in 0..<2 { _ = resumed.trainOneStep() }
        #expect(Self.state(straight) == Self.state(resumed), "weights differ after resume")
        let other = try Trainer(config: config, data: data, rankExecution: .reconstruct)
        #expect { try other.restore(try Checkpoint.read(path: path), path: path) } throws: { "\($0)".contains("separable form") }
    }
}

private func parameterCount(_ o: ModelOptions) throws -> Int { try TrainableGraph(ModelZoo.build(o, seed: 0)).parameterCount }
