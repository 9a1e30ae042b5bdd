import Testing
@testable import RankEdge
@testable import RankEdgeZoo

@Suite struct FormatRoundTripTests {
    @Test(arguments: [
        MiniVGGOptions(kernel: 5, batchNorm: true, dropout: true),
        MiniVGGOptions(kernel: 3, variant: .rank(2)),
    ])
    func miniVGGRoundTrips(_ options: MiniVGGOptions) throws {
        let g = buildMiniVGG(options)
        let bytes = try RKGFile.encode(g)
        #expect(try RKGFile.decode(bytes) == g)
        #expect(try RKGFile.encode(g) == bytes, "encoding must be deterministic")
    }

    @Test func everyOpRoundTrips() throws {
        let g = FormatFixtures.everyOpGraph()
        let kinds = Set(g.nodes.map(\.op.kind))
        #expect(kinds == ["conv2d", "rankConv2d", "linear", "batchNorm", "relu", "relu6", "maxPool", "avgPool",
                          "globalAvgPool", "add", "flatten", "softmax", "concat", "dropout"])
        let back = try RKGFile.decode(try RKGFile.encode(g))
        #expect(back == g)
        // Equality of Float uses ==; the attribute floats must match bit for bit.
        for (a, b) in zip(g.nodes, back.nodes) {
            switch (a.op, b.op) {
            case (.batchNorm(let x), .batchNorm(let y)), (.dropout(let x), .dropout(let y)):
                #expect(x.bitPattern == y.bitPattern, "node \(a.name)")
            default: break
            }
        }
    }

    @Test func attributeFloatsRoundTripBitExactly() throws {
        var rng = SeededRandom(seed: 3)
        var values: [Float] = [0, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                               1e-5, 0.1, 0.4, 1 / 3]
        while values.count < 5000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if f.isFinite { values.append(f) }
        }
        for v in values {
            let text = JSONValue.float(v).serialized
            let back = try JSONParser.parse(text).floatValue
            #expect(back?.bitPattern == v.bitPattern, "\(v) written as \(text)")
        }
    }

    @Test func layoutIsSafetensorsWithAlignedBuffer() throws {
        let g = FormatFixtures.tinyGraph()
        let bytes = try RKGFile.encode(g)
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        #expect((8 + n) % 8 == 0)
        #expect(bytes[8] == UInt8(ascii: "{"))
        let (header, buffer) = FormatFixtures.split(bytes)
        #expect(header.keys.first == "__metadata__")
        #expect(Array(header.keys.dropFirst()) == g.weights.keys.sorted())
        #expect(buffer.count == g.weights.values.reduce(0) { $0 + 4 * $1.count })
        // The first tensor in name order starts the buffer, little-endian.
        let first = g.weights[g.weights.keys.sorted()[0]]!.data[0].bitPattern
        #expect(Array(buffer[0..<4]) == [UInt8(first & 0xFF), UInt8(first >> 8 & 0xFF), UInt8(first >> 16 & 0xFF), UInt8(first >> 24)])
    }

    @Test func sameGraphGivesSameBytesWhateverTheInsertionOrder() throws {
        var a = FormatFixtures.tinyGraph()
        var b = a
        a.metadata = [:]
        b.metadata = [:]
        let keys = (0..<40).map { "key\($0)" }
        for k in keys { a.metadata[k] = k }
        for k in keys.reversed() { b.metadata[k] = k }
        b.weights = Dictionary(uniqueKeysWithValues: a.weights.sorted { $0.key > $1.key })
        #expect(try RKGFile.encode(a) == RKGFile.encode(b))
    }

    @Test func extraMetadataIsKeptOnReadAndWrittenBack() throws {
        let original = RKGFile.Contents(graph: FormatFixtures.tinyGraph(),
                                        extraMetadata: ["rankedge.compiled": "{\"target\":\"avx2\"}", "format": "pt"])
        let bytes = try RKGFile.encode(original)
        let read = try RKGFile.decodeContents(bytes)
        #expect(read == original)
        #expect(try RKGFile.encode(read) == bytes)
        // A bare graph carries none of them.
        #expect(try RKGFile.decodeContents(RKGFile.encode(read.graph)).extraMetadata.isEmpty)
    }

    @Test func reservedNamesAreRefusedOnWrite() {
        var g = FormatFixtures.tinyGraph()
        #expect(throws: RKGFormatError.reservedName("rankedge.graph")) {
            try RKGFile.encode(RKGFile.Contents(graph: g, extraMetadata: ["rankedge.graph": "{}"]))
        }
        g.weights["__metadata__"] = Tensor(shape: [1], data: [0])
        #expect(throws: RKGFormatError.reservedName("__metadata__")) { try RKGFile.encode(g) }
    }

    @Test func invalidGraphIsRefusedOnEncode() {
        var g = FormatFixtures.tinyGraph()
        g.weights["fc.bias"] = nil
        do {
            _ = try RKGFile.encode(g)
            Issue.record("expected failure")
        } catch {
            guard case .invalidGraph(let problems) = error else { Issue.record("got \(error)"); return }
            #expect(problems.contains { $0.node == "fc" })
        }
    }

    @Test func unreferencedTensorsAreKept() throws {
        var g = FormatFixtures.tinyGraph()
        g.weights["packed.fc"] = Tensor(shape: [3, 0, 2], data: [])
        g.weights["spare"] = Tensor(shape: [2], data: [1.5, -2])
        #expect(try RKGFile.decode(RKGFile.encode(g)) == g)
    }
}
