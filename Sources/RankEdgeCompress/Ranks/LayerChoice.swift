/// A policy's decision for one layer: a decomposition at given ranks, or the original layer.
public struct LayerChoice: Sendable {
    public var method: DecompositionMethod
    public var ranks: [Int]
    public var branches: Int
    /// Nil while the layer is to be decomposed; otherwise why the original stays.
    public var keepReason: String?
    /// How the ranks were chosen, for the report ("ratio 2", "energy 0.9", "snapped 12 → 8", …).
    public var note: String
    /// A transformed weight to factor instead of the trained one (seed 001 factors W' = P_out·W·P_in),
    /// and its distance from the trained weight, ‖W − W'‖_F / ‖W‖_F.
    public var transformedWeight: LayerWeight?
    public var transformError: Double?
    /// Seed 004's pruning keeps chosen singular vectors of (blocked) layers rather than a leading rank.
    public var selection: ComponentSelection?
    /// Already put through `--snap latency` by the policy itself (a latency budget snaps inside its
    /// search, so that the model it measures is the one written).
    public var latencySnapped = false

    public init(method: DecompositionMethod, ranks: [Int], branches: Int = 1, note: String) {
        self.method = method; self.ranks = ranks; self.branches = branches; self.note = note
    }

    public var isKept: Bool { keepReason == nil }

    mutating func keepOriginal(_ reason: String) { keepReason = reason }
}
