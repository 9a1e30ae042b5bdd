import Testing
import RankEdge
import RankEdgeReference
@testable import RankEdgeTrain

/// The trainer's multiply (gate and equal shapes), channel affine, slice and shuffle: forward equal
/// to the reference executor's, gradients equal to finite differences.
@Suite struct ChannelGradientTests {
    static func tensor(_ v: Variable) -> Tensor { Tensor(shape: TensorShape(v.shape), data: v.data) }

    @Test func multiplyByAGateAndByATensor() throws {
        let a = randomVariable([2, 3, 5, 7], seed: 1), gate = randomVariable([2, 1, 1, 7], seed: 2)
        #expect(multiply(a, gate).data == (try ReferenceOps.multiply(Self.tensor(a), Self.tensor(gate))).data)
        #expect(gradientCheck([a, gate], eps: 1e-2) { v in multiply(v[0], v[1]) }.allSatisfy { $0 < 1e-3 })
        let b = randomVariable([2, 3, 5, 7], seed: 3)
        #expect(gradientCheck([a, b], eps: 1e-2) { v in multiply(v[0], v[1]) }.allSatisfy { $0 < 1e-3 })
        // The same tensor on both sides (x²): both gradient paths add up.
        #expect(gradientCheck([a], eps: 1e-2) { v in multiply(v[0], v[0]) }.allSatisfy { $0 < 1e-3 })
    }

    @Test func channelAffineForwardAndGradient() throws {
        let x = randomVariable([3, 4, 5, 6], seed: 4), scale = randomVariable([6], seed: 5), shift = randomVariable([6], seed: 6)
        let reference = try ReferenceOps.channelAffine(Self.tensor(x), scale: Self.tensor(scale), shift: Self.tensor(shift))
        #expect(Self.tensor(channelAffine(x, scale: scale, shift: shift)).maxAbsDifference(reference) < 1e-6)
        let errs = gradientCheck([x, scale, shift], eps: 1e-2) { v in channelAffine(v[0], scale: v[1], shift: v[2]) }
        #expect(errs.count == 3 && errs.allSatisfy { $0 < 1e-3 }, "\(errs)")
    }

    @Test func layerNormForwardAndGradient() throws {
        let x = randomVariable([3, 2, 5, 6], seed: 14), scale = randomVariable([6], seed: 15), bias = randomVariable([6], seed: 16)
        let reference = try ReferenceOps.layerNorm(Self.tensor(x), scale: Self.tensor(scale), bias: Self.tensor(bias), epsilon: 1e-5)
        #expect(Self.tensor(layerNorm(x, scale: scale, bias: bias, epsilon: 1e-5)).maxAbsDifference(reference) < 1e-5)
        let errs = gradientCheck([x, scale, bias], eps: 1e-3) { v in layerNorm(v[0], scale: v[1], bias: v[2], epsilon: 1e-5) }
        #expect(errs.count == 3 && errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    @Test func sliceAndShuffle() throws {
        let x = randomVariable([2, 3, 4, 12], seed: 7)
        #expect(channelShuffle(x, groups: 3).data == (try ReferenceOps.channelShuffle(Self.tensor(x), groups: 3)).data)
        #expect(channelSlice(x, start: 5, count: 4).data == (try ReferenceOps.channelSlice(Self.tensor(x), start: 5, count: 4)).data)
        #expect(gradientCheck([x]) { v in channelShuffle(v[0], groups: 4) }.allSatisfy { $0 < 1e-3 })
        // Two overlapping slices of one tensor, joined: their gradients add into the shared channels.
        let errs = gradientCheck([x]) { v in concatChannels([channelSlice(v[0], start: 0, count: 7), channelSlice(v[0], start: 3, count: 9)]) }
        #expect(errs.allSatisfy { $0 < 1e-3 }, "\(errs)")
    }

    /// An SE block with a channel affine, split, shuffle and a self gate, as a trainable graph:
    /// its forward equals the reference executor, and every weight's gradient (the affine's scale
    /// and shift included) matches finite differences.
    @Test func aGraphWithTheseOpsTrains() throws {
        var b = GraphBuilder(name: "se", shape: [1, 5, 6, 3], seed: 12)
        var x = b.conv("input", out: 8, kernel: 3, padding: 1, name: "conv")
        x = b.unary(b.layerNorm(b.channelAffine(b.relu(x), name: "affine"), name: "ln"), .gelu)
        var s = b.relu(b.conv(b.globalAvgPool(x), out: 2, kernel: 1, name: "fc1"))
        s = b.unary(b.conv(s, out: 8, kernel: 1, name: "fc2"), .sigmoid)
        x = b.multiply(x, s, name: "scale")
        let left = b.channelSlice(x, start: 0, count: 3), right = b.conv(b.channelSlice(x, start: 3, count: 5), out: 5, kernel: 1, name: "branch")
        x = b.channelShuffle(b.concat([left, right]), groups: 2)
        x = b.multiply(x, b.unary(x, .tanh))
        let logits = b.linear(b.flatten(b.globalAvgPool(x)), out: 3, name: "fc")
        let graph = b.build(outputs: [logits])
        let model = try TrainableGraph(graph)
        var rng = SeededRandom(seed: 2)
        let input = Tensor(shape: [2, 5, 6, 3], data: (0..<180).map { _ in rng.uniform(-1, 1) })
        let expected = try ReferenceExecutor(graph: graph).run(input)
        let y = model.forward(Variable(shape: input.shape.dims, data: input.data), .evaluation)
        #expect(Self.tensor(y).maxAbsDifference(expected) <= 1e-5 * max(expected.maxAbs, 1))
        #expect(model.parameters.contains { $0.name == "affine.scale" } && model.parameters.contains { $0.name == "affine.shift" })
        let v = Variable(shape: input.shape.dims, data: input.data, requiresGrad: true)
        let worst = gradientCheck([v] + model.parameters.map(\.variable), eps: 2e-3) { _ in model.forward(v, .evaluation) }
        #expect(worst.allSatisfy { $0 < 2e-2 }, "\(zip(["input"] + model.parameters.map(\.name), worst).map { "\($0) \($1)" })")
    }
}
