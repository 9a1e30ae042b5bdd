/// How many bytes of weights a compiled model may hold once loaded (the steps' prepared copies;
/// `CompiledModel.weightBytes`). Winograd-transformed weights are the part that grows: α² values per
/// channel pair against the kernel's k² (16/9 for F(2×2, 3×3), 36/9 for F(4×4, 3×3)), so a budget
/// decides which convs keep which Winograd form.
public enum WeightBudget: Sendable, Equatable {
    /// The larger of `automaticRatio` × the source graph's weights and the graph's weights plus
    /// `automaticAllowanceBytes`, applied when the Winograd forms were measured (a fixed `--winograd`
    /// policy is the user's explicit choice and is left alone). The allowance keeps small models
    /// fast: on CIFAR ResNets the strict ratio costs 11–28 % of the latency to save 3–9 MB
    /// (docs/BENCHMARKS.md), while ImageNet models keep to the ratio.
    case automatic
    /// At most this many bytes, whatever the Winograd policy.
    case bytes(Int)
    /// At most this multiple of the source graph's weights, whatever the Winograd policy.
    case ratio(Double)
    /// No bound: every conv keeps its fastest form.
    case unlimited

    public static let automaticRatio = 1.3
    public static let automaticAllowanceBytes = 16_000_000

    /// The bound for a graph of `graphBytes` weights under `policy`, nil for none.
    func bound(graphBytes: Int, policy: WinogradPolicy) -> Int? {
        switch self {
        case .automatic:
            guard policy == .measure else { return nil }
            return max(Int((Double(graphBytes) * Self.automaticRatio).rounded(.down)), graphBytes + Self.automaticAllowanceBytes)
        case .bytes(let b): return b
        case .ratio(let r): return Int((Double(graphBytes) * r).rounded(.down))
        case .unlimited: return nil
        }
    }
}

/// One conv moved to a form with smaller weights to fit the budget.
public struct WeightBudgetChange: Sendable, Equatable {
    public var node: String
    /// nil: the GEMM form.
    public var from: WinogradTransform?, to: WinogradTransform?
    /// Estimated bytes saved: the transformed weights' size difference.
    public var bytes: Int
    /// Milliseconds added, from the layer's measured times (nil when the forms were not measured).
    public var milliseconds: Double?
}

/// What a budget did to a compile.
public struct WeightBudgetReport: Sendable, Equatable {
    public var budgetBytes: Int
    /// The source graph's weights.
    public var graphBytes: Int
    /// Prepared bytes with every conv in its fastest form (the Winograd convs' share estimated from
    /// their shapes), and as lowered after the changes.
    public var unconstrainedBytes: Int
    public var preparedBytes: Int
    public var changes: [WeightBudgetChange]
    public var met: Bool { preparedBytes <= budgetBytes }
    /// The measured milliseconds the changes add, summed (convs whose forms were not timed count 0).
    public var addedMilliseconds: Double { changes.reduce(0) { $0 + ($1.milliseconds ?? 0) } }
}

/// Moves Winograd convs to forms with smaller weights, cheapest loss of time per byte first, until
/// the estimated excess is gone.
enum WeightBudgetFit {
    /// The forms a conv with this choice could take, fewest weight values first: GEMM, F(2×2),
    /// and F(4×4) for 3×3 kernels; with each one's values per channel pair and measured time.
    struct Form {
        var transform: WinogradTransform?
        var values: Int
        var ms: Double?
    }

    static func forms(_ c: WinogradChoice, kernel k: Int) -> [Form] {
        var out = [Form(transform: nil, values: k * k, ms: c.gemmMs)]
        if let small = WinogradTransform.forKernel(k) { out.append(Form(transform: small, values: small.positions, ms: c.winogradMs)) }
        if let large = WinogradTransform.largest(forKernel: k), large != WinogradTransform.forKernel(k) {
            out.append(Form(transform: large, values: large.positions, ms: c.winograd4Ms))
        }
        return out
    }

    /// `choices` with convs moved to smaller forms until `excess` estimated bytes are saved (or no
    /// conv is left in a Winograd form), and the moves made. `pairs[node]` is the conv's channel
    /// pairs as stored (input channels × output channels padded to the GEMM's panel width) and
    /// `kernels[node]` its k.
    static func shrink(_ choices: [WinogradChoice], excess: Int, pairs: [String: Int], kernels: [String: Int])
        -> ([WinogradChoice], [WeightBudgetChange]) {
        var choices = choices
        var changes: [WeightBudgetChange] = []
        var left = excess
        while left > 0 {
            // Every move from a conv's current form to a smaller one, scored by milliseconds added
            // per byte saved; an unmeasured move scores 0 and the larger saving goes first.
            var best: (index: Int, to: WinogradTransform?, bytes: Int, ms: Double?, score: Double)?
            for (i, c) in choices.enumerated() {
                guard let current = c.transform, let k = kernels[c.node], let p = pairs[c.node] else { continue }
                let options = forms(c, kernel: k)
                guard let here = options.firstIndex(where: { $0.transform == current }) else { continue }
                for target in options[..<here] {
                    let bytes = (options[here].values - target.values) * p * MemoryLayout<Float>.size
                    var ms: Double?
                    if let a = options[here].ms, let b = target.ms { ms = b - a }
                    let score = (ms ?? 0) / Double(bytes)
                    if best == nil || score < best!.score || (score == best!.score && bytes > best!.bytes) {
                        best = (i, target.transform, bytes, ms, score)
                    }
                }
            }
            guard let move = best else { break }
            changes.append(WeightBudgetChange(node: choices[move.index].node, from: choices[move.index].transform, to: move.to,
                                              bytes: move.bytes, milliseconds: move.ms))
            choices[move.index].transform = move.to
            left -= move.bytes
        }
        return (choices, merged(changes))
    }

    /// One change per conv, from its first form to its last (a conv may move twice: F(4×4) → F(2×2) → GEMM).
    static func merged(_ changes: [WeightBudgetChange]) -> [WeightBudgetChange] {
        var out: [WeightBudgetChange] = []
        for c in changes {
            if let i = out.firstIndex(where: { $0.node == c.node }) {
                out[i].to = c.to
                out[i].bytes += c.bytes
                out[i].milliseconds = out[i].milliseconds.flatMap { a in c.milliseconds.map { a + $0 } }
            } else {
                out.append(c)
            }
        }
        return out
    }
}
