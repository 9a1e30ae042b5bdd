/// A graph compiled for one CPU family: the optimised graph, the steps with their weights in the
/// kernels' layouts, and the target ISA. Batch-independent; `InferenceSession` binds it to memory.
public final class CompiledModel: @unchecked Sendable {
    /// The graph after the graph passes (BN folded, chains merged, rank forms chosen); it computes
    /// the same function as the source graph.
    public let graph: Graph
    public let ops: [LoweredOp]
    public let isa: GEMMISA
    public let rankConvChoices: [RankConvChoice]
    /// The convs the Winograd form could take, and which it took (empty for a model read from a
    /// compiled file, whose steps carry their form).
    public let winogradChoices: [WinogradChoice]
    /// What the weight budget changed (nil when none applied, and for a model read from a file).
    public let weightBudget: WeightBudgetReport?
    /// A memory layout read from a compiled file, for the batch and thread count it was planned at.
    var storedLayout: (batch: Int, threads: Int, layout: ArenaLayout)?

    init(graph: Graph, ops: [LoweredOp], isa: GEMMISA, rankConvChoices: [RankConvChoice], winogradChoices: [WinogradChoice] = [],
         weightBudget: WeightBudgetReport? = nil) {
        self.graph = graph; self.ops = ops; self.isa = isa; self.rankConvChoices = rankConvChoices
        self.winogradChoices = winogradChoices; self.weightBudget = weightBudget
    }

    /// Bytes of weights: the graph's (its float32 tensors, counted from their shapes), the part of
    /// those this model still holds (none once `releasingGraphWeights`), and the steps' own prepared
    /// copies (packed panels, Winograd-transformed weights). Resident is held + prepared.
    public var weightBytes: (graph: Int, held: Int, prepared: Int) {
        let held = graph.weights.values.reduce(0) { $0 + $1.data.count } * MemoryLayout<Float>.size
        return (graph.weightBytes, held, Self.preparedBytes(ops, graph: graph))
    }

    /// Bytes of the steps' prepared weights: what their encoders would store.
    static func preparedBytes(_ ops: [LoweredOp], graph: Graph) -> Int {
        let encoder = KernelEncoder(graph: graph, counting: true)
        for (i, op) in ops.enumerated() {
            encoder.step = i
            _ = op.prepared.encode(encoder)
        }
        return encoder.storedFloats * MemoryLayout<Float>.size
    }

    /// The same steps over the graph without its weight values (`Graph.withoutWeightValues`): every
    /// step holds its own prepared weights, so a session needs the graph only for shapes and names.
    /// (`compile` already returns such a model; this is for models lowered with their values kept.)
    public func releasingGraphWeights() -> CompiledModel {
        let model = CompiledModel(graph: graph.withoutWeightValues(), ops: ops, isa: isa, rankConvChoices: rankConvChoices,
                                  winogradChoices: winogradChoices, weightBudget: weightBudget)
        model.storedLayout = storedLayout
        return model
    }

    /// Multiply-accumulates per inference at `batch`, by the optimised graph's own forms (a
    /// separable rank conv counts 2·L·k per pair, a reconstructed one k²).
    public func macs(batch: Int) throws(GraphValidationError) -> [String: Int] {
        let shapes = try graph.inferShapes(batch: batch)
        var out: [String: Int] = [:]
        for node in graph.nodes {
            var m = graph.macs(of: node, outputShape: shapes[node.outputs[0]]!)
            if case .rankConv2d = node.op, let a = graph.weights[node.inputs[1]] {
                m = shapes[node.outputs[0]]!.elementCount * a.shape[1] * 2 * a.shape[2] * a.shape[3]
            }
            out[node.name] = m
        }
        return out
    }
}

/// The compile pipeline: graph passes (remove identities, fold batch norm, merge linear chains,
/// precompute rank convs), then epilogue fusion and weight prepacking. Memory planning happens
/// when a session binds the model to a batch size.
public enum GraphCompiler {
    /// The model's graph keeps its weights' shapes only: each weight's values are dropped as soon
    /// as its step holds the prepared copy. Pass the graph with `consume` to let the passes fold
    /// weights in place, so the source and the optimised weights are not both held whole.
    public static func compile(_ graph: consuming Graph, options: CompileOptions = CompileOptions()) throws(RuntimeError) -> CompiledModel {
        try lift { () throws(GraphValidationError) in try graph.validate() }
        try lift { () throws(ExecutionError) in try checkMemory(graph, options: options) }
        let isa = try lift { () throws(GEMMError) in try GEMMISA.resolve(options.isa) }
        let graphBytes = graph.weightBytes
        var (optimized, choices) = try optimize(consume graph, options: options, isa: isa)
        let groups = EpilogueFusion.groups(optimized, fuseChains: options.fuseChains)
        var (winograd, winogradChoices) = try ConvFormSelector.chooseWinograd(optimized, groups: groups, policy: options.winograd, batch: options.batch,
                                                                    threads: options.threads, isa: isa, cache: options.measurementCache)
        let bound = options.weightBudget.bound(graphBytes: graphBytes, policy: options.winograd)
        let shapes = try lift { () throws(GraphValidationError) in try optimized.inferShapes() }
        var readers = Lowering.readers(optimized, groups: groups)
        var ops = [LoweredOp?](repeating: nil, count: groups.count)
        // Under a budget the Winograd convs are lowered last, in the forms the budget leaves them:
        // the other steps' prepared bytes are known by then, theirs estimated from their shapes.
        let deferred = bound == nil ? [] : groups.indices.filter { winograd[optimized.nodes[groups[$0].leader].name] != nil }
        let deferredSet = Set(deferred)
        let first = groups.indices.filter { !deferredSet.contains($0) }
        for (i, op) in try lift({ () throws(ExecutionError) in
            try Lowering.lower(releasing: &optimized, groups: groups, indices: first, readers: &readers, shapes: shapes, isa: isa, winograd: winograd)
        }) { ops[i] = op }
        var report: WeightBudgetReport?
        var changes: [WeightBudgetChange] = []
        var estimated = 0
        if let bound {
            let fixed = CompiledModel.preparedBytes(ops.compactMap { $0 }, graph: optimized)
            let weights = winogradChoices.compactMap { c in optimized.node(named: c.node).flatMap { optimized.weights[$0.inputs[1]] }.map { (c.node, $0.shape) } }
            let nr = (try? PackedMatrixB.packedCount(k: 1, n: 1, isa: isa)) ?? 1
            // Each form stores (values per channel pair) × input channels × output channels padded to the panel width.
            let pairs = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, $0.1[3] * (($0.1[0] + nr - 1) / nr) * nr) })
            let kernels = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, $0.1[1]) })
            let current = winogradChoices.reduce(0) { sum, c in
                guard let t = c.transform, let p = pairs[c.node], let node = optimized.node(named: c.node) else { return sum }
                let bias = node.inputs.count > 2 ? optimized.weights[node.inputs[2]]?.shape.elementCount ?? 0 : 0
                return sum + (t.positions * p + bias) * MemoryLayout<Float>.size
            }
            estimated = fixed + current
            if estimated > bound {
                (winogradChoices, changes) = WeightBudgetFit.shrink(winogradChoices, excess: estimated - bound, pairs: pairs, kernels: kernels)
                winograd = Dictionary(uniqueKeysWithValues: winogradChoices.compactMap { c in c.transform.map { (c.node, $0) } })
            }
        }
        for (i, op) in try lift({ () throws(ExecutionError) in
            try Lowering.lower(releasing: &optimized, groups: groups, indices: deferred, readers: &readers, shapes: shapes, isa: isa, winograd: winograd)
        }) { ops[i] = op }
        let lowered = ops.map { $0! }
        if let bound {
            report = WeightBudgetReport(budgetBytes: bound, graphBytes: graphBytes, unconstrainedBytes: estimated,
                                        preparedBytes: CompiledModel.preparedBytes(lowered, graph: optimized), changes: changes)
        }
        return CompiledModel(graph: optimized.withoutWeightValues(), ops: lowered, isa: isa, rankConvChoices: choices,
                             winogradChoices: winogradChoices, weightBudget: report)
    }

    /// The layer timings run a layer at the compile batch with its input and output allocated: the
    /// largest activation plus the weights is the least that takes, so above the bound the compile
    /// stops here instead of failing an allocation mid-measurement.
    static func checkMemory(_ graph: Graph, options: CompileOptions) throws(ExecutionError) {
        guard let largest = MemoryBound.largestActivation(graph, batch: options.batch) else { return }
        let weights = MemoryBound.sum(graph.weights.values.map { MemoryBound.bytes(floats: $0.data.count) })
        let batch = options.batch ?? graph.inputs.first?.shape[0] ?? 1
        try MemoryBound.check(MemoryBound.sum([largest.bytes, weights]), bound: options.maxMemoryBytes,
                              what: "compiling '\(graph.name)' at batch \(batch) (tensor '\(largest.name)' \(largest.shape), weights \(MemoryBound.describe(weights)))")
    }

    /// The graph passes alone: each one keeps the graph's function (tested against the reference executor).
    /// Pass the graph with `consume` to let batch-norm folding scale weights in place.
    public static func optimize(_ graph: consuming Graph, options: CompileOptions = CompileOptions(), isa: GEMMISA? = nil) throws(RuntimeError) -> (Graph, [RankConvChoice]) {
        var g = RemoveIdentities.apply(consume graph)
        if options.foldBatchNorm { g = FoldBatchNorm.apply(consume g) }
        if options.mergeLinearChains { g = try lift { () throws(GraphValidationError) in try MergeLinearChains.apply(g) } }
        let resolved = try lift { () throws(GEMMError) in try GEMMISA.resolve(isa ?? options.isa) }
        return try RankConvPrecompute.apply(g, options: options, isa: resolved)
    }

    /// Lowers a graph without any graph pass (tests of single kernels use it).
    /// `.measure` counts as `winograd: .never`: nothing here is timed.
    static func lowerOnly(_ graph: Graph, isa: GEMMISA, rankConvForm: RankConvFormPolicy, winograd: WinogradPolicy = .never) throws(RuntimeError) -> CompiledModel {
        try lift { () throws(GraphValidationError) in try graph.validate() }
        let (g, choices) = try RankConvPrecompute.apply(graph, options: CompileOptions(rankConvForm: rankConvForm == .measure ? .separable : rankConvForm), isa: isa)
        let groups = EpilogueFusion.groups(g)
        let (winogradNodes, winogradChoices) = try ConvFormSelector.chooseWinograd(g, groups: groups, policy: winograd == .measure ? .never : winograd,
                                                                         batch: nil, threads: 1, isa: isa)
        let ops = try lift { () throws(ExecutionError) in try Lowering.lower(g, groups: groups, isa: isa, winograd: winogradNodes) }
        return CompiledModel(graph: g, ops: ops, isa: isa, rankConvChoices: choices, winogradChoices: winogradChoices)
    }
}
