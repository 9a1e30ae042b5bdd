import Foundation
import Testing
import RankEdge
import RankEdgeCompress
@testable import RankEdgeTrain

@Suite struct LowRankLayerTests {
    /// One rankConv2d node "rc" with bias, initialised for training from `seed`.
    static func rankConv(c: Int = 3, s: Int = 4, k: Int = 3, l: Int = 2, stride: Int = 1, seed: UInt64 = 1,
                         execution: RankExecution = .reconstruct) throws -> RankConvLayer {
        var b = GraphBuilder(name: "rc", shape: [1, 9, 9, c])
        let y = b.rankConv("input", out: s, kernel: k, rank: l, stride: stride, name: "rc")
        let model = try TrainableGraph(try initializeForTraining(b.build(outputs: [y]), seed: seed), rankExecution: execution)
        return RankConvLayer(model: model)
    }

    /// The node's factors and its two training forms, as the tests below use them.
    struct RankConvLayer {
        let model: TrainableGraph
        var a: Variable { model.variables["rc.a"]! }
        var b: Variable { model.variables["rc.b"]! }
        var bias: Variable? { model.variables["rc.bias"] }
        var forms: RankConvForms {
            guard case .rankConv2d(let attributes) = model.graph.nodes[0].op else { preconditionFailure() }
            return RankConvForms(a: a.shape, attributes: attributes)
        }
        func forward(_ x: Variable, form: RankExecution, a: Variable, b: Variable, bias: Variable?) -> Variable {
            forms.forward(x, form: form, a: a, b: b, bias: bias)
        }
    }

    @Test func svdReconstructsAndIsOrdered() throws {
        var rng = SeededRandom(seed: 4)
        let (m, n) = (5, 3)
        let a = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
        let svd = try SVD(a, rows: m, cols: n)
        for i in 0..<m { for j in 0..<n {
            let v = (0..<n).reduce(Float(0)) { $0 + svd.u[i * n + $1] * svd.s[$1] * svd.vt[$1 * n + j] }
            #expect(abs(v - a[i * n + j]) < 1e-5)
        } }
        #expect(zip(svd.s, svd.s.dropFirst()).allSatisfy { $0 >= $1 })
    }

    /// At full rank L = k the √σ initialisation reproduces the default-initialised kernel exactly.
    @Test func fullRankInitialisationIsTheDefaultKernel() throws {
        let layer = try Self.rankConv(c: 2, s: 3, k: 3, l: 3, seed: 9)
        var replay = SeededRandom(seed: mixSeeds(9, 0x1417))
        let full = defaultInit(3 * 2 * 9, fanIn: 2 * 9, rng: &replay)
        let w = rankKernel(a: layer.a, b: layer.b)  // [S, k, k, C]
        for o in 0..<3 { for ci in 0..<2 { for i in 0..<3 { for j in 0..<3 {
            #expect(abs(w.value[((o * 3 + i) * 3 + j) * 2 + ci] - full[((o * 2 + ci) * 3 + i) * 3 + j]) < 1e-5)
        } } } }
        // √σ on both sides: each rank-1 term's factors have equal norms.
        for f in 0..<(3 * 2 * 3) {
            let na = (0..<3).reduce(Float(0)) { $0 + layer.a.value[f * 3 + $1] * layer.a.value[f * 3 + $1] }
            let nb = (0..<3).reduce(Float(0)) { $0 + layer.b.value[f * 3 + $1] * layer.b.value[f * 3 + $1] }
            #expect(abs(na - nb) < 1e-5)
        }
    }

    /// The layer equals a dense conv whose kernel is the reconstructed Σ_l a_l ⊗ b_l (METHODS.md §1),
    /// in both training forms, at odd sizes and strides.
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (3, 3, 2), (5, 1, 1), (5, 4, 2), (7, 2, 1), (7, 7, 3)])
    func bothFormsEqualADenseConvWithTheReconstructedKernel(kernel k: Int, rank: Int, stride: Int) throws {
        let layer = try Self.rankConv(c: 3, s: 5, k: k, l: rank, stride: stride)
        let x = randomVariable([2, 7, 5, 3], seed: 3)
        let kernel = reconstructRankKernel(a: layer.a.runtimeTensor, b: layer.b.runtimeTensor)
        let expected = referenceConv2d(x: x.data, xShape: x.shape, w: kernel.data, wShape: kernel.shape.dims, bias: layer.bias?.data,
                                       Conv2DAttributes(stride: .square(stride), padding: .same((k - 1) / 2)))
        for form in [RankExecution.reconstruct, .separable] {
            let y = layer.forward(x, form: form, a: layer.a, b: layer.b, bias: layer.bias)
            #expect(y.shape == expected.shape)
            let err = zip(y.data, expected.out).map { abs($0 - $1) }.max()!
            #expect(err < 1e-5, "\(form): max error \(err)")
        }
    }

    @Test(arguments: [RankExecution.reconstruct, .separable])
    func gradientsMatchFiniteDifferences(form: RankExecution) throws {
        let layer = try Self.rankConv(c: 2, s: 3, k: 3, l: 2, stride: 2)
        let x = randomVariable([1, 5, 6, 2], seed: 8)
        let worst = gradientCheck([x, layer.a, layer.b, layer.bias!]) { v in layer.forward(v[0], form: form, a: v[1], b: v[2], bias: v[3]) }
        #expect(worst.allSatisfy { $0 < 2e-2 }, "\(worst)")
    }

    @Test func rankKernelGradient() {
        let a = randomVariable([2, 3, 2, 5], seed: 1), b = randomVariable([2, 3, 2, 5], seed: 2)
        let worst = gradientCheck([a, b]) { v in rankKernel(a: v[0], b: v[1]) }
        #expect(worst.allSatisfy { $0 < 1e-2 }, "\(worst)")
    }

    @Test func gatherAndPermuteGradients() {
        let x = randomVariable([2, 3, 4], seed: 5)
        let worst = gradientCheck([x]) { v in
            permuteChannels(gather(v[0], indices: [3, 0, 0, 7, 23, 11, 2, 2], shape: [2, 4]), [2, 0, 3, 1])
        }
        #expect(worst.allSatisfy { $0 < 1e-2 }, "\(worst)")
    }

    @Test func autoChoiceMeasuresBothFormsAndLeavesGradientsAlone() throws {
        let layer = try Self.rankConv(c: 3, s: 4, k: 3, l: 1, seed: 2, execution: .auto)
        #expect(layer.model.rankForms["rc"] == .auto)
        let x = randomVariable([2, 9, 9, 3], seed: 3)
        _ = layer.model.forward(x, ForwardContext(mode: .training))
        #expect(layer.model.rankForms["rc"] != .auto)
        #expect(Set(layer.model.rankMeasurements["rc"]!.keys) == [.reconstruct, .separable])
        #expect(layer.a.grad == nil && layer.b.grad == nil && layer.bias?.grad == nil, "the measurement must not touch real gradients")
        let eval = try Self.rankConv(c: 3, s: 4, k: 3, l: 1, seed: 2, execution: .auto)
        _ = eval.model.forward(x, .evaluation)
        #expect(eval.model.rankForms["rc"] == .auto, "evaluation never measures")
    }

    @Test func doubleSoftOrthogonality() {
        // An orthogonal square matrix scores 0; a scaled identity 2·I₃ scores 2·(3·3²) = 54.
        let c = Float(0.6), s = Float(0.8)
        let rotation = Variable(shape: [2, 2], data: [c, -s, s, c], requiresGrad: true)
        #expect(abs(RankEdgeTrain.doubleSoftOrthogonality(rotation, rows: 2, cols: 2).value[0]) < 1e-6)
        let scaled = Variable(shape: [3, 3], data: [2, 0, 0, 0, 2, 0, 0, 0, 2])
        #expect(abs(RankEdgeTrain.doubleSoftOrthogonality(scaled, rows: 3, cols: 3).value[0] - 54) < 1e-4)
        let u = randomVariable([3, 1, 1, 5], seed: 4, scale: 0.7)
        let worst = gradientCheck([u], eps: 1e-3) { v in RankEdgeTrain.doubleSoftOrthogonality(v[0], rows: 3, cols: 5) }
        #expect(worst.allSatisfy { $0 < 1e-2 }, "\(worst)")
        let a = randomVariable([1], seed: 1), b = randomVariable([1], seed: 2)
        let sumWorst = gradientCheck([a, b]) { v in weightedSum([v[0], v[1]], weights: [1, 0.25]) }
        #expect(sumWorst.allSatisfy { $0 < 1e-3 })
    }

    @Test func convFormsParseAndBuild() throws {
        #expect(try ConvForm(parsing: "rank:2") == .rank(2))
        #expect(try ConvForm(parsing: "elrt:2.5") == .elrt(ratio: 2.5))
        #expect(try ConvForm(parsing: "tucker2:2").description == "tucker2:2")
        for bad in ["rank:0", "rank:x", "rank:99", "tucker2", "elrt:1", "dense:2", "svd:2", "", ":", "rank:", "tucker2:1e19",
                    "tucker2:inf", "tucker2:nan", "elrt:-3"] {
            #expect(throws: ModelError.self) { try ConvForm(parsing: bad) }
        }
        let rank = try TrainableGraph(ModelZoo.build(ModelOptions(name: "minivgg", kernel: 5, conv: .rank(1)), seed: 0))
        #expect(rank.rankForms.count == 6)
        // Rank-1 k=5 keeps 2·1·5 of 25 weights per kernel; Σ S·C over the six convs is 31 840.
        let dense = try TrainableGraph(ModelZoo.build(ModelOptions(name: "minivgg", kernel: 5), seed: 0))
        #expect(dense.parameterCount - rank.parameterCount == 31_840 * 15)
        #expect(throws: ModelError.self) { try ModelZoo.build(ModelOptions(name: "resnet20", conv: .rank(4)), seed: 0) }
        let elrt = try ModelZoo.build(ModelOptions(name: "resnet20", conv: .elrt(ratio: 2)), seed: 0)
        // Every 3×3 conv but the RGB stem is factored; ELRT's λ defaults on and marks the provenance.
        let chains = Decomposition.all(in: elrt)
        #expect(chains.count == 18 && chains.allSatisfy { $0.kind == .tucker2 })
        #expect(elrt.node(named: chains[0].nodes[0])!.provenance!.hasPrefix("elrt of") == true)
        #expect(elrt.node(named: chains[0].nodes[0])!.provenance!.contains("dso λ=0.001"))
        #expect(ModelOptions(name: "resnet20", conv: .elrt(ratio: 2)).orthogonality == 1e-3)
        #expect(throws: ModelError.self) { try ModelZoo.build(ModelOptions(name: "minivgg", conv: .rank(1), dso: 0.1), seed: 0) }
        #expect(throws: ModelError.self) { try ModelZoo.build(ModelOptions(name: "minivgg", kernel: 1, conv: .rank(1)), seed: 0) }
        let plain = try ModelZoo.build(ModelOptions(name: "resnet20", conv: .tucker2(ratio: 2)), seed: 0)
        #expect(Decomposition.all(in: plain).count == 18)
        #expect(plain.nodes.compactMap(\.provenance).allSatisfy { !$0.contains("dso") })
    }

    /// The ELRT chains' 1×1 factors are Xavier-initialised: bound √(6 / (fan_in + fan_out)).
    @Test func elrtFactorsAreXavierInitialised() throws {
        let g = try ModelZoo.build(ModelOptions(name: "resnet20", conv: .elrt(ratio: 2)), seed: 3)
        let chain = Decomposition.all(in: g)[0]
        let w = g.weights[g.node(named: chain.nodes[0])!.inputs[1]]!
        let bound = (6 / Float(w.shape[3] + w.shape[0])).squareRoot()
        #expect(w.data.allSatisfy { abs($0) <= bound } && w.maxAbs > bound * 0.8)
    }

    /// Checkpoints from before the low-rank forms decode as dense models.
    @Test func oldModelOptionsDecodeAsDense() throws {
        let json = #"{"name":"minivgg","kernel":5,"batchNorm":true,"dropout":true,"classes":10}"#
        let o = try JSONDecoder().decode(ModelOptions.self, from: Data(json.utf8))
        #expect(o.conv == .dense && o.dso == nil)
        let round = try JSONDecoder().decode(ModelOptions.self, from: JSONEncoder().encode(ModelOptions(name: "resnet20", conv: .elrt(ratio: 2), dso: 0.01)))
        #expect(round.conv == .elrt(ratio: 2) && round.dso == 0.01)
    }

    /// trainStep adds exactly λ·dR/dU to the 1×1 factors' gradients (and nothing to the core's).
    @Test func trainStepAddsTheDSOGradient() throws {
        func model(_ lambda: Float) throws -> TrainableGraph {
            var b = GraphBuilder(name: "t", shape: [1, 5, 5, 4], seed: 12)
            let note = "elrt of t, ranks 3/2 (ratio 2)"
            var y = b.conv("input", out: 3, kernel: 1, padding: 0, bias: false, name: "t.tucker_in", provenance: note)
            y = b.conv(y, out: 2, kernel: 3, bias: false, name: "t.tucker_core", provenance: note)
            y = b.conv(y, out: 6, kernel: 1, padding: 0, name: "t.tucker_out", provenance: note)
            y = b.flatten(b.globalAvgPool(y, name: "gap"), name: "flatten")
            y = b.linear(y, out: 3, name: "fc")
            let m = try TrainableGraph(try initializeForTraining(b.build(outputs: [y]), seed: 12))
            m.orthogonality = lambda
            return m
        }
        let x = randomVariable([2, 5, 5, 4], seed: 1, requiresGrad: false)
        var grads: [[String: [Float]]] = []
        for lambda: Float in [0, 0.5] {
            let m = try model(lambda)
            let opt = Optimizer(OptimizerConfig(kind: .sgd), parameters: m.parameters)
            _ = trainStep(model: m, optimizer: opt, images: x, labels: [0, 2], learningRate: 0, context: ForwardContext(mode: .training))
            grads.append(Dictionary(uniqueKeysWithValues: m.parameters.map { ($0.name, $0.variable.grad!.array) }))
        }
        let reference = try model(0.5)
        #expect(reference.regularizationTerms().count == 2)
        for name in ["t.tucker_in.weight", "t.tucker_out.weight"] {
            let w = reference.variables[name]!
            let u = Variable(shape: w.shape, value: w.value.copy(), requiresGrad: true)
            RankEdgeTrain.doubleSoftOrthogonality(u, rows: w.shape[0], cols: w.shape[3]).backward()
            let expected = zip(grads[0][name]!, u.grad!.array).map { $0 + 0.5 * $1 }
            #expect(zip(grads[1][name]!, expected).allSatisfy { abs($0 - $1) < 1e-4 * max(1, abs($1)) }, "\(name)")
        }
        #expect(grads[0]["t.tucker_core.weight"]! == grads[1]["t.tucker_core.weight"]!)
    }
}
