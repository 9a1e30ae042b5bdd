/// The one layer timer of the compiler's measured choices (the rank-conv form, the Winograd form
/// and tile): candidates run alone through the runtime at their real shapes.
enum LayerTimer {
    /// Milliseconds of each candidate layer alone through the runtime, on random input: the
    /// smallest of three medians, the candidates measured in turn in every round, so a burst of
    /// load from another process cannot decide the choice by landing on one candidate only.
    /// `winograd`: each candidate's policy for its 3×3 convs (default: never, so a reconstructed
    /// kernel is timed in the GEMM form).
    static func timeInterleaved(_ candidates: [(node: Node, weights: [String: Tensor])], input: TensorShape, isa: GEMMISA,
                                threads: Int, winograd: [WinogradPolicy]? = nil) throws(RuntimeError) -> [Double] {
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
