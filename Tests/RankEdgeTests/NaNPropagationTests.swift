import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// A NaN in the input reaches the outputs through every fast conv kernel with a fused ReLU or
/// ReLU6, on every ISA this machine runs, as it does in the reference executor: a fused activation
/// that turned NaN into 0 would hide bad preprocessing behind finite logits.
@Suite struct NaNPropagationTests {
    struct Case: CustomStringConvertible {
        let name: String, kernel: Int, stride: Int, groups: Int, out: Int, input: [Int], winograd: WinogradPolicy
        var description: String { name }
    }

    static let cases = [
        Case(name: "pointwise", kernel: 1, stride: 1, groups: 1, out: 37, input: [1, 9, 7, 19], winograd: .never),
        Case(name: "im2col", kernel: 3, stride: 2, groups: 1, out: 70, input: [1, 13, 11, 9], winograd: .never),
        Case(name: "shifted", kernel: 3, stride: 1, groups: 1, out: 40, input: [1, 9, 40, 6], winograd: .never),
        Case(name: "winograd-f23", kernel: 3, stride: 1, groups: 1, out: 64, input: [1, 10, 12, 16], winograd: .always),
        Case(name: "winograd-f43", kernel: 3, stride: 1, groups: 1, out: 64, input: [1, 10, 12, 16], winograd: .large),
        Case(name: "depthwise", kernel: 3, stride: 1, groups: 24, out: 24, input: [1, 11, 9, 24], winograd: .never),
        Case(name: "grouped", kernel: 3, stride: 1, groups: 4, out: 36, input: [1, 9, 7, 20], winograd: .never),
        Case(name: "narrow-direct", kernel: 5, stride: 1, groups: 1, out: 3, input: [1, 12, 11, 8], winograd: .never),
    ]

    @Test(arguments: cases) func nanSurvivesFusedActivations(_ c: Case) throws {
        for (i, relu6) in [false, true].enumerated() {
            var b = GraphBuilder(name: "nan-\(c.name)", shape: c.input, seed: UInt64(20 + i))
            let conv = b.conv("input", out: c.out, kernel: c.kernel, stride: c.stride, groups: c.groups, name: "conv")
            let y = relu6 ? b.relu6(conv, name: "act") : b.relu(conv, name: "act")
            let g = b.build(outputs: [y])
            var rng = SeededRandom(seed: 7)
            var x = RefFixtures.random(c.input, &rng, bound: 2)
            x.data[x.data.count / 2 + 5] = .nan
            let expected = try ReferenceExecutor(graph: g).run(x)
            #expect(expected.data.contains { $0.isNaN }, "\(c.name): the reference has no NaN output")
            for isa in GEMMISA.available() {
                let session = try InferenceSession(graph: g, options: .init(threads: 1, isa: isa, optimize: false, winograd: c.winograd))
                #expect(session.model.ops.count == 1, "\(c.name): the activation is not fused")
                let actual = try session.run(x)
                // Winograd mixes a tile's inputs, so a NaN reaches the whole output tile: more NaN
                // than the reference is allowed there, fewer nowhere.
                let lost = zip(expected.data, actual.data).filter { $0.isNaN && !$1.isNaN }.count
                let extra = zip(expected.data, actual.data).filter { !$0.isNaN && $1.isNaN }.count
                #expect(lost == 0, "\(c.name) \(relu6 ? "relu6" : "relu") on \(isa): \(lost) NaN outputs became numbers")
                if c.winograd == .never {
                    #expect(extra == 0, "\(c.name) on \(isa): \(extra) outputs NaN that the reference computes")
                }
                let finite = zip(expected.data, actual.data).filter { !$0.isNaN && !$1.isNaN }.map { abs($0 - $1) }.max() ?? 0
                #expect(finite <= 1e-4 * max(expected.maxAbs(ignoringNaN: true), 1e-3), "\(c.name) on \(isa): max error \(finite)")
            }
        }
    }
}

private extension Tensor {
    func maxAbs(ignoringNaN: Bool) -> Float { data.filter { !$0.isNaN }.map(abs).max() ?? 0 }
}
