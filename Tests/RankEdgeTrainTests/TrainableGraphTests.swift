import Foundation
import Testing
import RankEdge
import RankEdgeCompress
@testable import RankEdgeTrain
@testable import RankEdgeReference
@testable import RankEdgeZoo

@Suite struct TrainableGraphTests {
    /// Every CIFAR-sized zoo model and variant (ImageNet ones are too slow for the reference executor in debug builds).
    static let zooCases: [(String, ZooVariant)] = [
        ("minivgg-k3", .dense), ("minivgg-k5", .rank(1)), ("minivgg-k7", .lrd), ("minivgg-k3", .branched(2)),
        ("minivgg-k5", .tucker2), ("resnet20", .dense), ("resnet20", .lrd), ("resnet20", .merged), ("resnet20", .branched(2)),
        ("resnet20", .rank(2)), ("resnet20", .tucker2), ("vgg11", .dense), ("vgg11", .lrd),
    ]

    /// A graph with the ops no zoo model uses: depthwise and dilated convs, relu6, concat, padded
    /// average pooling without the pad in the divisor, softmax at the end.
    static func otherOpsGraph() -> Graph {
        var b = GraphBuilder(name: "ops", shape: [1, 9, 7, 4], seed: 21)
        let a = b.conv("input", out: 4, kernel: 3, groups: 4, name: "dw")
        let c = b.conv("input", out: 6, kernel: 3, dilation: 2, name: "dilated")
        var x = b.concat([b.relu6(a, name: "a6"), c], name: "cat")
        x = b.batchNorm(x, name: "bn")
        x = b.avgPool(x, kernel: 3, stride: 2, padding: 1, countIncludePad: false, name: "avg")
        x = b.linear(b.flatten(x, name: "flat"), out: 5, name: "fc")
        let prob = b.softmax(x, name: "prob")
        return b.build(outputs: [prob])
    }

    static func input(_ shape: [Int], batch: Int, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        let n = batch * shape.dropFirst().reduce(1, *)
        return Tensor(shape: [batch] + shape.dropFirst(), data: (0..<n).map { _ in rng.uniform(-1.5, 1.5) })
    }

    /// Evaluation-mode forward equals the reference executor within 1e-5 × the output's scale.
    @Test(arguments: zooCases.indices)
    func evaluationForwardEqualsTheReferenceExecutor(index: Int) throws {
        let (name, variant) = Self.zooCases[index]
        try checkAgainstReference(try Zoo.build(name, variant: variant, seed: UInt64(index)))
    }

    /// The ImageNet architectures (ResNet-18 basic blocks, ResNet-50 bottlenecks, with a 7×7 stem
    /// and a padded max pool) on 32×32 inputs, which their global pooling allows; 224×224 would
    /// take minutes in the reference executor of a debug build.
    @Test(arguments: [("resnet18", ZooVariant.dense), ("resnet18", .merged), ("resnet50", .lrd)])
    func imagenetArchitecturesEqualTheReferenceExecutor(name: String, variant: ZooVariant) throws {
        var graph = try Zoo.build(name, variant: variant, seed: 3, classes: 10)
        graph.inputs[0].shape = TensorShape([1, 32, 32, 3])
        try checkAgainstReference(graph)
    }

    @Test func otherOpsEqualTheReferenceExecutor() throws {
        try checkAgainstReference(Self.otherOpsGraph())
    }

    private func checkAgainstReference(_ graph: Graph) throws {
        let model = try TrainableGraph(graph, rankExecution: .reconstruct)
        let x = Self.input(graph.inputs[0].shape.dims, batch: 2, seed: 5)
        let expected = try ReferenceExecutor(graph: graph).run(x)
        let y = model.forward(Variable(shape: x.shape.dims, data: x.data), .evaluation)
        #expect(y.shape == expected.shape.dims)
        let err = zip(y.data, expected.data).map { abs($0 - $1) }.max()!
        #expect(err <= 1e-5 * max(expected.maxAbs, 1), "\(graph.name): error \(err) at scale \(expected.maxAbs)")
    }

    /// Graph → trainable model → graph with no step taken is the same graph, and the same file bytes.
    @Test func roundTripIsBitForBit() throws {
        var graphs = try Self.zooCases.map { try Zoo.build($0.0, variant: $0.1) } + [Self.otherOpsGraph()]
        graphs[0].metadata["source"] = "test"
        graphs[0].nodes[3].provenance = "kept as given"
        for g in graphs {
            let back = try TrainableGraph(g, frozen: Set(g.weights.keys.prefix(3))).exportGraph()
            #expect(back == g, "\(g.name)")
            #expect(try RKGFile.encode(RKGFile.Contents(graph: back)) == RKGFile.encode(RKGFile.Contents(graph: g)))
        }
    }

    /// Whole-graph gradients in training mode (batch statistics, dropout masks fixed by the step)
    /// against finite differences, for every parameter and the input.
    @Test func wholeGraphGradientsMatchFiniteDifferences() throws {
        var b = GraphBuilder(name: "g", shape: [1, 6, 5, 3], seed: 4)
        var x = b.conv("input", out: 4, kernel: 3, stride: 2, name: "conv")
        let skip = x
        x = b.relu(b.batchNorm(x, name: "bn"), name: "relu")
        x = b.conv(x, out: 4, kernel: 3, bias: false, name: "conv2")
        x = b.relu(b.addTensors(b.batchNorm(x, name: "bn2"), skip, name: "add"), name: "relu2")
        x = b.concat([x, b.relu6(b.conv(skip, out: 2, kernel: 1, padding: 0, name: "side"), name: "side6")], name: "cat")
        // Average, not max pooling: a finite-difference step must not flip which input a window keeps.
        x = b.dropout(b.avgPool(x, kernel: 2, stride: 1, name: "pool"), rate: 0.25, name: "drop")
        x = b.linear(b.flatten(b.globalAvgPool(x, name: "gap"), name: "flat"), out: 3, name: "fc")
        let p = b.softmax(x, name: "p")
        let model = try TrainableGraph(b.build(outputs: [p]))
        #expect(model.plan.steps.contains { if case .batchNorm(_, _, let r, true) = $0 { r != nil } else { false } },
                "the residual join runs fused")
        let input = randomVariable([2, 6, 5, 3], seed: 9)
        let params = model.parameters.map(\.variable)
        let saved = model.buffers.map { $0.variable.data }
        let worst = gradientCheck([input] + params, eps: 2e-3) { _ in
            // Batch norm in training mode updates its running statistics: restore them each pass.
            for (buffer, values) in zip(model.buffers, saved) {
                values.withUnsafeBufferPointer { buffer.variable.value.pointer.update(from: $0.baseAddress!, count: values.count) }
            }
            return model.forward(input, ForwardContext(mode: .training, seed: 1, step: 3))
        }
        #expect(worst.allSatisfy { $0 < 2e-2 }, "\(zip(["input"] + model.parameters.map(\.name), worst).map { "\($0) \($1)" })")
    }

    @Test func newOpsGradients() {
        let x = spacedVariable([2, 3, 4], seed: 2, gap: 0.9)
        #expect(gradientCheck([x], eps: 1e-3) { clamp($0[0], lower: 0, upper: 6) }.allSatisfy { $0 < 5e-3 })
        let s = randomVariable([3, 5], seed: 3, scale: 2)
        #expect(gradientCheck([s]) { softmax($0[0]) }.allSatisfy { $0 < 5e-3 })
        let a = randomVariable([2, 2, 3], seed: 4), c = randomVariable([2, 2, 1], seed: 5)
        #expect(gradientCheck([a, c]) { concatChannels([$0[0], $0[1]]) }.allSatisfy { $0 < 1e-3 })
        let student = randomVariable([4, 6], seed: 6, scale: 3)
        let teacher = randomVariable([4, 6], seed: 7, scale: 3, requiresGrad: false)
        #expect(gradientCheck([student]) { distillationLoss(student: $0[0], teacher: teacher, temperature: 2) }.allSatisfy { $0 < 5e-3 })
        // Identical scores: zero divergence.
        #expect(abs(distillationLoss(student: teacher, teacher: teacher, temperature: 4).value[0]) < 1e-6)
    }

    /// The planned fusions give what the separate ops give (forward, in training mode).
    @Test func fusedPlanEqualsTheUnfusedOps() throws {
        let graph = try Zoo.build("resnet20", seed: 2)
        let model = try TrainableGraph(graph)
        let fused = model.plan.steps.filter { if case .batchNorm(_, _, _, true) = $0 { true } else { false } }.count
        #expect(fused == 19, "stem + 9 blocks × (bn1+relu, bn2+add+relu)")
        // Unfused: the same graph with an identity dropout between every batchNorm and its consumer.
        var unfused = graph
        var nodes: [Node] = []
        for node in graph.nodes {
            var n = node
            n.inputs = n.inputs.map { name in graph.node(named: name).map { if case .batchNorm = $0.op { name + ".id" } else { name } } ?? name }
            nodes.append(n)
            if case .batchNorm = node.op { nodes.append(Node(name: node.name + ".id", op: .dropout(rate: 0), inputs: [node.name], outputs: [node.name + ".id"])) }
        }
        unfused.nodes = nodes
        let plain = try TrainableGraph(unfused)
        #expect(!plain.plan.steps.contains { if case .batchNorm(_, _, _, true) = $0 { true } else { false } })
        let x = randomVariable([2, 32, 32, 3], seed: 1, requiresGrad: false)
        let a = model.forward(x, ForwardContext(mode: .training)), b = plain.forward(x, ForwardContext(mode: .training))
        #expect(zip(a.data, b.data).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }

    /// Frozen weights get no gradient and no optimizer slot; the rest still train.
    @Test func frozenWeightsStayFixed() throws {
        let graph = try Zoo.build("resnet20", variant: .lrd, seed: 1)
        let nodes = FactorFreezing.firstLast.nodes(in: graph)
        let chains = Decomposition.all(in: graph)
        #expect(!chains.isEmpty && nodes.count == chains.reduce(0) { $0 + ($1.kind == .svd ? 1 : 2) })
        #expect(FactorFreezing.first.nodes(in: graph).count == chains.count)
        let frozen = Set(nodes.flatMap { graph.node(named: $0)!.weightInputs })
        let model = try TrainableGraph(graph, frozen: frozen)
        #expect(Set(model.frozen.map(\.name)) == frozen)
        #expect(model.parameters.allSatisfy { !frozen.contains($0.name) })
        let optimizer = Optimizer(OptimizerConfig(kind: .sgd), parameters: model.parameters)
        let before = model.frozen.map { $0.variable.data }
        let x = randomVariable([4, 32, 32, 3], seed: 2, requiresGrad: false)
        _ = trainStep(model: model, optimizer: optimizer, images: x, labels: [0, 1, 2, 3], learningRate: 0.1,
                      context: ForwardContext(mode: .training))
        #expect(model.frozen.allSatisfy { $0.variable.grad == nil })
        #expect(zip(model.frozen, before).allSatisfy { $0.variable.data == $1 })
        #expect(model.parameters.allSatisfy { $0.variable.grad != nil })
    }

    @Test func decompositionsAreReadFromProvenance() throws {
        #expect(Decomposition.parse("svd of fc, rank 32 (ratio 2)")! == (.svd, "fc"))
        #expect(Decomposition.parse("branched tucker2 of layer1.0.conv1, ranks 8/8, 2 branches")! == (.tucker2, "layer1.0.conv1"))
        #expect(Decomposition.parse("elrt of conv3, ranks 4/4 (ratio 2), dso λ=0.001")! == (.tucker2, "conv3"))
        #expect(Decomposition.parse("rank-1 5x5 conv trained in factored form") == nil)
        #expect(Decomposition.parse("svd of") == nil)
        // After rankedge export → import, the importer's note comes first.
        #expect(Decomposition.parse("imported from ONNX Conv; tucker2 of layer1.0.conv1, ranks 8/8 (ratio 2)")! == (.tucker2, "layer1.0.conv1"))
        let g = try Zoo.build("minivgg-k3", variant: .lrd)
        let d = Decomposition.all(in: g)
        #expect(d.contains { $0.kind == .svd && $0.source == "fc1" && $0.nodes == ["fc1.svd_v", "fc1.svd_u"] })
        #expect(d.contains { $0.kind == .tucker2 && $0.nodes == ["block2.conv1.tucker_in", "block2.conv1.tucker_core", "block2.conv1.tucker_out"] })
    }

    @Test func globs() {
        #expect(globMatches("layer1.*", "layer1.0.conv1") && !globMatches("layer1.*", "layer2.0.conv1"))
        #expect(globMatches("*.tucker_?n", "a.tucker_in") && globMatches("*", "") && globMatches("a*b*c", "aXbYc"))
        #expect(!globMatches("a*b", "aXc") && !globMatches("conv", "conv1") && globMatches("conv*", "conv"))
    }

    @Test func graphsTheTrainerCannotTakeAreRefused() throws {
        var b = GraphBuilder(name: "two", shape: [1, 4, 4, 2])
        let x = b.relu("input", name: "r")
        let y = b.relu6("input", name: "r6")
        #expect { try TrainableGraph(b.build(outputs: [x, y])) } throws: { "\($0)".contains("2 outputs") }
        var bad = try Zoo.build("resnet20")
        bad.nodes[2].inputs = ["nowhere"]
        #expect { try TrainableGraph(bad) } throws: { "\($0)".contains("cannot train this graph") }
    }

    /// A frozen weight still passes gradients to the input and the bias, exactly as when it trains.
    @Test func frozenConvGradientsMatchFiniteDifferences() throws {
        for (k, stride, groups) in [(1, 1, 1), (3, 1, 1), (3, 2, 1), (5, 1, 1), (3, 1, 2)] {
            let x = randomVariable([2, 7, 6, 4], seed: 3)
            let w = randomVariable([6, k, k, 4 / groups], seed: 4, requiresGrad: false)
            let bias = randomVariable([6], seed: 5)
            let attrs = Conv2DAttributes(stride: .square(stride), padding: .same(k / 2), groups: groups)
            let worst = gradientCheck([x, bias]) { v in conv2d(v[0], weight: w, bias: v[1], attributes: attrs) }
            #expect(worst.allSatisfy { $0 < 1e-2 }, "k \(k) stride \(stride) groups \(groups): \(worst)")
            #expect(w.grad == nil)
        }
    }

    /// Distillation towards a teacher that was trained with another input normalisation feeds the
    /// teacher what it expects: x_t = (x_s·s_s + m_s − m_t)/s_t.
    @Test func teacherInputsAreRenormalised() throws {
        let student = Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3])
        let teacherNorm = Normalization(mean: [0.45, 0.45, 0.45], std: [0.22, 0.22, 0.22])
        let teacher = try TrainableGraph(try Zoo.build("minivgg-k3"))
        let d = Distillation(teacher: teacher, weight: 0.5, temperature: 2, student: student, teacherNormalization: teacherNorm)
        let x = randomVariable([1, 2, 2, 3], seed: 1, requiresGrad: false)
        let y = d.teacherInput(x)
        for i in 0..<x.count {
            let c = i % 3
            let pixel = x.value[i] * student.std[c] + student.mean[c]
            #expect(abs(y.value[i] - (pixel - teacherNorm.mean[c]) / teacherNorm.std[c]) < 1e-5)
        }
        let same = Distillation(teacher: teacher, weight: 0.5, temperature: 2, student: student, teacherNormalization: student)
        #expect(same.inputAffine == nil && same.teacherInput(x).data == x.data)
    }
}
