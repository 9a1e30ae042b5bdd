import Testing
@testable import RankEdge

/// The grouped conv's direct kernel on every ISA this machine runs, against the reference executor:
/// both register tiles (8 and 16 outputs per group), stem convs as one group (blocks of 16 and 8
/// outputs), rows of a whole run plus a shorter one, padding, strides and dilation, with the
/// residual add and ReLU6 fused into the store; and which convs it takes.
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
        // Stem convs as one group: 16-output blocks and a last 8, rows that run through the image
        // (one pointer per tap row) and rows that reach into the padding.
        Shape(input: [1, 17, 19, 3], out: 24, groups: 1, kernel: 3, stride: 2),
        Shape(input: [1, 13, 29, 3], out: 64, groups: 1, kernel: 7, stride: 2),
        Shape(input: [1, 9, 9, 1], out: 16, groups: 1, kernel: 3),
        Shape(input: [1, 10, 23, 4], out: 40, groups: 1, kernel: 5),
        Shape(input: [1, 7, 15, 3], out: 8, groups: 1, kernel: 3, dilation: 2),
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

    @Test func takesStemConvsAsOneGroup() throws {
        let one = Conv2DAttributes()
        #expect(GroupedConvWeights.applies(weight: TensorShape([16, 3, 3, 3]), attributes: one))    // MobileNetV3's stem
        #expect(GroupedConvWeights.applies(weight: TensorShape([64, 7, 7, 3]), attributes: one))    // ResNet's
        #expect(GroupedConvWeights.applies(weight: TensorShape([24, 3, 3, 1]), attributes: one))    // grey
        #expect(!GroupedConvWeights.applies(weight: TensorShape([20, 3, 3, 3]), attributes: one))   // not whole vectors
        #expect(!GroupedConvWeights.applies(weight: TensorShape([96, 4, 4, 3]), attributes: one))   // past 64 outputs
        #expect(!GroupedConvWeights.applies(weight: TensorShape([16, 1, 1, 3]), attributes: one))   // 1×1: the GEMM's
        #expect(!GroupedConvWeights.applies(weight: TensorShape([16, 3, 3, 5]), attributes: one))   // 5 inputs
        // A stem is not timed for Winograd: it runs on the direct kernel whatever the policy.
        var b = GraphBuilder(name: "stem", shape: [1, 12, 12, 3], seed: 2)
        let y = b.conv("input", out: 16, kernel: 3, name: "stem")
        let g = b.build(outputs: [y])
        let shapes = try g.inferShapes(batch: 1)
        #expect(ConvFormSelector.winogradCandidates(g, groups: EpilogueFusion.groups(g), shapes: shapes).isEmpty)
    }
}
