import RankEdge

/// A short human description of a node's form: kernel, stride, rank, groups.
func describe(_ node: Node, in graph: Graph) -> String {
    func weightShape(_ i: Int) -> TensorShape? {
        i < node.inputs.count ? graph.weights[node.inputs[i]]?.shape : nil
    }
    switch node.op {
    case .conv2d(let a):
        guard let w = weightShape(1) else { return "" }
        var s = "\(w[1])x\(w[2]) s\(a.stride) p\(a.padding)"
        if a.dilation != .square(1) { s += " d\(a.dilation)" }
        if a.groups > 1 { s += a.groups == w[0] && w[3] == 1 ? " depthwise" : " g\(a.groups)" }
        return s
    case .rankConv2d(let a):
        guard let f = weightShape(1) else { return "" }
        return "\(f[3])x\(f[3]) rank \(f[2]) s\(a.stride) p\(a.padding)"
    case .linear:
        guard let w = weightShape(1) else { return "" }
        return "\(w[1])→\(w[0])"
    case .maxPool(let a), .avgPool(let a):
        return "\(a.kernel) s\(a.stride) p\(a.padding)"
    case .batchNorm(let eps): return "eps \(eps)"
    case .dropout(let rate): return "rate \(rate)"
    default: return ""
    }
}
