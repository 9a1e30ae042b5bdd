import Testing
@testable import RankEdge

/// The grouped conv's direct kernel on every ISA this machine runs, against the reference executor:
/// both register tiles (8 and 16 outputs per group), rows of a whole run plus a shorter one,
/// padding, strides and dilation, with the residual add and ReLU6 fused into the store; and which
/// grouped convs it takes.
@Suite struct GroupedConvKernelTests {
    struct Shape: CustomStringConvertible {
        let input: [Int]
        let out: Int
        let groups: Int
        let kernel: Int
        var stride = 1
        var dilation = 1
        var description: String { "\(input) → \(out) in \(groups) groups, k\(kernel) s\(stride) d\(dilation)" }
    }

    static let shapes: [Shape] = [
        Shape(input: [1, 9, 13, 32], out: 32, groups: 2, kernel: 3),            // RegNet's 16 × 16 groups, 13-pixel rows
        Shape(input: [1, 11, 11, 48], out: 48, groups: 3, kernel: 3, stride: 2),
        Shape(input: [1, 7, 7, 40], out: 40, groups: 5, kernel: 3),             // 8 × 8 groups (RegNetY)
        Shape(input: [1, 8, 9, 14], out: 32, groups: 2, kernel: 3),             // 7 inputs per group
        Shape(input: [1, 6, 9, 30], out: 24, groups: 3, kernel: 3, dilation: 2),
        Shape(input: [1, 5, 2, 8], out: 32, groups: 4, kernel: 5, stride: 2),   // one input per group, rows of one pixel
        Shape(input: [1, 5, 6, 128], out: 32, groups: 2, kernel: 1),            // 64 inputs per group
    ]

    static func graph(_ s: Shape, fused: Bool) -> Graph {
        var b = GraphBuilder(name: "grouped \(s)", shape: s.input, seed: 6)
        var y = b.conv("input", out: s.out, kernel: s.kernel, stride: s.stride, dilation: s.dilation, groups: s.groups, name: "conv")
        if fused {
            let other = b.conv("input", out: s.out, kernel: s.kernel, stride: s.stride, dilation: s.dilation, groups: s.groups, name: "other")
            y = b.relu6(b.addTensors(y, other, name: "sum"), name: "act")
        }
        return b.build(outputs: [y])
    }

    @Test(arguments: shapes) func matchesTheReferenceOnEveryISA(_ s: Shape) throws {
        for isa in GEMMISA.available() {
            for fused in [false, true] {
                let g = Self.graph(s, fused: fused)
                let model = try GraphCompiler.lowerOnly(g, isa: isa, rankConvForm: .separable)
                #expect(model.ops.first?.kernel == "grouped-direct", "\(s) on \(isa) ran as \(model.ops.map(\.kernel))")
                if fused { #expect(model.ops.contains { $0.residual != nil }, "\(s): the add was not fused") }
                try FastOpsTests.check(g, batch: 2, isa: isa)
            }
        }
    }

    @Test func takesEightOrSixteenOutputsPerGroup() {
        let a = Conv2DAttributes(groups: 4)
        #expect(GroupedConvWeights.applies(weight: TensorShape([64, 3, 3, 16]), attributes: a))     // 16 per group
        #expect(GroupedConvWeights.applies(weight: TensorShape([32, 3, 3, 16]), attributes: a))     // 8 per group
        #expect(!GroupedConvWeights.applies(weight: TensorShape([36, 3, 3, 9]), attributes: a))     // 9 per group (a Tucker core)
        #expect(!GroupedConvWeights.applies(weight: TensorShape([96, 3, 3, 16]), attributes: a))    // 24 per group
        #expect(!GroupedConvWeights.applies(weight: TensorShape([256, 3, 3, 16]), attributes: a))   // 64 per group: the GEMM's
        #expect(!GroupedConvWeights.applies(weight: TensorShape([64, 3, 3, 65]), attributes: a))    // more inputs than the zero row
        #expect(!GroupedConvWeights.applies(weight: TensorShape([64, 3, 3, 16]), attributes: Conv2DAttributes()))
    }
}
