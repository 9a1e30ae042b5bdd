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
    /// A memory layout read from a compiled file, for the batch and thread count it was planned at.
    var storedLayout: (batch: Int, threads: Int, layout: ArenaLayout)?

    init(graph: Graph, ops: [LoweredOp], isa: GEMMISA, rankConvChoices: [RankConvChoice], winogradChoices: [WinogradChoice] = []) {
        self.graph = graph; self.ops = ops; self.isa = isa; self.rankConvChoices = rankConvChoices
        self.winogradChoices = winogradChoices
    }

    /// Bytes of weights this model keeps in memory: the graph's (which the steps' shapes and checks
    /// read) and the steps' own prepared copies (packed panels, Winograd-transformed weights).
    public var weightBytes: (graph: Int, prepared: Int) {
        let encoder = KernelEncoder(graph: graph, counting: true)
        for (i, op) in ops.enumerated() {
            encoder.step = i
            _ = op.prepared.encode(encoder)
        }
        let graphFloats = graph.weights.values.reduce(0) { $0 + $1.data.count }
        return (graphFloats * MemoryLayout<Float>.size, encoder.storedFloats * MemoryLayout<Float>.size)
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
    public static func compile(_ graph: Graph, options: CompileOptions = CompileOptions()) throws(RuntimeError) -> CompiledModel {
        try lift { () throws(GraphValidationError) in try graph.validate() }
        try lift { () throws(ExecutionError) in try checkMemory(graph, options: options) }
        let isa = try lift { () throws(GEMMError) in try GEMMISA.resolve(options.isa) }
        let (optimized, choices) = try optimize(graph, options: options, isa: isa)
        let groups = EpilogueFusion.groups(optimized, fuseChains: options.fuseChains)
        let (winograd, winogradChoices) = try ConvFormSelector.chooseWinograd(optimized, groups: groups, policy: options.winograd, batch: options.batch,
                                                                    threads: options.threads, isa: isa, cache: options.measurementCache)
        let ops = try lift { () throws(ExecutionError) in try Lowering.lower(optimized, groups: groups, isa: isa, winograd: winograd) }
        return CompiledModel(graph: optimized, ops: ops, isa: isa, rankConvChoices: choices, winogradChoices: winogradChoices)
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
    public static func optimize(_ graph: Graph, options: CompileOptions = CompileOptions(), isa: GEMMISA? = nil) throws(RuntimeError) -> (Graph, [RankConvChoice]) {
        var g = RemoveIdentities.apply(graph)
        if options.foldBatchNorm { g = FoldBatchNorm.apply(g) }
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
