/// Runs a graph fast: compiles it (or takes a compiled model), binds it to one static arena for
/// the batch size of the input, and executes the steps with the GEMM engine and the runtime's
/// kernels. After the first run at a batch size, a run allocates nothing except the output
/// `Tensor` of the convenience overloads (`run(input:output:)` allocates nothing at all).
///
///     let session = try InferenceSession(graph: g, options: .init(threads: 2))
///     let logits = try session.run(image)
///     print(session.profile)          // per-layer times, when `profiling` is on
///
/// ## Threads
///
/// A session is **not** safe to use from two threads at once: a run writes the session's arena,
/// plan and profile in place. What is safe:
/// - one session per thread, each built from the same `CompiledModel` (`init(model:)`): a
///   compiled model is immutable once built and may be shared by any number of sessions, which
///   then give bit-identical outputs for the same input, batch and `threads`;
/// - one session shared by several threads with every call to `run`, `prepare`, `profile` and
///   `resetProfile` under a lock (e.g. `Mutex<InferenceSession>`), so runs take turns.
///
/// Sessions on different threads share `ThreadPool.shared`: one job runs in the pool at a time,
/// and a session that finds it busy runs that loop on its own thread instead of waiting, with the
/// same result. `rankedge-stress` (tools/check_sessions.sh in `make test`) runs 4 threads × mixed
/// models and batch sizes both ways and checks both rules: outputs bit-identical to single runs,
/// resident memory flat (docs/RELIABILITY.md, "Concurrency").
public final class InferenceSession {
    public struct Options: Sendable {
        public var threads: Int
        /// Kernels to run (nil: `RANKEDGE_ISA`, else the fastest available). Ignored for a compiled
        /// model, which runs the ISA it was compiled for.
        public var isa: GEMMISA?
        public var rankConvForm: RankConvFormPolicy
        /// Whether to run the graph passes (fold BN, merge chains) before lowering.
        public var optimize: Bool
        /// Whether `run` records per-layer times into `profile`.
        public var profiling: Bool
        /// Run low-rank 1×1 → k×k → 1×1 chains band by band as one step.
        public var fuseChains: Bool
        /// Which 3×3 and 5×5 stride-1 convs run in the Winograd form; without `optimize`, `.measure` means never.
        public var winograd: WinogradPolicy
        /// Layer timings kept from earlier compiles on this CPU (`CompileOptions.measurementCache`).
        public var measurementCache: MeasurementCache?
        /// The most bytes the session may hold for a batch (activation arena, scratch, weights) and
        /// the compile may measure with; a batch or graph needing more is refused with
        /// `ExecutionError.memoryBoundExceeded` before anything is allocated. Default: three
        /// quarters of physical memory (`MemoryBound.defaultBytes`).
        public var maxMemoryBytes: Int
        /// The prepared weights' budget for the compile (`CompileOptions.weightBudget`).
        public var weightBudget: WeightBudget

        public init(threads: Int = 1, isa: GEMMISA? = nil, rankConvForm: RankConvFormPolicy = .measure,
                    optimize: Bool = true, profiling: Bool = false, fuseChains: Bool = false, winograd: WinogradPolicy = .measure,
                    measurementCache: MeasurementCache? = nil, maxMemoryBytes: Int = MemoryBound.defaultBytes,
                    weightBudget: WeightBudget = .automatic) {
            self.threads = threads; self.isa = isa; self.rankConvForm = rankConvForm
            self.optimize = optimize; self.profiling = profiling; self.fuseChains = fuseChains
            self.winograd = winograd; self.measurementCache = measurementCache; self.maxMemoryBytes = maxMemoryBytes
            self.weightBudget = weightBudget
        }
    }

    public let model: CompiledModel
    public let threads: Int
    public var profiling: Bool
    /// See `Options.maxMemoryBytes`; checked by every `prepare` (and so every run at a new batch).
    public let maxMemoryBytes: Int
    public let pool: ThreadPool
    private var plan: ExecutionPlan?
    private var profileSeconds: UnsafeMutableBufferPointer<Double>
    private var profileRuns = 0

    public init(graph: Graph, options: Options = Options()) throws(RuntimeError) {
        guard options.threads >= 1 else { throw runtimeError(ExecutionError.invalidOperands(op: "session", node: nil, message: "threads must be at least 1, got \(options.threads)")) }
        let isa = try lift { () throws(GEMMError) in try GEMMISA.resolve(options.isa) }
        // Either way the model's graph keeps shapes only: its steps hold the weights.
        if options.optimize {
            model = try GraphCompiler.compile(graph, options: CompileOptions(isa: isa, threads: options.threads,
                                                                            rankConvForm: options.rankConvForm,
                                                                            fuseChains: options.fuseChains,
                                                                            winograd: options.winograd,
                                                                            measurementCache: options.measurementCache,
                                                                            maxMemoryBytes: options.maxMemoryBytes,
                                                                            weightBudget: options.weightBudget))
        } else {
            model = try GraphCompiler.lowerOnly(graph, isa: isa, rankConvForm: options.rankConvForm, winograd: options.winograd).releasingGraphWeights()
        }
        threads = options.threads
        profiling = options.profiling
        maxMemoryBytes = options.maxMemoryBytes
        pool = .shared
        profileSeconds = .allocate(capacity: max(model.ops.count, 1))
        profileSeconds.initialize(repeating: 0)
        pool.prepare(threads: threads)
    }

    /// A session on an already compiled model; many sessions (one per thread) may share `model`.
    public init(model: CompiledModel, options: Options = Options()) throws(RuntimeError) {
        guard options.threads >= 1 else { throw runtimeError(ExecutionError.invalidOperands(op: "session", node: nil, message: "threads must be at least 1, got \(options.threads)")) }
        guard model.isa.isAvailable else { throw runtimeError(GEMMError.isaUnavailable(model.isa)) }
        self.model = model
        threads = options.threads
        profiling = options.profiling
        maxMemoryBytes = options.maxMemoryBytes
        pool = .shared
        profileSeconds = .allocate(capacity: max(model.ops.count, 1))
        profileSeconds.initialize(repeating: 0)
        pool.prepare(threads: threads)
    }

    deinit { profileSeconds.deallocate() }

    /// The weights the model holds (prepared copies, and any graph values kept), counted against
    /// the memory bound with the arena.
    private var weightBytes: Int {
        let w = model.weightBytes
        return MemoryBound.sum([w.held, w.prepared]) ?? .max
    }

    /// Binds the model to `batch` now (planning memory and allocating the arena), so the first
    /// run does not pay for it.
    public func prepare(batch: Int) throws(ExecutionError) {
        if let plan, plan.batch == batch { return }
        guard batch >= 1 else { throw ExecutionError.invalidOperands(op: "session", node: nil, message: "batch must be at least 1, got \(batch)") }
        var stored: ArenaLayout?
        if let s = model.storedLayout, s.batch == batch, s.threads == threads { stored = s.layout }
        // The old plan goes first, so a batch that fits alone is not refused for two arenas.
        plan = nil
        plan = try ExecutionPlan(model: model, batch: batch, threads: threads, layout: stored,
                                 maxMemoryBytes: maxMemoryBytes, residentBytes: weightBytes)
    }

    // MARK: Running

    /// The single output of a single-input graph.
    public func run(_ input: Tensor) throws(ExecutionError) -> Tensor {
        let graph = model.graph
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw ExecutionError.notSingleInputOutput(inputs: graph.inputs.count, outputs: graph.outputs.count)
        }
        return try run([graph.inputs[0].name: input])[graph.outputs[0]]!
    }

    /// Every graph output, by name.
    public func run(_ inputs: [String: Tensor]) throws(ExecutionError) -> [String: Tensor] {
        let batch = try checkInputs(inputs)
        try prepare(batch: batch)
        let plan = plan!
        for slot in plan.inputs {
            inputs[slot.name]!.data.withUnsafeBufferPointer { slot.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        try execute(plan)
        var result: [String: Tensor] = [:]
        for slot in plan.outputs {
            result[slot.name] = Tensor(shape: slot.shape, data: Array(UnsafeBufferPointer(start: slot.pointer, count: slot.shape.elementCount)))
        }
        return result
    }

    /// The allocation-free path for a single-input, single-output graph: `input` holds N whole
    /// samples (NHWC float32), `output` receives the N outputs. The batch is input.count divided
    /// by one sample's size.
    public func run(input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) throws(ExecutionError) {
        let graph = model.graph
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw ExecutionError.notSingleInputOutput(inputs: graph.inputs.count, outputs: graph.outputs.count)
        }
        let info = graph.inputs[0]
        let sample = info.shape.dims.dropFirst().reduce(1, *)
        guard sample > 0, input.count % sample == 0, input.count >= sample else {
            var actual = info.shape
            actual[0] = sample > 0 ? input.count / sample : 0
            throw ExecutionError.inputDataMismatch(name: info.name, shape: actual, count: input.count)
        }
        try prepare(batch: input.count / sample)
        let plan = plan!
        let out = plan.outputs[0]
        guard output.count == out.shape.elementCount else {
            throw ExecutionError.invalidOperands(op: "session", node: nil,
                                                 message: "output buffer holds \(output.count) floats, the output \(out.name) has \(out.shape.elementCount)")
        }
        plan.inputs[0].pointer.update(from: input.baseAddress!, count: input.count)
        try execute(plan)
        output.baseAddress!.update(from: out.pointer, count: output.count)
    }

    private func execute(_ plan: ExecutionPlan) throws(ExecutionError) {
        try plan.execute(profile: profiling ? profileSeconds.baseAddress : nil, pool: pool)
        if profiling { profileRuns += 1 }
    }

    /// Inputs present, known, shaped as declared apart from a shared batch; returns the batch.
    func checkInputs(_ inputs: [String: Tensor]) throws(ExecutionError) -> Int {
        var batch: (name: String, value: Int)?
        for info in model.graph.inputs {
            guard let t = inputs[info.name] else { throw ExecutionError.missingInput(name: info.name, expected: info.shape) }
            guard t.shape.rank == info.shape.rank, t.shape.dims.dropFirst() == info.shape.dims.dropFirst(), t.shape[0] >= 1 else {
                throw ExecutionError.inputShapeMismatch(name: info.name, expected: info.shape, actual: t.shape)
            }
            guard t.shape.checkedElementCount == t.data.count else {
                throw ExecutionError.inputDataMismatch(name: info.name, shape: t.shape, count: t.data.count)
            }
            if let b = batch, b.value != t.shape[0] {
                throw ExecutionError.batchMismatch(name: info.name, batch: t.shape[0], otherInput: b.name, otherBatch: b.value)
            }
            batch = batch ?? (info.name, t.shape[0])
        }
        let known = Set(model.graph.inputs.map { $0.name })
        if let extra = inputs.keys.sorted().first(where: { !known.contains($0) }) {
            throw ExecutionError.unexpectedInput(name: extra, graphInputs: model.graph.inputs.map { $0.name })
        }
        return batch?.value ?? 1
    }

    // MARK: Measurements

    /// Memory of the current plan (nil before the first run or `prepare`).
    public var memory: MemoryReport? {
        plan.map { MemoryReport(arenaBytes: $0.arenaBytes, lowerBoundBytes: $0.lowerBoundBytes, scratchBytes: $0.scratchBytes) }
    }

    /// The current plan's memory layout (nil before the first run or `prepare`), for a compiled file.
    public var planLayout: ArenaLayout? { plan?.layout }

    /// Per-step times accumulated since profiling started (or the last `resetProfile`).
    public var profile: [LayerProfile] {
        let shapes = plan?.shapes ?? [:]
        let batch = plan?.batch ?? 1
        let macs = (try? model.macs(batch: batch)) ?? [:]
        return model.ops.enumerated().map { i, op in
            LayerProfile(name: op.name, nodes: op.nodes, op: op.kernel, outputShape: shapes[op.output]?.dims ?? [],
                         macs: op.nodes.reduce(0) { $0 + (macs[$1] ?? 0) },
                         milliseconds: profileRuns > 0 ? profileSeconds[i] * 1000 / Double(profileRuns) : 0)
        }
    }

    public func resetProfile() {
        profileSeconds.update(repeating: 0)
        profileRuns = 0
    }

    /// The median wall time of `run` on `input` over at least `minimumRuns` runs and
    /// `minimumSeconds`, after one warm-up run.
    public func medianMilliseconds(_ input: Tensor, minimumRuns: Int, minimumSeconds: Double) throws(ExecutionError) -> Double {
        var output = [Float](repeating: 0, count: 0)
        _ = try run(input)
        let outCount = plan!.outputs[0].shape.elementCount
        output = [Float](repeating: 0, count: outCount)
        var times: [Double] = []
        let start = monotonicNanoseconds()
        try input.data.withUnsafeBufferPointer { inBuf throws(ExecutionError) in
            try output.withUnsafeMutableBufferPointer { outBuf throws(ExecutionError) in
                while times.count < minimumRuns || Double(monotonicNanoseconds() - start) * 1e-9 < minimumSeconds {
                    let t0 = monotonicNanoseconds()
                    try run(input: inBuf, output: outBuf)
                    times.append(Double(monotonicNanoseconds() - t0) * 1e-6)
                    if times.count >= 1000 { break }
                }
            }
        }
        times.sort()
        return times[times.count / 2]
    }
}

/// Memory of a plan: the activation arena, the bound it is measured against, and the two
/// fixed-size regions beside it.
public struct MemoryReport: Sendable, Equatable {
    /// The static arena holding every activation tensor.
    public var arenaBytes: Int
    /// The largest total size of tensors live at one step: no arena for this plan can be smaller.
    public var lowerBoundBytes: Int
    /// The region steps take turns with for im2col and rank-conv tiles (the largest any step needs).
    public var scratchBytes: Int
}

/// One step's share of an inference.
public struct LayerProfile: Sendable, Equatable {
    public var name: String
    /// Graph nodes the step computes (a conv with its fused add and ReLU).
    public var nodes: [String]
    /// The kernel that ran.
    public var op: String
    public var outputShape: [Int]
    public var macs: Int
    /// Mean milliseconds per run.
    public var milliseconds: Double
}
