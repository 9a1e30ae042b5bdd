/// The JSON under `__metadata__["rankedge.graph"]` → Graph (without weights; the caller adds the
/// tensor table and validates the whole). Version 1 is closed: an unknown field is an error, so a
/// typo or a newer writer's addition is never silently ignored.
extension GraphJSON {
    static let topLevelFields: Set<String> = ["format_version", "name", "inputs", "outputs", "nodes", "class_names", "metadata"]
    static let nodeFields: Set<String> = ["name", "op", "inputs", "outputs", "attributes", "provenance"]

    static func decode(_ text: String) throws(RKGFormatError) -> Graph {
        let root: JSONValue
        do { root = try JSONParser.parse(text) } catch { throw .graphNotJSON(reason: error.description) }
        guard let top = root.objectValue else { throw .graphNotJSON(reason: "must be a JSON object, found \(root.typeName)") }
        let fields = FieldReader(node: nil, object: top)

        // The version first: a newer file should say so, not fail on a field this reader lacks.
        let version = try fields.int("format_version")
        guard version == RKGFile.formatVersion else {
            throw .unsupportedFormatVersion(found: version, supported: RKGFile.formatVersion)
        }
        try fields.rejectUnknown(allowed: topLevelFields)
        let name = try fields.string("name")
        var inputs: [ValueInfo] = []
        for (i, item) in try fields.array("inputs").enumerated() {
            guard let o = item.objectValue else {
                throw .badGraphField(node: nil, field: "inputs[\(i)]", reason: "must be an object, found \(item.typeName)")
            }
            let input = FieldReader(node: nil, object: o, prefix: "inputs[\(i)].")
            try input.rejectUnknown(allowed: ["name", "shape"])
            inputs.append(ValueInfo(name: try input.string("name"), shape: TensorShape(try input.ints("shape"))))
        }
        let outputs = try fields.strings("outputs")
        var nodes: [Node] = []
        for (i, item) in try fields.array("nodes").enumerated() {
            nodes.append(try decodeNode(item, index: i))
        }
        let classNames = try fields.optionalStrings("class_names") ?? []
        let metadata = try fields.optionalStringMap("metadata") ?? [:]
        return Graph(name: name, inputs: inputs, outputs: outputs, nodes: nodes, weights: [:],
                     classNames: classNames, metadata: metadata)
    }

    private static func decodeNode(_ value: JSONValue, index: Int) throws(RKGFormatError) -> Node {
        guard let o = value.objectValue else {
            throw .badGraphField(node: nil, field: "nodes[\(index)]", reason: "must be an object, found \(value.typeName)")
        }
        // Until the name is known, errors point at the node's position.
        let name = try FieldReader(node: nil, object: o, prefix: "nodes[\(index)].").string("name")
        let fields = FieldReader(node: name, object: o)
        try fields.rejectUnknown(allowed: nodeFields)
        let kind = try fields.string("op")
        let inputs = try fields.strings("inputs")
        let outputs = try fields.strings("outputs")
        let provenance = try fields.optionalString("provenance")
        let attributes = try fields.optionalObject("attributes") ?? JSONObject()
        let op = try decodeOp(kind: kind, attributes: attributes, node: name)
        return Node(name: name, op: op, inputs: inputs, outputs: outputs, provenance: provenance)
    }

    private static func decodeOp(kind: String, attributes: JSONObject, node: String) throws(RKGFormatError) -> Op {
        var a = AttributeReader(node: node, op: kind, object: attributes)
        let op: Op
        switch kind {
        case "conv2d":
            op = .conv2d(Conv2DAttributes(stride: try a.size2("stride", default: .square(1)),
                                          padding: try a.padding("padding", default: .zero),
                                          dilation: try a.size2("dilation", default: .square(1)),
                                          groups: try a.int("groups", default: 1)))
        case "rankConv2d":
            op = .rankConv2d(RankConv2DAttributes(stride: try a.size2("stride", default: .square(1)),
                                                  padding: try a.padding("padding", default: .zero)))
        case "convTranspose2d":
            op = .convTranspose2d(ConvTranspose2DAttributes(stride: try a.size2("stride", default: .square(1)),
                                                            padding: try a.padding("padding", default: .zero),
                                                            outputPadding: try a.size2("output_padding", default: .square(0))))
        case "maxPool", "avgPool":
            let p = PoolAttributes(kernel: try a.size2("kernel", default: nil),
                                   stride: try a.size2("stride", default: nil),
                                   padding: try a.padding("padding", default: .zero),
                                   countIncludePad: try a.bool("count_include_pad", default: false))
            op = kind == "maxPool" ? .maxPool(p) : .avgPool(p)
        case "batchNorm": op = .batchNorm(epsilon: try a.float("epsilon"))
        case "layerNorm": op = .layerNorm(epsilon: try a.float("epsilon"))
        case "dropout": op = .dropout(rate: try a.float("rate"))
        case "linear": op = .linear
        case "relu": op = .relu
        case "relu6": op = .relu6
        case "globalAvgPool": op = .globalAvgPool
        case "add": op = .add
        case "multiply": op = .multiply
        case "channelAffine": op = .channelAffine
        case "channelShuffle": op = .channelShuffle(groups: try a.int("groups"))
        case "channelSlice": op = .channelSlice(start: try a.int("start"), count: try a.int("count"))
        case "channelMean": op = .channelMean
        case "pad": op = .pad(try a.pad())
        case "resize": op = .resize(try a.resize())
        case "flatten": op = .flatten
        case "softmax": op = .softmax
        case "concat": op = .concat
        case "hardSigmoid": op = .unary(.hardSigmoid(alpha: try a.float("alpha"), beta: try a.float("beta")))
        default:
            guard let f = UnaryFunction.named(kind) else { throw .unknownOpKind(node: node, kind: kind) }
            op = .unary(f)
        }
        try a.rejectUnused()
        return op
    }
}

/// Reads typed fields of one JSON object, naming the node and field in every error.
private struct FieldReader {
    var node: String?
    var object: JSONObject
    var prefix = ""

    private func bad(_ key: String, _ reason: String) -> RKGFormatError {
        .badGraphField(node: node, field: prefix + key, reason: reason)
    }

    private func required(_ key: String) throws(RKGFormatError) -> JSONValue {
        guard let v = object[key] else { throw bad(key, "is missing") }
        return v
    }

    func rejectUnknown(allowed: Set<String>) throws(RKGFormatError) {
        for key in object.keys where !allowed.contains(key) {
            throw bad(key, "is not a field of format version \(RKGFile.formatVersion)")
        }
    }

    func string(_ key: String) throws(RKGFormatError) -> String {
        let v = try required(key)
        guard let s = v.stringValue else { throw bad(key, "must be a string, found \(v.typeName)") }
        return s
    }

    func int(_ key: String) throws(RKGFormatError) -> Int {
        let v = try required(key)
        guard let i = v.intValue else { throw bad(key, "must be an integer, found \(v.typeName)") }
        return i
    }

    func array(_ key: String) throws(RKGFormatError) -> [JSONValue] {
        let v = try required(key)
        guard let a = v.arrayValue else { throw bad(key, "must be an array, found \(v.typeName)") }
        return a
    }

    func strings(_ key: String) throws(RKGFormatError) -> [String] {
        let v = try required(key)
        guard let a = v.stringArrayValue else { throw bad(key, "must be an array of strings") }
        return a
    }

    func ints(_ key: String) throws(RKGFormatError) -> [Int] {
        let v = try required(key)
        guard let a = v.intArrayValue else { throw bad(key, "must be an array of integers") }
        return a
    }

    func optionalString(_ key: String) throws(RKGFormatError) -> String? {
        guard object[key] != nil else { return nil }
        return try string(key)
    }

    func optionalStrings(_ key: String) throws(RKGFormatError) -> [String]? {
        guard object[key] != nil else { return nil }
        return try strings(key)
    }

    func optionalObject(_ key: String) throws(RKGFormatError) -> JSONObject? {
        guard let v = object[key] else { return nil }
        guard let o = v.objectValue else { throw bad(key, "must be an object, found \(v.typeName)") }
        return o
    }

    func optionalStringMap(_ key: String) throws(RKGFormatError) -> [String: String]? {
        guard let o = try optionalObject(key) else { return nil }
        var out: [String: String] = [:]
        for (k, v) in o.entries {
            guard let s = v.stringValue else { throw bad("\(key).\(k)", "must be a string, found \(v.typeName)") }
            out[k] = s
        }
        return out
    }
}

/// Reads an op's attributes: required ones throw `missingAttribute`, optional ones take their
/// documented default, and any attribute left unread is an error.
private struct AttributeReader {
    var node: String
    var op: String
    var object: JSONObject
    private var used: Set<String> = []

    init(node: String, op: String, object: JSONObject) { self.node = node; self.op = op; self.object = object }

    private func bad(_ key: String, _ reason: String) -> RKGFormatError {
        .badGraphField(node: node, field: "attributes.\(key)", reason: reason)
    }

    private mutating func value(_ key: String, required: Bool) throws(RKGFormatError) -> JSONValue? {
        used.insert(key)
        if object[key] == nil && required { throw .missingAttribute(node: node, op: op, attribute: key) }
        return object[key]
    }

    mutating func size2(_ key: String, default d: Size2?) throws(RKGFormatError) -> Size2 {
        guard let v = try value(key, required: d == nil) else { return d! }
        guard let a = v.intArrayValue, a.count == 2 else { throw bad(key, "must be two integers [h, w]") }
        return Size2(a[0], a[1])
    }

    mutating func padding(_ key: String, default d: Padding) throws(RKGFormatError) -> Padding {
        guard let v = try value(key, required: false) else { return d }
        guard let a = v.intArrayValue, a.count == 4 else { throw bad(key, "must be four integers [top, left, bottom, right]") }
        return Padding(top: a[0], left: a[1], bottom: a[2], right: a[3])
    }

    mutating func int(_ key: String, default d: Int) throws(RKGFormatError) -> Int {
        guard let v = try value(key, required: false) else { return d }
        guard let i = v.intValue else { throw bad(key, "must be an integer, found \(v.typeName)") }
        return i
    }

    mutating func int(_ key: String) throws(RKGFormatError) -> Int {
        let v = try value(key, required: true)!
        guard let i = v.intValue else { throw bad(key, "must be an integer, found \(v.typeName)") }
        return i
    }

    mutating func bool(_ key: String, default d: Bool) throws(RKGFormatError) -> Bool {
        guard let v = try value(key, required: false) else { return d }
        guard let b = v.boolValue else { throw bad(key, "must be a boolean, found \(v.typeName)") }
        return b
    }

    mutating func float(_ key: String) throws(RKGFormatError) -> Float {
        let v = try value(key, required: true)!
        guard let f = v.floatValue else { throw bad(key, "must be a number, found \(v.typeName)") }
        return f
    }

    mutating func string(_ key: String) throws(RKGFormatError) -> String {
        let v = try value(key, required: true)!
        guard let s = v.stringValue else { throw bad(key, "must be a string, found \(v.typeName)") }
        return s
    }

    mutating func pad() throws(RKGFormatError) -> PadAttributes {
        let p = try padding("padding", default: .zero)
        switch try string("mode") {
        case "constant": return PadAttributes(padding: p, mode: .constant(try float("value")))
        case "reflect": return PadAttributes(padding: p, mode: .reflect)
        case "edge": return PadAttributes(padding: p, mode: .edge)
        case let other: throw bad("mode", "must be constant, reflect or edge, got '\(other)'")
        }
    }

    mutating func resize() throws(RKGFormatError) -> ResizeAttributes {
        let mode: ResizeMode
        switch try string("mode") {
        case "nearest":
            let r = try string("nearest_mode")
            guard let rounding = NearestRounding(rawValue: r) else { throw bad("nearest_mode", "unknown '\(r)'") }
            mode = .nearest(rounding)
        case "linear": mode = .linear
        case let other: throw bad("mode", "must be nearest or linear, got '\(other)'")
        }
        let c = try string("coordinates")
        guard let coordinates = ResizeCoordinates(rawValue: c) else { throw bad("coordinates", "unknown '\(c)'") }
        let size = try size2("size", default: nil)
        guard let scale = try value("scale", required: true)!.arrayValue?.compactMap({ $0.floatValue }), scale.count == 2 else {
            throw bad("scale", "must be two numbers [h, w]")
        }
        return ResizeAttributes(mode: mode, coordinates: coordinates, size: size, scaleH: scale[0], scaleW: scale[1])
    }

    func rejectUnused() throws(RKGFormatError) {
        for key in object.keys where !used.contains(key) {
            throw .unknownAttribute(node: node, op: op, attribute: key)
        }
    }
}
