import RankEdge

/// One candidate layer's decompositions, each computed once and truncated at any rank on demand.
public final class LayerAnalysis: @unchecked Sendable {
    public let layer: CandidateLayer
    /// HOOI sweeps after HOSVD, exactly (nil: until converged, see Tucker2).
    public let hooiIterations: Int?
    private var svdCache: TruncatedSVD?
    private var spatialCache: SpatialSVD?
    private var rankLCache: RankLFactors?
    private var spectraCache: (input: [Float], output: [Float])?

    public init(_ layer: CandidateLayer, hooiIterations: Int? = nil) {
        self.layer = layer
        self.hooiIterations = hooiIterations
    }

    var weight: LayerWeight { layer.weight }
    var isPointwise: Bool { weight.taps == 1 }

    /// Methods that apply to this layer: SVD always; Tucker-2 and spatial SVD for k×k convs;
    /// rank-L for square k×k convs without dilation.
    public var applicableMethods: [DecompositionMethod] {
        guard let conv = layer.geometry.conv, !isPointwise else { return [.svd] }
        var methods: [DecompositionMethod] = [.svd, .tucker2]
        if weight.kernelH > 1 && weight.kernelW > 1 { methods.append(.spatial) }
        if weight.kernelH == weight.kernelW && conv.dilation == .square(1) { methods.append(.rankL) }
        return methods
    }

    /// The method a policy uses when none is asked for: SVD for 1×1 and linear layers, Tucker-2 for
    /// k×k convs (METHODS.md §3).
    public var defaultMethod: DecompositionMethod { isPointwise ? .svd : .tucker2 }

    public func svd() throws -> TruncatedSVD {
        if let svdCache { return svdCache }
        let s = try TruncatedSVD(weight); svdCache = s; return s
    }

    public func spatial() throws -> SpatialSVD {
        if let spatialCache { return spatialCache }
        let s = try SpatialSVD(weight); spatialCache = s; return s
    }

    public func rankL() throws -> RankLFactors {
        if let rankLCache { return rankLCache }
        let s = try RankLFactors(weight); rankLCache = s; return s
    }

    /// Singular values of the mode-C and mode-S unfoldings (Tucker-2's energy per mode).
    public func modeSpectra() throws -> (input: [Float], output: [Float]) {
        if let spectraCache { return spectraCache }
        let s = try Tucker2.modeSpectra(weight); spectraCache = s; return s
    }

    /// The largest meaningful ranks of a method: svd/spatial [R], tucker2 [R1, R2], rank-l [k].
    public func fullRanks(_ method: DecompositionMethod) -> [Int] {
        switch method {
        case .svd: [min(weight.outputs, weight.fanIn)]
        case .spatial: [min(weight.inputs * weight.kernelH, weight.outputs * weight.kernelW)]
        case .tucker2: [min(weight.inputs, weight.outputs * weight.taps), min(weight.outputs, weight.inputs * weight.taps)]
        case .rankL: [weight.kernelH]
        }
    }

    /// Parameters of the factored form (weights only; the bias is unchanged).
    public func params(_ method: DecompositionMethod, ranks: [Int], branches: Int = 1) -> Int {
        switch method {
        case .svd: TruncatedSVD.params(weight, rank: ranks[0])
        case .spatial: SpatialSVD.params(weight, rank: ranks[0])
        case .tucker2: Tucker2.params(weight, ranks: ranks[0], ranks[1], branches: branches)
        case .rankL: RankLFactors.params(weight, rank: ranks[0])
        }
    }

    /// Weight parameters of the original layer.
    public var originalWeightParams: Int { weight.count }

    /// The layer factored at the given ranks, from the trained weights.
    public func factor(_ method: DecompositionMethod, ranks: [Int], branches: Int = 1) throws -> Factorization {
        switch method {
        case .svd: return try svd().factor(rank: ranks[0], geometry: layer.geometry)
        case .spatial: return try spatial().factor(rank: ranks[0], geometry: layer.geometry)
        case .rankL: return try rankL().factor(rank: ranks[0], geometry: layer.geometry)
        case .tucker2:
            let fit = try Tucker2(weight, inputRank: ranks[0], outputRank: ranks[1], maxIterations: hooiIterations)
            return fit.factor(geometry: layer.geometry, branches: branches)
        }
    }

    /// The factored form's node shapes with seeded random weights: what latency and cost depend on,
    /// without the cost of fitting (a latency sweep visits dozens of ranks).
    public func placeholder(_ method: DecompositionMethod, ranks: [Int], branches: Int = 1) -> Factorization {
        var rng = SeededRandom(seed: 7)
        let (s, kh, kw, c) = (weight.outputs, weight.kernelH, weight.kernelW, weight.inputs)
        func random(_ n: Int) -> [Float] { rng.uniformArray(count: n, bound: 0.1) }
        let g = layer.geometry
        let layers: [FactorLayer]
        switch method {
        case .svd:
            let r = ranks[0]
            layers = [g.spatial(random(r * kh * kw * c), outputs: r, kernelH: kh, kernelW: kw, inputsPerGroup: c, suffix: "svd_v", takesBias: false),
                      g.pointwise(random(s * r), outputs: s, inputs: r, suffix: "svd_u", takesBias: true)]
        case .tucker2:
            let (r1, r2) = (ranks[0], ranks[1])
            layers = [g.pointwise(random(r1 * c), outputs: r1, inputs: c, suffix: "tucker_in", takesBias: false),
                      g.spatial(random(r2 * kh * kw * r1 / branches), outputs: r2, kernelH: kh, kernelW: kw,
                                inputsPerGroup: r1 / branches, groups: branches, suffix: "tucker_core", takesBias: false),
                      g.pointwise(random(s * r2), outputs: s, inputs: r2, suffix: "tucker_out", takesBias: true)]
        case .spatial, .rankL:
            // Their shapes depend only on the rank too; fitting them is cheap enough to use the real one.
            // Weights that cannot be fitted (NaN, say) still have a shape worth timing: fit random ones.
            if let f = try? factor(method, ranks: ranks, branches: branches) { return f }
            let standIn = LayerAnalysis(layer.with(weight: weight.with(random(weight.count))), hooiIterations: 0)
            return (try? standIn.factor(method, ranks: ranks, branches: branches))
                ?? Factorization(method: method, ranks: ranks, branches: 1, layers: [], relativeError: 1)
        }
        return Factorization(method: method, ranks: ranks, branches: branches, layers: layers, relativeError: .nan)
    }
}
