@testable import RankEdge
@testable import RankEdgeZoo

/// Zoo graphs at reduced input resolution, so the reference executor stays fast in debug builds.
enum TestGraphs {
    /// The same network on a `side`×`side` input. A linear whose input width changes with the
    /// resolution (mini-VGG's flatten → fc) keeps the leading columns of its weight: the network is
    /// then a smaller sibling of the original, with every layer's form unchanged.
    static func shrink(_ graph: Graph, side: Int) throws -> Graph {
        var g = graph
        g.inputs[0].shape[1] = side
        g.inputs[0].shape[2] = side
        for _ in 0..<g.nodes.count {
            do {
                _ = try g.inferShapes()
                return g
            } catch {  // a GraphValidationError: inferShapes throws only that
                guard let problem = error.problems.first, let name = problem.node,
                      let index = g.nodes.firstIndex(where: { $0.name == name }), g.nodes[index].op == .linear
                else { throw error }
                var partial = g
                partial.nodes = Array(g.nodes[..<index])
                partial.outputs = [g.nodes[index].inputs[0]]
                let width = try partial.inferShapes()[g.nodes[index].inputs[0]]![1]
                let weightName = g.nodes[index].inputs[1]
                let w = g.weights[weightName]!
                let (s, c) = (w.shape[0], w.shape[1])
                var sliced = [Float]()
                for o in 0..<s { sliced += w.data[(o * c)..<(o * c + width)] }
                g.weights[weightName] = Tensor(shape: [s, width], data: sliced)
            }
        }
        return g
    }

    /// The graph with every rankConv2d replaced by a conv2d with its reconstructed kernel: the same
    /// function (ReferenceRankConvTests proves the equivalence) at a small fraction of the reference
    /// executor's cost, since rank-L loops cost L·k² per tap where the dense ones cost 1.
    static func reconstructed(_ graph: Graph) -> Graph {
        var g = graph
        for (i, node) in g.nodes.enumerated() {
            guard case .rankConv2d(let attrs) = node.op else { continue }
            let name = "\(node.name).reconstructed"
            g.weights[name] = reconstructRankKernel(a: g.weights[node.inputs[1]]!, b: g.weights[node.inputs[2]]!)
            g.nodes[i].op = .conv2d(Conv2DAttributes(stride: attrs.stride, padding: attrs.padding))
            g.nodes[i].inputs = [node.inputs[0], name] + node.inputs.dropFirst(3)
        }
        return g
    }
}
