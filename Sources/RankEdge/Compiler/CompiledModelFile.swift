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
/// - the optimised graph (BN folded, chains merged, rank forms chosen), with its weights in their
///   natural layouts, so every .rkg tool can still read it;
/// - one extra F32 tensor per prepared weight (GEMM panels, depthwise filters, rank factor banks,
///   scale/shift), named `rankedge.compiled/<step>/<part>`;
/// - `__metadata__["rankedge.compiled"]`: JSON with the target ISA, the steps (kernel, fused nodes,
///   residual, activation, attributes, the tensors each uses), the rank-form choices with their
///   measured times, and the memory plan for the batch and thread count it was compiled at.
///
/// Loading builds every kernel's weights from the prepared tensors by copying bytes; nothing is
/// repacked or recomputed.
public enum CompiledModelFile {
    public static let version = 1
    public static let metadataKey = RKGFile.compiledMetadataKey

    public static func isCompiled(_ contents: RKGFile.Contents) -> Bool { contents.extraMetadata[metadataKey] != nil }

    // MARK: Writing

    public static func contents(_ model: CompiledModel, plan: (batch: Int, threads: Int, layout: ArenaLayout)?,
                                compileThreads: Int) -> RKGFile.Contents {
        var graph = model.graph
        var ops: [JSONValue] = []
        func store(_ step: Int, _ part: String, _ values: UnsafeBufferPointer<Float>) -> JSONValue {
            let name = graph.freshWeightName("\(metadataKey)/\(step)/\(part)")
            graph.weights[name] = Tensor(shape: [values.count], data: Array(values))
            return .string(name)
        }
        func storeOptional(_ step: Int, _ part: String, _ storage: FloatStorage?) -> JSONValue {
            storage.map { store(step, part, $0.buffer) } ?? .null
        }
        for (i, op) in model.ops.enumerated() {
            var fields: [(String, JSONValue)] = [
                ("name", .string(op.name)), ("nodes", .strings(op.nodes)), ("kernel", .string(op.kernel)),
                ("inputs", .strings(op.inputs)), ("residual", op.residual.map(JSONValue.string) ?? .null),
                ("activation", .string(activationName(op.activation))), ("output", .string(op.output)),
            ]
            func gemmFields(_ w: GEMMConvWeights, _ prefix: String) -> [(String, JSONValue)] {
                [("kh", .int(w.kh)), ("kw", .int(w.kw)), ("cg", .int(w.cg)), ("out", .int(w.outChannels))]
                    + convAttributes(w.attributes)
                    + [("kc", .int((w.packed.first ?? w.tapRows.first ?? w.winograd.first)?.kc ?? 1)),
                       ("packed", .array(w.packed.enumerated().map { store(i, "\(prefix)packed\($0.offset)", $0.element.packedFloats) })),
                       ("tap_rows", .array(w.tapRows.enumerated().map { store(i, "\(prefix)taprow\($0.offset)", $0.element.packedFloats) })),
                       ("winograd", .array(w.winograd.enumerated().map { store(i, "\(prefix)winograd\($0.offset)", $0.element.packedFloats) })),
                       ("winograd_tile", w.winogradTransform.map { .int($0.m) } ?? .null),
                       ("bias", storeOptional(i, "\(prefix)bias", w.bias))]
            }
            switch op.kind {
            case .gemmConv(let w):
                fields += [("kind", .string("gemm"))] + gemmFields(w, "")
            case .tuckerChain(let w):
                fields += [("kind", .string("tucker-chain")),
                           ("first", .object(JSONObject(gemmFields(w.first, "first.")))),
                           ("core", .object(JSONObject(gemmFields(w.core, "core.")))),
                           ("last", .object(JSONObject(gemmFields(w.last, "last."))))]
            case .depthwise(let w):
                fields += [("kind", .string("depthwise")), ("kh", .int(w.kh)), ("kw", .int(w.kw)), ("channels", .int(w.channels))]
                    + convAttributes(w.attributes)
                fields += [("weights", store(i, "weights", w.weights.buffer)), ("bias", storeOptional(i, "bias", w.bias))]
            case .narrowConv(let w):
                fields += [("kind", .string("narrow-direct")), ("kh", .int(w.kh)), ("kw", .int(w.kw)), ("in", .int(w.inChannels)),
                           ("out", .int(w.outChannels))] + convAttributes(w.attributes)
                fields += [("weights", store(i, "weights", w.weights.buffer)), ("bias", storeOptional(i, "bias", w.bias))]
            case .narrowChain(let w):
                let core = w.core
                fields += [("kind", .string("narrow-chain")), ("in", .int(w.inChannels)), ("out", .int(w.outChannels)),
                           ("first", store(i, "first", w.first.buffer)), ("first_bias", storeOptional(i, "first_bias", w.firstBias)),
                           ("last", store(i, "last", w.last.buffer)), ("last_bias", storeOptional(i, "last_bias", w.lastBias)),
                           ("core", .object(JSONObject([("kh", .int(core.kh)), ("kw", .int(core.kw)), ("in", .int(core.inChannels)),
                                                        ("out", .int(core.outChannels))] + convAttributes(core.attributes)
                                                       + [("weights", store(i, "core.weights", core.weights.buffer)),
                                                          ("bias", storeOptional(i, "core.bias", core.bias))])))]
            case .separableRankConv(let w):
                fields += [("kind", .string("separable-rank")), ("out", .int(w.outChannels)), ("in", .int(w.inChannels)),
                           ("rank", .int(w.rank)), ("k", .int(w.k)),
                           ("stride", .ints([w.attributes.stride.h, w.attributes.stride.w])),
                           ("padding", .ints(paddingInts(w.attributes.padding))),
                           ("horizontal", store(i, "horizontal", w.horizontal.buffer)),
                           ("vertical", store(i, "vertical", w.vertical.buffer)), ("bias", storeOptional(i, "bias", w.bias))]
            case .channelAffine(let scale, let shift):
                fields += [("kind", .string("channel-affine")), ("scale", store(i, "scale", scale.buffer)), ("shift", store(i, "shift", shift.buffer))]
            case .maxPool(let a), .avgPool(let a):
                fields += [("kind", .string(op.kernel)), ("kernel_size", .ints([a.kernel.h, a.kernel.w])),
                           ("stride", .ints([a.stride.h, a.stride.w])), ("padding", .ints(paddingInts(a.padding))),
                           ("count_include_pad", .bool(a.countIncludePad))]
            case .globalAvgPool: fields.append(("kind", .string("globalAvgPool")))
            case .add: fields.append(("kind", .string("add")))
            case .activation: fields.append(("kind", .string("activation")))
            case .softmax: fields.append(("kind", .string("softmax")))
            case .concat: fields.append(("kind", .string("concat")))
            case .alias: fields.append(("kind", .string("alias")))
            }
            ops.append(.object(JSONObject(fields)))
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
        return RKGFile.Contents(graph: graph, extraMetadata: [metadataKey: JSONValue.object(JSONObject(top)).serialized])
    }

    static func activationName(_ a: GEMMActivation) -> String {
        switch a { case .none: "none"; case .relu: "relu"; case .relu6: "relu6" }
    }

    static func paddingInts(_ p: Padding) -> [Int] { [p.top, p.left, p.bottom, p.right] }

    static func convAttributes(_ a: Conv2DAttributes) -> [(String, JSONValue)] {
        [("stride", .ints([a.stride.h, a.stride.w])), ("padding", .ints(paddingInts(a.padding))),
         ("dilation", .ints([a.dilation.h, a.dilation.w])), ("groups", .int(a.groups))]
    }

    // MARK: Reading

    /// The compiled model in a file's contents. Fails with `targetUnavailable` on a CPU without the
    /// target's instructions, and with `malformed` on anything this version did not write.
    public static func model(from contents: RKGFile.Contents) throws -> CompiledModel {
        guard let text = contents.extraMetadata[metadataKey] else { throw CompiledModelError.malformed("no '\(metadataKey)' entry") }
        let json: JSONValue
        do { json = try JSONParser.parse(text) } catch { throw CompiledModelError.malformed("\(error)") }
        let reader = Reader(graph: contents.graph)
        guard let top = json.objectValue else { throw CompiledModelError.malformed("the entry is not a JSON object") }
        guard top["version"]?.intValue == version else {
            throw CompiledModelError.malformed("unsupported compiled version \(top["version"]?.serialized ?? "none") (this build reads \(version))")
        }
        guard let targetName = top["target"]?.stringValue, let isa = GEMMISA(rawValue: targetName) else {
            throw CompiledModelError.malformed("missing or unknown target")
        }
        guard isa.isAvailable else {
            throw CompiledModelError.targetUnavailable(target: targetName, available: GEMMISA.available().map(\.rawValue))
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
        try reader.checkSteps(ops)
        var graph = contents.graph
        graph.pruneUnusedWeights()
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

        func fail(_ message: String) -> CompiledModelError { .malformed(message) }

        func array(_ v: JSONValue?, _ what: String) throws -> [JSONValue] {
            guard let a = v?.arrayValue else { throw fail("'\(what)' is not an array") }
            return a
        }
        func int(_ o: JSONObject, _ key: String, _ step: String, min: Int = 0) throws -> Int {
            guard let v = o[key]?.intValue, v >= min, v <= 1 << 30 else { throw fail("step '\(step)': '\(key)' is missing or out of range") }
            return v
        }
        func ints(_ o: JSONObject, _ key: String, _ step: String, count: Int, min: Int) throws -> [Int] {
            guard let v = o[key]?.intArrayValue, v.count == count, v.allSatisfy({ $0 >= min && $0 <= 1 << 20 }) else {
                throw fail("step '\(step)': '\(key)' is not \(count) integers ≥ \(min)")
            }
            return v
        }
        /// A tensor's expected value count from sizes a file gives: refused, not trapped, when it overflows.
        func count(_ factors: Int..., step: String) throws -> Int {
            var total = 1
            for f in factors {
                let (product, overflow) = total.multipliedReportingOverflow(by: f)
                guard !overflow else { throw fail("step '\(step)': sizes \(factors) are too large") }
                total = product
            }
            return total
        }
        func tensor(_ v: JSONValue?, _ step: String, count: Int) throws -> FloatStorage {
            guard let name = v?.stringValue, let t = graph.weights[name] else { throw fail("step '\(step)': a tensor it names is missing") }
            guard t.count == count else { throw fail("step '\(step)': tensor '\(name)' has \(t.count) values, expected \(count)") }
            return FloatStorage(t.data)
        }
        func optionalTensor(_ v: JSONValue?, _ step: String, count: Int) throws -> FloatStorage? {
            if v == nil || v == .null { return nil }
            return try tensor(v, step, count: count)
        }
        func convAttributes(_ o: JSONObject, _ step: String) throws -> Conv2DAttributes {
            let s = try ints(o, "stride", step, count: 2, min: 1), p = try ints(o, "padding", step, count: 4, min: 0)
            let d = try ints(o, "dilation", step, count: 2, min: 1)
            return Conv2DAttributes(stride: Size2(s[0], s[1]), padding: Padding(top: p[0], left: p[1], bottom: p[2], right: p[3]),
                                    dilation: Size2(d[0], d[1]), groups: try int(o, "groups", step, min: 1))
        }

        func op(_ v: JSONValue, index: Int, isa: GEMMISA) throws -> LoweredOp {
            guard let o = v.objectValue, let name = o["name"]?.stringValue, let nodes = o["nodes"]?.stringArrayValue,
                  let inputs = o["inputs"]?.stringArrayValue, !inputs.isEmpty, let output = o["output"]?.stringValue,
                  let kindName = o["kind"]?.stringValue, let act = o["activation"]?.stringValue
            else { throw fail("step \(index) lacks a name, nodes, inputs, output, kind or activation") }
            let activation: GEMMActivation
            switch act {
            case "none": activation = .none
            case "relu": activation = .relu
            case "relu6": activation = .relu6
            default: throw fail("step '\(name)': unknown activation '\(act)'")
            }
            let residual: String?
            switch o["residual"] {
            case nil, .some(.null): residual = nil
            case .some(.string(let r)): residual = r
            default: throw fail("step '\(name)': residual is not a string")
            }
            let kind: LoweredKind
            func narrowWeights(_ o: JSONObject, _ name: String) throws -> NarrowConvWeights {
                let attrs = try convAttributes(o, name)
                let (kh, kw) = (try int(o, "kh", name, min: 1), try int(o, "kw", name, min: 1))
                let (inC, out) = (try int(o, "in", name, min: 1), try int(o, "out", name, min: 1))
                guard attrs.groups == 1, attrs.stride == .square(1), attrs.dilation == .square(1) else {
                    throw fail("step '\(name)': the narrow direct kernel needs groups 1, stride 1, dilation 1")
                }
                return NarrowConvWeights(attributes: attrs, kh: kh, kw: kw, inChannels: inC, outChannels: out,
                                         weights: try tensor(o["weights"], name, count: count(kh, kw, inC, out, step: name)),
                                         bias: try optionalTensor(o["bias"], name, count: out))
            }
            func gemmWeights(_ o: JSONObject) throws -> GEMMConvWeights {
                let attrs = try convAttributes(o, name)
                let (kh, kw, cg, out) = (try int(o, "kh", name, min: 1), try int(o, "kw", name, min: 1), try int(o, "cg", name, min: 1),
                                         try int(o, "out", name, min: 1))
                let kc = try int(o, "kc", name, min: 1)
                guard out % attrs.groups == 0 else { throw fail("step '\(name)': groups do not divide the outputs") }
                let packedNames = try array(o["packed"], "packed")
                let tapNames = o["tap_rows"] == nil ? [] : try array(o["tap_rows"], "tap_rows")
                let winogradNames = o["winograd"] == nil ? [] : try array(o["winograd"], "winograd")
                var packed: [PackedMatrixB] = [], tapRows: [PackedMatrixB] = [], winograd: [PackedMatrixB] = []
                let depth = kh * kw * cg, perGroup = out / attrs.groups
                var transform: WinogradTransform? = nil
                if !winogradNames.isEmpty {
                    // Files from before the 4×4 tile have no winograd_tile: theirs is 2×2.
                    let tile = o["winograd_tile"] == nil || o["winograd_tile"] == .null ? 2 : try int(o, "winograd_tile", name, min: 1)
                    transform = WinogradTransform.forKernel(kh, outputTile: tile)
                    guard let transform, packedNames.isEmpty, tapNames.isEmpty, winogradNames.count == transform.positions,
                          WinogradConv.applies(weight: TensorShape([out, kh, kw, cg]), attributes: attrs) else {
                        throw fail("step '\(name)': a Winograd conv needs a 3×3 or 5×5, stride-1, ungrouped conv, an output tile its kernel has an algorithm for (\(tile)×\(tile) given), and one transformed matrix per tile position")
                    }
                    let count = try PackedMatrixB.packedCount(k: cg, n: out, isa: isa)
                    for p in winogradNames {
                        let storage = try tensor(p, name, count: count)
                        winograd.append(try PackedMatrixB(prepacked: storage.buffer, k: cg, n: out, kc: kc, isa: isa))
                    }
                } else if tapNames.isEmpty {
                    guard packedNames.count == attrs.groups else { throw fail("step '\(name)': \(packedNames.count) packed matrices for \(attrs.groups) groups") }
                    let count = try PackedMatrixB.packedCount(k: depth, n: perGroup, isa: isa)
                    for p in packedNames {
                        let storage = try tensor(p, name, count: count)
                        packed.append(try PackedMatrixB(prepacked: storage.buffer, k: depth, n: perGroup, kc: kc, isa: isa))
                    }
                } else {
                    guard packedNames.isEmpty, tapNames.count == kh, attrs.groups == 1, attrs.stride == .square(1), attrs.dilation == .square(1) else {
                        throw fail("step '\(name)': a shifted-row conv needs one packed tap row per kernel row and stride 1")
                    }
                    let count = try PackedMatrixB.packedCount(k: kw * cg, n: out, isa: isa)
                    for p in tapNames {
                        let storage = try tensor(p, name, count: count)
                        tapRows.append(try PackedMatrixB(prepacked: storage.buffer, k: kw * cg, n: out, kc: kc, isa: isa))
                    }
                }
                return GEMMConvWeights(attributes: attrs, kh: kh, kw: kw, cg: cg, outChannels: out, packed: packed, tapRows: tapRows,
                                       winograd: winograd, winogradTransform: transform, bias: try optionalTensor(o["bias"], name, count: out))
            }
            switch kindName {
            case "gemm":
                kind = .gemmConv(try gemmWeights(o))
            case "tucker-chain":
                guard let first = o["first"]?.objectValue, let core = o["core"]?.objectValue, let last = o["last"]?.objectValue else {
                    throw fail("step '\(name)': a chain needs first, core and last")
                }
                let (a, b, c) = (try gemmWeights(first), try gemmWeights(core), try gemmWeights(last))
                guard a.kh == 1, a.kw == 1, a.groups == 1, c.kh == 1, c.kw == 1, c.groups == 1, a.isPointwise, c.isPointwise,
                      b.cg * b.groups == a.outChannels, c.cg == b.outChannels, b.attributes.dilation == .square(1) else {
                    throw fail("step '\(name)': chain convs do not fit together")
                }
                kind = .tuckerChain(TuckerChainWeights(first: a, core: b, last: c))
            case "depthwise":
                let attrs = try convAttributes(o, name)
                let (kh, kw, c) = (try int(o, "kh", name, min: 1), try int(o, "kw", name, min: 1), try int(o, "channels", name, min: 1))
                kind = .depthwise(DepthwiseWeights(attributes: attrs, kh: kh, kw: kw, channels: c,
                                                   weights: try tensor(o["weights"], name, count: count(kh, kw, c, step: name)),
                                                   bias: try optionalTensor(o["bias"], name, count: c)))
            case "narrow-direct":
                kind = .narrowConv(try narrowWeights(o, name))
            case "narrow-chain":
                guard let coreObject = o["core"]?.objectValue else { throw fail("step '\(name)': a narrow chain needs its core") }
                let core = try narrowWeights(coreObject, name)
                let (inC, out) = (try int(o, "in", name, min: 1), try int(o, "out", name, min: 1))
                kind = .narrowChain(NarrowChainWeights(
                    inChannels: inC, outChannels: out,
                    first: try tensor(o["first"], name, count: count(core.inChannels, inC, step: name)),
                    firstBias: try optionalTensor(o["first_bias"], name, count: core.inChannels), core: core,
                    last: try tensor(o["last"], name, count: count(core.outChannels, NarrowChainWeights.padded(out), step: name)),
                    lastBias: try optionalTensor(o["last_bias"], name, count: NarrowChainWeights.padded(out))))
            case "separable-rank":
                let s = try ints(o, "stride", name, count: 2, min: 1), p = try ints(o, "padding", name, count: 4, min: 0)
                let attrs = RankConv2DAttributes(stride: Size2(s[0], s[1]), padding: Padding(top: p[0], left: p[1], bottom: p[2], right: p[3]))
                let (out, inC, rank, k) = (try int(o, "out", name, min: 1), try int(o, "in", name, min: 1), try int(o, "rank", name, min: 1),
                                           try int(o, "k", name, min: 1))
                let sp = (out + 7) / 8 * 8
                kind = .separableRankConv(SeparableRankWeights(
                    attributes: attrs, outChannels: out, inChannels: inC, rank: rank, k: k,
                    horizontal: try tensor(o["horizontal"], name, count: count(inC, k, rank, sp, step: name)),
                    vertical: try tensor(o["vertical"], name, count: count(inC, rank, k, sp, step: name)),
                    bias: try optionalTensor(o["bias"], name, count: out)))
            case "channel-affine":
                guard let scaleName = o["scale"]?.stringValue, let t = graph.weights[scaleName] else { throw fail("step '\(name)': scale missing") }
                kind = .channelAffine(scale: try tensor(o["scale"], name, count: t.count), shift: try tensor(o["shift"], name, count: t.count))
            case "maxPool", "avgPool":
                let k = try ints(o, "kernel_size", name, count: 2, min: 1), s = try ints(o, "stride", name, count: 2, min: 1)
                let p = try ints(o, "padding", name, count: 4, min: 0)
                guard let include = o["count_include_pad"]?.boolValue else { throw fail("step '\(name)': count_include_pad missing") }
                let attrs = PoolAttributes(kernel: Size2(k[0], k[1]), stride: Size2(s[0], s[1]),
                                           padding: Padding(top: p[0], left: p[1], bottom: p[2], right: p[3]), countIncludePad: include)
                kind = kindName == "maxPool" ? .maxPool(attrs) : .avgPool(attrs)
            case "globalAvgPool": kind = .globalAvgPool
            case "add": kind = .add
            case "activation": kind = .activation
            case "softmax": kind = .softmax
            case "concat": kind = .concat
            case "alias": kind = .alias
            default: throw fail("step '\(name)': unknown kind '\(kindName)'")
            }
            return LoweredOp(name: name, nodes: nodes, kind: kind, inputs: inputs, residual: residual, activation: activation, output: output)
        }

        /// Steps must read only tensors that exist when they run and agree with the graph's shapes.
        func checkSteps(_ ops: [LoweredOp]) throws {
            let shapes: [String: TensorShape]
            do { shapes = try graph.inferShapes() } catch { throw fail("\(error)") }
            var available = Set(graph.inputs.map(\.name))
            for op in ops {
                for t in op.inputs + (op.residual.map { [$0] } ?? []) where !available.contains(t) {
                    throw fail("step '\(op.name)' reads '\(t)' before any step writes it")
                }
                guard let out = shapes[op.output] else { throw fail("step '\(op.name)' writes '\(op.output)', which the graph does not have") }
                guard op.inputs.allSatisfy({ shapes[$0] != nil }) else { throw fail("step '\(op.name)' reads a tensor the graph does not have") }
                let input = shapes[op.inputs[0]]!
                if let r = op.residual, shapes[r] != out { throw fail("step '\(op.name)': residual shape differs from the output") }
                switch op.kind {
                case .gemmConv(let w):
                    let c = input.rank == 2 ? input[1] : input[3]
                    guard input.rank == 4 || input.rank == 2, c == w.cg * w.groups, out.dims.last == w.outChannels else {
                        throw fail("step '\(op.name)': weights do not match input \(input) / output \(out)")
                    }
                    if input.rank == 4 {
                        let expected = try Graph.outputShape(op: .conv2d(w.attributes), inputs: [input],
                                                             weights: [TensorShape([w.outChannels, w.kh, w.kw, w.cg])]).get()
                        guard expected == out else { throw fail("step '\(op.name)': attributes give \(expected), graph has \(out)") }
                    }
                case .tuckerChain(let w):
                    guard input.rank == 4 else { throw fail("step '\(op.name)': a chain needs an NHWC input, got \(input)") }
                    let core = try? Graph.outputShape(op: .conv2d(w.core.attributes), inputs: [TensorShape([input[0], input[1], input[2], w.first.outChannels])],
                                                      weights: [TensorShape([w.core.outChannels, w.core.kh, w.core.kw, w.core.cg])]).get()
                    guard input[3] == w.first.cg, let core,
                          out == TensorShape([core[0], core[1], core[2], w.last.outChannels]) else {
                        throw fail("step '\(op.name)': chain weights do not match input \(input) / output \(out)")
                    }
                case .depthwise(let w):
                    guard input.rank == 4, input[3] == w.channels, out == (try? Graph.outputShape(op: .conv2d(w.attributes), inputs: [input],
                        weights: [TensorShape([w.channels, w.kh, w.kw, 1])]).get()) else {
                        throw fail("step '\(op.name)': depthwise weights do not match input \(input) / output \(out)")
                    }
                case .narrowConv(let w):
                    guard input.rank == 4, input[3] == w.inChannels, out == (try? Graph.outputShape(op: .conv2d(w.attributes), inputs: [input],
                        weights: [TensorShape([w.outChannels, w.kh, w.kw, w.inChannels])]).get()), out[2] >= 1 else {
                        throw fail("step '\(op.name)': narrow conv weights do not match input \(input) / output \(out)")
                    }
                case .narrowChain(let w):
                    let core = w.core
                    guard input.rank == 4, input[3] == w.inChannels,
                          let coreOut = try? Graph.outputShape(op: .conv2d(core.attributes),
                                                               inputs: [TensorShape([input[0], input[1], input[2], core.inChannels])],
                                                               weights: [TensorShape([core.outChannels, core.kh, core.kw, core.inChannels])]).get(),
                          out == TensorShape([coreOut[0], coreOut[1], coreOut[2], w.outChannels]), out[2] >= 1 else {
                        throw fail("step '\(op.name)': narrow chain weights do not match input \(input) / output \(out)")
                    }
                case .separableRankConv(let w):
                    let factor = TensorShape([w.outChannels, w.inChannels, w.rank, w.k])
                    guard input.rank == 4, out == (try? Graph.outputShape(op: .rankConv2d(w.attributes), inputs: [input], weights: [factor, factor]).get()) else {
                        throw fail("step '\(op.name)': rank factors do not match input \(input) / output \(out)")
                    }
                case .channelAffine(let scale, _):
                    guard input == out, input.dims.last == scale.count else { throw fail("step '\(op.name)': scale does not match \(input)") }
                case .maxPool(let a), .avgPool(let a):
                    guard input.rank == 4, out == (try? Graph.outputShape(op: .maxPool(a), inputs: [input], weights: []).get()) else {
                        throw fail("step '\(op.name)': pool attributes do not match")
                    }
                case .globalAvgPool:
                    guard input.rank == 4, out == TensorShape([input[0], 1, 1, input[3]]) else { throw fail("step '\(op.name)': shapes do not match") }
                case .add:
                    guard op.inputs.count == 2, shapes[op.inputs[1]] == input, input == out else { throw fail("step '\(op.name)': add shapes differ") }
                case .activation, .softmax:
                    guard input == out else { throw fail("step '\(op.name)': shapes differ") }
                case .alias:
                    guard input.elementCount == out.elementCount else { throw fail("step '\(op.name)': alias changes the size") }
                case .concat:
                    guard out.rank >= 1, op.inputs.compactMap({ shapes[$0]?.dims.last }).reduce(0, +) == out.dims.last,
                          op.inputs.allSatisfy({ shapes[$0]!.elementCount / max(shapes[$0]!.dims.last!, 1) == out.elementCount / max(out.dims.last!, 1) })
                    else { throw fail("step '\(op.name)': concat shapes do not add up") }
                }
                available.insert(op.output)
            }
            for o in graph.outputs where !available.contains(o) { throw fail("no step writes graph output '\(o)'") }
        }
    }
}
