#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Rank formulas for a target parameter compression α (METHODS.md §3).
public enum LowRankRanks {
    /// SVD of a C→S linear map (1×1 conv or linear): R = C·S / (α (C + S)), at least 1.
    public static func svd(inputs c: Int, outputs s: Int, ratio alpha: Double) -> Int {
        max(1, Int((Double(c * s) / (alpha * Double(c + s))).rounded(.down)))
    }

    /// Tucker-2 of a [S, C, k, k] kernel: (r1, r2) with r2 = β·r1, each at least 1 and at most C (S).
    /// r1 = ½ [ −(C+βS)/(βk²) + √( (C+βS)²/(β²k⁴) + 4CS/(βα) ) ].
    public static func tucker2(inputs c: Int, outputs s: Int, kernel k: Int, ratio alpha: Double, beta: Double = 1) -> (r1: Int, r2: Int) {
        let (cd, sd, k2) = (Double(c), Double(s), Double(k * k))
        let lead = (cd + beta * sd) / (beta * k2)
        let r1 = 0.5 * (-lead + sqrt(lead * lead + 4 * cd * sd / (beta * alpha)))
        let r1i = min(c, max(1, Int(r1.rounded(.down))))
        let r2i = min(s, max(1, Int((beta * r1).rounded(.down))))
        return (r1i, r2i)
    }
}

/// "2" for 2.0, "2.5" for 2.5: how ratios read in provenance notes.
public func formatRatio(_ r: Double) -> String { r == r.rounded() && abs(r) < 1e9 ? "\(Int(r))" : "\(r)" }
