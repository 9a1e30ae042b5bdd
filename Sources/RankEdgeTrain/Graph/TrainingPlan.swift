import RankEdge
import RankEdgeCompress

/// How `TrainableGraph.forward` runs a graph's nodes: each node by itself, except that a batchNorm
/// whose only consumer is a ReLU, or the join of a residual block (batchNorm → add → ReLU), runs as
/// one fused op (same result; the normalised tensor and the sum are never stored). The graph keeps
/// every node: fusion is a property of training, not of the model.
struct TrainingPlan {
    enum Step: Equatable {
        /// The node by itself.
        case run
        /// Folded into another step.
        case skip
        /// batchNorm node `node` (+ `residual`) (then ReLU), producing tensor `result`.
        case batchNorm(node: Int, result: String, residual: String?, relu: Bool)
    }

    /// One per graph node, in node order.
    var steps: [Step]
    /// Activations no later step reads, dropped after each step so evaluation holds only live ones.
    var releases: [[String]]

    init(_ graph: Graph) {
        let nodes = graph.nodes
        var producer: [String: Int] = [:]
        var consumers: [String: [Int]] = [:]
        for (i, node) in nodes.enumerated() {
            for name in node.outputs { producer[name] = i }
            for name in node.activationInputs { consumers[name, default: []].append(i) }
        }
        let outputs = Set(graph.outputs)
        /// The one node reading `tensor`, when exactly one does and the tensor is not a graph output.
        func soleConsumer(_ tensor: String) -> Int? {
            guard !outputs.contains(tensor), let c = consumers[tensor], c.count == 1 else { return nil }
            return c[0]
        }
        func soleReLU(after tensor: String) -> Int? {
            guard let j = soleConsumer(tensor), nodes[j].op == .relu else { return nil }
            return j
        }
        func isBatchNorm(_ i: Int) -> Bool { if case .batchNorm = nodes[i].op { true } else { false } }

        var steps = [Step](repeating: .run, count: nodes.count)
        // Residual joins first: the add's first input is the block body (as the zoo and PyTorch
        // write it), so a batchNorm there takes the other input as its residual.
        for (j, node) in nodes.enumerated() where node.op == .add && node.inputs[0] != node.inputs[1] {
            let candidates = [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])]
            guard let (main, other) = candidates.first(where: { t, _ in
                producer[t].map(isBatchNorm) == true && soleConsumer(t) == j && steps[producer[t]!] == .run
            }) else { continue }
            let bn = producer[main]!
            var result = node.outputs[0], relu = false
            if let r = soleReLU(after: result) { relu = true; steps[r] = .skip; result = nodes[r].outputs[0] }
            steps[bn] = .skip
            steps[j] = .batchNorm(node: bn, result: result, residual: other, relu: relu)
        }
        for (i, node) in nodes.enumerated() where isBatchNorm(i) && steps[i] == .run {
            if let r = soleReLU(after: node.outputs[0]) {
                steps[r] = .skip
                steps[i] = .batchNorm(node: i, result: nodes[r].outputs[0], residual: nil, relu: true)
            } else {
                steps[i] = .batchNorm(node: i, result: node.outputs[0], residual: nil, relu: false)
            }
        }
        self.steps = steps

        // What each step reads, for the releases.
        var lastRead: [String: Int] = [:]
        for (i, step) in steps.enumerated() {
            switch step {
            case .skip: continue
            case .run: for name in nodes[i].activationInputs { lastRead[name] = i }
            case .batchNorm(let bn, _, let residual, _):
                lastRead[nodes[bn].inputs[0]] = i
                if let residual { lastRead[residual] = i }
            }
        }
        var releases = [[String]](repeating: [], count: nodes.count)
        for (name, i) in lastRead where !outputs.contains(name) { releases[i].append(name) }
        self.releases = releases
    }
}
