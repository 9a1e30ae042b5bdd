/// The one layer timer of the compiler's measured choices (the rank-conv form, the Winograd form
/// and tile): candidates run alone through the runtime at their real shapes.
enum LayerTimer {
    /// Milliseconds of each candidate layer alone through the runtime, on random input: the
    /// smallest of three medians, the candidates measured in turn in every round, so a burst of
    /// load from another process cannot decide the choice by landing on one candidate only.
    /// `winograd`: each candidate's policy for its 3×3 convs (default: never, so a reconstructed
    /// kernel is timed in the GEMM form).
    /// With a `cache`, candidates timed before on this CPU at the same shapes, ISA and threads are
    /// not timed again, and new timings are added to it.
    static func timeInterleaved(_ candidates: [(node: Node, weights: [String: Tensor])], input: TensorShape, isa: GEMMISA,
                                threads: Int, winograd: [WinogradPolicy]? = nil, cache: MeasurementCache? = nil) throws(RuntimeError) -> [Double] {
        let key = cacheKey(candidates, input: input, isa: isa, threads: threads, winograd: winograd)
        if let cached = cache?.times(for: key), cached.count == candidates.count { return cached }
        let times = try measure(candidates, input: input, isa: isa, threads: threads, winograd: winograd)
        cache?.store(times, for: key)
        return times
    }

    /// What a timing depends on: each candidate's op with its attributes and weight shapes, the
    /// input shape, the ISA, the thread count and the Winograd policies; not the weight values.
    static func cacheKey(_ candidates: [(node: Node, weights: [String: Tensor])], input: TensorShape, isa: GEMMISA,
                         threads: Int, winograd: [WinogradPolicy]?) -> String {
        let parts = candidates.enumerated().map { index, candidate in
            let shapes = candidate.node.weightInputs.map { candidate.weights[$0].map { "\($0.shape.dims)" } ?? "-" }
            return "\(candidate.node.op) \(shapes.joined(separator: ",")) \(winograd?[index].rawValue ?? "never")"
        }
        return "\(isa.rawValue) t\(threads) x\(input.dims) | " + parts.joined(separator: " | ")
    }

    private static func measure(_ candidates: [(node: Node, weights: [String: Tensor])], input: TensorShape, isa: GEMMISA,
                                threads: Int, winograd: [WinogradPolicy]?) throws(RuntimeError) -> [Double] {
        var rng = SeededRandom(seed: 1)
        let x = Tensor(shape: input, data: rng.uniformArray(count: input.elementCount, bound: 1))
        let sessions = try candidates.enumerated().map { index, candidate throws(RuntimeError) in
            let (node, weights) = candidate
            var used: [String: Tensor] = [:]
            for name in node.weightInputs { used[name] = weights[name] }
            var single = node
            single.inputs[0] = "x"
            let graph = Graph(name: node.name, inputs: [ValueInfo(name: "x", shape: input)], outputs: single.outputs,
                              nodes: [single], weights: used)
            let form: RankConvFormPolicy = node.op.kind == "rankConv2d" ? .separable : .dense
            return try InferenceSession(graph: graph, options: .init(threads: threads, isa: isa, rankConvForm: form, optimize: false,
                                                                     winograd: winograd?[index] ?? .never))
        }
        var best = [Double](repeating: .infinity, count: sessions.count)
        for _ in 0..<3 {
            for (i, session) in sessions.enumerated() {
                best[i] = min(best[i], try lift { () throws(ExecutionError) in try session.medianMilliseconds(x, minimumRuns: 5, minimumSeconds: 0.015) })
            }
        }
        return best
    }
}
