import Testing
@testable import RankEdge
@testable import RankEdgeReference

@Suite struct CompiledModelFileTests {
    typealias F = RefFixtures

    /// A graph with every kind of step: a stem, im2col, shifted-row, narrow direct, narrow chain, 1×1,
    /// grouped and depthwise convs, both rank forms, Winograd convs with both tiles,
    /// an unfolded BN, pools, concat, linear, softmax.
    static func graph() -> Graph {
        var b = GraphBuilder(name: "all-kernels", shape: [1, 9, 14, 4], seed: 8)
        let bn = b.batchNorm("input", name: "bn0")
        var x = b.conv(bn, out: 16, kernel: 3, name: "stem")                    // 4 inputs: the stem's direct kernel
        x = b.conv(b.relu(x), out: 16, kernel: 3, name: "c1")                  // shifted rows
        x = b.relu(x)
        let dw = b.conv(x, out: 16, kernel: 3, groups: 16, name: "dw")
        let nw = b.conv(x, out: 9, kernel: 3, name: "narrow")                   // narrow direct
        let gr = b.conv(x, out: 40, kernel: 3, groups: 2, name: "grouped")    // one GEMM per group
        let gd = b.conv(x, out: 32, kernel: 3, groups: 2, name: "grouped_direct") // 16 per group: the direct kernel
        let rs = b.rankConv(x, out: 8, kernel: 5, rank: 2, name: "rank_sep")
        let rd = b.rankConv(x, out: 8, kernel: 3, rank: 1, name: "rank_dense")
        let ci = b.conv(x, out: 7, kernel: 1, padding: 0, name: "chain_in")      // narrow chain
        let cc = b.conv(ci, out: 9, kernel: 3, name: "chain_core")
        let co = b.conv(cc, out: 11, kernel: 1, padding: 0, name: "chain_out")
        let wi = b.conv(x, out: 24, kernel: 3, name: "wino")                    // Winograd F(2×2, 3×3)
        let w4 = b.conv(x, out: 32, kernel: 3, name: "wino4")                   // Winograd F(4×4, 3×3)
        x = b.concat([dw, nw, gr, gd, rs, rd, co, wi, w4], name: "cat")
        x = b.conv(x, out: 12, kernel: 3, stride: 2, name: "down")              // im2col
        x = b.maxPool(x, kernel: 2, stride: 2, name: "mp")
        x = b.conv(x, out: 6, kernel: 1, name: "pw")
        x = b.avgPool(x, kernel: 2, stride: 1, name: "ap")
        x = b.flatten(x)
        x = b.linear(x, out: 5, name: "fc")
        let probs = b.softmax(x, name: "probs")
        return b.build(outputs: [probs], classNames: ["a", "b", "c", "d", "e"])
    }

    static func compiled() throws -> (CompiledModel, RKGFile.Contents) {
        var options = CompileOptions(rankConvForm: .separable, winograd: .never)
        options.threads = 1
        let isa = try GEMMISA.resolve(nil)
        // One rank conv in each form: force rank_dense through the dense route. (The optimised
        // graph with its weights' values: a compiled model's graph keeps their shapes only.)
        let (g, _) = try GraphCompiler.optimize(graph(), options: CompileOptions(rankConvForm: .dense))
        var (optimized, choices) = try GraphCompiler.optimize(graph(), options: options, isa: isa)
        _ = choices
        let i = optimized.nodes.firstIndex { $0.name == "rank_dense" }!
        optimized.nodes[i] = g.node(named: "rank_dense")!
        for name in optimized.nodes[i].weightInputs { optimized.weights[name] = g.weights[name] }
        optimized.pruneUnusedWeights()
        let model = CompiledModel(graph: optimized, ops: try Lowering.lower(optimized, groups: EpilogueFusion.groups(optimized), isa: isa,
                                                                           winograd: ["wino": .f23, "wino4": .f43]),
                                  isa: isa, rankConvChoices: choices)
        let session = try InferenceSession(model: model)
        try session.prepare(batch: 1)
        return (model, CompiledModelFile.contents(model, plan: (1, 1, session.planLayout!), compileThreads: 1))
    }

    /// `bench`'s weights line: the prepared bytes are what the file stores beside the graph's
    /// weights, for a model with every kind of step; a model read back, or released for a session,
    /// holds only the prepared copies and still gives the same outputs.
    @Test func weightBytesCountTheGraphAndWhatTheStepsPrepared() throws {
        let (model, contents) = try Self.compiled()
        let floats = { (names: [String]) in names.reduce(0) { $0 + contents.graph.weights[$1]!.shape.elementCount } }
        let prefix = CompiledModelFile.metadataKey + "/"
        let stored = floats(contents.graph.weights.keys.filter { $0.hasPrefix(prefix) })
        let own = floats(contents.graph.weights.keys.filter { !$0.hasPrefix(prefix) })
        // The file stores the graph's own weights as shapes only, the prepared ones with values.
        #expect(contents.graph.weights.allSatisfy { $0.key.hasPrefix(prefix) == $0.value.holdsValues })
        let bytes = model.weightBytes
        #expect(stored > 0)
        #expect(bytes.prepared == 4 * stored)
        #expect(bytes.graph == 4 * own)
        #expect(bytes.held == 4 * own)

        let loaded = try CompiledModelFile.model(from: RKGFile.decodeContents(RKGFile.encode(contents)))
        let released = model.releasingGraphWeights()
        for m in [loaded, released] {
            #expect(m.weightBytes.held == 0)
            #expect(m.weightBytes.graph == bytes.graph)
            #expect(m.weightBytes.prepared == bytes.prepared)
            #expect(m.graph.weights.values.allSatisfy { !$0.holdsValues })
        }
        let x = Tensor(shape: model.graph.inputs[0].shape, data: (0..<model.graph.inputs[0].shape.elementCount).map { Float($0 % 13) / 7 - 0.8 })
        let expected = try InferenceSession(model: model).run(x)
        #expect(try InferenceSession(model: released).run(x) == expected)
        #expect(try InferenceSession(model: loaded).run(x) == expected)
    }

    @Test func roundTripGivesTheSameOutputsAsTheSource() throws {
        let (model, contents) = try Self.compiled()
        #expect(Set(model.ops.map(\.kernel)).isSuperset(of: ["im2col-gemm", "shifted-gemm", "gemm-1x1", "gemm-grouped", "grouped-direct", "depthwise", "separable-rank", "channel-affine", "narrow-direct", "narrow-chain", "winograd-gemm", "winograd4x4-gemm"]))
        let bytes = try RKGFile.encode(contents)
        let decoded = try RKGFile.decodeContents(bytes)
        #expect(CompiledModelFile.isCompiled(decoded))
        let loaded = try CompiledModelFile.model(from: decoded)
        #expect(loaded.ops.map(\.kernel) == model.ops.map(\.kernel))
        #expect(loaded.storedLayout?.batch == 1)
        #expect(loaded.graph.weights.keys.allSatisfy { !$0.hasPrefix("rankedge.compiled/") })

        var rng = SeededRandom(seed: 3)
        let x = F.random([1, 9, 14, 4], &rng)
        let source = try ReferenceExecutor(graph: Self.graph()).run(x)
        let fromFile = try InferenceSession(model: loaded)
        let y = try fromFile.run(x)
        #expect(y.maxAbsDifference(source) <= 1e-4 * source.maxAbs)
        let fresh = try InferenceSession(model: model).planLayoutAfterPrepare(batch: 1)
        #expect(fromFile.planLayout == fresh)
        // Another batch plans afresh.
        let x3 = F.random([3, 9, 14, 4], &rng)
        let y3 = try fromFile.run(x3)
        #expect(y3.maxAbsDifference(try ReferenceExecutor(graph: Self.graph()).run(x3)) <= 1e-4)
    }

    static func withCompiledJSON(_ contents: RKGFile.Contents, _ edit: (inout String) -> Void) -> RKGFile.Contents {
        var c = contents
        var text = c.extraMetadata[CompiledModelFile.metadataKey]!
        edit(&text)
        c.extraMetadata[CompiledModelFile.metadataKey] = text
        return c
    }

    @Test func filesWithoutWinogradTileHaveTwoByTwoTiles() throws {
        // Files written before the 4×4 tile carry no winograd_tile: theirs is read as 2×2 (and a
        // 4×4 step without it, 36 matrices for a 3×3 kernel, is rejected).
        let (model, contents) = try Self.compiled()
        var old = ""
        let stripped = Self.withCompiledJSON(contents) { text in
            old = text
            text = text.replacingOccurrences(of: ",\"winograd_tile\":2", with: "")
        }
        #expect(old.contains(",\"winograd_tile\":2"), "nothing to strip")
        let loaded = try CompiledModelFile.model(from: stripped)
        #expect(loaded.ops.map(\.kernel) == model.ops.map(\.kernel))
        var rng = SeededRandom(seed: 5)
        let x = F.random([1, 9, 14, 4], &rng)
        #expect(try InferenceSession(model: loaded).run(x) == (try InferenceSession(model: model).run(x)))
        #expect(throws: CompiledModelError.self) {
            try CompiledModelFile.model(from: Self.withCompiledJSON(contents) {
                $0 = $0.replacingOccurrences(of: ",\"winograd_tile\":4", with: "")
            })
        }
    }

    @Test func damagedCompiledEntriesAreTypedErrors() throws {
        let (_, contents) = try Self.compiled()
        let foreign = GEMMISA.allCases.first { !$0.isAvailable }
        if let foreign {
            let c = Self.withCompiledJSON(contents) { $0 = $0.replacingOccurrences(of: "\"target\":\"\(GEMMISA.native.rawValue)\"", with: "\"target\":\"\(foreign.rawValue)\"") }
            #expect(throws: CompiledModelError.targetUnavailable(target: foreign.rawValue, available: GEMMISA.available().map(\.rawValue))) {
                try CompiledModelFile.model(from: c)
            }
        }
        let edits: [(String, (inout String) -> Void)] = [
            ("garbage", { $0 = "{not json" }),
            ("version", { $0 = $0.replacingOccurrences(of: "\"version\":2", with: "\"version\":99") }),
            ("target", { $0 = $0.replacingOccurrences(of: "\"target\":\"", with: "\"target\":\"x") }),
            ("kind", { $0 = $0.replacingOccurrences(of: "\"kind\":\"gemm\"", with: "\"kind\":\"fft\"") }),
            ("kh", { $0 = $0.replacingOccurrences(of: "\"kh\":3", with: "\"kh\":5") }),
            ("stride", { $0 = $0.replacingOccurrences(of: "\"stride\":[1,1]", with: "\"stride\":[0,1]") }),
            ("tensor", { $0 = $0.replacingOccurrences(of: "rankedge.compiled/0/", with: "rankedge.compiled/missing/") }),
            ("order", { $0 = $0.replacingOccurrences(of: "\"inputs\":[\"input\"]", with: "\"inputs\":[\"probs\"]") }),
            // A tile no 3×3 algorithm has, and tiles that do not match the stored matrices' count.
            ("tile", { $0 = $0.replacingOccurrences(of: "\"winograd_tile\":4", with: "\"winograd_tile\":3") }),
            ("tile 2 as 4", { $0 = $0.replacingOccurrences(of: "\"winograd_tile\":2", with: "\"winograd_tile\":4") }),
            ("tile 4 as 2", { $0 = $0.replacingOccurrences(of: "\"winograd_tile\":4", with: "\"winograd_tile\":2") }),
            // Sizes whose product overflows: a typed error, not a trap.
            ("overflow", { $0 = $0.replacingOccurrences(of: "\"kind\":\"narrow-direct\",\"kh\":3,\"kw\":3,\"in\":16,\"out\":9",
                                                        with: "\"kind\":\"narrow-direct\",\"kh\":1073741824,\"kw\":1073741824,\"in\":1073741824,\"out\":1073741824") }),
        ]
        var narrow = ""
        _ = Self.withCompiledJSON(contents) { narrow = $0 }
        #expect(narrow.contains("\"kind\":\"narrow-direct\",\"kh\":3,\"kw\":3,\"in\":16,\"out\":9"), "the overflow edit has nothing to edit")
        #expect(narrow.contains("\"winograd_tile\":2") && narrow.contains("\"winograd_tile\":4"), "the tile edits have nothing to edit")
        for (what, edit) in edits {
            #expect(throws: CompiledModelError.self, "\(what)") { try CompiledModelFile.model(from: Self.withCompiledJSON(contents, edit)) }
        }
    }

    @Test func invalidStoredPlanIsReplanned() throws {
        let (_, contents) = try Self.compiled()
        let c = Self.withCompiledJSON(contents) { text in
            // Every buffer at offset 0: overlapping live buffers, so the plan must be rejected.
            let start = text.range(of: "\"offsets\":[")!.upperBound
            let end = text[start...].firstIndex(of: "]")!
            let count = text[start..<end].split(separator: ",").count
            text.replaceSubrange(start..<end, with: Array(repeating: "0", count: count).joined(separator: ","))
        }
        let model = try CompiledModelFile.model(from: c)
        let session = try InferenceSession(model: model)
        try session.prepare(batch: 1)
        #expect(session.planLayout != model.storedLayout?.layout)
        var rng = SeededRandom(seed: 4)
        let x = F.random([1, 9, 14, 4], &rng)
        let e = try ReferenceExecutor(graph: Self.graph()).run(x)
        #expect(try session.run(x).maxAbsDifference(e) <= 1e-4 * e.maxAbs)
    }
}

extension InferenceSession {
    func planLayoutAfterPrepare(batch: Int) throws -> ArenaLayout? {
        try prepare(batch: batch)
        return planLayout
    }
}
