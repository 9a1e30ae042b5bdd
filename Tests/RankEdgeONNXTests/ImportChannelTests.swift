import Testing
@testable import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// The patterns of SE blocks, ShuffleNet, GoogLeNet's input transform and dynamo's shape
/// arithmetic: per-channel constants as a channel affine, gates, Split / Slice, the channel
/// shuffle, ceil_mode pooling, and folds of constant arithmetic, Slice and Range. Values are
/// checked against hand-worked ones; tools/onnx_crosscheck.py checks the same patterns against
/// ONNX Runtime.
@Suite struct ImportChannelTests {
    /// A 1×1×5×5 map of 0…24 through MaxPool / AveragePool 2×2, stride 2, ceil_mode: 3×3 outputs,
    /// the last row and column of windows cut by the edge.
    @Test func ceilModePooling() throws {
        for average in [false, true] {
            var m = ONNXSketch(opset: 13)
            m.input("input", [1, 1, 5, 5])
            m.node(average ? "AveragePool" : "MaxPool", ["input"], ["out"], name: "pool",
                   [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2]), .int("ceil_mode", 1)])
            m.output("out")
            let g = try m.importGraph()
            let y = try ReferenceExecutor(graph: g).run(Tensor(shape: [1, 5, 5, 1], data: (0..<25).map(Float.init)))
            #expect(y.shape == TensorShape([1, 3, 3, 1]))
            var expected: [Float] = []
            for i in 0..<3 {
                for j in 0..<3 {
                    let cells = (2 * i..<min(2 * i + 2, 5)).flatMap { r in (2 * j..<min(2 * j + 2, 5)).map { Float(5 * r + $0) } }
                    expected.append(average ? cells.reduce(0, +) / Float(cells.count) : cells.max()!)
                }
            }
            #expect(y.data == expected, "\(average ? "average" : "max"): \(y.data)")
        }
        // The output size rounds up, except a last window that would start in the padding.
        #expect(ImportContext.ceilModeExtra(size: 16, kernel: 3, stride: 2, before: 0, after: 0) == 1)
        #expect(ImportContext.ceilModeExtra(size: 15, kernel: 3, stride: 2, before: 0, after: 0) == 0)
        #expect(ImportContext.ceilModeExtra(size: 5, kernel: 2, stride: 2, before: 1, after: 1) == 0)
        #expect(ImportContext.ceilModeExtra(size: 6, kernel: 3, stride: 2, before: 1, after: 1) == 1)
    }

    /// Sub / Div by [1, C, 1, 1], a scalar Mul with the constant first, Sub of the input from a
    /// constant, Add of a [C, 1, 1]: one channel affine each, with y = x·s + t as ONNX computes it.
    @Test func perChannelConstantsBecomeChannelAffines() throws {
        var m = ONNXSketch(opset: 17)
        m.input("input", [nil, 2, 2, 3])
        m.initializer("mean", [1, 2, 1, 1], [0.5, -1])
        m.initializer("std", [1, 2, 1, 1], [2, 0.25])
        m.initializer("k", [], [3])
        m.initializer("bias", [2, 1, 1], [0.125, 4])
        m.node("Sub", ["input", "mean"], ["a"], name: "sub")
        m.node("Div", ["a", "std"], ["b"], name: "div")
        m.node("Mul", ["k", "b"], ["c"], name: "mul")
        m.node("Sub", ["k", "c"], ["d"], name: "rsub")
        m.node("Add", ["d", "bias"], ["out"], name: "add")
        m.output("out")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == Array(repeating: .channelAffine, count: 5))
        let x = randomMap(c: 2, h: 2, w: 3, seed: 8)
        var expected = x.data
        for (i, v) in x.data.enumerated() {
            let c = (i / 6) % 2
            let b = (v - [0.5, -1][c]) / [2, 0.25][c]
            expected[i] = 3 - 3 * b + [0.125, 4][c]
        }
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, nhwcTensor(NCHW.Map(n: 1, c: 2, h: 2, w: 3, data: expected)).data) < 1e-5)
        // Export and import again keeps the function (as Mul + Add pairs).
        let back = try ONNXImporter().importModel(try ONNXExporter().exportModel(g))
        #expect(try ReferenceExecutor(graph: back).run(nhwcTensor(x)).maxAbsDifference(y) < 1e-5)
    }

    @Test func constantsThatAreNotPerChannelAreRefusedByName() throws {
        for (dims, op, first, words) in [([1, 1, 2, 1], "Mul", false, "not one value per channel"),
                                         ([2, 1, 1], "Div", true, "Div of a constant by a computed tensor")] {
            var m = ONNXSketch(opset: 17)
            m.input("input", [1, 2, 2, 3])
            m.initializer("c", dims, [Float](repeating: 2, count: dims.reduce(1, *)))
            m.node(op, first ? ["c", "input"] : ["input", "c"], ["out"], name: "arith")
            m.output("out")
            #expect { try m.importGraph() } throws: { "\($0)".contains(words) && "\($0)".contains("arith") }
        }
    }

    /// Split in three uneven parts (opset 18's num_outputs), one part sliced again with a negative
    /// axis, the parts joined in another order and shuffled as PyTorch writes it.
    @Test func splitSliceAndShuffle() throws {
        var m = ONNXSketch(opset: 18)
        m.input("input", [1, 10, 2, 3])
        m.node("Split", ["input"], ["p0", "p1", "p2"], name: "split", [.int("axis", 1), .int("num_outputs", 3)])
        m.int64Initializer("starts", [1], [1])
        m.int64Initializer("ends", [1], [100])
        m.int64Initializer("axes", [1], [-3])
        m.node("Slice", ["p0", "starts", "ends", "axes"], ["s0"], name: "slice")
        m.node("Concat", ["p2", "s0", "p1"], ["cat"], name: "cat", [.int("axis", 1)])   // 2 + 3 + 4 = 9 channels
        m.int64Initializer("grid", [5], [0, 3, 3, 2, 3])
        m.node("Reshape", ["cat", "grid"], ["view"], name: "view")
        m.node("Transpose", ["view"], ["t"], name: "transpose", [.ints("perm", [0, 2, 1, 3, 4])])
        m.int64Initializer("back", [4], [0, -1, 2, 3])
        m.node("Reshape", ["t", "back"], ["out"], name: "shuffle")
        m.output("out")
        let g = try m.importGraph()
        #expect(g.nodes.contains { $0.op == .channelShuffle(groups: 3) })
        #expect(g.nodes.filter { if case .channelSlice = $0.op { true } else { false } }.count == 4)
        let x = randomMap(c: 10, h: 2, w: 3, seed: 3)
        // Channels of the input: p0 = 0…3, p1 = 4…7, p2 = 8, 9; s0 = 1…3; cat = 8, 9, 1, 2, 3, 4, 5, 6, 7.
        let cat = [8, 9, 1, 2, 3, 4, 5, 6, 7]
        let shuffled = (0..<9).map { o in cat[(o % 3) * 3 + o / 3] }
        let expected = shuffled.flatMap { c in x.data[(c * 6)..<(c * 6 + 6)] }
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(y.data == nhwcTensor(NCHW.Map(n: 1, c: 9, h: 2, w: 3, data: Array(expected))).data)
    }

    @Test func aGroupedViewReadByAnythingElseIsNamed() throws {
        var m = ONNXSketch(opset: 13)
        m.input("input", [1, 4, 2, 2])
        m.int64Initializer("grid", [5], [1, 2, 2, 2, 2])
        m.node("Reshape", ["input", "grid"], ["view"], name: "view")
        m.node("Relu", ["view"], ["out"], name: "relu")
        m.output("out")
        #expect { try m.importGraph() } throws: { "\($0)".contains("channel-grouped") && "\($0)".contains("relu") }
    }

    /// Shape arithmetic as the dynamo exporter leaves it: Range, Slice with a negative step, integer
    /// Div and Mul with broadcasting, all folded into the Reshape target [N, -1].
    @Test func shapeArithmeticFolds() throws {
        var m = ONNXSketch(opset: 18)
        m.input("input", [2, 3, 4, 5])
        m.int64Initializer("r0", [], [0]); m.int64Initializer("r1", [], [7]); m.int64Initializer("r2", [], [3])
        m.node("Range", ["r0", "r1", "r2"], ["range"], name: "range")                  // [0, 3, 6]
        m.int64Initializer("st", [1], [-1]); m.int64Initializer("en", [1], [-100]); m.int64Initializer("sp", [1], [-2])
        m.int64Initializer("ax", [1], [0])
        m.node("Slice", ["range", "st", "en", "ax", "sp"], ["rev"], name: "reverse")    // [6, 0]
        m.node("Shape", ["input"], ["shape"], name: "shape")                          // [2, 3, 4, 5]
        m.int64Initializer("two", [], [2])
        m.node("Div", ["shape", "two"], ["half"], name: "half")                       // [1, 1, 2, 2]
        m.node("Mul", ["half", "rev"], ["bad"], name: "mismatch")                     // [4] × [2]: no broadcast
        m.output("bad")
        #expect { try m.importGraph() } throws: { "\($0)".contains("do not broadcast") }

        m.nodes.removeLast(); m.outputs.removeAll()
        m.int64Initializer("zero", [1], [0])
        m.node("Gather", ["half", "zero"], ["n"], name: "batch", [.int("axis", 0)])   // [1]
        m.node("Mul", ["n", "two"], ["n2"], name: "double")                           // [2]
        m.node("Sub", ["rev", "rev"], ["zeros"], name: "zeros")                       // [0, 0]
        m.node("Add", ["zeros", "n2"], ["n2n2"], name: "broadcast")                   // [2, 2]
        m.int64Initializer("one", [1], [1])
        m.node("Slice", ["n2n2", "zero", "one"], ["first"], name: "first")            // [2]
        m.int64Initializer("minus1", [1], [-1])
        m.node("Concat", ["first", "minus1"], ["target"], name: "target", [.int("axis", 0)])
        m.node("Reshape", ["input", "target"], ["flat"], name: "flatten")
        _ = m.randomInitializer("w", [60, 2])
        m.node("MatMul", ["flat", "w"], ["out"], name: "fc")
        m.output("out")
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.flatten, .linear])
    }
}

/// GoogLeNet's transform_input: `x[:, c]` (Gather of one channel, a scalar index) then
/// `unsqueeze(1)`, scaled and shifted, the three joined again.
@Suite struct ImportChannelPickTests {
    @Test func gatherAndUnsqueezeOfAChannel() throws {
        var m = ONNXSketch(opset: 13)
        m.input("input", [1, 3, 2, 2])
        var parts: [String] = []
        for c in 0..<3 {
            m.int64Initializer("i\(c)", [], [Int64(c == 2 ? -1 : c)])
            m.int64Initializer("ax\(c)", [1], [1])
            m.node("Gather", ["input", "i\(c)"], ["g\(c)"], name: "pick\(c)", [.int("axis", 1)])
            m.node("Unsqueeze", ["g\(c)", "ax\(c)"], ["u\(c)"], name: "unsqueeze\(c)")
            m.initializer("k\(c)", [], [Float(c + 1)])
            m.node("Mul", ["u\(c)", "k\(c)"], ["s\(c)"], name: "scale\(c)")
            parts.append("s\(c)")
        }
        m.node("Concat", parts, ["out"], name: "cat", [.int("axis", 1)])
        m.output("out")
        let g = try m.importGraph()
        #expect(g.nodes.filter { $0.op == .channelSlice(start: 2, count: 1) }.count == 1)
        let x = randomMap(c: 3, h: 2, w: 2, seed: 2)
        let expected = (0..<12).map { x.data[$0] * Float($0 / 4 + 1) }
        let y = try ReferenceExecutor(graph: g).run(nhwcTensor(x))
        #expect(maxAbsDifference(y.data, nhwcTensor(NCHW.Map(n: 1, c: 3, h: 2, w: 2, data: expected)).data) < 1e-6)

        // The picked [N, H, W] value read by anything but the Unsqueeze is named.
        var bad = ONNXSketch(opset: 13)
        bad.input("input", [1, 3, 2, 2])
        bad.int64Initializer("i", [], [0])
        bad.node("Gather", ["input", "i"], ["g"], name: "pick", [.int("axis", 1)])
        bad.node("Relu", ["g"], ["out"], name: "relu")
        bad.output("out")
        #expect { try bad.importGraph() } throws: { "\($0)".contains("picked by a Gather") }
    }
}

/// The dynamo exporter's `as_strided` after ConvNeXt's pooling: Reshape [-1] of a batch-1 map, then
/// a Gather of 0, 1, 2, … shaped as the map, which is the map itself.
@Suite struct ImportFlatViewTests {
    @Test func reshapeThenIdentityGatherIsTheMap() throws {
        func model(indices: [Int64]) -> ONNXSketch {
            var m = ONNXSketch(opset: 18)
            m.input("input", [1, 4, 1, 1])
            m.int64Initializer("flat", [1], [-1])
            m.int64Initializer("idx", [1, 4, 1, 1], indices)
            m.node("Reshape", ["input", "flat"], ["v"], name: "reshape")
            m.node("Gather", ["v", "idx"], ["g"], name: "as_strided", [.int("axis", 0)])
            m.node("Relu", ["g"], ["out"], name: "relu")
            m.output("out")
            return m
        }
        #expect(try model(indices: [0, 1, 2, 3]).importGraph().nodes.map(\.op) == [.relu])
        #expect { try model(indices: [1, 0, 2, 3]).importGraph() } throws: { "\($0)".contains("as_strided") && "\($0)".contains("[1, 4, 1, 1]") }
    }
}
