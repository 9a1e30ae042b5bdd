import RankEdge

/// The part of a graph from one node on, as a graph of its own: its inputs are every tensor it
/// reads that was produced before the cut (in a residual network, the skip tensors too). Lets a
/// search change one layer and run only that layer and what follows it.
struct SuffixGraph {
    let graph: Graph
    /// The tensors to feed, `first` (when given) first.
    let inputs: [String]

    /// The nodes after `nodeName`; its output is the first input.
    init(_ full: Graph, after nodeName: String) throws(CompressError) {
        guard let k = full.nodes.firstIndex(where: { $0.name == nodeName }) else { throw .badGraph("no node \(nodeName)") }
        try self.init(full, from: k + 1, first: full.nodes[k].outputs[0])
    }

    /// The nodes from `nodeName` on.
    init(_ full: Graph, from nodeName: String) throws(CompressError) {
        guard let k = full.nodes.firstIndex(where: { $0.name == nodeName }) else { throw .badGraph("no node \(nodeName)") }
        try self.init(full, from: k, first: nil)
    }

    private init(_ full: Graph, from k: Int, first: String?) throws(CompressError) {
        let shapes: [String: TensorShape]
        do { shapes = try full.inferShapes(batch: 1) } catch { throw .badGraph("\(error)") }
        let head = full.nodes[..<k], tail = Array(full.nodes[k...])
        // A cut after the last node has nothing to run.
        guard !tail.isEmpty else { throw .badGraph("nothing follows \(full.nodes[k - 1].name)") }
        var produced = Set(full.inputs.map(\.name))
        for n in head { produced.formUnion(n.outputs) }
        var needed: [String] = first.map { [$0] } ?? []
        for n in tail { for t in n.activationInputs where produced.contains(t) && !needed.contains(t) { needed.append(t) } }
        var weights: [String: Tensor] = [:]
        for n in tail { for w in n.weightInputs { weights[w] = full.weights[w] } }
        graph = Graph(name: "\(full.name) from \(tail[0].name)", inputs: needed.map { ValueInfo(name: $0, shape: shapes[$0]!) },
                      outputs: full.outputs, nodes: tail, weights: weights, classNames: full.classNames)
        inputs = needed
    }
}
