/// Why a compiled model could not be loaded.
public enum CompiledModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file was compiled for an instruction set this CPU cannot run.
    case targetUnavailable(target: String, available: [String])
    /// The "rankedge.compiled" entry is not what this version writes.
    case malformed(String)

    public var description: String {
        switch self {
        case .targetUnavailable(let target, let available):
            return "model was compiled for '\(target)', which this CPU cannot run (available: \(available.joined(separator: ", "))); recompile it with `rankedge compile --target \(available.first ?? "scalar")`"
        case .malformed(let message):
            return "invalid compiled model: \(message)"
        }
    }
}

/// The compiled .rkg: the same container as a graph file (docs/FORMAT.md §7), holding
///
/// - the optimised graph (BN folded, chains merged, rank forms chosen), its weights as shapes only
///   (`RKGFile.shapeOnlyWeightsKey`; version 1 stored their values too, which loading ignores), so
///   every .rkg tool reads its structure while the values are stored once;
/// - one extra F32 tensor per prepared weight (GEMM panels, depthwise filters, rank factor banks,
///   scale/shift), named `rankedge.compiled/<step>/<part>`;
/// - `__metadata__["rankedge.compiled"]`: JSON with the target ISA, the steps (kernel, fused nodes,
///   residual, activation, attributes, the tensors each uses), the rank-form choices with their
///   measured times, and the memory plan for the batch and thread count it was compiled at.
///
/// Loading builds every kernel's weights from the prepared tensors by copying bytes; nothing is
/// repacked or recomputed, and the loaded model keeps the graph's shapes, not its weight values.
public enum CompiledModelFile {
    /// Version 2 stores the graph's weights as shapes only; this build reads 1 and 2.
    public static let version = 2
    static let readableVersions = 1...2
    public static let metadataKey = RKGFile.compiledMetadataKey

    public static func isCompiled(_ contents: RKGFile.Contents) -> Bool { contents.extraMetadata[metadataKey] != nil }

    // MARK: Writing

    /// The whole file in memory, the prepared weights copied into the graph's tensor table (for
    /// tests and tools that hold files as bytes; `write` streams the same bytes to a file).
    public static func contents(_ model: CompiledModel, plan: (batch: Int, threads: Int, layout: ArenaLayout)?,
                                compileThreads: Int) -> RKGFile.Contents {
        var (contents, prepared) = parts(model, plan: plan, compileThreads: compileThreads)
        for (name, t) in prepared {
            contents.graph.weights[name] = Tensor(shape: t.shape, data: t.withBuffer { Array($0) })
        }
        return contents
    }

    /// Writes the compiled file, the prepared weights read in place from the model's steps, so
    /// the file's bytes are never all in memory (docs/FORMAT.md §7).
    public static func write(_ model: CompiledModel, plan: (batch: Int, threads: Int, layout: ArenaLayout)?,
                             compileThreads: Int, to path: String) throws(RKGFormatError) {
        let (contents, prepared) = parts(model, plan: plan, compileThreads: compileThreads)
        try withExtendedLifetime(model) { () throws(RKGFormatError) in try RKGFile.write(contents, adding: prepared, to: path) }
    }

    /// The graph (weights as shapes only) with the "rankedge.compiled" entry, and the prepared
    /// tensors it names, borrowed from `model`'s steps.
    static func parts(_ model: CompiledModel, plan: (batch: Int, threads: Int, layout: ArenaLayout)?,
                      compileThreads: Int) -> (RKGFile.Contents, [String: TensorValues]) {
        // The graph's own weights go as shapes only: their values are in the prepared tensors.
        let encoder = KernelEncoder(graph: model.graph.withoutWeightValues())
        var ops: [JSONValue] = []
        for (i, op) in model.ops.enumerated() {
            encoder.step = i
            let fields: [(String, JSONValue)] = [
                ("name", .string(op.name)), ("nodes", .strings(op.nodes)), ("kernel", .string(op.kernel)),
                ("inputs", .strings(op.inputs)), ("residual", op.residual.map(JSONValue.string) ?? .null),
                ("activation", .string(activationName(op.activation))), ("output", .string(op.output)),
                ("kind", .string(op.prepared.fileKind)),
            ]
            ops.append(.object(JSONObject(fields + op.prepared.encode(encoder))))
        }
        let choices: [JSONValue] = model.rankConvChoices.map { c in
            .object(JSONObject([("node", .string(c.node)), ("form", .string(c.form.rawValue)),
                                ("dense_ms", c.denseMs.map { .float(Float($0)) } ?? .null),
                                ("separable_ms", c.separableMs.map { .float(Float($0)) } ?? .null)]))
        }
        var top: [(String, JSONValue)] = [
            ("version", .int(version)), ("target", .string(model.isa.rawValue)),
            ("compile_threads", .int(compileThreads)), ("rank_conv_choices", .array(choices)), ("steps", .array(ops)),
        ]
        if let plan {
            top.append(("plan", .object(JSONObject([
                ("batch", .int(plan.batch)), ("threads", .int(plan.threads)),
                ("arena_floats", .int(plan.layout.arenaFloats)), ("lower_bound_floats", .int(plan.layout.lowerBoundFloats)),
                ("offsets", .ints(plan.layout.offsets)),
            ]))))
        }
        return (RKGFile.Contents(graph: encoder.graph, extraMetadata: [metadataKey: JSONValue.object(JSONObject(top)).serialized]),
                encoder.stored)
    }

    /// "none", "relu", "relu6", a function's name, or "hardSigmoid:ALPHA:BETA" (floats printed so
    /// they read back exactly).
    static func activationName(_ a: GEMMActivation) -> String {
        switch a {
        case .none: "none"
        case .relu: "relu"
        case .relu6: "relu6"
        case .function(.hardSigmoid(let alpha, let beta)): "hardSigmoid:\(alpha):\(beta)"
        case .function(let f): f.name
        }
    }

    /// The activation `activationName` wrote, nil for anything else.
    static func activation(named name: String) -> GEMMActivation? {
        switch name {
        case "none": return GEMMActivation.none
        case "relu": return .relu
        case "relu6": return .relu6
        default:
            if let f = UnaryFunction.named(name) { return .function(f) }
            let parts = name.splitUTF8(":")
            guard parts.count == 3, parts[0] == "hardSigmoid", let alpha = Float(parts[1]), let beta = Float(parts[2]),
                  alpha.isFinite, beta.isFinite else { return nil }
            return .function(.hardSigmoid(alpha: alpha, beta: beta))
        }
    }

    // MARK: Reading

    /// The compiled model in a file's contents. Fails with `targetUnavailable` on a CPU without the
    /// target's instructions, and with `malformed` on anything this version did not write.
    /// Pass the contents with `consume` to free each prepared tensor as its step copies it.
    public static func model(from contents: consuming RKGFile.Contents) throws(CompiledModelError) -> CompiledModel {
        guard let text = contents.extraMetadata[metadataKey] else { throw CompiledModelError.malformed("no '\(metadataKey)' entry") }
        let json: JSONValue
        do { json = try JSONParser.parse(text) } catch { throw CompiledModelError.malformed("\(error)") }
        // The prepared tensors move to the reader; the graph keeps its own weights' shapes.
        let prefix = metadataKey + "/"
        var prepared: [String: Tensor] = [:]
        for name in contents.graph.weights.keys where name.hasPrefix(prefix) { prepared[name] = contents.graph.weights.removeValue(forKey: name) }
        contents.graph = contents.graph.withoutWeightValues()
        let reader = Reader(graph: contents.graph, prepared: PreparedTensors(prepared))
        prepared = [:]
        guard let top = json.objectValue else { throw CompiledModelError.malformed("the entry is not a JSON object") }
        guard let v = top["version"]?.intValue, readableVersions.contains(v) else {
            throw CompiledModelError.malformed("unsupported compiled version \(top["version"]?.serialized ?? "none") (this build reads \(readableVersions.lowerBound)–\(readableVersions.upperBound))")
        }
        guard let targetName = top["target"]?.stringValue, let isa = GEMMISA(rawValue: targetName) else {
            throw CompiledModelError.malformed("missing or unknown target")
        }
        guard isa.isAvailable else {
            throw CompiledModelError.targetUnavailable(target: targetName, available: GEMMISA.available().map { $0.rawValue })
        }
        let steps = try reader.array(top["steps"], "steps")
        var ops: [LoweredOp] = []
        for (i, step) in steps.enumerated() {
            ops.append(try reader.op(step, index: i, isa: isa))
        }
        var choices: [RankConvChoice] = []
        for c in try reader.array(top["rank_conv_choices"], "rank_conv_choices") {
            guard let o = c.objectValue, let node = o["node"]?.stringValue, let form = o["form"]?.stringValue.flatMap(RankConvForm.init) else {
                throw CompiledModelError.malformed("bad rank_conv_choices entry")
            }
            choices.append(RankConvChoice(node: node, form: form, denseMs: o["dense_ms"]?.floatValue.map(Double.init),
                                          separableMs: o["separable_ms"]?.floatValue.map(Double.init)))
        }
        try reader.checkSteps(ops, isa: isa)
        var graph = contents.graph
        graph.pruneUnusedWeights()
        // The steps now hold their weights: the model keeps the graph's shapes, not its values.
        let model = CompiledModel(graph: graph, ops: ops, isa: isa, rankConvChoices: choices)
        if let plan = top["plan"]?.objectValue, let batch = plan["batch"]?.intValue, let threads = plan["threads"]?.intValue,
           let arena = plan["arena_floats"]?.intValue, let lower = plan["lower_bound_floats"]?.intValue,
           let offsets = plan["offsets"]?.intArrayValue {
            // Checked against the buffers when a session binds the model; an invalid one is replanned.
            model.storedLayout = (batch, threads, ArenaLayout(offsets: offsets, arenaFloats: arena, lowerBoundFloats: lower))
        }
        return model
    }

    /// Reads the step descriptions, checking every field and every tensor it names.
    struct Reader {
        let graph: Graph
        let prepared: PreparedTensors

        func fail(_ message: String) -> CompiledModelError { .malformed(message) }

        func array(_ v: JSONValue?, _ what: String) throws(CompiledModelError) -> [JSONValue] {
            guard let a = v?.arrayValue else { throw fail("'\(what)' is not an array") }
            return a
        }

        func op(_ v: JSONValue, index: Int, isa: GEMMISA) throws(CompiledModelError) -> LoweredOp {
            guard let o = v.objectValue, let name = o["name"]?.stringValue, let nodes = o["nodes"]?.stringArrayValue,
                  let inputs = o["inputs"]?.stringArrayValue, !inputs.isEmpty, let output = o["output"]?.stringValue,
                  let kindName = o["kind"]?.stringValue, let act = o["activation"]?.stringValue
            else { throw fail("step \(index) lacks a name, nodes, inputs, output, kind or activation") }
            guard let activation = activation(named: act) else { throw fail("step '\(name)': unknown activation '\(act)'") }
            let residual: String?
            switch o["residual"] {
            case nil, .some(.null): residual = nil
            case .some(.string(let r)): residual = r
            default: throw fail("step '\(name)': residual is not a string")
            }
            let decoder = KernelDecoder(graph: graph, prepared: prepared, isa: isa, step: name, activation: activation)
            let kernel = try KernelRegistry.decode(o, kind: kindName, decoder)
            return LoweredOp(name: name, nodes: nodes, prepared: kernel, inputs: inputs, residual: residual, activation: activation, output: output)
        }

        /// Steps must read only tensors that exist when they run and agree with the graph's shapes.
        func checkSteps(_ ops: [LoweredOp], isa: GEMMISA) throws(CompiledModelError) {
            let shapes: [String: TensorShape]
            do { shapes = try graph.inferShapes() } catch { throw fail("\(error)") }
            var available = Set(graph.inputs.map { $0.name })
            for op in ops {
                for t in op.inputs + (op.residual.map { [$0] } ?? []) where !available.contains(t) {
                    throw fail("step '\(op.name)' reads '\(t)' before any step writes it")
                }
                guard let out = shapes[op.output] else { throw fail("step '\(op.name)' writes '\(op.output)', which the graph does not have") }
                guard op.inputs.allSatisfy({ shapes[$0] != nil }) else { throw fail("step '\(op.name)' reads a tensor the graph does not have") }
                if let r = op.residual, shapes[r] != out { throw fail("step '\(op.name)': residual shape differs from the output") }
                try op.prepared.check(StepShapes(inputs: op.inputs.map { shapes[$0]! }, output: out),
                                      KernelDecoder(graph: graph, prepared: prepared, isa: isa, step: op.name, activation: op.activation))
                available.insert(op.output)
            }
            for o in graph.outputs where !available.contains(o) { throw fail("no step writes graph output '\(o)'") }
        }
    }
}
