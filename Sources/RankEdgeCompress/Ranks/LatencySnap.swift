import Foundation
import RankEdge

/// Seed 003's Algorithm 1 (METHODS.md §3) on this CPU: time the decomposed layer at every rank from
/// the policy's R down to R_min, take the rank just below the largest drop in time (the cliff), and
/// keep the original layer when that is not faster. The paper's Δt(r) = t(r) − t(r−1) is read as
/// the drop gained by stepping down to r: R_opt = argmax over r in [R_min, R) of t(r+1) − t(r).
/// A drop under 3 % of t(R) is measurement noise, not a cliff: then R stays.
struct LatencySnap {
    var meter: LatencyMeter
    var minRankFraction: Double
    let cliffThreshold = 0.03

    /// The swept ranks for a choice: its first rank stepping down by the branch count, the second
    /// rank (Tucker-2) scaled alongside.
    func sweepRanks(_ choice: LayerChoice) -> [[Int]] {
        let top = choice.ranks[0]
        let step = max(1, choice.branches)
        let bottom = max(step, Int((Double(top) * minRankFraction).rounded(.up)))
        var out: [[Int]] = []
        var r = top
        while r >= bottom {
            if choice.ranks.count == 2 {
                let r2 = max(step, Int((Double(r) * Double(choice.ranks[1]) / Double(top)).rounded()) / step * step)
                out.append([r, r2])
            } else {
                out.append([r])
            }
            r -= step
        }
        return out
    }

    func snap(_ choice: LayerChoice, analysis: LayerAnalysis, original: Graph) throws(CompressError) -> (LayerChoice, RankSweep) {
        let layer = analysis.layer
        let candidates = sweepRanks(choice)
        var graphs = [IsolatedLayer.graph(layer, original: original, factorization: nil)]
        for ranks in candidates {
            let f = analysis.placeholder(choice.method, ranks: ranks, branches: choice.branches)
            graphs.append(IsolatedLayer.graph(layer, original: original, factorization: f))
        }
        let ms = try meter.medians(graphs)
        let t0 = ms[0]
        let t = Array(ms.dropFirst())  // t[i] at candidates[i], ranks descending
        var best = 0, bestDrop = -Double.infinity
        for i in 1..<max(1, t.count) where t.count > 1 {
            let drop = t[i - 1] - t[i]
            if drop > bestDrop { bestDrop = drop; best = i }
        }
        let hasCliff = t.count > 1 && bestDrop > cliffThreshold * t[0]
        let pick = hasCliff ? best : 0
        var result = choice
        let before = choice.ranks.map(String.init).joined(separator: "/")
        result.ranks = candidates[pick]
        let after = result.ranks.map(String.init).joined(separator: "/")
        if t[pick] < t0 {
            result.note += hasCliff ? "; snapped \(before) → \(after) at the latency cliff" : "; no latency cliff in [\(candidates.last![0]), \(candidates[0][0])]"
        } else {
            result.keepOriginal("not faster: \(fmtMs(t[pick])) ms at rank \(after) vs \(fmtMs(t0)) ms original")
        }
        let sweep = RankSweep(layer: layer.name, method: choice.method.rawValue, ranks: candidates.map { $0[0] }, ms: t,
                              originalMs: t0, cliff: hasCliff ? candidates[best][0] : nil,
                              chosen: result.isKept ? result.ranks[0] : nil)
        return (result, sweep)
    }
}

/// Milliseconds as tables print them: three decimals, four below 0.1 ms.
func fmtMs(_ v: Double) -> String {
    guard v.isFinite else { return "–" }
    return String(format: v < 0.1 ? "%.4f" : "%.3f", v)
}
