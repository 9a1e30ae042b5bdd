import Foundation
import RankEdgeCompress

/// The printed form of a compression report: one row per layer, then the totals.
enum CompressionTable {
    static func print(_ r: CompressionReport) {
        let table = TextTable(columns: ["layer", "op", "method", "ranks", "kept", "params", "MACs", "ms before", "ms after", "error", "reason"],
                              rightAligned: [5, 6, 7, 8, 9])
        table.print(r.layers.map { l in
            [l.name, l.op, l.method, l.ranks.map(String.init).joined(separator: "/"), l.kept ? "yes" : "no",
             l.kept ? "\(formatCount(l.paramsBefore)) → \(formatCount(l.paramsAfter))" : formatCount(l.paramsBefore),
             l.kept ? "\(formatMACs(l.macsBefore)) → \(formatMACs(l.macsAfter))" : formatMACs(l.macsBefore),
             l.msBefore.map { String(format: "%.4f", $0) } ?? "–", l.msAfter.map { String(format: "%.4f", $0) } ?? "–",
             l.relativeError.map { String(format: "%.3f", $0) } ?? "–", l.reason]
        })
        let t = r.totals
        Swift.print("")
        Swift.print(String(format: "params %@ → %@ (%.2fx), MACs %@ → %@ (%.2fx), latency %.3f → %.3f ms (%.2fx, %d thread%@, %@)",
                           formatCount(t.paramsBefore), formatCount(t.paramsAfter), Double(t.paramsBefore) / Double(max(t.paramsAfter, 1)),
                           formatMACs(t.macsBefore), formatMACs(t.macsAfter), Double(t.macsBefore) / Double(max(t.macsAfter, 1)),
                           t.msBefore, t.msAfter, t.msBefore / max(t.msAfter, 1e-12), r.threads, r.threads == 1 ? "" : "s", r.machine))
        if let a = t.valAccuracyBefore, let b = t.valAccuracyAfter {
            Swift.print(String(format: "validation accuracy %.2f %% → %.2f %% (before fine-tuning)", a, b))
        }
        if let mlu = t.mlu { Swift.print(String(format: "mean layer utilization (MLU) %.1f %%", 100 * mlu)) }
        if let p = r.pruning {
            let rho = { (x: Double?) in x.map { String(format: "%.3f", $0) } ?? "undefined" }
            Swift.print(String(format: "pruning: %d of %d singular vectors kept; SVDs %.1f s, %@ scores %.1f s%@; Spearman with relerr %@, magnitude %@",
                               p.keptVectors, p.vectors, p.svdSeconds, p.score, p.scoringSeconds, p.scoresCached ? " (from the cache)" : "",
                               rho(p.spearmanRelerr), rho(p.spearmanMagnitude)))
            Swift.print("collapsed to one vector per block: " + (p.collapsed.isEmpty ? "none" : "\(p.collapsed.count) (\(p.collapsed.joined(separator: ", ")))"))
        }
        if !r.merges.isEmpty { Swift.print("merged: " + r.merges.map { "\($0.from.joined(separator: " + ")) (\($0.exact ? "exact" : "approximate"))" }.joined(separator: ", ")) }
    }

    static func formatMACs(_ n: Int) -> String {
        n >= 1_000_000 ? String(format: "%.1fM", Double(n) / 1e6) : (n >= 1000 ? String(format: "%.1fK", Double(n) / 1e3) : "\(n)")
    }
}
