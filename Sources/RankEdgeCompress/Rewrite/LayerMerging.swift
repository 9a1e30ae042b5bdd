import RankEdge

/// Seed 003's layer merging (METHODS.md §3): a factor absorbed into its neighbouring conv so the
/// block keeps its depth. A pair X → [batch norm] → [ReLU] → Y of dense convs (or linears), where
/// one of them is a factor node and X's output goes nowhere else, becomes one node when that costs
/// fewer MACs than the two. Batch norm is folded into X first. The merge is exact when no ReLU lies
/// between and either Y is a plain 1×1 or X adds no bias; across a ReLU (`approximate`) the ReLU
/// moves after the merged node, which fine-tuning repairs.
struct LayerMerging {
    let mode: MergeMode

    func merge(_ graph: inout Graph) -> [MergeReport] {
        var reports: [MergeReport] = []
        while let (report, merged) = mergeOnce(graph) {
            graph = merged
            reports.append(report)
        }
        return reports
    }

    private struct Pair {
        var x: Int, bn: Int?, relu: Int?, y: Int
    }

    private func mergeOnce(_ graph: Graph) -> (MergeReport, Graph)? {
        var readers: [String: [Int]] = [:]
        for (i, n) in graph.nodes.enumerated() { for t in n.activationInputs { readers[t, default: []].append(i) } }
        let outputs = Set(graph.outputs)
        func soleReader(_ t: String) -> Int? {
            guard !outputs.contains(t), let r = readers[t], r.count == 1 else { return nil }
            return r[0]
        }
        let shapes = (try? graph.inferShapes(batch: 1)) ?? [:]
        for (xi, x) in graph.nodes.enumerated() where Self.isDense(x) {
            var pair = Pair(x: xi, bn: nil, relu: nil, y: -1)
            guard var next = soleReader(x.outputs[0]) else { continue }
            if case .batchNorm = graph.nodes[next].op { pair.bn = next; guard let n = soleReader(graph.nodes[next].outputs[0]) else { continue }; next = n }
            if case .relu = graph.nodes[next].op { pair.relu = next; guard let n = soleReader(graph.nodes[next].outputs[0]) else { continue }; next = n }
            let y = graph.nodes[next]
            guard Self.isDense(y), Self.sameKind(x, y) else { continue }
            pair.y = next
            let isFactor = { (n: Node) in Decomposition.parse(n.provenance ?? "") != nil }
            guard isFactor(x) || isFactor(y) else { continue }
            if pair.relu != nil && mode != .approximate { continue }
            guard let merged = Self.compose(graph, pair) else { continue }
            // Exactness: a ReLU between, or a bias pushed through a padded k×k conv, changes outputs.
            let exact = pair.relu == nil && (Self.isPlainPointwise(y) || !merged.xHasShift)
            if !exact && mode != .approximate { continue }
            let mergedMACs = merged.weight.shape.dims.dropFirst().reduce(1, *) * merged.weight.shape[0]
            let separate = graph.weights[x.inputs[1]]!.count + graph.weights[y.inputs[1]]!.count
            // Parameters stand in for MACs: both convs run at Y's output size when Y is a 1×1 (and at X's when X is).
            guard mergedMACs < separate, shapes[y.outputs[0]] != nil else { continue }
            return (MergeReport(node: y.name, from: [x.name, y.name], exact: exact), Self.rewrite(graph, pair, merged, exact: exact))
        }
        return nil
    }

    private static func isDense(_ n: Node) -> Bool {
        switch n.op {
        case .linear: return true
        case .conv2d(let a): return a.groups == 1
        default: return false
        }
    }

    private static func sameKind(_ a: Node, _ b: Node) -> Bool {
        if case .linear = a.op { if case .linear = b.op { return true } else { return false } }
        if case .conv2d = a.op, case .conv2d = b.op { return true }
        return false
    }

    private static func isPlainPointwise(_ n: Node) -> Bool {
        switch n.op {
        case .linear: return true
        case .conv2d(let a): return a.stride == .square(1) && a.padding == .zero && a.dilation == .square(1)
        default: return false
        }
    }

    private struct Composed { var weight: Tensor; var bias: [Float]; var op: Op; var xHasShift: Bool }

    /// Y ∘ BN ∘ X as one weight: Y 1×1 after any X, or X 1×1 before any Y.
    private static func compose(_ g: Graph, _ p: Pair) -> Composed? {
        let x = g.nodes[p.x], y = g.nodes[p.y]
        let wx = LayerWeight(g.weights[x.inputs[1]]!), wy = LayerWeight(g.weights[y.inputs[1]]!)
        guard wy.inputs == wx.outputs else { return nil }
        let m = wx.outputs
        // X with batch norm folded in: per output channel scale and shift.
        var scale = [Float](repeating: 1, count: m)
        var shift = x.inputs.count > 2 ? g.weights[x.inputs[2]]!.data : [Float](repeating: 0, count: m)
        if let bi = p.bn {
            let bn = g.nodes[bi]
            guard case .batchNorm(let eps) = bn.op else { return nil }
            let (gamma, beta, mean, variance) = (g.weights[bn.inputs[1]]!.data, g.weights[bn.inputs[2]]!.data,
                                                 g.weights[bn.inputs[3]]!.data, g.weights[bn.inputs[4]]!.data)
            for c in 0..<m {
                let s = gamma[c] / (variance[c] + eps).squareRoot()
                scale[c] = s
                shift[c] = s * (shift[c] - mean[c]) + beta[c]
            }
        }
        let yBias = y.inputs.count > 2 ? g.weights[y.inputs[2]]!.data : [Float](repeating: 0, count: wy.outputs)
        var bias = yBias
        for o in 0..<wy.outputs {
            var sum: Float = 0
            for t in 0..<wy.taps { for c in 0..<m { sum += wy.data[(o * wy.taps + t) * m + c] * shift[c] } }
            bias[o] += sum
        }
        let xHasShift = shift.contains { $0 != 0 }
        if wy.taps == 1 && isPlainPointwise(y) {
            // W[o, t, c] = Σ_m Y[o, m] · scale[m] · X[m, t, c]; X's geometry.
            var w = [Float](repeating: 0, count: wy.outputs * wx.fanIn)
            for o in 0..<wy.outputs { for mm in 0..<m {
                let f = wy.data[o * m + mm] * scale[mm]
                if f == 0 { continue }
                for j in 0..<wx.fanIn { w[o * wx.fanIn + j] += f * wx.data[mm * wx.fanIn + j] }
            } }
            let shape = g.weights[x.inputs[1]]!.shape.rank == 2 ? [wy.outputs, wx.inputs] : [wy.outputs, wx.kernelH, wx.kernelW, wx.inputs]
            return Composed(weight: Tensor(shape: shape, data: w), bias: bias, op: x.op, xHasShift: xHasShift)
        }
        if wx.taps == 1 && isPlainPointwise(x) {
            // W[o, t, c] = Σ_m Y[o, t, m] · scale[m] · X[m, c]; Y's geometry.
            var w = [Float](repeating: 0, count: wy.outputs * wy.taps * wx.inputs)
            for o in 0..<wy.outputs { for t in 0..<wy.taps { for mm in 0..<m {
                let f = wy.data[(o * wy.taps + t) * m + mm] * scale[mm]
                if f == 0 { continue }
                for c in 0..<wx.inputs { w[(o * wy.taps + t) * wx.inputs + c] += f * wx.data[mm * wx.inputs + c] }
            } } }
            let shape = g.weights[y.inputs[1]]!.shape.rank == 2 ? [wy.outputs, wx.inputs] : [wy.outputs, wy.kernelH, wy.kernelW, wx.inputs]
            return Composed(weight: Tensor(shape: shape, data: w), bias: bias, op: y.op, xHasShift: xHasShift)
        }
        return nil
    }

    /// The merged node takes Y's name and X's input; a ReLU that stood between moves after it.
    private static func rewrite(_ g: Graph, _ p: Pair, _ c: Composed, exact: Bool) -> Graph {
        var out = g
        let x = g.nodes[p.x], y = g.nodes[p.y]
        let weightName = out.freshName("\(y.name).merged.weight")
        let biasName = out.freshName("\(y.name).merged.bias")
        out.weights[weightName] = c.weight
        out.weights[biasName] = Tensor(shape: [c.bias.count], data: c.bias)
        let note = "merged \(x.name) into \(y.name) (\(exact ? "exact" : "approximate\(p.relu != nil ? ", across relu" : "")"))"
        var merged = Node(name: y.name, op: c.op, inputs: [x.inputs[0], weightName, biasName], outputs: y.outputs, provenance: note)
        var nodes = g.nodes
        var removed: Set<Int> = [p.x]
        if let b = p.bn { removed.insert(b) }
        if let r = p.relu {
            var relu = g.nodes[r]
            merged.outputs = ["\(y.name).premerge"]
            relu.inputs = merged.outputs
            relu.outputs = y.outputs
            nodes[p.y] = merged
            nodes.insert(relu, at: p.y + 1)
            removed.insert(r)
        } else {
            nodes[p.y] = merged
        }
        out.nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        let used = Set(out.nodes.flatMap(\.weightInputs))
        out.weights = out.weights.filter { used.contains($0.key) }
        return out
    }
}

extension Graph {
    func freshName(_ base: String) -> String {
        var name = base, i = 1
        while weights[name] != nil { i += 1; name = "\(base)\(i)" }
        return name
    }
}
