import Foundation

/// How `compress` chooses ranks (`--rank POLICY`; docs/CLI.md).
public enum RankPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Seed 003's closed form for parameter compression α (Tucker-2: r2 = β·r1).
    case ratio(Double, beta: Double)
    /// The fewest singular values (per mode for Tucker-2) holding this fraction of the energy.
    case energy(Double)
    /// Seed 001: each layer's smallest input/output subspaces costing at most ε validation points.
    case utilized(epsilon: Double)
    /// Seed 004: singular vectors scored and pruned globally to a parameter sparsity.
    case perturbation(sparsity: Double, score: PerturbationScore, blocks: Blocking)
    /// A fraction of the original MACs, spent where validation accuracy suffers least.
    case budgetMACs(Double)
    /// A fraction of the original measured latency, likewise.
    case budgetLatency(Double)

    public enum PerturbationScore: String, Sendable, CaseIterable { case output, variance, relerr, magnitude }
    public enum Blocking: String, Sendable, CaseIterable { case none, alds, square }

    public var needsData: Bool {
        switch self {
        case .ratio, .energy: false
        case .utilized, .budgetMACs, .budgetLatency: true
        case .perturbation(_, let score, _): score == .output || score == .variance
        }
    }

    public var description: String {
        switch self {
        case .ratio(let a, let b): b == 1 ? "ratio:\(fmt(a))" : "ratio:\(fmt(a)):\(fmt(b))"
        case .energy(let e): "energy:\(fmt(e))"
        case .utilized(let e): "utilized:\(fmt(e))"
        case .perturbation(let s, let score, let blocks): "perturbation:\(fmt(s)):score=\(score.rawValue):blocks=\(blocks.rawValue)"
        case .budgetMACs(let f): "budget:macs=\(fmt(f))"
        case .budgetLatency(let f): "budget:latency=\(fmt(f))"
        }
    }

    private func fmt(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(v) }

    public static func parse(_ text: String) throws(CompressError) -> RankPolicy {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ s: String, _ what: String) throws(CompressError) -> Double {
            guard let v = Double(s), v.isFinite else { throw .badPolicy("\(what) '\(s)' is not a number") }
            return v
        }
        switch parts[0] {
        case "ratio":
            guard parts.count == 2 || parts.count == 3 else { throw .badPolicy("expected ratio:A or ratio:A:B") }
            let a = try number(parts[1], "ratio")
            guard a > 1 else { throw .badPolicy("the ratio must be greater than 1, got \(parts[1])") }
            let b = parts.count == 3 ? try number(parts[2], "β") : 1
            guard b > 0 else { throw .badPolicy("β must be positive, got \(parts[2])") }
            return .ratio(a, beta: b)
        case "energy":
            guard parts.count == 2 else { throw .badPolicy("expected energy:E") }
            let e = try number(parts[1], "energy")
            guard e > 0 && e <= 1 else { throw .badPolicy("energy must be in (0, 1], got \(parts[1])") }
            return .energy(e)
        case "utilized":
            guard parts.count <= 2 else { throw .badPolicy("expected utilized or utilized:EPS") }
            let e = parts.count == 2 ? try number(parts[1], "ε") : 0.1
            guard e >= 0 && e < 100 else { throw .badPolicy("ε must be in [0, 100) accuracy points, got \(e)") }
            return .utilized(epsilon: e)
        case "perturbation":
            guard parts.count >= 2 else { throw .badPolicy("expected perturbation:SPARSITY[:score=…][:blocks=…]") }
            let s = try number(parts[1], "sparsity")
            guard s >= 0 && s < 1 else { throw .badPolicy("sparsity must be in [0, 1), got \(parts[1])") }
            var score = PerturbationScore.output, blocks = Blocking.none
            for option in parts.dropFirst(2) {
                let kv = option.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { throw .badPolicy("expected key=value, got '\(option)'") }
                switch kv[0] {
                case "score":
                    guard let v = PerturbationScore(rawValue: kv[1]) else {
                        throw .badPolicy("unknown score '\(kv[1])' (output, variance, relerr, magnitude)")
                    }
                    score = v
                case "blocks":
                    guard let v = Blocking(rawValue: kv[1]) else { throw .badPolicy("unknown blocks '\(kv[1])' (none, alds, square)") }
                    blocks = v
                default: throw .badPolicy("unknown perturbation option '\(kv[0])' (score, blocks)")
                }
            }
            return .perturbation(sparsity: s, score: score, blocks: blocks)
        case "budget":
            guard parts.count == 2 else { throw .badPolicy("expected budget:macs=F or budget:latency=F") }
            let kv = parts[1].split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw .badPolicy("expected budget:macs=F or budget:latency=F") }
            let f = try number(kv[1], "fraction")
            guard f > 0 && f < 1 else { throw .badPolicy("the budget fraction must be in (0, 1), got \(kv[1])") }
            switch kv[0] {
            case "macs": return .budgetMACs(f)
            case "latency": return .budgetLatency(f)
            default: throw .badPolicy("unknown budget '\(kv[0])' (macs, latency)")
            }
        default:
            throw .badPolicy("unknown policy '\(parts[0])' (ratio, energy, utilized, perturbation, budget)")
        }
    }
}

/// `--snap`: how ranks are rounded after the policy chose them.
public enum RankSnap: Sendable, Equatable, CustomStringConvertible {
    case none
    /// Seed 003's Algorithm 1 on this CPU.
    case latency
    case multiple(Int)

    public static func parse(_ text: String) throws(CompressError) -> RankSnap {
        if text == "none" { return .none }
        if text == "latency" { return .latency }
        if text.hasPrefix("multiple:"), let n = Int(text.dropFirst("multiple:".count)), n >= 1 { return .multiple(n) }
        throw .badOption("bad --snap '\(text)' (none, latency, multiple:N with N ≥ 1)")
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .latency: "latency"
        case .multiple(let n): "multiple:\(n)"
        }
    }
}
