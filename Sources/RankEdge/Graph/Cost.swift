/// Parameter and multiply-accumulate counts, per node and for the whole graph.
public struct NodeCost: Sendable, Equatable {
    public var params: Int
    public var macs: Int
}

extension Graph {
    /// Learned parameters a node owns: the elements of its weight inputs, except batch norm's running
    /// mean and variance, which are statistics (buffers), as PyTorch and the papers count them.
    public func params(of node: Node) -> Int {
        let learned = node.op.kind == "batchNorm" ? node.weightInputs.prefix(2) : node.weightInputs[...]
        return learned.reduce(0) { $0 + (weights[$1]?.count ?? 0) }
    }

    /// Multiply-accumulates of one node at the given output shape; elementwise ops count 0.
    public func macs(of node: Node, outputShape out: TensorShape) -> Int {
        switch node.op {
        case .conv2d:
            guard let w = weights[node.inputs[1]] else { return 0 }
            // Each output element reads kh·kw·(C/groups) inputs.
            return saturatingProduct([out.elementCount, w.shape[1], w.shape[2], w.shape[3]])
        case .rankConv2d:
            // The cheaper of the two precomputed forms (METHODS.md §1): separable costs 2·L·k per
            // (output, input channel) pair, the reconstructed dense kernel k².
            guard let a = weights[node.inputs[1]] else { return 0 }
            let (c, l, k) = (a.shape[1], a.shape[2], a.shape[3])
            return saturatingProduct([out.elementCount, c, min(2 * l, k), k])
        case .linear:
            guard let w = weights[node.inputs[1]] else { return 0 }
            return saturatingProduct([out.elementCount, w.shape[1]])
        default:
            return 0
        }
    }

    /// Per-node cost and totals, at the graph's own input batch.
    public func cost() throws(GraphValidationError) -> (nodes: [NodeCost], total: NodeCost) {
        let shapes = try inferShapes()
        var rows: [NodeCost] = []
        var total = NodeCost(params: 0, macs: 0)
        for node in nodes {
            let c = NodeCost(params: params(of: node), macs: macs(of: node, outputShape: shapes[node.outputs[0]]!))
            rows.append(c)
            total.params = min(Int.max - c.params, total.params) + c.params
            total.macs = min(Int.max - c.macs, total.macs) + c.macs
        }
        return (rows, total)
    }
}

/// A product that stops at Int.max instead of trapping: a valid file may still declare absurd sizes.
func saturatingProduct(_ factors: [Int]) -> Int {
    var p = 1
    for f in factors {
        let (r, overflow) = p.multipliedReportingOverflow(by: f)
        if overflow { return Int.max }
        p = r
    }
    return p
}
