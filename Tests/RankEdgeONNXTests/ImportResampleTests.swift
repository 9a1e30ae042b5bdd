import Testing
@testable import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// Pad (input and attribute forms, folded into a Conv or an average that counts padding), Resize
/// and Upsample (scales, sizes from a folded shape computation), ReduceMean over channels, and the
/// AveragePool with ceil_mode and count_include_pad that needs an explicit pad. Values are checked
/// against hand-worked ones; tools/onnx_crosscheck.py checks the same ops against ONNX Runtime.
@Suite struct ImportResampleTests {
    /// NCHW padding by the definition: `pads` [top, left, bottom, right], `source` the input index
    /// a padded index reads (nil for the constant).
    static func padded(_ x: NCHW.Map, _ p: [Int], value: Float, source: (Int, Int) -> Int?) -> [Float] {
        let (oh, ow) = (x.h + p[0] + p[2], x.w + p[1] + p[3])
        var out: [Float] = []
        for c in 0..<x.c {
            for i in 0..<oh {
                for j in 0..<ow {
                    if let r = source(i - p[0], x.h), let q = source(j - p[1], x.w) { out.append(x.data[(c * x.h + r) * x.w + q]) } else { out.append(value) }
                }
            }
        }
        return out
    }

    @Test func padAsInputAndAsAttribute() throws {
        let x = randomMap(c: 2, h: 4, w: 3, seed: 3)
        let pads = [2, 1, 0, 2]
        for (opset, mode) in [(Int64(13), "constant"), (13, "reflect"), (13, "edge"), (10, "reflect"), (10, "constant")] {
            var m = ONNXSketch(opset: opset)
            m.input("x", [1, 2, 4, 3])
            var attrs = [stringAttribute("mode", mode)]
            if opset >= 11 {
                m.int64Initializer("pads", [8], [0, 0, 2, 1, 0, 0, 0, 2])
                m.initializer("value", [], [-1.5])
                m.node("Pad", ["x", "pads", "value"], ["y"], name: "pad", attrs)
            } else {
                attrs += [.ints("pads", [0, 0, 2, 1, 0, 0, 0, 2]), .float("value", -1.5)]
                m.node("Pad", ["x"], ["y"], name: "pad", attrs)
            }
            m.output("y")
            let g = try m.importGraph()
            let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
            let expected = Self.padded(x, pads, value: -1.5) { i, size in
                switch mode {
                case "reflect": i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i)
                case "edge": min(max(i, 0), size - 1)
                default: (0..<size).contains(i) ? i : nil
                }
            }
            #expect(nchwData(y) == expected, "opset \(opset) \(mode)")
        }
    }

    /// A zero Pad read only by a Conv becomes the conv's padding; one that is also a graph output
    /// stays a pad node, and both give the same conv output.
    @Test func zeroPadFoldsIntoTheConv() throws {
        func model(padIsOutput: Bool) -> ONNXSketch {
            var m = ONNXSketch(opset: 13)
            m.input("x", [1, 3, 7, 5])
            m.int64Initializer("pads", [8], [0, 0, 1, 2, 0, 0, 2, 0])
            _ = m.randomInitializer("w", [4, 3, 3, 3])
            m.node("Pad", ["x", "pads"], ["p"], name: "pad")
            m.node("Conv", ["p", "w"], ["y"], name: "conv", [.ints("pads", [1, 1, 1, 1]), .ints("strides", [2, 2])])
            m.output("y")
            if padIsOutput { m.output("p") }
            return m
        }
        let folded = try model(padIsOutput: false).importGraph()
        #expect(folded.nodes.count == 1)
        #expect(folded.nodes[0].op == .conv2d(Conv2DAttributes(stride: .square(2), padding: Padding(top: 2, left: 3, bottom: 3, right: 1))))
        let kept = try model(padIsOutput: true).importGraph()
        #expect(kept.nodes.map(\.op.kind) == ["pad", "conv2d"])
        let x = nhwcTensor(randomMap(c: 3, h: 7, w: 5, seed: 4))
        let a = try ReferenceExecutor(graph: folded).run(["x": x])["y"]!, b = try ReferenceExecutor(graph: kept).run(["x": x])["y"]!
        #expect(a.maxAbsDifference(b) < 1e-5)
    }

    @Test func padOfBatchOrChannelsAndUnknownModesAreRefusedByName() {
        for (pads, mode, words) in [([0, 1, 0, 0, 0, 0, 0, 0], "constant", "not N or C"), ([0, 0, 1, 1, 0, 0, 1, 1], "wrap", "'wrap'"),
                                    ([0, 0, 4, 0, 0, 0, 0, 0], "reflect", "smaller than"), ([0, 0, -1, 0, 0, 0, 0, 0], "constant", "negative")] {
            var m = ONNXSketch(opset: 13)
            m.input("x", [1, 2, 4, 4])
            m.int64Initializer("pads", [8], pads.map(Int64.init))
            m.node("Pad", ["x", "pads"], ["y"], name: "the_pad", [stringAttribute("mode", mode)])
            m.output("y")
            #expect { try m.importGraph() } throws: { "\($0)".contains("the_pad") && "\($0)".contains(words) && !"\($0)".contains("\n") }
        }
    }

    /// 1…36 on a 6×6 map, AveragePool 3×3, stride 2, pads 1, ceil_mode 1, count_include_pad 1:
    /// ONNX Runtime's values (the divisor counts the given padding, not the cells past it).
    @Test func ceilModeAverageCountingPadding() throws {
        var m = ONNXSketch(opset: 19)
        m.input("x", [1, 1, 6, 6])
        m.node("AveragePool", ["x"], ["y"], name: "pool", [.ints("kernel_shape", [3, 3]), .ints("strides", [2, 2]),
                                                           .ints("pads", [1, 1, 1, 1]), .int("ceil_mode", 1), .int("count_include_pad", 1)])
        m.output("y")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op.kind) == ["pad", "avgPool"])
        let y = try ReferenceExecutor(graph: g).run(Tensor(shape: [1, 6, 6, 1], data: (1...36).map(Float.init)))
        let ort: [Float] = [2, 4, 16.0 / 3, 3, 9, 15, 17, 9, 17, 27, 29, 15, 10.5, 16.5, 17.5, 9]
        #expect(maxAbsDifference(y.data, ort) < 1e-5, "\(y.data)")
    }

    /// [0, 4] doubled: nearest by scales (asymmetric, floor), linear by sizes computed from Shape.
    @Test func resizeByScalesAndBySizes() throws {
        var nearest = ONNXSketch(opset: 13)
        nearest.input("x", [1, 1, 1, 2])
        nearest.initializer("scales", [4], [1, 1, 2, 2])
        nearest.node("Resize", ["x", "", "scales"], ["y"], name: "up",
                     [stringAttribute("mode", "nearest"), stringAttribute("coordinate_transformation_mode", "asymmetric"),
                      stringAttribute("nearest_mode", "floor")])
        nearest.output("y")
        let x = Tensor(shape: [1, 1, 2, 1], data: [0, 4])
        #expect(try ReferenceExecutor(graph: nearest.importGraph()).run(x).data == [0, 0, 4, 4, 0, 0, 4, 4])

        // sizes = Concat(Shape(x)[0:2], [1, 4]), as exporters compute a target size.
        var linear = ONNXSketch(opset: 13)
        linear.input("x", [1, 1, 1, 2])
        linear.int64Initializer("starts", [1], [0])
        linear.int64Initializer("ends", [1], [2])
        linear.int64Initializer("hw", [2], [1, 4])
        linear.node("Shape", ["x"], ["shape"], name: "shape")
        linear.node("Slice", ["shape", "starts", "ends"], ["nc"], name: "nc")
        linear.node("Concat", ["nc", "hw"], ["sizes"], name: "sizes", [.int("axis", 0)])
        linear.node("Resize", ["x", "", "", "sizes"], ["y"], name: "up", [stringAttribute("mode", "linear")])
        linear.output("y")
        let g = try linear.importGraph()
        #expect(g.nodes.map(\.op) == [.resize(ResizeAttributes(mode: .linear, coordinates: .halfPixel, size: Size2(1, 4), scaleH: 1, scaleW: 2))])
        #expect(try ReferenceExecutor(graph: g).run(x).data == [0, 1, 3, 4])

        // TorchScript's recomputed scale: sizes = Concat([1, 1], Cast(Floor(Cast(Shape(x)[2:4]) · 1.5))) = 1×3.
        var floored = ONNXSketch(opset: 13)
        floored.input("x", [1, 1, 1, 2])
        floored.int64Initializer("starts", [1], [2])
        floored.int64Initializer("ends", [1], [4])
        floored.int64Initializer("nc", [2], [1, 1])
        floored.initializer("factor", [2], [1.5, 1.5])
        floored.node("Shape", ["x"], ["shape"], name: "shape")
        floored.node("Slice", ["shape", "starts", "ends"], ["hw"], name: "hw")
        floored.node("Cast", ["hw"], ["hwf"], name: "hwf", [.int("to", 1)])
        floored.node("Mul", ["hwf", "factor"], ["scaled"], name: "scaled")
        floored.node("Floor", ["scaled"], ["down"], name: "down")
        floored.node("Cast", ["down"], ["target"], name: "target", [.int("to", 7)])
        floored.node("Concat", ["nc", "target"], ["sizes"], name: "sizes", [.int("axis", 0)])
        floored.node("Resize", ["x", "", "", "sizes"], ["y"], name: "up", [stringAttribute("mode", "nearest"),
                                                                            stringAttribute("coordinate_transformation_mode", "asymmetric"),
                                                                            stringAttribute("nearest_mode", "floor")])
        floored.output("y")
        // Scale 3/2: sources 0, 2/3, 4/3 → cells 0, 0, 1.
        #expect(try ReferenceExecutor(graph: floored.importGraph()).run(x).data == [0, 0, 4])

        // Upsample (opset 9): scales as an input, asymmetric floor.
        var upsample = ONNXSketch(opset: 9)
        upsample.input("x", [1, 1, 1, 2])
        upsample.initializer("scales", [4], [1, 1, 1, 3])
        upsample.node("Upsample", ["x", "scales"], ["y"], name: "up", [stringAttribute("mode", "nearest")])
        upsample.output("y")
        #expect(try ReferenceExecutor(graph: upsample.importGraph()).run(x).data == [0, 0, 0, 4, 4, 4])
    }

    @Test func cubicAndOtherResizesAreRefusedByName() {
        for (attrs, words) in [([stringAttribute("mode", "cubic")], "'cubic'"),
                               ([stringAttribute("coordinate_transformation_mode", "tf_crop_and_resize")], "tf_crop_and_resize")] {
            var m = ONNXSketch(opset: 13)
            m.input("x", [1, 1, 2, 2])
            m.initializer("scales", [4], [1, 1, 2, 2])
            m.node("Resize", ["x", "", "scales"], ["y"], name: "the_resize", attrs)
            m.output("y")
            #expect { try m.importGraph() } throws: { "\($0)".contains("the_resize") && "\($0)".contains(words) && !"\($0)".contains("\n") }
        }
        var channels = ONNXSketch(opset: 13)
        channels.input("x", [1, 1, 2, 2])
        channels.initializer("scales", [4], [1, 2, 2, 2])
        channels.node("Resize", ["x", "", "scales"], ["y"], name: "the_resize", [])
        channels.output("y")
        #expect { try channels.importGraph() } throws: { "\($0)".contains("the_resize") && "\($0)".contains("1 for N and C") }
    }

    /// ReduceMean over C: keepdims 1 (axes attribute), keepdims 0 restored by Unsqueeze (axes input,
    /// opset 18), and the last axis of a 2-D tensor.
    @Test func reduceMeanOverChannels() throws {
        let x = randomMap(c: 3, h: 2, w: 5, seed: 6)
        var means: [Float] = []
        for p in 0..<10 { means.append((0..<3).map { x.data[$0 * 10 + p] }.reduce(0, +) / 3) }

        var kept = ONNXSketch(opset: 13)
        kept.input("x", [1, 3, 2, 5])
        kept.node("ReduceMean", ["x"], ["y"], name: "mean", [.ints("axes", [1])])
        kept.output("y")
        let y = try ReferenceExecutor(graph: kept.importGraph()).run(nhwcTensor(x))
        #expect(y.shape == TensorShape([1, 2, 5, 1]) && maxAbsDifference(y.data, means) < 1e-6)

        var dropped = ONNXSketch(opset: 18)
        dropped.input("x", [1, 3, 2, 5])
        dropped.int64Initializer("axes", [1], [-3])
        dropped.int64Initializer("one", [1], [1])
        dropped.node("ReduceMean", ["x", "axes"], ["m"], name: "mean", [.int("keepdims", 0)])
        dropped.node("Unsqueeze", ["m", "one"], ["y"], name: "unsqueeze")
        dropped.output("y")
        #expect(maxAbsDifference(try ReferenceExecutor(graph: dropped.importGraph()).run(nhwcTensor(x)).data, means) < 1e-6)

        var features = ONNXSketch(opset: 13)
        features.input("x", [10, 3])
        features.node("ReduceMean", ["x"], ["y"], name: "mean", [.ints("axes", [-1])])
        features.output("y")
        let t = try ReferenceExecutor(graph: features.importGraph()).run(Tensor(shape: [10, 3], data: (0..<30).map(Float.init)))
        #expect(t.shape == TensorShape([10, 1]) && t.data == (0..<10).map { Float(3 * $0 + 1) })
    }

    /// ConvTranspose 1×2 → 1×5 (one channel in, two out, stride 2): hand-worked values; group 2
    /// and output_shape are refused by name.
    @Test func convTranspose() throws {
        var m = ONNXSketch(opset: 13)
        m.input("x", [1, 1, 1, 2])
        m.initializer("w", [1, 2, 1, 3], [1, 10, 100, -1, -2, -3])
        m.initializer("b", [2], [0.5, 0])
        m.node("ConvTranspose", ["x", "w", "b"], ["y"], name: "up", [.ints("strides", [1, 2]), .ints("pads", [0, 1, 0, 0]),
                                                                     .ints("output_padding", [0, 1])])
        m.output("y")
        let y = try ReferenceExecutor(graph: m.importGraph()).run(Tensor(shape: [1, 1, 2, 1], data: [1, 2]))
        #expect(nchwData(y) == [10.5, 102.5, 20.5, 200.5, 0.5, -2, -5, -4, -6, 0])
        for (attr, words) in [(Onnx_AttributeProto.int("group", 2), "group"), (.ints("output_shape", [1, 5]), "output_shape")] {
            var bad = ONNXSketch(opset: 13)
            bad.input("x", [1, 2, 1, 2])
            bad.initializer("w", [2, 1, 1, 3], [Float](repeating: 1, count: 6))
            bad.node("ConvTranspose", ["x", "w"], ["y"], name: "the_deconv", [attr])
            bad.output("y")
            #expect { try bad.importGraph() } throws: { "\($0)".contains("the_deconv") && "\($0)".contains(words) }
        }
    }

    /// Pad, Resize, ConvTranspose and the channel mean exported (opset 17) and imported again
    /// compute the same.
    @Test func exportAndImportAgain() throws {
        var b = GraphBuilder(name: "resample", shape: [1, 7, 5, 3], seed: 2)
        var y = b.conv("input", out: 4, kernel: 3, name: "conv")
        y = b.pad(y, Padding(top: 1, left: 2, bottom: 0, right: 1), mode: .reflect)
        y = b.pad(y, .same(1), mode: .constant(0.5))
        y = b.resize(y, to: Size2(16, 11), mode: .linear, coordinates: .alignCorners)
        y = b.convTranspose(y, out: 3, kernel: 3, stride: 2, padding: Padding(top: 1, left: 0, bottom: 2, right: 1), outputPadding: 1)
        let mean = b.channelMean(b.resize(y, to: Size2(5, 5), mode: .nearest(.roundPreferCeil), coordinates: .halfPixel))
        var g = b.build(outputs: [mean])
        g.nodes.append(Node(name: "scaled", op: .resize(ResizeAttributes(mode: .nearest(.floor), coordinates: .asymmetric, size: Size2(14, 7),
                                                                          scaleH: 2, scaleW: 1.5)), inputs: ["input"], outputs: ["scaled"]))
        g.outputs.append("scaled")
        let back = try ONNXImporter().importModel(try ONNXExporter().exportModel(g))
        #expect(back.nodes.map(\.op.kind) == g.nodes.map(\.op.kind))
        let x = nhwcTensor(randomMap(c: 3, h: 7, w: 5, seed: 9))
        let want = try ReferenceExecutor(graph: g).run(["input": x]), got = try ReferenceExecutor(graph: back).run(["input": x])
        for name in g.outputs { #expect(got[name]!.maxAbsDifference(want[name]!) < 1e-5, "\(name)") }
    }
}
