import Testing
import RankEdge
import RankEdgeReference
@testable import RankEdgeTrain

/// The trainer's pad, resize and channel mean: forward equal to the reference executor's, gradients
/// equal to finite differences (reflect and edge pads and shrinking resizes read a cell more than
/// once, so their gradients add up).
@Suite struct ResampleGradientTests {
    static func tensor(_ v: Variable) -> Tensor { Tensor(shape: TensorShape(v.shape), data: v.data) }

    @Test func padForwardAndGradient() throws {
        let x = randomVariable([2, 7, 5, 3], seed: 1)
        for mode in [PadMode.constant(0.5), .reflect, .edge] {
            let a = PadAttributes(padding: Padding(top: 2, left: 1, bottom: 3, right: 4), mode: mode)
            #expect(pad2d(x, attributes: a).data == (try ReferenceOps.pad(Self.tensor(x), a)).data)
            let errs = gradientCheck([x]) { v in pad2d(v[0], attributes: a) }
            #expect(errs.allSatisfy { $0 < 1e-3 }, "\(mode): \(errs)")
        }
    }

    @Test func resizeForwardAndGradient() throws {
        let x = randomVariable([2, 7, 5, 3], seed: 2)
        let cases: [(ResizeMode, ResizeCoordinates, Size2)] = [
            (.linear, .halfPixel, Size2(15, 9)), (.linear, .alignCorners, Size2(4, 11)), (.linear, .pytorchHalfPixel, Size2(1, 3)),
            (.linear, .asymmetric, Size2(10, 10)), (.nearest(.floor), .asymmetric, Size2(14, 10)),
            (.nearest(.roundPreferFloor), .halfPixel, Size2(3, 8)),
        ]
        for (mode, coordinates, size) in cases {
            let a = ResizeAttributes(mode: mode, coordinates: coordinates, input: Size2(7, 5), size: size)
            let reference = try ReferenceOps.resize(Self.tensor(x), a)
            #expect(Self.tensor(resize2d(x, attributes: a)).maxAbsDifference(reference) < 1e-5)
            let errs = gradientCheck([x]) { v in resize2d(v[0], attributes: a) }
            #expect(errs.allSatisfy { $0 < 1e-3 }, "\(mode) \(coordinates) \(size): \(errs)")
        }
    }

    @Test func channelMeanForwardAndGradient() throws {
        for shape in [[2, 7, 5, 3], [4, 9], [2, 3, 6]] {
            let x = randomVariable(shape, seed: 3)
            #expect(Self.tensor(channelMean(x)).maxAbsDifference(try ReferenceOps.channelMean(Self.tensor(x))) < 1e-6)
            let errs = gradientCheck([x]) { v in channelMean(v[0]) }
            #expect(errs.allSatisfy { $0 < 1e-3 }, "\(shape): \(errs)")
        }
    }

    /// A small U-Net-like graph: reflect pad, strided conv, bilinear upsampling, a channel mean
    /// joined as a channel; its forward equals the reference and every weight's gradient matches
    /// finite differences.
    @Test func aGraphWithTheseOpsTrains() throws {
        var b = GraphBuilder(name: "resample", shape: [1, 7, 5, 3], seed: 12)
        var x = b.conv(b.pad("input", .same(1), mode: .reflect), out: 4, kernel: 3, padding: 0, name: "conv")
        let down = b.conv(b.pad(x, Padding(top: 1, left: 1, bottom: 0, right: 0), mode: .edge), out: 4, kernel: 3, stride: 2, padding: 0, name: "down")
        let up = b.resize(down, to: Size2(7, 5), mode: .linear, coordinates: .halfPixel)
        x = b.addTensors(x, up)
        x = b.concat([x, b.unary(b.channelMean(x), .sigmoid)])
        x = b.resize(x, to: Size2(14, 10), mode: .nearest(.floor), coordinates: .asymmetric)
        let logits = b.linear(b.flatten(b.globalAvgPool(b.pad(x, .same(2), mode: .constant(0.25)))), out: 3, name: "fc")
        let graph = b.build(outputs: [logits])
        let model = try TrainableGraph(graph)
        var rng = SeededRandom(seed: 2)
        let input = Tensor(shape: [2, 7, 5, 3], data: (0..<210).map { _ in rng.uniform(-1, 1) })
        let expected = try ReferenceExecutor(graph: graph).run(input)
        let y = model.forward(Variable(shape: input.shape.dims, data: input.data), .evaluation)
        #expect(Self.tensor(y).maxAbsDifference(expected) <= 1e-5 * max(expected.maxAbs, 1))
        let v = Variable(shape: input.shape.dims, data: input.data, requiresGrad: true)
        let worst = gradientCheck([v] + model.parameters.map(\.variable), eps: 2e-3) { _ in model.forward(v, .evaluation) }
        #expect(worst.allSatisfy { $0 < 2e-2 }, "\(zip(["input"] + model.parameters.map(\.name), worst).map { "\($0) \($1)" })")
    }
}
