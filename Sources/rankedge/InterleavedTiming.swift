import RankEdge

/// Latency of several sessions on one input, measured so that a busy machine slows them alike:
/// rounds of `runs` runs per session, the order rotating from round to round, and speed-ups taken
/// round by round (each ratio compares runs a few milliseconds apart) before their median.
struct InterleavedTiming {
    struct Summary { let p10: Double, p50: Double, p90: Double }
    /// Per session: every run's time and each round's median (ms).
    let times: [[Double]]
    let roundMedians: [[Double]]

    var models: [Summary] {
        times.map { t in
            let s = t.sorted()
            return Summary(p10: nearestRankPercentile(s, 10), p50: nearestRankPercentile(s, 50), p90: nearestRankPercentile(s, 90))
        }
    }

    /// Round by round time(baseline) / time(model): the median, and the lowest and highest round.
    func speedup(of model: Int, over baseline: Int) -> (median: Double, low: Double, high: Double) {
        let ratios = zip(roundMedians[baseline], roundMedians[model]).map { $0 / $1 }.sorted()
        return (nearestRankPercentile(ratios, 50), ratios.first ?? 0, ratios.last ?? 0)
    }

    static func measure(_ sessions: [InferenceSession], input: Tensor, rounds: Int, runs: Int, warmup: Int = 10) throws -> InterleavedTiming {
        var times = [[Double]](repeating: [], count: sessions.count)
        var medians = [[Double]](repeating: [], count: sessions.count)
        do {
            for s in sessions { for _ in 0..<warmup { _ = try s.run(input) } }
            for round in 0..<rounds {
                for k in 0..<sessions.count {
                    let i = (k + round) % sessions.count
                    var here: [Double] = []
                    for _ in 0..<runs {
                        let start = nowMilliseconds()
                        _ = try sessions[i].run(input)
                        here.append(nowMilliseconds() - start)
                    }
                    times[i] += here
                    medians[i].append(nearestRankPercentile(here.sorted(), 50))
                }
            }
        } catch { throw CLIError("\(error)") }
        return InterleavedTiming(times: times, roundMedians: medians)
    }
}
