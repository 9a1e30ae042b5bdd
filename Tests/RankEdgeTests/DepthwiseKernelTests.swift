import Testing
@testable import RankEdge

/// The depthwise kernel's run form (four pixels of a row at a time, each input vector loaded once
/// per tap row; 3, 5 and 7 taps, strides 1 and 2) and its per-pixel form (every other shape), on
/// every ISA this machine runs, against the reference executor: runs whose columns are all inside
/// the image, runs at the left and right borders, rows narrower than a run, channels in 16- and
/// 8-channel blocks with a tail, with the residual add and ReLU6 fused into the store.
@Suite struct DepthwiseKernelTests {
    struct Shape: CustomStringConvertible {
        let input: [Int]
        let kernel: Int
        var stride = 1
        var dilation = 1
        var padding: Padding? = nil
        var description: String { "\(input) k\(kernel) s\(stride) d\(dilation) \(padding.map { "\($0)" } ?? "same")" }
    }

    static let shapes: [Shape] = [
        Shape(input: [1, 9, 13, 29], kernel: 3),                      // 16 + 8 + 5 channels, 13 wide: runs, a single, borders
        Shape(input: [1, 6, 6, 16], kernel: 3, padding: .zero),       // no padding: every run inside
        Shape(input: [1, 10, 11, 24], kernel: 7),                     // 7 taps: a run reaches both borders
        Shape(input: [1, 9, 15, 21], kernel: 7, stride: 2),           // 7 taps at stride 2: 8-channel blocks
        Shape(input: [1, 7, 9, 33], kernel: 5, stride: 2),
        Shape(input: [1, 12, 17, 40], kernel: 5),
        Shape(input: [1, 8, 3, 16], kernel: 5, stride: 2),            // narrower than a run
        Shape(input: [1, 5, 2, 19], kernel: 3, stride: 2),
        Shape(input: [1, 1, 1, 8], kernel: 3),
        Shape(input: [1, 8, 12, 24], kernel: 3, padding: Padding(top: 0, left: 2, bottom: 2, right: 0)),
        Shape(input: [1, 9, 10, 17], kernel: 3, padding: Padding(top: 1, left: 0, bottom: 1, right: 2)),
        Shape(input: [1, 8, 8, 11], kernel: 3, dilation: 2),          // per-pixel form
        Shape(input: [1, 9, 9, 12], kernel: 3, stride: 3),            // per-pixel form
        Shape(input: [1, 6, 7, 70], kernel: 5),                       // 3 pixels after the runs: 32 + 32 + 6 channels each
        Shape(input: [1, 9, 27, 40], kernel: 5, stride: 2),           // 14 wide at stride 2 (MobileNetV3): 2 after the runs
    ]

    static func graph(_ s: Shape, fused: Bool) -> Graph {
        let c = s.input[3]
        var b = GraphBuilder(name: "dw \(s)", shape: s.input, seed: 5)
        var y = b.conv("input", out: c, kernel: s.kernel, stride: s.stride, padding: s.padding?.top, dilation: s.dilation,
                       groups: c, name: "conv")
        if fused {
            // A second depthwise conv of the same shape gives a residual of the output's shape.
            let other = b.conv("input", out: c, kernel: s.kernel, stride: s.stride, padding: s.padding?.top,
                               dilation: s.dilation, groups: c, name: "other")
            y = b.relu6(b.addTensors(y, other, name: "sum"), name: "act")
        }
        var g = b.build(outputs: [y])
        if let padding = s.padding {
            for i in g.nodes.indices {
                if case .conv2d(var attrs) = g.nodes[i].op {
                    attrs.padding = padding
                    g.nodes[i].op = .conv2d(attrs)
                }
            }
        }
        return g
    }

    @Test(arguments: shapes) func matchesTheReferenceOnEveryISA(_ s: Shape) throws {
        for isa in GEMMISA.available() {
            for fused in [false, true] {
                let g = Self.graph(s, fused: fused)
                let model = try GraphCompiler.lowerOnly(g, isa: isa, rankConvForm: .separable)
                #expect(model.ops.first?.kernel == "depthwise", "\(s) on \(isa) ran as \(model.ops.map(\.kernel))")
                if fused { #expect(model.ops.contains { $0.residual != nil }, "\(s): the add was not fused") }
                try FastOpsTests.check(g, batch: 2, isa: isa)
            }
        }
    }
}
