import Foundation
import RankEdge

/// "12.3 MB" (10^6 bytes), the unit of `--memory-budget` and `--max-memory`.
func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

/// What the weight budget did, for compile's and bench's reports: the bound, whether it was met,
/// and each conv that gave up its fastest form with the bytes saved and the measured time added.
func describeWeightBudget(_ b: WeightBudgetReport, first: String, indent: String) -> String {
    var lines = ["\(first)\(megabytes(b.budgetBytes)) for weights ("
                 + String(format: "%.2f×", Double(b.budgetBytes) / Double(max(b.graphBytes, 1))) + " the graph's): "
                 + (b.met ? "met, \(megabytes(b.preparedBytes)) held" : "not met, \(megabytes(b.preparedBytes)) held with every Winograd conv in the GEMM form")]
    if b.changes.isEmpty {
        lines.append("\(indent)every conv kept its fastest form")
    } else {
        let measured = b.changes.contains { $0.milliseconds != nil }
        lines.append("\(indent)\(b.changes.count) conv\(b.changes.count == 1 ? "" : "s") gave up the fastest form to save "
                     + megabytes(b.unconstrainedBytes - b.preparedBytes)
                     + (measured ? String(format: ", %+.3f ms by their single-layer times", b.addedMilliseconds) : " (forms not timed)"))
        for c in b.changes {
            lines.append("\(indent)  \(c.node): \(c.from?.name ?? "gemm") → \(c.to?.name ?? "gemm"), \(megabytes(c.bytes)) saved"
                         + (c.milliseconds.map { String(format: ", %+.3f ms", $0) } ?? ""))
        }
    }
    return lines.joined(separator: "\n")
}
