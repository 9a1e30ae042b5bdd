// rankedge-stress: InferenceSession under concurrent load (docs/RELIABILITY.md, "Concurrency").
//   rankedge-stress [--threads 4] [--runs 5000] [--warmup 100] [--max-growth-mb 16]
// Every run's output must equal, bit for bit, a single run of the same model, batch and pool
// thread count, and resident memory must not grow by more than --max-growth-mb between the end of
// the warm-up and the end. Exits 1 otherwise. tools/check_sessions.sh runs a short version.
import Foundation

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name) else { return fallback }
    guard i + 1 < args.count, let v = Int(args[i + 1]), v >= 0 else {
        FileHandle.standardError.write(Data("rankedge-stress: \(name) needs a non-negative integer\n".utf8)); exit(2)
    }
    return v
}

let threads = max(1, option("--threads", 4)), runs = option("--runs", 5000)
let warmup = option("--warmup", 100), maxGrowthMB = option("--max-growth-mb", 16)
do {
    let models = try [StressModel.zoo("resnet20", .dense), StressModel.zoo("resnet20", .lrd), StressModel.zoo("minivgg-k5", .rank(1))]
    let r = try SessionStress(models: models, threads: threads, runs: runs, warmupRuns: warmup).run()
    let mb = { (b: Int) in String(format: "%.1f MB", Double(b) / 1_048_576) }
    let growth = r.rssEnd - r.rssWarm
    print("models: \(models.map(\.name).joined(separator: ", ")); batches \(RunChoice.batches); sessions: own (1 or 2 pool threads) or one shared behind a lock")
    print("\(threads) threads x \(runs) runs: \(r.runs) completed in \(String(format: "%.1f", r.seconds)) s, \(r.mismatches.count) differing from the single runs")
    print("resident: \(mb(r.rssStart)) at start, \(mb(r.rssWarm)) after \(min(warmup, runs)) warm-up runs per thread, \(mb(r.rssEnd)) at the end (\(growth >= 0 ? "+" : "")\(mb(growth)))")
    for m in r.mismatches.prefix(10) { print("  \(m)") }
    guard r.mismatches.isEmpty, r.runs == threads * runs else { exit(1) }
    guard growth <= maxGrowthMB << 20 else { print("resident memory grew by more than \(maxGrowthMB) MB"); exit(1) }
} catch {
    FileHandle.standardError.write(Data("rankedge-stress: \(error)\n".utf8)); exit(1)
}
