import RankEdge

/// Everything a compression run is asked to do (`rankedge compress`'s options).
public struct CompressionOptions: Sendable {
    public var policy: RankPolicy
    /// nil: auto, the fastest measured form at the policy's parameter count.
    public var method: DecompositionMethod?
    /// Tucker-2 cores split into this many block-diagonal branches (seed 003).
    public var branches: Int = 1
    public var merge: MergeMode = .none
    public var snap: RankSnap = .none
    /// Algorithm 1's R_min as a fraction of the policy's rank.
    public var minRankFraction: Double = 0.5
    /// HOOI sweeps after HOSVD; nil: until the fit improves by less than 1e-4.
    public var hooiIterations: Int?
    public var include: [String] = []
    public var exclude: [String] = []
    /// Threads of every latency measurement (the deployment's thread count).
    public var threads: Int = 1
    /// Alternating rounds of each per-layer latency measurement (snapping, `auto`, budgets): more
    /// rounds make the choices that rest on small differences repeat from run to run.
    public var latencyRounds: Int = 7
    /// Where budget policies cache per-layer sensitivity curves (nil: no cache).
    public var sensitivityCache: String?

    public init(policy: RankPolicy) { self.policy = policy }
}

/// `--merge`: absorbing factors into their neighbouring layers so the block keeps its depth.
public enum MergeMode: String, Sendable, CaseIterable {
    case none
    /// Only where no nonlinearity lies between (batch norm is folded first): outputs unchanged.
    case exact
    /// Also across a ReLU: an approximation fine-tuning repairs.
    case approximate
}

/// Labelled images for the data-driven policies, already normalised as the graph expects:
/// NHWC float32, `count` images of `sampleShape` ([H, W, C]).
public struct LabeledSamples: Sendable {
    public var images: [Float]
    public var labels: [Int]
    public var sampleShape: [Int]

    public init(images: [Float], labels: [Int], sampleShape: [Int]) {
        precondition(images.count == labels.count * sampleShape.reduce(1, *), "LabeledSamples: images do not match labels")
        self.images = images; self.labels = labels; self.sampleShape = sampleShape
    }

    public var count: Int { labels.count }
    public var sampleSize: Int { sampleShape.reduce(1, *) }

    /// Images [from, from + n) as a batch tensor.
    public func batch(from: Int, count n: Int) -> (images: Tensor, labels: ArraySlice<Int>) {
        let size = sampleSize
        let data = Array(images[(from * size)..<((from + n) * size)])
        return (Tensor(shape: [n] + sampleShape, data: data), labels[from..<(from + n)])
    }
}

/// The data a run may use: calibration images (statistics: Gram matrices, output perturbations) and
/// validation images (accuracy), disjoint.
public struct CompressionData: Sendable {
    public var calibration: LabeledSamples
    public var validation: LabeledSamples
    public init(calibration: LabeledSamples, validation: LabeledSamples) {
        self.calibration = calibration; self.validation = validation
    }
}
