import RankEdge

/// How an ONNX tensor's elements sit in the RankEdge tensor that holds it.
enum ValueLayout: Equatable, Sendable {
    /// 4-D: [N, C, H, W] in ONNX, [N, H, W, C] in RankEdge.
    case featureMap
    /// Same shape and element order in both.
    case plain
    /// 2-D [N, F]: RankEdge column j holds ONNX column order[j] (a flattened feature map).
    case reorderedColumns([Int])

    /// `.plain` when the order is the identity, so layouts compare equal when they mean the same.
    static func columns(_ order: [Int]) -> ValueLayout {
        LayoutConversion.isIdentity(order) ? .plain : .reorderedColumns(order)
    }
}

/// What an ONNX tensor name stands for while importing.
enum ImportedValue: Sendable {
    /// A RankEdge activation tensor (by name) and how its elements relate to the ONNX view.
    case activation(String, ValueLayout)
    case constant(ONNXConstant)
}

/// The importer's state: the RankEdge graph under construction and what each ONNX name maps to.
struct ImportContext {
    let onnxNodes: [Onnx_NodeProto]
    /// The RankEdge name of each ONNX node (its own name, or a generated one when it has none).
    let nodeNames: [String]
    let opset: Int64
    /// ONNX node indices that read each tensor name.
    let consumers: [String: [Int]]
    /// The ONNX node index that writes each tensor name.
    let producer: [String: Int]
    let graphOutputs: Set<String>

    var values: [String: ImportedValue] = [:]
    var inputs: [ValueInfo] = []
    var nodes: [Node] = []
    var weights: [String: Tensor] = [:]
    /// ONNX nodes already folded into an earlier one (an Add that became a MatMul's bias).
    var absorbed: Set<Int> = []
    /// Feature maps inside a channel shuffle, seen as [N, g, C/g, H, W] (ImportChannelOps).
    var channelGroups: [String: ChannelGrouping] = [:]
    /// A batch-1 feature map reshaped to 1-D, until a Gather puts it back (dynamo's `as_strided`).
    var flatViews: [String: String] = [:]
    /// One channel of a feature map picked by a Gather, [N, H, W], until its Unsqueeze (ImportChannelOps).
    var pickedChannels: [String: (source: String, channel: Int)] = [:]
    /// Activation names from the ONNX graph, kept out of generated weight names.
    private let reservedTensorNames: Set<String>
    private var shapeCache: (nodeCount: Int, shapes: [String: TensorShape])?

    init(nodes: [Onnx_NodeProto], opset: Int64, graphInputs: [String], graphOutputs: [String],
         initializers: [String] = []) {
        onnxNodes = nodes
        self.opset = opset
        self.graphOutputs = Set(graphOutputs)
        var used = Set<String>()
        var names: [String] = []
        for (i, n) in nodes.enumerated() {
            let base = n.name.isEmpty ? "\(n.opType)_\(i)" : n.name
            var name = base
            var k = 1
            while used.contains(name) { name = "\(base)_\(k)"; k += 1 }
            used.insert(name)
            names.append(name)
        }
        nodeNames = names
        var consumers: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() {
            for input in n.input where !input.isEmpty { consumers[input, default: []].append(i) }
        }
        self.consumers = consumers
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            for output in n.output where !output.isEmpty { producer[output] = i }
        }
        self.producer = producer
        // Initializer names too: a weight that keeps its ONNX name never meets a generated one.
        reservedTensorNames = Set(graphInputs).union(nodes.flatMap(\.output)).union(initializers)
    }

    // MARK: reading inputs

    /// The activation an ONNX node reads; a constant or an undefined name is an error naming both.
    func activation(_ name: String, node: Int) throws(ONNXImportError) -> (name: String, layout: ValueLayout) {
        switch values[name] {
        case .activation(let n, let layout)?: return (n, layout)
        case .constant?:
            throw unsupportedUse(node, "input '\(name)' is a constant where RankEdge expects an activation")
        case nil:
            if flatViews[name] != nil {
                throw unsupportedUse(node, "input '\(name)' is a feature map reshaped to 1-D; only a Gather that restores its shape may read it")
            }
            if pickedChannels[name] != nil {
                throw unsupportedUse(node, "input '\(name)' is one channel picked by a Gather; only an Unsqueeze at axis 1 may read it")
            }
            if channelGroups[name] != nil {
                throw unsupportedUse(node, "input '\(name)' is a channel-grouped 5-D view; only a channel shuffle (Reshape, Transpose 0,2,1,3,4, Reshape back) may read it")
            }
            throw ONNXImportError.undefinedInput(node: nodeNames[node], tensor: name)
        }
    }

    /// The constant an ONNX node reads (weights, bias, shape, bound).
    func constant(_ name: String, node: Int) throws(ONNXImportError) -> ONNXConstant {
        switch values[name] {
        case .constant(let c)?: return c
        case .activation?:
            throw unsupportedUse(node, "input '\(name)' must be a constant (an initializer), not computed at run time")
        case nil:
            throw ONNXImportError.missingInitializer(node: nodeNames[node], tensor: name)
        }
    }

    /// Input `i` of an ONNX node, or nil when it is absent or left empty (an omitted optional input).
    func optionalInput(_ node: Int, _ i: Int) -> String? {
        let inputs = onnxNodes[node].input
        return i < inputs.count && !inputs[i].isEmpty ? inputs[i] : nil
    }

    /// Input `i`, required.
    func requiredInput(_ node: Int, _ i: Int) throws(ONNXImportError) -> String {
        guard let name = optionalInput(node, i) else {
            throw ONNXImportError.invalidModel(reason: "node '\(nodeNames[node])' (\(onnxNodes[node].opType)) lacks input \(i)")
        }
        return name
    }

    /// The node's first output; extra outputs (masks, indices, training statistics) must be unused.
    func singleOutput(_ node: Int) throws(ONNXImportError) -> String {
        let outs = onnxNodes[node].output
        guard let first = outs.first, !first.isEmpty else {
            throw ONNXImportError.invalidModel(reason: "node '\(nodeNames[node])' (\(onnxNodes[node].opType)) has no output")
        }
        for extra in outs.dropFirst() where !extra.isEmpty && (consumers[extra] != nil || graphOutputs.contains(extra)) {
            throw unsupportedUse(node, "its extra output '\(extra)' is used, but only the first output exists at inference")
        }
        return first
    }

    func unsupportedUse(_ node: Int, _ reason: String) -> ONNXImportError {
        .unsupportedUse(node: nodeNames[node], opType: onnxNodes[node].opType, reason: reason)
    }

    func attributes(_ node: Int) -> NodeAttributes {
        NodeAttributes(onnxNodes[node], nodeName: nodeNames[node])
    }

    // MARK: building

    /// Adds a weight and returns its name: the ONNX name of the constant it was read from when
    /// there is one (`source`, e.g. PyTorch's `layer1.0.conv1.weight`) and no other weight has it
    /// yet, else a fresh name "<node>.<suffix>". Pass `source` only when the weight holds that
    /// constant's values (up to layout), not values scaled or broadcast from it.
    mutating func addWeight(node: Int, _ suffix: String, _ tensor: Tensor, source: ONNXConstant? = nil) -> String {
        if let keep = source?.name, Self.canKeepWeightName(keep), weights[keep] == nil {
            weights[keep] = tensor
            return keep
        }
        let base = "\(nodeNames[node]).\(suffix)"
        var name = base
        var k = 1
        while weights[name] != nil || reservedTensorNames.contains(name) { name = "\(base)_\(k)"; k += 1 }
        weights[name] = tensor
        return name
    }

    /// A constant's ONNX name can name a RankEdge weight unless it is empty or reserved by the .rkg
    /// format (`__metadata__`, the `rankedge.` prefix). It never equals an activation's name: those
    /// are the names of other ONNX tensors, or generated clear of every ONNX name.
    static func canKeepWeightName(_ name: String) -> Bool {
        !name.isEmpty && name != "__metadata__" && !name.hasPrefix("rankedge.")
    }

    /// A name "<node>.<suffix>" used by no ONNX tensor or node and no RankEdge weight, node or
    /// tensor: for the second RankEdge node (and the tensor between) when one ONNX node becomes two.
    func freshName(node: Int, _ suffix: String) -> String {
        let base = "\(nodeNames[node]).\(suffix)"
        var name = base
        var k = 1
        while weights[name] != nil || reservedTensorNames.contains(name) || values[name] != nil
            || nodeNames.contains(name) || nodes.contains(where: { $0.name == name || $0.outputs.contains(name) }) {
            name = "\(base)_\(k)"; k += 1
        }
        return name
    }

    /// Appends a RankEdge node for ONNX node `node` (named after it unless `name` is given), writing
    /// ONNX tensor `output`.
    mutating func emit(_ op: Op, node: Int, name: String? = nil, inputs: [String], output: String, layout: ValueLayout,
                       provenance: String? = nil) {
        let doc = onnxNodes[node].docString
        let origin = provenance ?? "imported from ONNX \(onnxNodes[node].opType)"
        nodes.append(Node(name: name ?? nodeNames[node], op: op, inputs: inputs, outputs: [output],
                          provenance: doc.isEmpty ? origin : "\(origin); \(doc)"))
        values[output] = .activation(output, layout)
    }

    /// The RankEdge shape of an activation built so far (inferred over the partial graph).
    mutating func shape(of tensor: String) throws(ONNXImportError) -> TensorShape {
        if let cache = shapeCache, cache.nodeCount == nodes.count, let s = cache.shapes[tensor] { return s }
        let partial = Graph(name: "partial", inputs: inputs, outputs: [tensor], nodes: nodes, weights: weights)
        do {
            let shapes = try partial.inferShapes()
            shapeCache = (nodes.count, shapes)
            guard let s = shapes[tensor] else { throw ONNXImportError.invalidGraph("tensor '\(tensor)' has no shape") }
            return s
        } catch let e as GraphValidationError {
            throw ONNXImportError.invalidGraph(e.problems.map(\.description).joined(separator: "; "))
        } catch let e as ONNXImportError {
            throw e
        } catch {
            throw ONNXImportError.invalidGraph("\(error)")
        }
    }
}
