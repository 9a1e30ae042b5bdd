import Testing
@testable import RankEdge

/// Graphs and byte surgery shared by the format tests.
enum FormatFixtures {
    /// conv → batchNorm → relu → maxPool → flatten → linear: small enough to corrupt by hand.
    static func tinyGraph() -> Graph {
        var b = GraphBuilder(name: "tiny", shape: [1, 4, 4, 2], seed: 7)
        var x = b.conv("input", out: 3, kernel: 3, name: "c1", provenance: "hand-made")
        x = b.batchNorm(x, name: "bn")
        x = b.relu(x, name: "r")
        x = b.maxPool(x, kernel: 2, stride: 2, name: "pool")
        x = b.flatten(x, name: "flat")
        x = b.linear(x, out: 2, name: "fc")
        return b.build(outputs: [x], classNames: ["no", "yes"], metadata: ["purpose": "tests"])
    }

    /// Every op, with non-default attributes wherever an op has them: grouped dilated conv with
    /// asymmetric padding and unequal strides, conv without bias, rank conv, both average-pool
    /// divisor rules, floats that are not short decimals.
    static func everyOpGraph() -> Graph {
        var b = GraphBuilder(name: "every-op ✓", shape: [2, 9, 7, 4], seed: 11)
        b.addWeight("g.weight", Tensor(shape: [6, 3, 3, 2], data: b.rng.uniformArray(count: 108, bound: 0.5)))
        b.addWeight("g.bias", Tensor(shape: [6], data: b.rng.uniformArray(count: 6, bound: 0.1)))
        let grouped = Conv2DAttributes(stride: Size2(1, 2), padding: Padding(top: 1, left: 2, bottom: 3, right: 0),
                                       dilation: Size2(2, 1), groups: 2)
        var x = b.add(.conv2d(grouped), name: "g", inputs: ["input", "g.weight", "g.bias"],
                      provenance: "tucker2 of conv3, ranks 24/24 — \"quoted\"\n\ttabbed \u{1F600}")
        x = b.batchNorm(x, epsilon: Float(bitPattern: 0x3727_C5AD), name: "bn")  // 1e-5 plus one ulp
        x = b.relu6(x, name: "r6")
        x = b.conv(x, out: 5, kernel: 1, bias: false, name: "pw")
        x = b.rankConv(x, out: 4, kernel: 3, rank: 2, name: "rc")
        x = b.relu(x, name: "r")
        let pool = PoolAttributes(kernel: Size2(3, 2), stride: Size2(1, 2), padding: Padding(top: 1, left: 0, bottom: 1, right: 1))
        let m = b.add(.maxPool(pool), name: "mp", inputs: [x])
        var inclusive = pool
        inclusive.countIncludePad = true
        let a1 = b.add(.avgPool(inclusive), name: "ap_incl", inputs: [x])
        let a2 = b.add(.avgPool(pool), name: "ap_excl", inputs: [x])
        let sum = b.addTensors(a1, a2, name: "sum")
        x = b.concat([m, sum], name: "cat")
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flat")
        x = b.dropout(x, rate: 0.123456789, name: "drop")
        x = b.linear(x, out: 3, name: "fc")
        x = b.softmax(x, name: "prob")
        return b.build(outputs: [x], classNames: ["α", "beta", "c \"3\""],
                       metadata: ["recipe": "sgd lr=0.01\nepochs=3", "accuracy": "0.91", "": "empty key"])
    }

    static func encoded(_ graph: Graph) -> [UInt8] {
        do { return try RKGFile.encode(graph) } catch {
            Issue.record("fixture does not encode: \(error)")
            return []
        }
    }

    /// Splits a file into its parsed header and its buffer.
    static func split(_ bytes: [UInt8]) -> (header: JSONObject, buffer: [UInt8]) {
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        let header = try! JSONParser.parse(Array(bytes[8..<(8 + n)])).objectValue!
        return (header, Array(bytes[(8 + n)...]))
    }

    /// A container from header JSON text and a buffer, with no checks.
    static func container(headerText: String, buffer: [UInt8] = []) -> [UInt8] {
        container(headerBytes: Array(headerText.utf8), buffer: buffer)
    }

    static func container(headerBytes: [UInt8], buffer: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(headerBytes.count) >> (8 * UInt64($0))) }
        out += headerBytes
        out += buffer
        return out
    }

    /// The file with its header edited (the buffer kept, or replaced).
    static func editingHeader(_ bytes: [UInt8], buffer newBuffer: (([UInt8]) -> [UInt8])? = nil,
                              _ edit: (inout JSONObject) -> Void) -> [UInt8] {
        var (header, buffer) = split(bytes)
        edit(&header)
        if let newBuffer { buffer = newBuffer(buffer) }
        return container(headerText: JSONValue.object(header).serialized, buffer: buffer)
    }

    /// The file with one tensor entry's fields edited.
    static func editingTensor(_ bytes: [UInt8], _ name: String, _ edit: (inout JSONObject) -> Void) -> [UInt8] {
        editingHeader(bytes) { header in
            var entry = header[name]!.objectValue!
            edit(&entry)
            header = replacing(header, name, with: .object(entry))
        }
    }

    /// The file with the graph JSON edited.
    static func editingGraph(_ bytes: [UInt8], _ edit: (inout JSONObject) -> Void) -> [UInt8] {
        editingHeader(bytes) { header in
            var meta = header["__metadata__"]!.objectValue!
            var graph = try! JSONParser.parse(meta["rankedge.graph"]!.stringValue!).objectValue!
            edit(&graph)
            meta = replacing(meta, "rankedge.graph", with: .string(JSONValue.object(graph).serialized))
            header = replacing(header, "__metadata__", with: .object(meta))
        }
    }

    /// The file with one node of the graph JSON edited.
    static func editingNode(_ bytes: [UInt8], _ name: String, _ edit: (inout JSONObject) -> Void) -> [UInt8] {
        editingGraph(bytes) { graph in
            var nodes = graph["nodes"]!.arrayValue!
            let i = nodes.firstIndex { $0.objectValue?["name"]?.stringValue == name }!
            var node = nodes[i].objectValue!
            edit(&node)
            nodes[i] = .object(node)
            graph = replacing(graph, "nodes", with: .array(nodes))
        }
    }

    /// A copy of the object with one key's value replaced (or added at the end, or removed when nil).
    static func replacing(_ object: JSONObject, _ key: String, with value: JSONValue?) -> JSONObject {
        var pairs = object.entries.map { ($0.key, $0.value) }
        if let i = pairs.firstIndex(where: { $0.0 == key }) {
            if let value { pairs[i].1 = value } else { pairs.remove(at: i) }
        } else if let value {
            pairs.append((key, value))
        }
        return JSONObject(pairs)
    }

    /// The error decoding throws, or nil (with an issue recorded) when it succeeds.
    static func decodeError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> RKGFormatError? {
        do {
            _ = try RKGFile.decode(bytes)
            Issue.record("expected decoding to fail", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}
