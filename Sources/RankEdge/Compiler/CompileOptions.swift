/// How rankConv2d layers are precomputed (METHODS.md §1): the reconstructed dense kernel on the
/// GEMM, the separable factor banks, or whichever measures faster on this CPU.
public enum RankConvFormPolicy: String, Sendable, CaseIterable {
    case measure
    case dense
    case separable
}

/// The form chosen for one rankConv2d layer.
public enum RankConvForm: String, Sendable {
    case dense
    case separable
}

/// The choice made for one rankConv2d layer and, when measured, the times behind it.
public struct RankConvChoice: Sendable, Equatable {
    public var node: String
    public var form: RankConvForm
    /// Median milliseconds of each form on this CPU at the compile batch and threads (nil when not measured).
    public var denseMs: Double?
    public var separableMs: Double?
}

public struct CompileOptions: Sendable {
    /// Kernels to compile for; nil: `RANKEDGE_ISA`, else the fastest this CPU runs.
    public var isa: GEMMISA?
    /// Threads the rank-form measurements run with (use the count the model will run at).
    public var threads: Int
    /// Batch the measurements run at; nil: the graph's own.
    public var batch: Int?
    public var rankConvForm: RankConvFormPolicy
    public var foldBatchNorm: Bool
    public var mergeLinearChains: Bool
    /// Run 1×1 → k×k → 1×1 chains band by band as one step (`TuckerChainStep`); chains with a
    /// narrow core run as one step (`NarrowChainStep`) either way.
    public var fuseChains: Bool
    /// Which 3×3 and 5×5 stride-1 convs run in the Winograd form (`ConvFormSelector.chooseWinograd`).
    public var winograd: WinogradPolicy
    /// Layer timings from earlier compiles on this CPU (nil: every measured choice is timed now).
    public var measurementCache: MeasurementCache?
    /// The compile times layers at `batch`: a batch whose largest activation (with the weights)
    /// is above this many bytes is refused (`ExecutionError.memoryBoundExceeded`) before any
    /// measurement allocates. Default: `MemoryBound.defaultBytes`.
    public var maxMemoryBytes: Int
    /// The most bytes of prepared weights the model may hold: Winograd forms give way, least time
    /// lost per byte first (`WeightBudget`). Default: 1.3× the graph's weights when Winograd is measured.
    public var weightBudget: WeightBudget

    public init(isa: GEMMISA? = nil, threads: Int = 1, batch: Int? = nil, rankConvForm: RankConvFormPolicy = .measure,
                foldBatchNorm: Bool = true, mergeLinearChains: Bool = true, fuseChains: Bool = false,
                winograd: WinogradPolicy = .measure, measurementCache: MeasurementCache? = nil,
                maxMemoryBytes: Int = MemoryBound.defaultBytes, weightBudget: WeightBudget = .automatic) {
        self.isa = isa; self.threads = threads; self.batch = batch; self.rankConvForm = rankConvForm
        self.foldBatchNorm = foldBatchNorm; self.mergeLinearChains = mergeLinearChains; self.fuseChains = fuseChains
        self.winograd = winograd; self.measurementCache = measurementCache; self.maxMemoryBytes = maxMemoryBytes
        self.weightBudget = weightBudget
    }
}
