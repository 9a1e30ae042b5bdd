import Testing
@testable import RankEdge
@testable import RankEdgeReference
@testable import RankEdgeZoo

/// Every fast kernel against the reference ops, one node at a time: odd sizes, strides, padding,
/// dilation, groups, depthwise, batch > 1, fused epilogues, one and two threads.
@Suite struct FastOpsTests {
    typealias F = RefFixtures

    /// Runs `graph` through the runtime (no graph passes, so the node under test is what runs) and
    /// through the reference executor; expects max |Δ| ≤ 1e-4 · max |reference|.
    static func check(_ graph: Graph, batch: Int = 1, threads: [Int] = [1, 2], form: RankConvFormPolicy = .separable,
                      isa: GEMMISA? = nil, winograd: WinogradPolicy = .never, seed: UInt64 = 1,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        var rng = SeededRandom(seed: seed)
        var inputs: [String: Tensor] = [:]
        for info in graph.inputs {
            var shape = info.shape.dims
            shape[0] = batch
            inputs[info.name] = F.random(shape, &rng)
        }
        let expected = try ReferenceExecutor(graph: graph).run(inputs)
        for t in threads {
            let session = try InferenceSession(graph: graph, options: .init(threads: t, isa: isa, rankConvForm: form, optimize: false,
                                                                                  winograd: winograd))
            let actual = try session.run(inputs)
            for (name, e) in expected {
                let a = try #require(actual[name], sourceLocation: sourceLocation)
                #expect(a.shape == e.shape, sourceLocation: sourceLocation)
                let error = a.maxAbsDifference(e), scale = max(e.maxAbs, 1e-3)
                #expect(error <= 1e-4 * scale, "\(graph.name) output \(name), \(t) thread(s): max error \(error), scale \(scale)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    static func convGraph(_ name: String, input: [Int], out: Int, kernel: Int, stride: Int = 1, padding: Padding? = nil,
                          dilation: Int = 1, groups: Int = 1, bias: Bool = true, seed: UInt64 = 3) -> Graph {
        var b = GraphBuilder(name: name, shape: input, seed: seed)
        let y = b.conv("input", out: out, kernel: kernel, stride: stride, padding: padding?.top, dilation: dilation,
                       groups: groups, bias: bias, name: "conv")
        var g = b.build(outputs: [y])
        if let padding, case .conv2d(var attrs) = g.nodes[0].op {
            attrs.padding = padding
            g.nodes[0].op = .conv2d(attrs)
        }
        return g
    }

    @Test func pointwiseConvs() throws {
        try Self.check(Self.convGraph("1x1", input: [1, 7, 5, 3], out: 5, kernel: 1, padding: .zero), batch: 3)
        try Self.check(Self.convGraph("1x1-wide", input: [1, 4, 3, 37], out: 83, kernel: 1, padding: .zero))
        try Self.check(Self.convGraph("1x1-stride2", input: [1, 9, 6, 11], out: 17, kernel: 1, stride: 2, padding: .zero), batch: 2)
        try Self.check(Self.convGraph("1x1-grouped", input: [1, 5, 5, 12], out: 9, kernel: 1, padding: .zero, groups: 3))
    }

    @Test func spatialConvs() throws {
        try Self.check(Self.convGraph("3x3", input: [1, 7, 5, 3], out: 5, kernel: 3), batch: 2)
        try Self.check(Self.convGraph("3x3-deep", input: [1, 6, 7, 45], out: 37, kernel: 3))       // K = 405: several K blocks
        try Self.check(Self.convGraph("5x5-s2-asym", input: [1, 11, 8, 4], out: 7, kernel: 5, stride: 2,
                                      padding: Padding(top: 2, left: 1, bottom: 0, right: 3)))
        try Self.check(Self.convGraph("3x3-dil2", input: [1, 9, 9, 5], out: 6, kernel: 3, dilation: 2), batch: 2)
        try Self.check(Self.convGraph("7x7-s2-stem", input: [1, 23, 19, 3], out: 16, kernel: 7, stride: 2, bias: false))
        // More than 4 B panels: patches go straight into packed panels. 576-row images in tiles
        // deeper than one MC block; grouped (80 outputs per group) and dilated ones too.
        try Self.check(Self.convGraph("3x3-wide", input: [1, 24, 24, 16], out: 96, kernel: 3), batch: 2)
        try Self.check(Self.convGraph("3x3-wide-grouped", input: [1, 9, 9, 8], out: 160, kernel: 3, groups: 2))
        try Self.check(Self.convGraph("3x3-wide-dil2-s2", input: [1, 13, 11, 6], out: 70, kernel: 3, stride: 2, dilation: 2))
        try Self.check(Self.convGraph("3x3-nopad", input: [1, 5, 6, 2], out: 3, kernel: 3, padding: .zero))
        // Enough pixels that two threads take whole im2col tiles each.
        try Self.check(Self.convGraph("3x3-tiles", input: [1, 40, 37, 8], out: 19, kernel: 3), threads: [2])
    }

    @Test func shiftedRowConvs() throws {
        // Stride 1, outputs up to 48 channels that fill the GEMM's tiles (fewer go to the narrow
        // direct kernel), wide enough rows: the shifted-row form (no im2col).
        try Self.check(Self.convGraph("shift-3x3", input: [1, 13, 12, 5], out: 13, kernel: 3), batch: 2)
        try Self.check(Self.convGraph("shift-5x5-asym", input: [1, 9, 21, 3], out: 29, kernel: 5,
                                      padding: Padding(top: 1, left: 2, bottom: 3, right: 1)))
        try Self.check(Self.convGraph("shift-nopad", input: [1, 8, 30, 4], out: 12, kernel: 3, padding: .zero))
        try Self.check(Self.convGraph("shift-big", input: [1, 34, 33, 16], out: 16, kernel: 3), batch: 2, threads: [2])
        var b = GraphBuilder(name: "shift-residual", shape: [1, 12, 14, 14], seed: 8)
        let c = b.conv("input", out: 14, kernel: 3, name: "c")
        let y = b.relu6(b.addTensors(c, "input", name: "sum"), name: "act")
        let g = b.build(outputs: [y])
        try Self.check(g, batch: 2)
        let model = try GraphCompiler.compile(g, options: CompileOptions(winograd: .never))
        #expect(model.ops.map(\.kernel) == ["shifted-gemm"])
        // Stride 2, or narrow rows where the throwaway columns would cost too much: im2col.
        #expect(try GraphCompiler.compile(Self.convGraph("s2", input: [1, 13, 12, 5], out: 7, kernel: 3, stride: 2)).ops[0].kernel == "im2col-gemm")
        #expect(try GraphCompiler.compile(Self.convGraph("narrow", input: [1, 7, 5, 3], out: 5, kernel: 3),
                                          options: CompileOptions(winograd: .never)).ops[0].kernel == "im2col-gemm")
    }

    @Test func winogradConvs() throws {
        // Each graph with 2×2 output tiles, then (3×3 kernels) with F(4×4, 3×3)'s 4×4 tiles.
        func check(_ g: Graph, batch: Int = 1, threads: [Int] = [1, 2], isa: GEMMISA? = nil,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
            let kernel = g.weights[g.nodes[0].inputs[1]]!.shape[1]
            for (policy, name) in [(WinogradPolicy.always, "winograd-gemm"), (.large, kernel == 3 ? "winograd4x4-gemm" : "winograd-gemm")] {
                let model = try GraphCompiler.lowerOnly(g, isa: try GEMMISA.resolve(isa), rankConvForm: .separable, winograd: policy)
                #expect(model.ops.first?.kernel == name, "\(g.name) \(policy)", sourceLocation: sourceLocation)
                try Self.check(g, batch: batch, threads: threads, isa: isa, winograd: policy, sourceLocation: sourceLocation)
            }
        }
        // One pixel (a tile overhanging on every side), odd and prime sizes, channel counts off the
        // 8-lane vectors, asymmetric and no padding.
        try check(Self.convGraph("wino-1px", input: [1, 1, 1, 3], out: 5, kernel: 3), batch: 2)
        try check(Self.convGraph("wino-odd", input: [1, 7, 5, 13], out: 26, kernel: 3), batch: 2)
        try check(Self.convGraph("wino-prime", input: [1, 11, 13, 7], out: 29, kernel: 3, bias: false))
        try check(Self.convGraph("wino-asym", input: [1, 9, 10, 8], out: 24, kernel: 3,
                                 padding: Padding(top: 2, left: 0, bottom: 1, right: 2)))
        try check(Self.convGraph("wino-nopad", input: [1, 6, 9, 16], out: 40, kernel: 3, padding: .zero))
        // Several chunks of tiles, shared between threads; the portable kernels too.
        try check(Self.convGraph("wino-chunks", input: [1, 38, 34, 24], out: 72, kernel: 3), batch: 2)
        try check(Self.convGraph("wino-scalar", input: [1, 9, 7, 19], out: 33, kernel: 3), batch: 2, isa: .scalar)
        // F(2×2, 5×5): odd sizes, a lone pixel, asymmetric padding, the portable kernels.
        try check(Self.convGraph("wino5-1px", input: [1, 1, 1, 3], out: 5, kernel: 5), batch: 2)
        try check(Self.convGraph("wino5-odd", input: [1, 9, 7, 13], out: 26, kernel: 5), batch: 2)
        try check(Self.convGraph("wino5-asym", input: [1, 11, 10, 8], out: 24, kernel: 5,
                                 padding: Padding(top: 1, left: 3, bottom: 2, right: 0)))
        try check(Self.convGraph("wino5-scalar", input: [1, 8, 9, 17], out: 30, kernel: 5), isa: .scalar)
        // Residual and activation in the output transform.
        var b = GraphBuilder(name: "wino-residual", shape: [1, 10, 9, 32], seed: 8)
        let c = b.conv("input", out: 32, kernel: 3, name: "c")
        let y = b.relu6(b.addTensors(c, "input", name: "sum"), name: "act")
        try check(b.build(outputs: [y]), batch: 2)
    }

    @Test func winogradFewTilesSplitByColumns() throws {
        // With few tiles and many channels a Winograd layer shares out output columns (each share
        // transforms the inputs and reads its part of the weights); with many tiles, chunks of tiles.
        let nr = try GEMMKernels(.native).nr
        func geometry(_ input: [Int], out: Int) -> ConvGeometry {
            ConvGeometry(input: TensorShape(input), output: TensorShape([input[0], input[1], input[2], out]),
                         kh: 3, kw: 3, cg: input[3], groups: 1,
                         attributes: Conv2DAttributes(padding: Padding(top: 1, left: 1, bottom: 1, right: 1)))
        }
        func chunking(_ input: [Int], out: Int, transform: WinogradTransform, threads: Int = 2) -> WinogradConv.Chunking {
            WinogradConv.Chunking(geometry(input, out: out), transform: transform, threads: threads, panels: (out + nr - 1) / nr)
        }
        let few = chunking([1, 7, 7, 40], out: 4 * nr + 8, transform: .f23)
        #expect(few.columnShares == 2 && few.chunks == 1 && few.units == 2 && few.panelsPerShare == 3)
        #expect(chunking([1, 14, 14, 154], out: 154, transform: .f43).columnShares == 2)
        // One tile: only columns give the second thread work.
        #expect(chunking([1, 3, 3, 32], out: 48, transform: .f43).columnShares == 2)
        // 49 tiles of 77 channels: the repeated input transform would cost more than the weights.
        let many = chunking([1, 28, 28, 77], out: 77, transform: .f43)
        #expect(many.columnShares == 1 && many.chunks == 2, "many tiles: split by chunks")
        // 5 panels for 4 threads: shares of 2 panels, so 3 shares and none empty.
        for threads in [3, 4, 5] {
            let k = chunking([1, 7, 7, 64], out: 4 * nr + 5, transform: .f23, threads: threads)
            #expect(k.columnShares > 1 && (k.columnShares - 1) * k.panelsPerShare < 5 && k.columnShares * k.panelsPerShare >= 5,
                    "\(threads) threads: \(k.columnShares) shares of \(k.panelsPerShare) panels")
        }
        // The runtime's tiling takes the chunking's units.
        let t = ConvStep.Tiling.chooseWinograd(geometry([1, 7, 7, 40], out: 4 * nr + 8), transform: .f23, panels: 5, threads: 2)
        #expect(t.tiles == 2 && t.columnShares == 2 && t.winograd?.columnShares == 2)
        // A partial last panel, a last share narrower than one vector (4·NR + 5 outputs at 3 and 4
        // threads), residual and ReLU per share.
        for (name, input, out) in [("wino-columns", [1, 7, 7, 40], 4 * nr + 8), ("wino-columns-prime", [1, 5, 6, 37], 131),
                                   ("wino-columns-tail", [1, 6, 7, 24], 4 * nr + 5)] {
            var b = GraphBuilder(name: name, shape: input, seed: 9)
            let c = b.conv("input", out: out, kernel: 3, name: "c")
            let r = b.conv("input", out: out, kernel: 1, padding: 0, name: "r")
            let y = b.relu(b.addTensors(c, r, name: "sum"), name: "act")
            let g = b.build(outputs: [y])
            for policy in [WinogradPolicy.always, .large] {
                try Self.check(g, batch: 1, threads: [2, 3, 4], winograd: policy)
                try Self.check(g, batch: 2, threads: [2], winograd: policy)
            }
        }
    }

    @Test func winogradChoice() throws {
        var b = GraphBuilder(name: "choice", shape: [1, 12, 12, 32], seed: 4)
        var x = b.conv("input", out: 32, kernel: 3, name: "a")                  // candidate
        x = b.conv(x, out: 32, kernel: 3, name: "b")                            // same shape: measured once
        x = b.conv(x, out: 9, kernel: 3, name: "narrow")                        // narrow direct kernel: not a candidate
        x = b.conv(x, out: 32, kernel: 3, stride: 2, name: "s2")               // stride 2: not a candidate
        x = b.conv(x, out: 32, kernel: 7, name: "k7")                           // 7×7: not a candidate
        let g = b.build(outputs: [x])
        let groups = EpilogueFusion.groups(g)
        let (never, none) = try ConvFormSelector.chooseWinograd(g, groups: groups, policy: .never, batch: nil, threads: 1, isa: .native)
        #expect(never.isEmpty && none.isEmpty)
        let (all, _) = try ConvFormSelector.chooseWinograd(g, groups: groups, policy: .always, batch: nil, threads: 1, isa: .native)
        #expect(all == ["a": .f23, "b": .f23])
        let (large, _) = try ConvFormSelector.chooseWinograd(g, groups: groups, policy: .large, batch: nil, threads: 1, isa: .native)
        #expect(large == ["a": .f43, "b": .f43])
        let (measured, choices) = try ConvFormSelector.chooseWinograd(g, groups: groups, policy: .measure, batch: nil, threads: 1, isa: .native)
        #expect(choices.map(\.node) == ["a", "b"])
        for c in choices {
            // The fastest of the three forms wins.
            let times = [try #require(c.gemmMs), try #require(c.winogradMs), try #require(c.winograd4Ms)]
            #expect(times.allSatisfy { $0 > 0 })
            let fastest = times.indices.min { times[$0] < times[$1] }!
            #expect(c.transform == [nil, WinogradTransform.f23, .f43][fastest] && measured[c.node] == c.transform)
        }
        #expect(choices[0].gemmMs == choices[1].gemmMs && choices[0].winograd4Ms == choices[1].winograd4Ms)
        // The compiled model keeps the choices and runs the chosen forms.
        let model = try GraphCompiler.compile(g, options: CompileOptions(winograd: .always))
        #expect(model.winogradChoices.map(\.node) == ["a", "b"])
        #expect(model.ops.filter { $0.kernel == "winograd-gemm" }.map(\.name) == ["a", "b"])
    }

    @Test func groupedAndDepthwiseConvs() throws {
        try Self.check(Self.convGraph("grouped2", input: [1, 6, 5, 8], out: 10, kernel: 3, groups: 2), batch: 2)
        try Self.check(Self.convGraph("grouped4-s2", input: [1, 9, 7, 12], out: 8, kernel: 3, stride: 2, groups: 4))
        // Outputs wider than a register tile: one GEMM per group (narrower ones run block-diagonal).
        try Self.check(Self.convGraph("grouped-wide", input: [1, 7, 6, 12], out: 40, kernel: 3, groups: 2), batch: 2)
        try Self.check(Self.convGraph("grouped-wide-1x1", input: [1, 5, 5, 12], out: 36, kernel: 1, padding: .zero, groups: 3))
        let wide = try GraphCompiler.compile(Self.convGraph("w", input: [1, 5, 5, 12], out: 40, kernel: 3, groups: 2))
        #expect(wide.ops[0].kernel == "gemm-grouped")
        let narrow = try GraphCompiler.compile(Self.convGraph("n", input: [1, 5, 5, 12], out: 8, kernel: 3, groups: 4))
        #expect(narrow.ops[0].kernel == "im2col-gemm")
        try Self.check(Self.convGraph("depthwise", input: [1, 7, 6, 37], out: 37, kernel: 3, groups: 37), batch: 2)
        try Self.check(Self.convGraph("depthwise-5x5-s2", input: [1, 9, 10, 8], out: 8, kernel: 5, stride: 2, groups: 8))
        try Self.check(Self.convGraph("depthwise-dil", input: [1, 8, 8, 11], out: 11, kernel: 3, dilation: 2, groups: 11, bias: false))
        try Self.check(Self.convGraph("depthwise-narrow", input: [1, 8, 8, 3], out: 3, kernel: 3, groups: 3))   // GEMM: too few channels
        // Channel multiplier 2: not the depthwise kernel's case, runs as a grouped GEMM.
        try Self.check(Self.convGraph("depthwise-x2", input: [1, 5, 5, 4], out: 8, kernel: 3, groups: 4))
        let g = Self.convGraph("depthwise", input: [1, 5, 5, 16], out: 16, kernel: 3, groups: 16)
        let model = try GraphCompiler.compile(g)
        #expect(model.ops[0].kernel == "depthwise")
    }

    @Test func fusedEpilogues() throws {
        // conv + add + ReLU, the add's other input a graph input; and 1×1 + add + ReLU6.
        var b = GraphBuilder(name: "residual", shape: [1, 6, 7, 5], seed: 4)
        let c = b.conv("input", out: 5, kernel: 3, name: "c")
        let s = b.addTensors(c, "input", name: "sum")
        let r = b.relu(s, name: "act")
        let p = b.conv(r, out: 5, kernel: 1, name: "p")
        let s2 = b.addTensors(r, p, name: "sum2")
        let y = b.relu6(s2, name: "act2")
        let g = b.build(outputs: [y])
        try Self.check(g, batch: 2)
        let model = try GraphCompiler.compile(g)
        #expect(model.ops.count == 2)
        #expect(model.ops.map(\.nodes) == [["c", "sum", "act"], ["p", "sum2", "act2"]])
        #expect(model.ops[1].residual == "act")
    }

    @Test func narrowDirectConvs() throws {
        // Output channels 1, 9, 10, 19 (one block of 12 + 7), 23; widths a multiple of 8, 8 + 3, 9
        // and 21; 3×3 and 5×5 kernels; asymmetric padding; batch 2; one and two threads.
        for (input, out, kernel, padding) in [([1, 9, 8, 9], 9, 3, nil), ([1, 7, 11, 5], 1, 3, nil), ([1, 6, 21, 17], 19, 5, nil),
                                              ([1, 12, 16, 3], 23, 3, Padding(top: 2, left: 0, bottom: 0, right: 2)),
                                              ([1, 5, 9, 20], 10, 3, Padding(top: 0, left: 1, bottom: 1, right: 1))] as [([Int], Int, Int, Padding?)] {
            let g = Self.convGraph("narrow \(input) → \(out)", input: input, out: out, kernel: kernel, padding: padding)
            try Self.check(g, batch: 2)
            let model = try GraphCompiler.compile(g)
            #expect(model.ops[0].kernel == "narrow-direct", "\(g.name) ran as \(model.ops[0].kernel)")
        }
        // Residual add and ReLU fused into the kernel's store.
        var r = GraphBuilder(name: "narrow-fused", shape: [1, 10, 9, 9], seed: 4)
        let conv = r.conv("input", out: 9, kernel: 3, name: "c")
        let y = r.relu(r.addTensors(conv, "input", name: "sum"), name: "act")
        let fused = r.build(outputs: [y])
        try Self.check(fused, batch: 2)
        let model = try GraphCompiler.compile(fused)
        #expect(model.ops.count == 1 && model.ops[0].kernel == "narrow-direct")
        // Channel counts a GEMM tile fills, 1×1 convs and stride 2 stay on the GEMM.
        for (out, kernel, stride) in [(16, 3, 1), (9, 1, 1), (9, 3, 2), (32, 3, 1)] {
            let g = Self.convGraph("gemm \(out) k\(kernel) s\(stride)", input: [1, 9, 9, 5], out: out, kernel: kernel, stride: stride)
            #expect(try GraphCompiler.compile(g).ops[0].kernel != "narrow-direct")
        }
    }

    @Test func separableRankConvs() throws {
        for (k, l, stride, s, c) in [(3, 1, 1, 5, 3), (3, 2, 2, 13, 4), (5, 3, 1, 8, 7), (7, 1, 1, 17, 5), (7, 7, 2, 9, 2), (5, 2, 3, 24, 6)] {
            var b = GraphBuilder(name: "rank k\(k) L\(l) s\(stride)", shape: [1, 11, 9, c], seed: UInt64(k * 10 + l))
            let y = b.rankConv("input", out: s, kernel: k, rank: l, stride: stride, name: "rc")
            try Self.check(b.build(outputs: [y]), batch: 2)
            try Self.check(b.build(outputs: [y]), threads: [1], form: .dense)
        }
        // Residual and activation fused into the separable kernel, asymmetric padding.
        var b = GraphBuilder(name: "rank-fused", shape: [1, 8, 10, 6], seed: 9)
        let rc = b.rankConv("input", out: 6, kernel: 3, rank: 2, name: "rc")
        let y = b.relu6(b.addTensors(rc, "input", name: "sum"), name: "act")
        var g = b.build(outputs: [y])
        if case .rankConv2d(var a) = g.nodes[0].op {
            a.padding = Padding(top: 2, left: 0, bottom: 0, right: 2)
            g.nodes[0].op = .rankConv2d(a)
        }
        try Self.check(g, batch: 2)
        let model = try GraphCompiler.compile(g, options: CompileOptions(rankConvForm: .separable))
        #expect(model.ops.count == 1 && model.ops[0].kernel == "separable-rank")
    }

    @Test func linearSoftmaxAndShapes() throws {
        var b = GraphBuilder(name: "head", shape: [1, 3, 2, 5], seed: 5)
        var x = b.flatten("input", name: "flat")
        x = b.linear(x, out: 19, name: "fc1")
        x = b.relu(x, name: "fc1.relu")
        x = b.dropout(x, rate: 0.3, name: "drop")
        x = b.linear(x, out: 7, name: "fc2")
        x = b.softmax(x, name: "probs")
        try Self.check(b.build(outputs: [x]), batch: 3)
    }

    @Test func poolingElementwiseConcatAndBatchNorm() throws {
        var b = GraphBuilder(name: "misc", shape: [1, 9, 7, 6], seed: 6)
        let bn = b.batchNorm("input", name: "bn")                      // on a graph input: not foldable
        let m = b.maxPool(bn, kernel: 3, stride: 2, padding: 1, name: "max")
        let a = b.avgPool(bn, kernel: 3, stride: 2, padding: 1, name: "avg")
        let ai = b.avgPool(bn, kernel: 3, stride: 2, padding: 1, countIncludePad: true, name: "avgpad")
        let cat = b.concat([m, a, ai], name: "cat")
        let r = b.relu6(cat, name: "r6")
        let sum = b.addTensors(r, cat, name: "sum")
        let rr = b.relu(sum, name: "r")
        let gap = b.globalAvgPool(rr, name: "gap")
        let g = b.build(outputs: [gap, m])
        try Self.check(g, batch: 2)

        // Max pooling takes 8 channels at a time: 19 = two vectors and a 3-channel tail.
        var wide = GraphBuilder(name: "max19", shape: [1, 8, 9, 19], seed: 7)
        let m3 = wide.maxPool("input", kernel: 3, stride: 2, padding: 1, name: "max")
        let m2 = wide.maxPool("input", kernel: 2, stride: 1, padding: 0, name: "max2")
        try Self.check(wide.build(outputs: [m3, m2]), batch: 2)
    }

    @Test func layersBigEnoughToShareBetweenThreads() throws {
        // Small layers run on one thread (hand-over would cost more); these cross the threshold.
        try Self.check(Self.convGraph("dw-big", input: [1, 32, 31, 32], out: 32, kernel: 3, groups: 32), batch: 2, threads: [2])
        try Self.check(Self.convGraph("1x1-big", input: [1, 23, 29, 40], out: 72, kernel: 1, padding: .zero), threads: [2])
        var b = GraphBuilder(name: "rank-big", shape: [1, 24, 23, 16], seed: 4)
        let y = b.rankConv("input", out: 40, kernel: 5, rank: 2, stride: 1, name: "rc")
        try Self.check(b.build(outputs: [y]), batch: 2, threads: [2])
    }

    @Test func fewPixelsManyChannelsSplitByColumns() throws {
        // At 2 threads these run as column shares of one row tile (late ResNet stages, classifiers):
        // 131 and 1001 outputs leave a partial last panel; the residual case fuses add + ReLU.
        func tiling(_ input: [Int], out: Int, kernel: Int, threads: Int = 2) -> ConvStep.Tiling {
            let pad = kernel / 2
            let g = ConvGeometry(input: TensorShape(input), output: TensorShape([input[0], input[1], input[2], out]),
                                 kh: kernel, kw: kernel, cg: input[3], groups: 1,
                                 attributes: Conv2DAttributes(padding: Padding(top: pad, left: pad, bottom: pad, right: pad)))
            return ConvStep.Tiling.choose(g, pointwise: kernel == 1, panels: (out + 15) / 16, threads: threads)
        }
        // 5 panels among 4 threads: 3 shares of 2 panels, none empty.
        let five = tiling([1, 5, 5, 64], out: 80, kernel: 3, threads: 4)
        #expect(five.columnShares == 3 && five.panelsPerShare == 2 && five.tiles == 3)
        let spatial = tiling([1, 5, 5, 64], out: 131, kernel: 3)
        #expect(spatial.columnShares == 2 && spatial.tiles == 2 && spatial.rows == 25)
        #expect(tiling([1, 1, 1, 300], out: 1001, kernel: 1).columnShares == 2)
        #expect(tiling([1, 56, 56, 64], out: 64, kernel: 3).columnShares == 1, "many pixels: split by rows")
        // Row tiles come in equal sizes, as many as a multiple of the threads.
        for (input, out) in [([1, 28, 28, 128], 128), ([1, 56, 56, 64], 64), ([1, 13, 17, 40], 72)] {
            let t = tiling(input, out: out, kernel: 3), m = input[1] * input[2]
            let last = m - (t.tiles - 1) * t.rows
            #expect(t.tiles % 2 == 0 && last > 0 && (last >= t.rows - 12 || t.tiles >= 16),
                    "\(input): \(t.tiles) tiles of \(t.rows), last \(last)")
        }

        try Self.check(Self.convGraph("3x3-few-pixels", input: [1, 5, 5, 64], out: 131, kernel: 3), threads: [1, 2])
        try Self.check(Self.convGraph("3x3-five-panels", input: [1, 5, 5, 64], out: 80, kernel: 3), threads: [3, 4],
                       winograd: .never)
        try Self.check(Self.convGraph("fc-like", input: [1, 1, 1, 300], out: 1001, kernel: 1, padding: .zero), threads: [2])
        var b = GraphBuilder(name: "residual-columns", shape: [1, 4, 4, 96], seed: 6)
        let c = b.conv("input", out: 96, kernel: 1, name: "c")
        let sum = b.addTensors(c, "input", name: "sum")
        let r = b.relu(sum, name: "act")
        try Self.check(b.build(outputs: [r]), batch: 2, threads: [2])
    }

    /// 1×1 (C → r1) → k×k (r1 → r2) → 1×1 (r2 → S), optionally + input and ReLU.
    static func narrowChainGraph(_ name: String, input: [Int], r1: Int, r2: Int, out: Int, kernel: Int = 3, pad: Int = 1,
                                 residual: Bool = false, bias: Bool = true) -> Graph {
        var b = GraphBuilder(name: name, shape: input, seed: 9)
        let a = b.conv("input", out: r1, kernel: 1, padding: 0, bias: bias, name: "in")
        let c = b.conv(a, out: r2, kernel: kernel, padding: pad, bias: bias, name: "core")
        var y = b.conv(c, out: out, kernel: 1, padding: 0, bias: bias, name: "out")
        if residual {
            y = b.addTensors(y, "input", name: "sum")
            y = b.relu(y, name: "act")
        }
        return b.build(outputs: [y])
    }

    @Test func narrowChains() throws {
        // The 9- and 19-channel Tucker chains of the low-rank ResNets, with a residual and ReLU;
        // then a channel tail (20 in, 13 out), unequal core ranks, 5×5 with no padding and 64
        // channels on both sides, and widths of 8, 11 and 9 pixels.
        let cases: [(Graph, Int)] = [
            (Self.narrowChainGraph("chain-r56-l1", input: [1, 32, 32, 16], r1: 9, r2: 9, out: 16, residual: true), 2),
            (Self.narrowChainGraph("chain-r56-l2", input: [1, 16, 16, 32], r1: 19, r2: 19, out: 32, residual: true), 1),
            (Self.narrowChainGraph("chain-tails", input: [1, 9, 11, 20], r1: 7, r2: 11, out: 13), 2),
            (Self.narrowChainGraph("chain-5x5", input: [1, 12, 13, 64], r1: 19, r2: 17, out: 64, kernel: 5, pad: 0, bias: false), 1),
            (Self.narrowChainGraph("chain-narrow-rows", input: [1, 8, 8, 3], r1: 3, r2: 4, out: 5), 3),
        ]
        for (g, batch) in cases {
            let model = try GraphCompiler.compile(g, options: CompileOptions(mergeLinearChains: false))
            #expect(model.ops.first?.kernel == "narrow-chain", "\(g.name): \(model.ops.map(\.kernel))")
            try Self.check(g, batch: batch, threads: [1, 2])
        }
        // A core too wide for the narrow kernel stays three steps.
        let wide = try GraphCompiler.compile(Self.narrowChainGraph("chain-wide", input: [1, 8, 8, 16], r1: 38, r2: 38, out: 16),
                                             options: CompileOptions(mergeLinearChains: false, winograd: .never))
        #expect(wide.ops.map(\.kernel) == ["gemm-1x1", "im2col-gemm", "gemm-1x1"])
    }

    @Test func scalarKernelsAgreeToo() throws {
        try Self.check(Self.convGraph("3x3-scalar", input: [1, 7, 5, 6], out: 21, kernel: 3, stride: 2), isa: .scalar)
        try Self.check(Self.convGraph("dw-scalar", input: [1, 7, 5, 11], out: 11, kernel: 3, groups: 11), isa: .scalar)
        var b = GraphBuilder(name: "rank-scalar", shape: [1, 9, 9, 3], seed: 2)
        let y = b.rankConv("input", out: 11, kernel: 5, rank: 2, name: "rc")
        try Self.check(b.build(outputs: [y]), isa: .scalar)
    }
}

/// The fused low-rank chain (1×1 → k×k → 1×1 band by band) against the reference.
@Suite struct TuckerChainTests {
    static func chain(stride: Int, groups: Int, side: Int = 11, residual: Bool) -> Graph {
        // Ranks well below the width, so merging the chain would cost more MACs and it stays a chain.
        var b = GraphBuilder(name: "chain s\(stride) g\(groups)", shape: [1, side, side - 2, 24], seed: UInt64(stride * 10 + groups))
        var x = b.conv("input", out: 4, kernel: 1, bias: false, name: "in")
        x = b.conv(x, out: 6, kernel: 3, stride: stride, groups: groups, bias: true, name: "core")
        x = b.conv(x, out: 24, kernel: 1, name: "out")
        if residual && stride == 1 { x = b.relu(b.addTensors(x, "input", name: "sum"), name: "act") }
        return b.build(outputs: [x])
    }

    static func checkFused(_ g: Graph, batch: Int) throws {
        var rng = SeededRandom(seed: 3)
        var shape = g.inputs[0].shape.dims
        shape[0] = batch
        let x = RefFixtures.random(shape, &rng)
        let expected = try ReferenceExecutor(graph: g).run(x)
        for threads in [1, 2] {
            let session = try InferenceSession(graph: g, options: .init(threads: threads, fuseChains: true))
            // A stride-1 ungrouped core suits the narrow kernel, which takes the chain whenever it can.
            let core = g.nodes.first { $0.name == "core" }!
            guard case .conv2d(let a) = core.op else { Issue.record("no core"); return }
            let kernel = a.stride == .square(1) && a.groups == 1 ? "narrow-chain" : "tucker-chain"
            #expect(session.model.ops.contains { $0.kernel == kernel }, "\(g.name): chain not fused as \(kernel)")
            let error = try session.run(x).maxAbsDifference(expected)
            #expect(error <= 1e-4 * expected.maxAbs, "\(g.name), \(threads) thread(s): max error \(error)")
        }
    }

    @Test func fusedChainsMatchTheReference() throws {
        for (stride, groups) in [(1, 1), (2, 1), (1, 2), (2, 2)] {
            try Self.checkFused(Self.chain(stride: stride, groups: groups, residual: true), batch: 2)
        }
        // Bands smaller than the image: a tall image forces several bands per image.
        try Self.checkFused(Self.chain(stride: 1, groups: 1, side: 97, residual: true), batch: 1)
    }

    @Test func fusedChainSurvivesACompiledFile() throws {
        let g = try TestGraphs.shrink(Zoo.build("resnet20", variant: .lrd), side: 8)
        let model = try GraphCompiler.compile(g, options: CompileOptions(fuseChains: true))
        #expect(model.ops.filter { $0.kernel == "tucker-chain" }.count > 5)
        #expect(model.ops.filter { $0.kernel == "narrow-chain" }.count > 5)
        let session = try InferenceSession(model: model)
        try session.prepare(batch: 1)
        let bytes = try RKGFile.encode(CompiledModelFile.contents(model, plan: (1, 1, session.planLayout!), compileThreads: 1))
        let loaded = try InferenceSession(model: CompiledModelFile.model(from: RKGFile.decodeContents(bytes)))
        var rng = SeededRandom(seed: 8)
        let x = RefFixtures.random([1, 8, 8, 3], &rng)
        #expect(try loaded.run(x) == session.run(x))
        let e = try ReferenceExecutor(graph: g).run(x)
        #expect(try session.run(x).maxAbsDifference(e) <= 1e-4 * e.maxAbs)
    }
}
