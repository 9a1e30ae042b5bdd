import Testing
@testable import RankEdge

/// One test per way a file can be wrong: each asserts the specific error and that its message
/// names the tensor, node or key at fault.
@Suite struct FormatCorruptionTests {
    typealias F = FormatFixtures
    let good = FormatFixtures.encoded(FormatFixtures.tinyGraph())

    func expectError(_ bytes: [UInt8], _ expected: RKGFormatError, mentions: [String] = [],
                     sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = F.decodeError(bytes, sourceLocation: sourceLocation) else { return }
        #expect(e == expected, sourceLocation: sourceLocation)
        for word in mentions { #expect(e.description.contains(word), "\(e) should mention \(word)", sourceLocation: sourceLocation) }
    }

    /// Decoding fails with an error for which `matches` holds.
    func expectError(_ bytes: [UInt8], mentions: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
                     _ matches: (RKGFormatError) -> Bool) {
        guard let e = F.decodeError(bytes, sourceLocation: sourceLocation) else { return }
        #expect(matches(e), "unexpected error: \(e)", sourceLocation: sourceLocation)
        for word in mentions { #expect(e.description.contains(word), "\(e) should mention \(word)", sourceLocation: sourceLocation) }
    }

    @Test func goodFileDecodes() throws {
        #expect(try RKGFile.decode(good) == F.tinyGraph())
    }

    // MARK: Container

    @Test func fileTooShort() {
        expectError(Array(good.prefix(5)), .fileTooShort(size: 5))
        expectError([], .fileTooShort(size: 0))
    }

    @Test func headerLengthBeyondLimit() {
        var bytes = good
        bytes[5] = 1  // 2^40 + the real length
        expectError(bytes) { if case .headerTooLarge(_, RKGFile.headerLengthLimit) = $0 { true } else { false } }
    }

    @Test func headerLengthLargerThanFile() {
        var bytes = good
        let length = UInt64(bytes.count)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(i))) }
        expectError(bytes, .headerLengthExceedsFile(length: length, available: bytes.count - 8))
    }

    @Test func headerNotUTF8() {
        expectError(F.container(headerBytes: [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]), .headerNotUTF8)
    }

    @Test func headerNotJSON() {
        expectError(F.container(headerText: "{\"w\": {\"dtype\": \"F32\","), mentions: ["not valid JSON"]) {
            if case .headerNotJSON = $0 { true } else { false }
        }
        // Duplicate keys are refused: two readers could pick different ones.
        let dup = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
        expectError(F.container(headerText: dup, buffer: [0, 0, 0, 0]), mentions: ["duplicate key \"w\""]) {
            if case .headerNotJSON = $0 { true } else { false }
        }
    }

    @Test func headerNotObject() {
        expectError(F.container(headerText: "[1, 2]"), .headerNotObject(found: "an array"))
    }

    @Test func badTensorEntries() {
        let cases: [(String, (inout JSONObject) -> Void)] = [
            ("missing field 'dtype'", { $0 = F.replacing($0, "dtype", with: nil) }),
            ("missing field 'shape'", { $0 = F.replacing($0, "shape", with: nil) }),
            ("field 'shape' must be", { $0 = F.replacing($0, "shape", with: .ints([3, -3, 3, -2])) }),
            ("field 'shape' must be", { $0 = F.replacing($0, "shape", with: .array([.number("1.5")])) }),
            ("field 'data_offsets' must be", { $0 = F.replacing($0, "data_offsets", with: .ints([0, 4, 8])) }),
            ("field 'dtype' must be a string", { $0 = F.replacing($0, "dtype", with: .int(32)) }),
            ("unknown field 'extra'", { $0 = F.replacing($0, "extra", with: .null) }),
        ]
        for (reason, edit) in cases {
            expectError(F.editingTensor(good, "c1.weight", edit), mentions: ["c1.weight", reason]) {
                if case .badTensorEntry("c1.weight", _) = $0 { true } else { false }
            }
        }
        expectError(F.editingHeader(good) { $0 = F.replacing($0, "fc.bias", with: .int(1)) }, mentions: ["fc.bias"]) {
            if case .badTensorEntry("fc.bias", _) = $0 { true } else { false }
        }
    }

    @Test func badMetadata() {
        let bytes = F.editingHeader(good) { $0 = F.replacing($0, "__metadata__", with: .object(JSONObject([("rankedge.graph", .int(5))]))) }
        expectError(bytes, mentions: ["rankedge.graph"]) { if case .badMetadata = $0 { true } else { false } }
    }

    @Test func unknownDtype() {
        expectError(F.editingTensor(good, "bn.bias") { $0 = F.replacing($0, "dtype", with: .string("F33")) },
                    .unknownDtype(tensor: "bn.bias", dtype: "F33"), mentions: ["bn.bias", "F33"])
    }

    @Test func knownButUnsupportedDtype() {
        for dtype in ["F16", "BF16", "I32", "F64", "BOOL"] {
            expectError(F.editingTensor(good, "bn.bias") { $0 = F.replacing($0, "dtype", with: .string(dtype)) },
                        .unsupportedDtype(tensor: "bn.bias", dtype: dtype), mentions: ["bn.bias", dtype])
        }
    }

    @Test func shapeOverflow() {
        let shape = [1 << 40, 1 << 40, 0]
        expectError(F.editingTensor(good, "c1.bias") { $0 = F.replacing($0, "shape", with: .ints(shape)) },
                    .shapeOverflow(tensor: "c1.bias", shape: shape), mentions: ["c1.bias"])
    }

    @Test func shapeTimesDtypeSizeDisagreesWithByteRange() {
        let (header, _) = F.split(good)
        let offsets = header["c1.weight"]!.objectValue!["data_offsets"]!.intArrayValue!
        expectError(F.editingTensor(good, "c1.weight") { $0 = F.replacing($0, "shape", with: .ints([3, 3, 3, 1])) },
                    .tensorSizeMismatch(tensor: "c1.weight", shape: [3, 3, 3, 1], expectedBytes: 108, actualBytes: offsets[1] - offsets[0]),
                    mentions: ["c1.weight"])
    }

    @Test func offsetsBeginAfterEnd() {
        expectError(F.editingTensor(good, "fc.bias") { $0 = F.replacing($0, "data_offsets", with: .ints([8, 0])) },
                    .invalidOffsets(tensor: "fc.bias", begin: 8, end: 0), mentions: ["fc.bias"])
    }

    @Test func offsetsPastTheBuffer() {
        let (_, buffer) = F.split(good)
        expectError(F.editingTensor(good, "fc.bias") { $0 = F.replacing($0, "data_offsets", with: .ints([buffer.count - 4, buffer.count + 4])) },
                    .offsetsOutOfRange(tensor: "fc.bias", end: buffer.count + 4, bufferLength: buffer.count), mentions: ["fc.bias"])
        expectError(F.editingTensor(good, "fc.bias") { $0 = F.replacing($0, "data_offsets", with: .ints([0, Int.max])) },
                    mentions: ["fc.bias"]) { if case .offsetsOutOfRange("fc.bias", _, _) = $0 { true } else { false } }
    }

    /// Tensors in buffer order: (name, begin, end).
    func layout() -> [(String, Int, Int)] {
        let (header, _) = F.split(good)
        return header.entries.compactMap { e in
            guard e.key != "__metadata__", let o = e.value.objectValue?["data_offsets"]?.intArrayValue else { return nil }
            return (e.key, o[0], o[1])
        }.sorted { $0.1 < $1.1 }
    }

    @Test func overlappingTensors() {
        let l = layout()
        let (name, begin, end) = l[1]
        expectError(F.editingTensor(good, name) { $0 = F.replacing($0, "data_offsets", with: .ints([begin - 4, end - 4])) },
                    .overlappingTensors(first: l[0].0, second: name), mentions: [l[0].0, name])
    }

    @Test func gapBetweenTensors() {
        let l = layout()
        let (last, begin, end) = l[l.count - 1]
        let bytes = F.editingHeader(good, buffer: { $0 + [0, 0, 0, 0] }) { header in
            var entry = header[last]!.objectValue!
            entry = F.replacing(entry, "data_offsets", with: .ints([begin + 4, end + 4]))
            header = F.replacing(header, last, with: .object(entry))
        }
        expectError(bytes, .bufferGap(after: l[l.count - 2].0, before: last, begin: begin, end: begin + 4),
                    mentions: [l[l.count - 2].0, last])
    }

    @Test func trailingBytes() {
        let l = layout()
        expectError(good + [1, 2, 3], .trailingBytes(after: l[l.count - 1].0, count: 3), mentions: [l[l.count - 1].0])
    }

    // MARK: Graph JSON

    @Test func missingGraphMetadata() {
        expectError(F.editingHeader(good) { $0 = F.replacing($0, "__metadata__", with: nil) }, .missingGraphMetadata)
        expectError(F.editingHeader(good) { $0 = F.replacing($0, "__metadata__", with: .object(JSONObject([("other", .string("x"))]))) },
                    .missingGraphMetadata, mentions: ["rankedge.graph"])
    }

    @Test func graphNotJSON() {
        let bytes = F.editingHeader(good) {
            $0 = F.replacing($0, "__metadata__", with: .object(JSONObject([("rankedge.graph", .string("{\"format_version\": 1,"))])))
        }
        expectError(bytes, mentions: ["rankedge.graph"]) { if case .graphNotJSON = $0 { true } else { false } }
    }

    @Test func unsupportedFormatVersion() {
        expectError(F.editingGraph(good) { $0 = F.replacing($0, "format_version", with: .int(2)) },
                    .unsupportedFormatVersion(found: 2, supported: 1), mentions: ["format_version 2"])
        expectError(F.editingGraph(good) { $0 = F.replacing($0, "format_version", with: nil) },
                    .badGraphField(node: nil, field: "format_version", reason: "is missing"))
    }

    @Test func badGraphFields() {
        expectError(F.editingNode(good, "r") { $0 = F.replacing($0, "inputs", with: .int(3)) },
                    .badGraphField(node: "r", field: "inputs", reason: "must be an array of strings"), mentions: ["node 'r'", "inputs"])
        expectError(F.editingNode(good, "pool") { $0 = F.replacing($0, "outputs", with: nil) },
                    .badGraphField(node: "pool", field: "outputs", reason: "is missing"), mentions: ["node 'pool'"])
        expectError(F.editingNode(good, "flat") { $0 = F.replacing($0, "provenence", with: .string("typo")) },
                    mentions: ["node 'flat'", "provenence"]) { if case .badGraphField("flat", "provenence", _) = $0 { true } else { false } }
        expectError(F.editingNode(good, "flat") { $0 = F.replacing($0, "name", with: nil) },
                    .badGraphField(node: nil, field: "nodes[4].name", reason: "is missing"), mentions: ["nodes[4]"])
        expectError(F.editingGraph(good) { $0 = F.replacing($0, "inputs", with: .array([.object(JSONObject([("name", .string("input"))]))])) },
                    .badGraphField(node: nil, field: "inputs[0].shape", reason: "is missing"))
        expectError(F.editingNode(good, "pool") { n in
            n = F.replacing(n, "attributes", with: .object(JSONObject([("kernel", .ints([2])), ("stride", .ints([2, 2]))])))
        }, mentions: ["node 'pool'", "kernel"]) { if case .badGraphField("pool", "attributes.kernel", _) = $0 { true } else { false } }
    }

    @Test func unknownOpKind() {
        expectError(F.editingNode(good, "r") { $0 = F.replacing($0, "op", with: .string("lstm")) },
                    .unknownOpKind(node: "r", kind: "lstm"), mentions: ["node 'r'", "lstm"])
    }

    @Test func missingAttribute() {
        expectError(F.editingNode(good, "bn") { $0 = F.replacing($0, "attributes", with: nil) },
                    .missingAttribute(node: "bn", op: "batchNorm", attribute: "epsilon"), mentions: ["node 'bn'", "epsilon"])
        expectError(F.editingNode(good, "pool") { $0 = F.replacing($0, "attributes", with: .object(JSONObject([("kernel", .ints([2, 2]))]))) },
                    .missingAttribute(node: "pool", op: "maxPool", attribute: "stride"), mentions: ["node 'pool'"])
    }

    @Test func unknownAttribute() {
        expectError(F.editingNode(good, "c1") { n in
            var a = n["attributes"]!.objectValue!
            a = F.replacing(a, "strides", with: .ints([1, 1]))
            n = F.replacing(n, "attributes", with: .object(a))
        }, .unknownAttribute(node: "c1", op: "conv2d", attribute: "strides"), mentions: ["node 'c1'", "strides"])
        expectError(F.editingNode(good, "r") { $0 = F.replacing($0, "attributes", with: .object(JSONObject([("alpha", .int(1))]))) },
                    .unknownAttribute(node: "r", op: "relu", attribute: "alpha"))
    }

    @Test func attributeDefaultsApplyWhenOmitted() throws {
        let bytes = F.editingNode(good, "c1") { $0 = F.replacing($0, "attributes", with: .object(JSONObject([("padding", .ints([1, 1, 1, 1]))]))) }
        let g = try RKGFile.decode(bytes)
        #expect(g == F.tinyGraph())
    }

    // MARK: Graph against the tensor table

    func expectInvalidGraph(_ bytes: [UInt8], node: String, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = F.decodeError(bytes, sourceLocation: sourceLocation) else { return }
        guard case .invalidGraph(let problems) = e else { Issue.record("expected invalidGraph, got \(e)", sourceLocation: sourceLocation); return }
        #expect(problems.contains { $0.node == node }, "\(problems)", sourceLocation: sourceLocation)
        for word in mentions + ["'\(node)'"] {
            #expect(e.description.contains(word), "\(e) should mention \(word)", sourceLocation: sourceLocation)
        }
    }

    @Test func danglingWeightName() {
        expectInvalidGraph(F.editingNode(good, "c1") { $0 = F.replacing($0, "inputs", with: .strings(["input", "c1.weight", "c1.bais"])) },
                           node: "c1", mentions: ["c1.bais"])
    }

    @Test func danglingActivationName() {
        expectInvalidGraph(F.editingNode(good, "fc") { $0 = F.replacing($0, "inputs", with: .strings(["flatt", "fc.weight", "fc.bias"])) },
                           node: "fc", mentions: ["flatt"])
    }

    @Test func weightShapeDisagreesWithOp() {
        // Same byte count, transposed: the container is fine, the linear layer is not.
        let bytes = F.editingTensor(good, "fc.weight") { $0 = F.replacing($0, "shape", with: .ints([12, 2])) }
        expectInvalidGraph(bytes, node: "fc", mentions: ["[12, 2]"])
        let bn = F.editingTensor(good, "bn.running_var") { $0 = F.replacing($0, "shape", with: .ints([1, 3])) }
        expectInvalidGraph(bn, node: "bn", mentions: ["variance"])
    }

    @Test func nodesOutOfOrderOrCyclic() {
        let swapped = F.editingGraph(good) { g in
            var nodes = g["nodes"]!.arrayValue!
            nodes.swapAt(1, 2)
            g = F.replacing(g, "nodes", with: .array(nodes))
        }
        expectInvalidGraph(swapped, node: "r", mentions: ["produced later"])
        let cycle = F.editingNode(good, "c1") { $0 = F.replacing($0, "inputs", with: .strings(["r", "c1.weight", "c1.bias"])) }
        expectInvalidGraph(cycle, node: "c1", mentions: ["cycle"])
    }

    @Test func attributeValuesOutOfRange() {
        let bytes = F.editingNode(good, "c1") { n in
            n = F.replacing(n, "attributes", with: .object(JSONObject([("stride", .ints([0, 1])), ("groups", .int(-2))])))
        }
        expectInvalidGraph(bytes, node: "c1", mentions: ["groups"])
        let dropRate = F.editingNode(good, "bn") { $0 = F.replacing($0, "attributes", with: .object(JSONObject([("epsilon", .number("1e999"))]))) }
        expectInvalidGraph(dropRate, node: "bn", mentions: ["epsilon"])
    }

    /// Extreme integers must become problems, never arithmetic traps in shape inference.
    @Test func hugeAttributesAndShapesDoNotTrap() {
        let huge = Int.max / 2
        let padded = F.editingNode(good, "c1") { n in
            n = F.replacing(n, "attributes", with: .object(JSONObject([("padding", .ints([huge, huge, huge, huge])),
                                                                       ("dilation", .ints([huge, huge]))])))
        }
        expectInvalidGraph(padded, node: "c1", mentions: [])
        let wideInput = F.editingGraph(good) { g in
            g = F.replacing(g, "inputs", with: .array([.object(JSONObject([("name", .string("input")), ("shape", .ints([huge, huge, huge, 2]))]))]))
        }
        guard let e = F.decodeError(wideInput) else { return }
        guard case .invalidGraph = e else { Issue.record("got \(e)"); return }
    }
}
