import Testing
import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// Conv and pooling imports against a direct NCHW evaluation of ONNX's definition.
@Suite struct ImportConvPoolTests {
    /// One Conv (odd sizes, primes) imported and run on the reference executor equals the NCHW twin.
    @Test(arguments: [
        // (C, S, k, stride, pads t,l,b,r, dilation, group, H, W)
        (3, 5, 3, 1, [1, 1, 1, 1], 1, 1, 7, 5),
        (4, 6, 3, 2, [0, 1, 2, 0], 1, 2, 9, 11),   // grouped, asymmetric pads, stride 2
        (6, 6, 3, 1, [2, 2, 2, 2], 2, 6, 8, 7),    // depthwise, dilation 2
        (5, 7, 1, 1, [0, 0, 0, 0], 1, 1, 1, 3),    // 1×1 on a 1×3 map
        (2, 3, 5, 3, [2, 1, 0, 2], 1, 1, 13, 6),
    ])
    func convMatchesNCHWDefinition(_ c: Int, _ s: Int, _ k: Int, _ stride: Int, _ pads: [Int], _ dilation: Int,
                                   _ groups: Int, _ h: Int, _ w: Int) throws {
        var m = ONNXSketch()
        m.input("x", [nil, c, h, w])
        let weight = m.randomInitializer("W", [s, c / groups, k, k])
        let bias = m.randomInitializer("B", [s], raw: false)
        m.node("Conv", ["x", "W", "B"], ["y"], name: "conv", [
            .ints("pads", pads), .ints("strides", [stride, stride]),
            .ints("dilations", [dilation, dilation]), .int("group", groups), .ints("kernel_shape", [k, k]),
        ])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.inputs[0].shape == TensorShape([1, h, w, c]))
        #expect(g.nodes.map(\.name) == ["conv"])

        let x = randomMap(c: c, h: h, w: w, seed: 11)
        let expected = NCHW.conv(x, weight: weight, outChannels: s, kernel: (k, k), bias: bias,
                                 stride: (stride, stride), pads: pads, dilation: (dilation, dilation), groups: groups)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(y.shape == TensorShape([1, expected.h, expected.w, s]))
        #expect(maxAbsDifference(nchwData(y), expected.data) < 1e-5)
    }

    /// auto_pad SAME_UPPER puts the odd padding pixel after, SAME_LOWER before; VALID pads nothing.
    @Test(arguments: [("SAME_UPPER", [0, 0, 1, 1]), ("SAME_LOWER", [1, 1, 0, 0]), ("VALID", [0, 0, 0, 0])])
    func autoPad(_ mode: String, _ pads: [Int]) throws {
        // Input 6×6, kernel 2, stride 2 would need no padding; stride 1 needs 1 in total per axis.
        var m = ONNXSketch()
        m.input("x", [1, 2, 6, 6])
        let weight = m.randomInitializer("W", [3, 2, 2, 2])
        m.node("Conv", ["x", "W"], ["y"], name: "c", [stringAttribute("auto_pad", mode)])
        m.output("y")
        let g = try m.importGraph()
        guard case .conv2d(let a) = g.nodes[0].op else { Issue.record("not a conv"); return }
        #expect(a.padding == Padding(top: pads[0], left: pads[1], bottom: pads[2], right: pads[3]))
        let x = randomMap(c: 2, h: 6, w: 6, seed: 3)
        let expected = NCHW.conv(x, weight: weight, outChannels: 3, kernel: (2, 2), bias: nil, pads: pads)
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(nchwData(y), expected.data) < 1e-5)
    }

    @Test func poolsWithPaddingAndCountIncludePad() throws {
        for (op, include) in [("MaxPool", false), ("AveragePool", false), ("AveragePool", true)] {
            var m = ONNXSketch(opset: 19)
            m.input("x", [1, 3, 7, 5])
            var attrs: [Onnx_AttributeProto] = [.ints("kernel_shape", [3, 2]), .ints("strides", [2, 1]), .ints("pads", [1, 0, 1, 1])]
            if op == "AveragePool" { attrs.append(.int("count_include_pad", include ? 1 : 0)) }
            m.node(op, ["x"], ["y"], name: "pool", attrs)
            m.output("y")
            let g = try m.importGraph()
            let x = randomMap(c: 3, h: 7, w: 5, seed: 5)
            let expected = NCHW.pool(x, kernel: (3, 2), stride: (2, 1), pads: [1, 0, 1, 1], max: op == "MaxPool",
                                     countIncludePad: include)
            let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
            #expect(maxAbsDifference(nchwData(y), expected.data) < 1e-5, "\(op) count_include_pad=\(include)")
        }
    }

    /// ceil_mode=1 adds bottom/right padding where the rounded-up windows need it, none where the
    /// windows tile the input (values: ImportChannelTests.ceilModePooling).
    @Test func ceilModeBecomesPadding() throws {
        func model(size: Int) -> ONNXSketch {
            var m = ONNXSketch()
            m.input("x", [1, 1, size, size])
            m.node("MaxPool", ["x"], ["y"], name: "p", [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2]), .int("ceil_mode", 1)])
            m.output("y")
            return m
        }
        #expect(try model(size: 8).importGraph().nodes[0].op == .maxPool(PoolAttributes(kernel: .square(2), stride: .square(2))))
        #expect(try model(size: 7).importGraph().nodes[0].op
                == .maxPool(PoolAttributes(kernel: .square(2), stride: .square(2), padding: Padding(top: 0, left: 0, bottom: 1, right: 1))))
    }
}
