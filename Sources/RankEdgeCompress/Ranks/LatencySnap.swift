import Foundation
import RankEdge

/// Seed 003's Algorithm 1 (METHODS.md §3) on this CPU: time the decomposed layer at every rank from
/// the policy's R down to R_min, take the rank just below the largest drop in time (the cliff), and
/// keep the original layer when that is not faster. The paper's Δt(r) = t(r) − t(r−1) is read as
/// the drop gained by stepping down to r: R_opt = argmax over r in [R_min, R) of t(r+1) − t(r).
///
/// On layers of a few tenths of a millisecond the adjacent drops are microseconds, the size of the
/// timing noise, so a plain argmax lands on a different "cliff" every run. Two rules keep the
/// choice where the measurement supports it (issue #29):
/// - the drops are read off the curve after a running median of three ranks, which removes a
///   single slow or fast point but keeps a step where it is;
/// - a drop counts only if it exceeds both 3 % of t(R) and `noiseMultiple` times the standard error
///   of the two ranks' difference, estimated from their per-round differences (each round times
///   every rank once, so a busy moment of the machine falls on both and cancels).
/// The largest drop that counts is the cliff; with none the policy's R stays.
struct LatencySnap {
    var meter: LatencyMeter
    var minRankFraction: Double
    let cliffThreshold = 0.03
    let noiseMultiple = 3.0

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
        let samples = try meter.samples(graphs)
        let ms = samples.map { median($0) }
        let t0 = ms[0]
        let t = Array(ms.dropFirst())  // t[i] at candidates[i], ranks descending
        let rounds = samples.dropFirst().map { roundMedians($0, runsPerRound: meter.runsPerRound) }
        let level = runningMedian3(t)
        let drops = (0..<t.count).map { i -> PairedDrop in
            guard i > 0 else { return .none }
            return PairedDrop(ms: level[i - 1] - level[i], standardError: PairedDrop(from: rounds[i - 1], to: rounds[i]).standardError)
        }
        let cliff = Self.cliff(drops, floor: cliffThreshold * (t.first ?? 0), noiseMultiple: noiseMultiple)
        let hasCliff = cliff != nil
        let pick = cliff ?? 0
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
                              originalMs: t0, cliff: cliff.map { candidates[$0][0] },
                              chosen: result.isKept ? result.ranks[0] : nil)
        return (result, sweep)
    }
}

/// Milliseconds as tables print them: three decimals, four below 0.1 ms.
func fmtMs(_ v: Double) -> String {
    guard v.isFinite else { return "–" }
    return String(format: v < 0.1 ? "%.4f" : "%.3f", v)
}

extension LatencySnap {
    /// The index stepped down to at the chosen cliff, or nil when no drop stands out of the noise.
    static func cliff(_ drops: [PairedDrop], floor: Double, noiseMultiple: Double) -> Int? {
        drops.indices
            .filter { i in i > 0 && drops[i].ms > floor && drops[i].ms > noiseMultiple * drops[i].standardError }
            .max { drops[$0].ms < drops[$1].ms }
    }
}

/// The drop in time from one rank to the next, as the median of per-round differences, with the
/// standard error of that median (1.2533 σ/√n, σ from the median absolute deviation, which a few
/// preempted rounds do not inflate).
struct PairedDrop: Equatable {
    var ms: Double
    var standardError: Double

    static let none = PairedDrop(ms: 0, standardError: 0)

    init(ms: Double, standardError: Double) { self.ms = ms; self.standardError = standardError }

    init(from higher: [Double], to lower: [Double]) {
        let d = zip(higher, lower).map { $0 - $1 }
        let m = median(d)
        let mad = median(d.map { abs($0 - m) })
        ms = m
        standardError = d.isEmpty ? .infinity : 1.2533 * 1.4826 * mad / Double(d.count).squareRoot()
    }
}

/// The median of each round's runs: one value per round, so rounds pair up across graphs.
func roundMedians(_ samples: [Double], runsPerRound: Int) -> [Double] {
    let n = max(1, runsPerRound)
    return stride(from: 0, to: samples.count, by: n).map { median(Array(samples[$0..<min($0 + n, samples.count)])) }
}

/// Each value replaced by the median of itself and its two neighbours (the ends kept): one outlier
/// disappears, a step between two levels stays exactly where it was.
func runningMedian3(_ v: [Double]) -> [Double] {
    guard v.count >= 3 else { return v }
    return v.indices.map { i in
        guard i > 0, i < v.count - 1 else { return v[i] }
        return [v[i - 1], v[i], v[i + 1]].sorted()[1]
    }
}
