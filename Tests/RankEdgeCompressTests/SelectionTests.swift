import Testing
import RankEdge
@testable import RankEdgeCompress

/// Which layers `compress` touches, and why it leaves the others.
@Suite struct SelectionTests {
    /// stem 3×3 (reads the input) → conv2 3×3 → dw 3×3 depthwise → grouped 3×3 (2 groups) →
    /// factored 1×1 (already a Tucker factor) → plain 1×1 → gap → flatten → fc1 → fc2 (classifier).
    static func graph() -> Graph {
        var b = GraphBuilder(name: "selection", shape: [1, 9, 10, 3], seed: 13)
        var x = b.conv("input", out: 6, kernel: 3, name: "stem")
        x = b.relu(x, name: "stem.relu")
        x = b.conv(x, out: 6, kernel: 3, stride: 2, name: "conv2")
        x = b.conv(x, out: 6, kernel: 3, groups: 6, name: "dw")
        x = b.conv(x, out: 8, kernel: 3, groups: 2, name: "grouped")
        x = b.conv(x, out: 7, kernel: 1, name: "factored", provenance: "imported from ONNX Conv; tucker2 of old, ranks 3/3")
        x = b.conv(x, out: 9, kernel: 1, name: "pw")
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flatten")
        x = b.linear(x, out: 5, name: "fc1")
        x = b.linear(x, out: 4, name: "fc2")
        return b.build(outputs: [x])
    }

    static func reasons(_ skipped: [SkippedLayer]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: skipped.map { ($0.name, $0.reason) })
    }

    @Test func defaultSkipsFirstClassifierGroupedAndFactored() throws {
        let g = Self.graph()
        let (layers, skipped) = try LayerSelection.candidates(in: g)
        #expect(layers.map(\.name) == ["conv2", "pw", "fc1"])
        let r = Self.reasons(skipped)
        #expect(Set(r.keys) == ["stem", "dw", "grouped", "factored", "fc2"])
        #expect(r["stem"]?.contains("first layer") == true)
        #expect(r["fc2"]?.contains("classifier") == true)
        #expect(r["dw"]?.contains("depthwise") == true)
        #expect(r["grouped"]?.contains("grouped conv (2 groups)") == true)
        #expect(r["factored"] == "already factored")
        #expect(skipped.first { $0.name == "dw" }?.op == "conv3x3")
        #expect(skipped.first { $0.name == "fc2" }?.op == "linear")
        // What each candidate knows of itself.
        let conv2 = layers[0]
        #expect(conv2.op == "conv3x3" && conv2.geometry.conv?.stride == .square(2))
        #expect(conv2.inputShape.dims == [1, 9, 10, 6] && conv2.outputShape.dims == [1, 5, 5, 6])
        #expect(conv2.params == 6 * 9 * 6 + 6)
        #expect(conv2.macs == 25 * 6 * 9 * 6)
        #expect(layers[2].geometry == .linear && layers[2].positions == 1 && layers[2].op == "linear")
    }

    @Test func includeReplacesTheDefaultSet() throws {
        let g = Self.graph()
        let (layers, skipped) = try LayerSelection.candidates(in: g, include: ["stem", "fc?"])
        #expect(layers.map(\.name) == ["stem", "fc1", "fc2"])
        let r = Self.reasons(skipped)
        #expect(r["conv2"] == "not matched by --include")
        #expect(r["pw"] == "not matched by --include")
        // An include does not override what cannot be decomposed.
        let (_, grouped) = try LayerSelection.candidates(in: g, include: ["grouped", "stem"])
        #expect(Self.reasons(grouped)["grouped"]?.contains("grouped conv") == true)
        #expect(throws: CompressError.self) { try LayerSelection.candidates(in: g, include: ["dw", "factored"]) }
    }

    @Test func excludeRemovesAndGlobsMatch() throws {
        let g = Self.graph()
        let (layers, skipped) = try LayerSelection.candidates(in: g, exclude: ["p*"])
        #expect(layers.map(\.name) == ["conv2", "fc1"])
        #expect(Self.reasons(skipped)["pw"] == "excluded by --exclude")
        // Exclude wins over include.
        let (both, _) = try LayerSelection.candidates(in: g, include: ["*"], exclude: ["fc*", "stem"])
        #expect(both.map(\.name) == ["conv2", "pw"])
        #expect(globMatches("layer?.*.conv1", "layer1.0.conv1"))
        #expect(!globMatches("layer?.*.conv1", "layer10.0.conv1"))
        #expect(globMatches("*", "") && globMatches("a*b*c", "aXbYbc") && !globMatches("a*b", "ab.c"))
    }

    @Test func aPatternMatchingNothingThrows() {
        let g = Self.graph()
        #expect(throws: CompressError.badOption("no node matches 'conv9'")) { try LayerSelection.candidates(in: g, include: ["conv9"]) }
        #expect(throws: CompressError.badOption("no node matches 'x*'")) { try LayerSelection.candidates(in: g, exclude: ["x*"]) }
    }

    @Test func nothingToCompressThrows() {
        // Only a first conv and a classifier.
        var b = GraphBuilder(name: "thin", shape: [1, 9, 10, 3], seed: 1)
        var x = b.conv("input", out: 4, kernel: 3, name: "conv")
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flatten")
        x = b.linear(x, out: 3, name: "fc")
        let thin = b.build(outputs: [x])
        do {
            _ = try LayerSelection.candidates(in: thin)
            Issue.record("expected nothingToCompress")
        } catch {
            guard case .nothingToCompress(let m) = error else { Issue.record("\(error)"); return }
            #expect(m.contains("2 skipped"))
        }
        // Excluding everything, and a graph with no conv or linear at all.
        #expect(throws: CompressError.self) { try LayerSelection.candidates(in: Self.graph(), exclude: ["*"]) }
        var p = GraphBuilder(name: "pool", shape: [1, 4, 4, 2], seed: 1)
        let y = p.globalAvgPool("input", name: "gap")
        #expect(throws: CompressError.nothingToCompress("the graph has no conv or linear layer")) {
            try LayerSelection.candidates(in: p.build(outputs: [y]))
        }
    }

    /// The output of `compress` itself, run again: every factor node is recognised and left alone.
    @Test func alreadyFactoredLayersAreSkippedAfterARun() throws {
        let g = CT.smallNet()
        var options = CompressionOptions(policy: .ratio(2, beta: 1))
        options.method = .tucker2
        let (once, report) = try Compressor(options: options).run(g)
        // Every candidate was factored: the defaults leave nothing.
        #expect(throws: CompressError.self) { try LayerSelection.candidates(in: once) }
        let (layers, skipped) = try LayerSelection.candidates(in: once, include: ["*"])
        #expect(layers.map(\.name) == ["conv1", "fc2"])
        let factorNodes = once.nodes.filter { Decomposition.parse($0.provenance ?? "") != nil }.map(\.name)
        #expect(!factorNodes.isEmpty)
        for name in factorNodes { #expect(Self.reasons(skipped)[name] == "already factored", "\(name)") }
        #expect(Set(layers.map(\.name)).isDisjoint(with: factorNodes))
        // Each decomposed layer is found again as one complete factored form.
        #expect(Set(Decomposition.all(in: once).map(\.source)) == Set(report.layers.filter(\.kept).map(\.name)))
        #expect(Decomposition.all(in: once).allSatisfy { $0.nodes.count == ($0.kind == .svd ? 2 : 3) })
    }

    @Test func provenanceParsing() {
        #expect(Decomposition.parse("tucker2 of conv3, ranks 3/3")! == (.tucker2, "conv3"))
        #expect(Decomposition.parse("branched tucker2 of layer1.0.conv2, ranks 4/4, 2 branches")! == (.tucker2, "layer1.0.conv2"))
        #expect(Decomposition.parse("svd of fc, rank 32")! == (.svd, "fc"))
        #expect(Decomposition.parse("elrt of c (trained)")! == (.tucker2, "c"))
        #expect(Decomposition.parse("imported from ONNX Conv; svd of fc1, rank 2")! == (.svd, "fc1"))
        #expect(Decomposition.parse("imported from ONNX Conv") == nil)
        #expect(Decomposition.parse("merged conv into proj (exact)") == nil)
        #expect(Decomposition.parse("") == nil)
    }
}
