import Foundation
import Testing
import RankEdge
@testable import RankEdgeTrain

@Suite struct LowRankLayerTests {
    static func rankConv(c: Int = 3, s: Int = 4, k: Int = 3, l: Int = 2, stride: Int = 1, seed: UInt64 = 1) throws -> RankConv2D {
        var rng = SeededRandom(seed: seed)
        return try RankConv2D(name: "rc", inChannels: c, outChannels: s, kernel: k, rank: l, stride: stride, execution: .reconstruct, rng: &rng)
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
        var rng = SeededRandom(seed: 9)
        let layer = try RankConv2D(name: "rc", inChannels: 2, outChannels: 3, kernel: 3, rank: 3, rng: &rng)
        var replay = SeededRandom(seed: 9)
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
        var rng = SeededRandom(seed: 2)
        let layer = try RankConv2D(name: "rc", inChannels: 3, outChannels: 4, kernel: 3, rank: 1, rng: &rng)
        #expect(layer.execution == .auto)
        let x = randomVariable([2, 6, 6, 3], seed: 3)
        _ = layer.forward(x, ForwardContext(mode: .training))
        #expect(layer.execution != .auto)
        #expect(Set(layer.measured.keys) == [.reconstruct, .separable])
        #expect(layer.a.grad == nil && layer.b.grad == nil && layer.bias?.grad == nil, "the measurement must not touch real gradients")
        let eval = try RankConv2D(name: "rc", inChannels: 3, outChannels: 4, kernel: 3, rank: 1, rng: &rng)
        _ = eval.forward(x, .evaluation)
        #expect(eval.execution == .auto, "evaluation never measures")
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

    @Test func tucker2ConvIsItsChainAndCarriesTheRegulariser() throws {
        var rng = SeededRandom(seed: 6)
        let t = Tucker2Conv(name: "t", inChannels: 6, outChannels: 7, kernel: 3, ranks: (4, 2), stride: 2, groups: 2,
                            initialization: .xavierUniform, orthogonality: 0.5, provenance: "test", rng: &rng)
        #expect(t.parameters.map(\.name) == ["t.tucker_in.weight", "t.tucker_core.weight", "t.tucker_out.weight", "t.tucker_out.bias"])
        let x = randomVariable([1, 5, 5, 6], seed: 2)
        let y = t.forward(x, .evaluation)
        let chain = t.last.forward(t.core.forward(t.first.forward(x, .evaluation), .evaluation), .evaluation)
        #expect(y.shape == [1, 3, 3, 7] && y.data == chain.data)
        // Xavier bound for the 1×1 C→R1 factor: √(6 / (6 + 4)).
        #expect(t.first.weight.data.allSatisfy { abs($0) <= (0.6 as Float).squareRoot() })
        let model = Sequential(name: "", [t])
        let terms = regularizationTerms(model)
        #expect(terms.count == 2 && terms.allSatisfy { $0.weight == 0.5 })
        #expect(abs(terms[0].penalty.value[0] - RankEdgeTrain.doubleSoftOrthogonality(t.first.weight, rows: 4, cols: 6).value[0]) < 1e-6)
    }

    @Test func convFormsParseAndBuild() throws {
        #expect(try ConvForm(parsing: "rank:2") == .rank(2))
        #expect(try ConvForm(parsing: "elrt:2.5") == .elrt(ratio: 2.5))
        #expect(try ConvForm(parsing: "tucker2:2").description == "tucker2:2")
        for bad in ["rank:0", "rank:x", "rank:99", "tucker2", "elrt:1", "dense:2", "svd:2", "", ":", "rank:", "tucker2:1e19",
                    "tucker2:inf", "tucker2:nan", "elrt:-3"] {
            #expect(throws: ModelError.self) { try ConvForm(parsing: bad) }
        }
        let rank = try ModelZoo.build(ModelOptions(name: "minivgg", kernel: 5, conv: .rank(1)), seed: 0)
        #expect(rank.allModules.compactMap { $0 as? RankConv2D }.count == 6)
        // Rank-1 k=5 keeps 2·1·5 of 25 weights per kernel; Σ S·C over the six convs is 31 840.
        let dense = try ModelZoo.build(ModelOptions(name: "minivgg", kernel: 5), seed: 0)
        #expect(dense.parameterCount - rank.parameterCount == 31_840 * 15)
        #expect(throws: ModelError.self) { try ModelZoo.build(ModelOptions(name: "resnet20", conv: .rank(4)), seed: 0) }
        let elrt = try ModelZoo.build(ModelOptions(name: "resnet20", conv: .elrt(ratio: 2)), seed: 0)
        let tuckers = elrt.allModules.compactMap { $0 as? Tucker2Conv }
        // Every 3×3 conv but the RGB stem is factored; ELRT's λ defaults on.
        #expect(tuckers.count == 18 && tuckers.allSatisfy { $0.orthogonality == 1e-3 })
        #expect(throws: ModelError.self) { try ModelZoo.build(ModelOptions(name: "minivgg", conv: .rank(1), dso: 0.1), seed: 0) }
        #expect(throws: ModelError.self) { try ModelZoo.build(ModelOptions(name: "minivgg", kernel: 1, conv: .rank(1)), seed: 0) }
        let plain = try ModelZoo.build(ModelOptions(name: "resnet20", conv: .tucker2(ratio: 2)), seed: 0)
        #expect(plain.allModules.compactMap { $0 as? Tucker2Conv }.allSatisfy { $0.orthogonality == 0 })
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
        func model(_ lambda: Float) -> Sequential {
            var rng = SeededRandom(seed: 12)
            return Sequential(name: "", [
                Tucker2Conv(name: "t", inChannels: 4, outChannels: 6, kernel: 3, ranks: (3, 2), initialization: .xavierUniform,
                            orthogonality: lambda, provenance: "test", rng: &rng),
                GlobalAvgPool(name: "gap"), Flatten(name: "flatten"),
                Linear(name: "fc", inFeatures: 6, outFeatures: 3, rng: &rng),
            ])
        }
        let x = randomVariable([2, 5, 5, 4], seed: 1, requiresGrad: false)
        var grads: [[String: [Float]]] = []
        for lambda: Float in [0, 0.5] {
            let m = model(lambda)
            let opt = Optimizer(OptimizerConfig(kind: .sgd), parameters: m.parameters)
            _ = trainStep(model: m, optimizer: opt, images: x, labels: [0, 2], learningRate: 0, context: ForwardContext(mode: .training))
            grads.append(Dictionary(uniqueKeysWithValues: m.parameters.map { ($0.name, $0.variable.grad!.array) }))
        }
        let reference = model(0.5).submodules[0] as! Tucker2Conv
        for (name, w) in [("t.tucker_in.weight", reference.first.weight), ("t.tucker_out.weight", reference.last.weight)] {
            let u = Variable(shape: w.shape, value: w.value.copy(), requiresGrad: true)
            RankEdgeTrain.doubleSoftOrthogonality(u, rows: w.shape[0], cols: w.shape[3]).backward()
            let expected = zip(grads[0][name]!, u.grad!.array).map { $0 + 0.5 * $1 }
            #expect(zip(grads[1][name]!, expected).allSatisfy { abs($0 - $1) < 1e-4 * max(1, abs($1)) }, "\(name)")
        }
        #expect(grads[0]["t.tucker_core.weight"]! == grads[1]["t.tucker_core.weight"]!)
    }
}
