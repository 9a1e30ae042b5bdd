import Foundation

/// What `compress` did, layer by layer, with measured numbers: printed as a table, written as JSON
/// (`--report`, fields in docs/CLI.md) and drawn as SVG plots (`--plots`).
public struct CompressionReport: Codable, Sendable {
    public var model: String
    public var policy: String
    public var method: String
    public var snap: String
    public var merge: String
    /// CPU model and the runtime's micro-kernel ISA the latencies were measured with.
    public var machine: String
    public var threads: Int
    /// ISO-8601 date and time of the run.
    public var date: String
    public var layers: [LayerReport]
    public var totals: Totals
    /// Latency against rank of every layer a latency search visited (`--snap latency`, `--method auto`).
    public var sweeps: [RankSweep]
    /// Validation accuracy against rank of every layer a data-driven search visited.
    public var accuracyCurves: [AccuracyCurve]
    /// Whole-model time per stage (node-name prefix before the first "."), before and after.
    public var stages: [StageTime]
    /// Nodes added by merging factors into their neighbours (`--merge`).
    public var merges: [MergeReport]
    /// What the global pruning of the `perturbation` policy scored and removed.
    public var pruning: PruningReport? = nil

    enum CodingKeys: String, CodingKey {
        case model, policy, method, snap, merge, machine, threads, date, layers, totals, sweeps, stages, merges, pruning
        case accuracyCurves = "accuracy_curves"
    }
}

public struct LayerReport: Codable, Sendable, Equatable {
    public var name: String
    /// "conv3x3", "conv1x1", "linear".
    public var op: String
    /// The decomposition tried or used ("svd", "tucker2", "spatial", "rank-l"), or "none".
    public var method: String
    /// svd/spatial: [R]; tucker2: [R1, R2]; rank-l: [L]; empty when no decomposition was chosen.
    public var ranks: [Int]
    public var branches: Int
    /// True when the decomposition is in the output graph; false when the original layer stays.
    public var kept: Bool
    /// Why the layer is (not) decomposed this way.
    public var reason: String
    public var paramsBefore: Int
    public var paramsAfter: Int
    /// Per image.
    public var macsBefore: Int
    public var macsAfter: Int
    /// Measured batch-1 time of the layer alone on this CPU (nil when not measured).
    public var msBefore: Double?
    public var msAfter: Double?
    /// ‖W − Ŵ‖_F / ‖W‖_F of the decomposition at the chosen ranks.
    public var relativeError: Double?
    /// Utilized rank / min(d_in, d_out) (seed 001), `utilized` policy only.
    public var utilization: Double?
    /// Validation accuracy (points) lost by this layer's transformation alone, where data was used.
    public var valAccuracyDrop: Double?

    enum CodingKeys: String, CodingKey {
        case name, op, method, ranks, branches, kept, reason, utilization
        case paramsBefore = "params_before", paramsAfter = "params_after"
        case macsBefore = "macs_before", macsAfter = "macs_after"
        case msBefore = "ms_before", msAfter = "ms_after"
        case relativeError = "relative_error"
        case valAccuracyDrop = "val_accuracy_drop"
    }
}

public struct Totals: Codable, Sendable, Equatable {
    public var paramsBefore: Int
    public var paramsAfter: Int
    public var macsBefore: Int
    public var macsAfter: Int
    /// Whole model, batch 1, medians of alternating rounds.
    public var msBefore: Double
    public var msAfter: Double
    public var valAccuracyBefore: Double?
    public var valAccuracyAfter: Double?
    /// Mean layer utilization (seed 001), `utilized` policy only.
    public var mlu: Double?

    enum CodingKeys: String, CodingKey {
        case mlu
        case paramsBefore = "params_before", paramsAfter = "params_after"
        case macsBefore = "macs_before", macsAfter = "macs_after"
        case msBefore = "ms_before", msAfter = "ms_after"
        case valAccuracyBefore = "val_accuracy_before", valAccuracyAfter = "val_accuracy_after"
    }
}

public struct RankSweep: Codable, Sendable, Equatable {
    public var layer: String
    public var method: String
    /// The rank swept (Tucker-2: R1, with R2 scaled alongside).
    public var ranks: [Int]
    public var ms: [Double]
    /// The original layer's time, measured in the same rounds.
    public var originalMs: Double
    /// The rank just below the largest drop in time, if the sweep found one.
    public var cliff: Int?
    /// The rank kept (nil: the original layer stayed).
    public var chosen: Int?

    enum CodingKeys: String, CodingKey {
        case layer, method, ranks, ms, cliff, chosen
        case originalMs = "original_ms"
    }
}

public struct AccuracyCurve: Codable, Sendable, Equatable {
    public var layer: String
    /// What was varied: "r_in", "r_out", "rank".
    public var parameter: String
    public var ranks: [Int]
    /// Validation accuracy (%) at each rank, the layer alone transformed.
    public var accuracy: [Double]
    public var baseline: Double
    public var chosen: Int?
}

public struct StageTime: Codable, Sendable, Equatable {
    public var stage: String
    public var msBefore: Double
    public var msAfter: Double

    enum CodingKeys: String, CodingKey {
        case stage
        case msBefore = "ms_before", msAfter = "ms_after"
    }
}

public struct MergeReport: Codable, Sendable, Equatable {
    /// The merged node (it takes the name of the later of the two).
    public var node: String
    public var from: [String]
    public var exact: Bool
}

/// Seed 004's global pruning: how long the scoring took, which layers collapsed, and how the score
/// ranks the singular vectors against the data-free scores.
public struct PruningReport: Codable, Sendable, Equatable {
    public var score: String
    public var blocks: String
    public var sparsity: Double
    /// Singular vectors scored, and kept, over all candidate layers.
    public var vectors: Int
    public var keptVectors: Int
    /// SVDs of every block (every score needs them).
    public var svdSeconds: Double
    /// The score itself on top of the SVDs: the forward passes of `output`/`variance` (the time they
    /// took when computed, also when read back from the cache); about zero for `magnitude`, `relerr`.
    public var scoringSeconds: Double
    /// True when the output scores were read from the cache instead of computed.
    public var scoresCached: Bool
    /// Layers left with one singular vector in every block: pruned as far as pruning goes.
    public var collapsed: [String]
    /// Spearman rank correlation, over every scored vector, of this score with relerr and with
    /// magnitude (nil when undefined: fewer than two vectors, or constant scores).
    public var spearmanRelerr: Double?
    public var spearmanMagnitude: Double?

    enum CodingKeys: String, CodingKey {
        case score, blocks, sparsity, vectors, collapsed
        case keptVectors = "kept_vectors"
        case svdSeconds = "svd_seconds", scoringSeconds = "scoring_seconds", scoresCached = "scores_cached"
        case spearmanRelerr = "spearman_relerr", spearmanMagnitude = "spearman_magnitude"
    }
}
