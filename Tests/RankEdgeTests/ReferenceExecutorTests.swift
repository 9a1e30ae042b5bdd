import Testing
@testable import RankEdge
@testable import RankEdgeReference
@testable import RankEdgeZoo

/// Whole graphs through the reference executor: batching, input checking, validation, mini-VGG.
@Suite struct ReferenceExecutorTests {
    typealias F = RefFixtures

    /// A small graph touching every op: conv (stride 2, padding), BN, ReLU6, dropout, add, a rank-2
    /// conv, avg pool, concat, max pool with padding, flatten, linear, ReLU, global pool, softmax.
    static func everyOpGraph() -> Graph {
        var b = GraphBuilder(name: "every-op", input: "image", shape: [1, 6, 5, 3], seed: 7)
        var x = b.conv("image", out: 4, kernel: 3, stride: 2, padding: 1, name: "c1")   // [3, 3, 4]
        x = b.batchNorm(x, name: "bn1")
        x = b.relu6(x, name: "act1")
        let skip = b.dropout(x, rate: 0.4, name: "drop1")
        x = b.addTensors(x, skip, name: "sum1")
        let branchA = b.rankConv(x, out: 3, kernel: 3, rank: 2, name: "rc1")          // [3, 3, 3]
        let branchB = b.avgPool(x, kernel: 3, stride: 1, padding: 1, name: "avg1")    // [3, 3, 4]
        x = b.concat([branchA, branchB], name: "cat1")                                // [3, 3, 7]
        let pooled = b.maxPool(x, kernel: 2, stride: 2, padding: 1, name: "max1")     // [2, 2, 7]
        let gap = b.globalAvgPool(x, name: "gap1")                                    // [1, 1, 7]
        x = b.flatten(pooled, name: "flat")
        x = b.linear(x, out: 5, name: "fc")
        x = b.relu(x, name: "fc.relu")
        let probs = b.softmax(x, name: "probs")
        return b.build(outputs: [probs, gap])
    }

    @Test func batchOfThreeMatchesThreeSingleRuns() throws {
        let g = Self.everyOpGraph()
        let exec = try ReferenceExecutor(graph: g)
        var rng = SeededRandom(seed: 3)
        let batch = F.random([3, 6, 5, 3], &rng, bound: 2)
        let together = try exec.run(["image": batch])
        #expect(together["probs"]?.shape == TensorShape([3, 5]))
        #expect(together["gap1"]?.shape == TensorShape([3, 1, 1, 7]))
        let per = 6 * 5 * 3
        for n in 0..<3 {
            let one = F.tensor([1, 6, 5, 3], Array(batch.data[n * per..<(n + 1) * per]))
            let alone = try exec.run(["image": one])
            #expect(Array(together["probs"]!.data[n * 5..<(n + 1) * 5]) == alone["probs"]!.data)
            #expect(Array(together["gap1"]!.data[n * 7..<(n + 1) * 7]) == alone["gap1"]!.data)
        }
        let rowSum = together["probs"]!.data[0..<5].reduce(0, +)
        #expect(abs(rowSum - 1) < 1e-5)
    }

    @Test func graphWithRankConvReplacedByReconstructedConvAgrees() throws {
        // What a compiler's "reconstruct the dense kernel" choice does, checked on a whole graph.
        let g = Self.everyOpGraph()
        var dense = g
        let index = try #require(dense.nodes.firstIndex { $0.name == "rc1" })
        guard case .rankConv2d(let attrs) = dense.nodes[index].op else { Issue.record("rc1 is not a rankConv2d"); return }
        dense.weights["rc1.dense"] = reconstructRankKernel(a: g.weights["rc1.a"]!, b: g.weights["rc1.b"]!)
        dense.nodes[index].op = .conv2d(Conv2DAttributes(stride: attrs.stride, padding: attrs.padding))
        dense.nodes[index].inputs = [dense.nodes[index].inputs[0], "rc1.dense", "rc1.bias"]
        var rng = SeededRandom(seed: 9)
        let x = F.random([2, 6, 5, 3], &rng)
        let viaRank = try ReferenceExecutor(graph: g).runCapturingAll(["image": x])
        let viaDense = try ReferenceExecutor(graph: dense).runCapturingAll(["image": x])
        let r = try #require(viaRank["rc1"]), d = try #require(viaDense["rc1"])
        #expect(r.maxAbsDifference(d) <= 1e-5 * max(1, d.maxAbs))
        #expect(viaRank["probs"]!.maxAbsDifference(viaDense["probs"]!) <= 1e-5)
    }

    @Test func capturingAllReturnsEveryNodeOutput() throws {
        let g = Self.everyOpGraph()
        var rng = SeededRandom(seed: 4)
        let all = try ReferenceExecutor(graph: g).runCapturingAll(["image": F.random([1, 6, 5, 3], &rng)])
        for node in g.nodes { #expect(all[node.name] != nil, "no value for \(node.name)") }
        // The captured values are the ops' own outputs: the skip branch is dropout, the identity.
        #expect(all["drop1"] == all["act1"])
        let shapes = try g.inferShapes()
        for (name, shape) in shapes { #expect(all[name]?.shape == shape, "\(name)") }
    }

    @Test func convenienceRunMatchesNamedRun() throws {
        var b = GraphBuilder(name: "one", shape: [1, 4, 4, 2], seed: 1)
        let y = b.conv("input", out: 3, kernel: 3, name: "c")
        let exec = try ReferenceExecutor(graph: b.build(outputs: [y]))
        var rng = SeededRandom(seed: 5)
        let x = F.random([2, 4, 4, 2], &rng)
        #expect(try exec.run(x) == exec.run(["input": x])["c"])
        let twoOutputs = try ReferenceExecutor(graph: Self.everyOpGraph())
        #expect(throws: ExecutionError.notSingleInputOutput(inputs: 1, outputs: 2)) { _ = try twoOutputs.run(x) }
    }

    @Test func wrongInputShapeNamesTheInputAndBothShapes() throws {
        let exec = try ReferenceExecutor(graph: Self.everyOpGraph())
        let wrong = F.iota([1, 6, 5, 2])
        #expect(throws: ExecutionError.inputShapeMismatch(name: "image", expected: TensorShape([1, 6, 5, 3]),
                                                          actual: TensorShape([1, 6, 5, 2]))) {
            _ = try exec.run(["image": wrong])
        }
        do { _ = try exec.run(["image": wrong]) } catch {
            let text = "\(error)"
            #expect(text.contains("'image'") && text.contains("[1, 6, 5, 2]") && text.contains("[N, 6, 5, 3]"), "\(text)")
        }
        #expect(throws: ExecutionError.self) { _ = try exec.run(["image": F.iota([6, 5, 3])]) }
        #expect(throws: ExecutionError.self) { _ = try exec.run(["image": Tensor(zeros: TensorShape([0, 6, 5, 3]))]) }
    }

    @Test func missingExtraAndMalformedInputs() throws {
        let exec = try ReferenceExecutor(graph: Self.everyOpGraph())
        #expect(throws: ExecutionError.missingInput(name: "image", expected: TensorShape([1, 6, 5, 3]))) {
            _ = try exec.run(["picture": F.iota([1, 6, 5, 3])])
        }
        #expect(throws: ExecutionError.unexpectedInput(name: "extra", graphInputs: ["image"])) {
            _ = try exec.run(["image": F.iota([1, 6, 5, 3]), "extra": F.iota([1])])
        }
        var broken = F.iota([1, 6, 5, 3])
        broken.data.removeLast()
        #expect(throws: ExecutionError.inputDataMismatch(name: "image", shape: TensorShape([1, 6, 5, 3]), count: 89)) {
            _ = try exec.run(["image": broken])
        }
    }

    /// Two inputs added: [[1, 2], [3, 4]] + [[10, 20], [30, 40]].
    static func twoInputGraph() -> Graph {
        Graph(name: "sum", inputs: [ValueInfo(name: "a", shape: TensorShape([1, 2, 2, 1])),
                                    ValueInfo(name: "b", shape: TensorShape([1, 2, 2, 1]))],
              outputs: ["s"], nodes: [Node(name: "s", op: .add, inputs: ["a", "b"], outputs: ["s"])], weights: [:])
    }

    @Test func twoInputsShareOneBatch() throws {
        let exec = try ReferenceExecutor(graph: Self.twoInputGraph())
        let out = try exec.run(["a": F.tensor([1, 2, 2, 1], [1, 2, 3, 4]), "b": F.tensor([1, 2, 2, 1], [10, 20, 30, 40])])
        F.expectClose(out["s"]!, [11, 22, 33, 44], shape: [1, 2, 2, 1])
        #expect(throws: ExecutionError.batchMismatch(name: "b", batch: 2, otherInput: "a", otherBatch: 1)) {
            _ = try exec.run(["a": F.iota([1, 2, 2, 1]), "b": F.iota([2, 2, 2, 1])])
        }
    }

    @Test func mismatchedGraphIsRejectedAtInitWithNodeName() {
        var b = GraphBuilder(name: "bad", shape: [1, 8, 8, 3])
        let c = b.conv("input", out: 4, kernel: 3, name: "c1")
        let r = b.relu(c, name: "r1")
        var g = b.build(outputs: [r])
        g.weights["c1.weight"] = Tensor(zeros: TensorShape([4, 3, 3, 5]))
        #expect(throws: GraphValidationError.self) { _ = try ReferenceExecutor(graph: g) }
        do { _ = try ReferenceExecutor(graph: g) } catch {
            #expect("\(error)".contains("node 'c1'"), "\(error)")
        }
    }

    @Test func miniVGGEndToEnd() throws {
        let g = buildMiniVGG(MiniVGGOptions(kernel: 3, batchNorm: true, dropout: true, seed: 11))
        let exec = try ReferenceExecutor(graph: g)
        var rng = SeededRandom(seed: 12)
        let image = Tensor(shape: [1, 32, 32, 3], data: (0..<(32 * 32 * 3)).map { _ in rng.uniform(0, 1) })
        let logits = try exec.run(image)
        #expect(logits.shape == TensorShape([1, 10]))
        #expect(logits.data.allSatisfy { $0.isFinite })
        #expect(logits.data.max()! - logits.data.min()! > 1e-4, "logits are all equal: \(logits.data)")
        let probs = try ReferenceOps.softmax(logits)
        #expect(abs(probs.data.reduce(0, +) - 1) < 1e-5)
        #expect(probs.data.allSatisfy { $0 > 0 && $0 < 1 })
        #expect(probs.data.firstIndex(of: probs.data.max()!) == logits.data.firstIndex(of: logits.data.max()!))
        #expect(throws: ExecutionError.self) { _ = try exec.run(Tensor(zeros: TensorShape([1, 32, 32, 1]))) }
    }
}
