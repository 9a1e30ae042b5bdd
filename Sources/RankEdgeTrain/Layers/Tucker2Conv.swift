import RankEdge

/// A k×k conv kept in Tucker-2 form for the whole of training (METHODS.md §2-3): a 1×1 conv C→R1
/// (factor U1), a k×k core R1→R2 (optionally grouped: branched Tucker) and a 1×1 conv R2→S
/// (factor U2). With `orthogonality` > 0 it is ELRT: the trainer adds λ·(R(U1) + R(U2)).
public final class Tucker2Conv: Module {
    public let name: String
    public let first: Conv2D
    public let core: Conv2D
    public let last: Conv2D
    public let ranks: (r1: Int, r2: Int)
    /// λ of the double soft orthogonality regulariser on both 1×1 factors (0: none).
    public let orthogonality: Float

    public init(name: String, inChannels c: Int, outChannels s: Int, kernel k: Int, ranks: (r1: Int, r2: Int),
                stride: Int = 1, groups: Int = 1, bias: Bool = true, initialization: WeightInitialization = .pytorchDefault,
                orthogonality: Float = 0, provenance: String, rng: inout SeededRandom) {
        self.name = name; self.ranks = ranks; self.orthogonality = orthogonality
        first = Conv2D(name: "\(name).tucker_in", inChannels: c, outChannels: ranks.r1, kernel: 1, padding: 0, bias: false,
                       initialization: initialization, rng: &rng)
        core = Conv2D(name: "\(name).tucker_core", inChannels: ranks.r1, outChannels: ranks.r2, kernel: k, stride: stride,
                      groups: groups, bias: false, initialization: initialization, rng: &rng)
        last = Conv2D(name: "\(name).tucker_out", inChannels: ranks.r2, outChannels: s, kernel: 1, padding: 0, bias: bias,
                      initialization: initialization, rng: &rng)
        for conv in [first, core, last] { conv.provenance = provenance }
    }

    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        last.forward(core.forward(first.forward(x, context), context), context)
    }

    public var parameters: [NamedTensor] { first.parameters + core.parameters + last.parameters }
    public var submodules: [any Module] { [first, core, last] }

    public func export(into builder: inout GraphBuilder, input: String) -> String {
        last.export(into: &builder, input: core.export(into: &builder, input: first.export(into: &builder, input: input)))
    }

    /// λ·(R(U1) + R(U2)) with U1 = [R1, C] and U2 = [S, R2] (the 1×1 weights as matrices).
    func orthogonalityPenalties() -> [(penalty: Variable, weight: Float)] {
        guard orthogonality > 0 else { return [] }
        return [first.weight, last.weight].map { w in
            (doubleSoftOrthogonality(w, rows: w.shape[0], cols: w.shape[3]), orthogonality)
        }
    }
}

/// Every regulariser term of a model with its weight (empty unless it has ELRT layers).
public func regularizationTerms(_ model: any Module) -> [(penalty: Variable, weight: Float)] {
    model.allModules.compactMap { $0 as? Tucker2Conv }.flatMap { $0.orthogonalityPenalties() }
}
