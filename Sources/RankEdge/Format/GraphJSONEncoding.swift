/// Graph → the JSON stored under `__metadata__["rankedge.graph"]` (docs/FORMAT.md, "Graph JSON").
/// Fields come in a fixed order and maps in sorted order, so one graph always gives the same text.
enum GraphJSON {
    static func encode(_ graph: Graph) throws(RKGFormatError) -> String {
        var top = JSONObject()
        _ = top.insert("format_version", .int(RKGFile.formatVersion))
        _ = top.insert("name", .string(graph.name))
        _ = top.insert("inputs", .array(graph.inputs.map { input in
            .object(JSONObject([("name", .string(input.name)), ("shape", .ints(input.shape.dims))]))
        }))
        _ = top.insert("outputs", .strings(graph.outputs))
        var nodes: [JSONValue] = []
        nodes.reserveCapacity(graph.nodes.count)
        for node in graph.nodes { nodes.append(.object(try encode(node))) }
        _ = top.insert("nodes", .array(nodes))
        _ = top.insert("class_names", .strings(graph.classNames))
        _ = top.insert("metadata", .object(sortedStringMap(graph.metadata)))
        return JSONValue.object(top).serialized
    }

    static func sortedStringMap(_ map: [String: String]) -> JSONObject {
        JSONObject(map.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { ($0, .string(map[$0]!)) })
    }

    private static func encode(_ node: Node) throws(RKGFormatError) -> JSONObject {
        var o = JSONObject()
        _ = o.insert("name", .string(node.name))
        _ = o.insert("op", .string(node.op.kind))
        _ = o.insert("inputs", .strings(node.inputs))
        _ = o.insert("outputs", .strings(node.outputs))
        if let attributes = try attributes(of: node) { _ = o.insert("attributes", .object(attributes)) }
        if let p = node.provenance { _ = o.insert("provenance", .string(p)) }
        return o
    }

    /// Every attribute the op has, defaults included, so a file reads the same without knowing
    /// the defaults; nil for ops without attributes.
    private static func attributes(of node: Node) throws(RKGFormatError) -> JSONObject? {
        func size(_ s: Size2) -> JSONValue { .ints([s.h, s.w]) }
        func padding(_ p: Padding) -> JSONValue { .ints([p.top, p.left, p.bottom, p.right]) }
        func float(_ name: String, _ v: Float) throws(RKGFormatError) -> JSONValue {
            guard v.isFinite else { throw .badGraphField(node: node.name, field: "attributes.\(name)", reason: "must be finite, got \(v)") }
            return .float(v)
        }
        switch node.op {
        case .conv2d(let a):
            return JSONObject([("stride", size(a.stride)), ("padding", padding(a.padding)),
                               ("dilation", size(a.dilation)), ("groups", .int(a.groups))])
        case .rankConv2d(let a):
            return JSONObject([("stride", size(a.stride)), ("padding", padding(a.padding))])
        case .convTranspose2d(let a):
            return JSONObject([("stride", size(a.stride)), ("padding", padding(a.padding)), ("output_padding", size(a.outputPadding))])
        case .maxPool(let a), .avgPool(let a):
            return JSONObject([("kernel", size(a.kernel)), ("stride", size(a.stride)), ("padding", padding(a.padding)),
                               ("count_include_pad", .bool(a.countIncludePad))])
        case .batchNorm(let epsilon), .layerNorm(let epsilon):
            return JSONObject([("epsilon", try float("epsilon", epsilon))])
        case .dropout(let rate):
            return JSONObject([("rate", try float("rate", rate))])
        case .unary(.hardSigmoid(let alpha, let beta)):
            return JSONObject([("alpha", try float("alpha", alpha)), ("beta", try float("beta", beta))])
        case .unary:
            return nil
        case .channelShuffle(let groups):
            return JSONObject([("groups", .int(groups))])
        case .channelSlice(let start, let count):
            return JSONObject([("start", .int(start)), ("count", .int(count))])
        case .pad(let a):
            var fields: [(String, JSONValue)] = [("padding", padding(a.padding)), ("mode", .string(a.mode.name))]
            if case .constant(let v) = a.mode { fields.append(("value", try float("value", v))) }
            return JSONObject(fields)
        case .resize(let a):
            var fields: [(String, JSONValue)] = []
            switch a.mode {
            case .nearest(let r): fields += [("mode", .string("nearest")), ("nearest_mode", .string(r.rawValue))]
            case .linear: fields.append(("mode", .string("linear")))
            }
            fields += [("coordinates", .string(a.coordinates.rawValue)), ("size", size(a.size)),
                       ("scale", .array([try float("scale", a.scaleH), try float("scale", a.scaleW)]))]
            return JSONObject(fields)
        case .linear, .relu, .relu6, .globalAvgPool, .add, .multiply, .channelAffine, .channelMean, .flatten, .softmax, .concat:
            return nil
        }
    }
}
