import RankEdge

/// Whole-model time per stage from the runtime's per-step profile: a stage is the part of a node
/// name before its first "." (`layer2`, `conv1`, `fc`), so original and compressed graphs compare
/// stage by stage even though their nodes differ.
struct StageProfiler {
    var threads: Int
    var runs = 30

    func stages(_ graph: Graph) throws(CompressError) -> [(String, Double)] {
        do {
            let session = try InferenceSession(graph: graph, options: .init(threads: threads, profiling: true))
            var rng = SeededRandom(seed: 3)
            let info = session.model.graph.inputs[0]
            let x = Tensor(shape: info.shape, data: rng.uniformArray(count: info.shape.elementCount, bound: 1))
            _ = try session.run(x)
            session.resetProfile()
            for _ in 0..<runs { _ = try session.run(x) }
            var order: [String] = []
            var total: [String: Double] = [:]
            for step in session.profile {
                let stage = String((step.nodes.first ?? step.name).split(separator: ".").first ?? "")
                if total[stage] == nil { order.append(stage) }
                total[stage, default: 0] += step.milliseconds
            }
            return order.map { ($0, total[$0]!) }
        } catch { throw .measurement("profiling \(graph.name): \(error)") }
    }
}
