import RankEdge

/// Batch-1 latency on this CPU through the runtime that will run the model. Graphs compared with
/// each other are timed in alternating rounds and reported as medians, so a busy moment of the
/// machine falls on all of them alike, in an order that changes from round to round.
public struct LatencyMeter: Sendable {
    public var threads: Int
    /// Alternating rounds; each round runs every graph `runsPerRound` times.
    public var rounds: Int
    public var runsPerRound: Int

    public init(threads: Int = 1, rounds: Int = 7, runsPerRound: Int = 5) {
        self.threads = threads; self.rounds = rounds; self.runsPerRound = runsPerRound
    }

    /// Median milliseconds per run of each graph, in order.
    public func medians(_ graphs: [Graph]) throws(CompressError) -> [Double] {
        try samples(graphs).map { median($0) }
    }

    /// Every timed run of each graph (ms), after one untimed warm-up run each.
    public func samples(_ graphs: [Graph]) throws(CompressError) -> [[Double]] {
        var sessions: [(InferenceSession, [Float], [Float])] = []
        do {
            for g in graphs {
                let session = try InferenceSession(graph: g, options: .init(threads: threads))
                let info = session.model.graph.inputs[0]
                var rng = SeededRandom(seed: 11)
                let input = rng.uniformArray(count: info.shape.elementCount, bound: 1)
                let outShape = try session.model.graph.inferShapes()[session.model.graph.outputs[0]]!
                sessions.append((session, input, [Float](repeating: 0, count: outShape.elementCount)))
            }
        } catch { throw .measurement("\(error)") }
        var times = [[Double]](repeating: [], count: graphs.count)
        do {
            for i in sessions.indices { try runOnce(&sessions[i]) }
            var order = Array(sessions.indices)
            var shuffler = SeededRandom(seed: 29)
            for _ in 0..<rounds {
                // A fresh order every round (seeded, so runs repeat it): no graph always follows
                // the same one, whose cache footprint would bias it the same way in every round.
                order.shuffle(using: &shuffler)
                for i in order {
                    for _ in 0..<runsPerRound {
                        let start = monotonicNanoseconds()
                        try runOnce(&sessions[i])
                        times[i].append(Double(monotonicNanoseconds() - start) * 1e-6)
                    }
                }
            }
        } catch { throw .measurement("\(error)") }
        return times
    }

    private func runOnce(_ s: inout (InferenceSession, [Float], [Float])) throws {
        let input = s.1
        try input.withUnsafeBufferPointer { x in
            try s.2.withUnsafeMutableBufferPointer { y in try s.0.run(input: x, output: y) }
        }
    }
}

/// The median of a non-empty sample (the mean of the two middle values for an even count).
public func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
}
