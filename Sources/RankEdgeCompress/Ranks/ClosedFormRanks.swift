import Foundation
import RankEdge

/// Ranks that follow from the weights alone: seed 003's closed form for a parameter ratio, and
/// the energy rule (METHODS.md §3).
enum ClosedFormRanks {
    /// Ranks giving about 1/α of the layer's weight parameters.
    static func ratio(_ analysis: LayerAnalysis, method: DecompositionMethod, alpha: Double, beta: Double) -> [Int] {
        let w = analysis.layer.weight
        let (s, c, taps) = (Double(w.outputs), Double(w.inputs), Double(w.taps))
        let full = analysis.fullRanks(method)
        func clamp(_ v: Double, _ hi: Int) -> Int { min(hi, max(1, Int(v.rounded(.down)))) }
        switch method {
        case .svd:
            return [clamp(s * c * taps / (alpha * (c * taps + s)), full[0])]
        case .spatial:
            return [clamp(s * c * taps / (alpha * (c * Double(w.kernelH) + s * Double(w.kernelW))), full[0])]
        case .rankL:
            return [clamp(Double(w.kernelH) / (2 * alpha), full[0])]
        case .tucker2:
            // C·r1 + r1·r2·taps + r2·S = C·S·taps/α with r2 = β·r1 (METHODS.md §3, taps for k²).
            let lead = (c + beta * s) / (beta * taps)
            let r1 = 0.5 * (-lead + (lead * lead + 4 * c * s / (beta * alpha)).squareRoot())
            return [clamp(r1, full[0]), clamp(beta * r1, full[1])]
        }
    }

    /// The fewest components holding `fraction` of the squared singular values (per mode for Tucker-2).
    static func energy(_ analysis: LayerAnalysis, method: DecompositionMethod, fraction: Double) throws -> [Int] {
        func rank(_ sigma: [Float]) -> Int { energyRank(sigma.map { Double($0) * Double($0) }, fraction: fraction) }
        switch method {
        case .svd: return [rank(try analysis.svd().singularValues)]
        case .spatial: return [rank(try analysis.spatial().singularValues)]
        case .tucker2:
            let spectra = try analysis.modeSpectra()
            return [rank(spectra.input), rank(spectra.output)]
        case .rankL:
            return [energyRank(try analysis.rankL().energyByRank, fraction: fraction)]
        }
    }

    /// Branched cores need both ranks divisible by the branch count.
    static func branchable(_ ranks: [Int], branches n: Int) -> [Int] {
        ranks.map { max(n, $0 / n * n) }
    }

    /// Ranks rounded down to multiples of n (never below n, never above the full rank).
    static func multiple(_ ranks: [Int], of n: Int, full: [Int]) -> [Int] {
        zip(ranks, full).map { r, f in min(f, max(n, r / n * n)) }
    }
}
