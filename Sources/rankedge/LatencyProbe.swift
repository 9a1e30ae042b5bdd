import RankEdge

/// Nearest-rank percentile of sorted times: the smallest with at least p % of the runs at or below it.
func nearestRankPercentile(_ sorted: [Double], _ p: Double) -> Double {
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank - 1, 0), sorted.count - 1)]
}

/// Median batch-1 latency (ms) of a graph on the fast runtime, one thread: the figure the
/// experiments record beside accuracy, measured the way `rankedge bench` measures.
func medianLatency(_ graph: Graph, warmup: Int = 10, iterations: Int = 60) throws -> Double {
    let session: InferenceSession
    do { session = try InferenceSession(graph: graph, options: .init(threads: 1)) } catch { throw CLIError("\(graph.name): \(error)") }
    let compiled = session.model
    var rng = SeededRandom(seed: 42)
    let input = rng.uniformArray(count: compiled.graph.inputs[0].shape.elementCount, bound: 1)
    let outShape: TensorShape
    do { outShape = try compiled.graph.inferShapes()[compiled.graph.outputs[0]]! } catch { throw CLIError("\(graph.name): \(error)") }
    var output = [Float](repeating: 0, count: outShape.elementCount)
    var times: [Double] = []
    do {
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in
                for _ in 0..<warmup { try session.run(input: x, output: y) }
                for _ in 0..<iterations {
                    let start = nowMilliseconds()
                    try session.run(input: x, output: y)
                    times.append(nowMilliseconds() - start)
                }
            }
        }
    } catch { throw CLIError("\(graph.name): \(error)") }
    return nearestRankPercentile(times.sorted(), 50)
}
