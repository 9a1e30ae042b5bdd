/// Merges two consecutive linear maps with no nonlinearity between them into one, exactly, when the
/// merged map costs fewer MACs (METHODS.md §3, layer merging). Patterns, A feeding B:
/// linear∘linear; 1×1 conv → k×k conv; k×k conv → 1×1 conv. Run after FoldBatchNorm, so a BN
/// between the two has already become part of A.
public enum MergeLinearChains {
    public static func apply(_ graph: Graph) throws(GraphValidationError) -> Graph {
        var g = graph
        // Merging never changes the shape of a tensor that survives, so one inference serves all rounds.
        let shapes = try g.inferShapes()
        // Each merge removes a node, so repeat until nothing changes; chains of three collapse in two rounds.
        while let merged = mergeOnce(g, shapes: shapes) { g = merged }
        g.pruneUnusedWeights()
        return g
    }

    private static func mergeOnce(_ g: Graph, shapes: [String: TensorShape]) -> Graph? {
        let uses = GraphUses(g)
        var producerIndex: [String: Int] = [:]
        for (i, n) in g.nodes.enumerated() { for o in n.outputs { producerIndex[o] = i } }

        for (bi, b) in g.nodes.enumerated() {
            guard let first = b.activationInputs.first, let ai = producerIndex[first], uses.hasSingleReader(first) else { continue }
            let a = g.nodes[ai]
            // Compare costs before building anything: the merged map reads A's input with A's taps
            // composed with B's, i.e. its weight has B's outputs and (taps · inputs) of the composition.
            guard let depth = mergedDepth(a, b, in: g) else { continue }
            let costBefore = g.macs(of: a, outputShape: shapes[a.outputs[0]]!) + g.macs(of: b, outputShape: shapes[b.outputs[0]]!)
            let costAfter = shapes[b.outputs[0]]!.elementCount * depth
            guard costAfter < costBefore, let candidate = merge(a, b, in: g, shapes: shapes) else { continue }
            var trial = g
            for (name, t) in candidate.weights { trial.weights[name] = t }
            trial.nodes[bi] = candidate.node
            trial.nodes.remove(at: ai)
            return trial
        }
        return nil
    }

    /// MACs per output element of B∘A when the pair is a mergeable pattern (see `merge`), else nil.
    static func mergedDepth(_ a: Node, _ b: Node, in g: Graph) -> Int? {
        guard a.inputs.count > 1, b.inputs.count > 1, let wa = g.weights[a.inputs[1]], let wb = g.weights[b.inputs[1]] else { return nil }
        switch (a.op, b.op) {
        case (.linear, .linear):
            return wa.shape[1]
        case (.conv2d(let aa), .conv2d(let ba)) where aa.groups == 1 && ba.groups == 1:
            let aIsPointwise = wa.shape[1] == 1 && wa.shape[2] == 1 && aa.padding == .zero && aa.dilation == .square(1)
            let bIsPointwise = wb.shape[1] == 1 && wb.shape[2] == 1 && ba.padding == .zero && ba.stride == .square(1)
            if aIsPointwise && aa.stride == .square(1) { return wb.shape[1] * wb.shape[2] * wa.shape[3] }
            if bIsPointwise { return wa.shape[1] * wa.shape[2] * wa.shape[3] }
            return nil
        default:
            return nil
        }
    }

    struct Candidate { var node: Node; var weights: [String: Tensor] }

    /// The single node equal to B∘A, or nil when the pair is not a mergeable pattern.
    static func merge(_ a: Node, _ b: Node, in g: Graph, shapes: [String: TensorShape]) -> Candidate? {
        func weight(_ n: Node) -> Tensor { g.weights[n.inputs[1]]! }
        func bias(_ n: Node, _ count: Int) -> [Float]? { n.inputs.count > 2 ? g.weights[n.inputs[2]]!.data : nil }
        let note = "merged \(a.name) into \(b.name)"

        switch (a.op, b.op) {
        case (.linear, .linear):
            // W = W_B·W_A, b = W_B·b_A + b_B.
            let (wa, wb) = (weight(a), weight(b))
            let (r, c, s) = (wa.shape[0], wa.shape[1], wb.shape[0])
            var w = [Float](repeating: 0, count: s * c)
            for i in 0..<s { for k in 0..<r { let x = wb.data[i * r + k]; for j in 0..<c { w[i * c + j] += x * wa.data[k * c + j] } } }
            let bb = composedBias(outer: wb.data, outerBias: bias(b, s), innerBias: bias(a, r), s: s, r: r, taps: 1)
            return candidate(b, a: a, weight: Tensor(shape: [s, c], data: w), bias: bb, op: .linear, note: note, g: g)

        case (.conv2d(let aa), .conv2d(let ba)) where aa.groups == 1 && ba.groups == 1:
            let (wa, wb) = (weight(a), weight(b))
            let aIsPointwise = wa.shape[1] == 1 && wa.shape[2] == 1 && aa.padding == .zero && aa.dilation == .square(1)
            let bIsPointwise = wb.shape[1] == 1 && wb.shape[2] == 1 && ba.padding == .zero && ba.stride == .square(1)
            if aIsPointwise && aa.stride == .square(1) {
                // 1×1 (C→R) then k×k (R→S): W[s,y,x,c] = Σ_r W_B[s,y,x,r]·W_A[r,c]. A's bias would be
                // zero-padded away at the borders by B, so it merges exactly only when B has no padding.
                let aBias = bias(a, wa.shape[0])
                if let ab = aBias, ba.padding != .zero, ab.contains(where: { $0 != 0 }) { return nil }
                let (r, c) = (wa.shape[0], wa.shape[3])
                let (s, kh, kw) = (wb.shape[0], wb.shape[1], wb.shape[2])
                var w = [Float](repeating: 0, count: s * kh * kw * c)
                for o in 0..<(s * kh * kw) {
                    for k in 0..<r {
                        let x = wb.data[o * r + k]
                        for j in 0..<c { w[o * c + j] += x * wa.data[k * c + j] }
                    }
                }
                let bb = composedBias(outer: wb.data, outerBias: bias(b, s), innerBias: aBias, s: s, r: r, taps: kh * kw)
                return candidate(b, a: a, weight: Tensor(shape: [s, kh, kw, c], data: w), bias: bb, op: b.op, note: note, g: g)
            }
            if bIsPointwise {
                // k×k (C→R) then 1×1 (R→S): W[s,y,x,c] = Σ_r W_B[s,r]·W_A[r,y,x,c]; A's attributes survive.
                let (r, kh, kw, c) = (wa.shape[0], wa.shape[1], wa.shape[2], wa.shape[3])
                let s = wb.shape[0]
                let per = kh * kw * c
                var w = [Float](repeating: 0, count: s * per)
                for i in 0..<s { for k in 0..<r { let x = wb.data[i * r + k]; for j in 0..<per { w[i * per + j] += x * wa.data[k * per + j] } } }
                let bb = composedBias(outer: wb.data, outerBias: bias(b, s), innerBias: bias(a, r), s: s, r: r, taps: 1)
                return candidate(b, a: a, weight: Tensor(shape: [s, kh, kw, c], data: w), bias: bb, op: a.op, note: note, g: g)
            }
            return nil
        default:
            return nil
        }
    }

    /// b = b_B + Σ_taps Σ_r W_B[s, tap, r]·b_A[r]; nil when neither side has a bias.
    static func composedBias(outer: [Float], outerBias: [Float]?, innerBias: [Float]?, s: Int, r: Int, taps: Int) -> [Float]? {
        guard outerBias != nil || innerBias != nil else { return nil }
        var out = outerBias ?? [Float](repeating: 0, count: s)
        if let ib = innerBias {
            for i in 0..<s { for t in 0..<taps { for k in 0..<r { out[i] += outer[(i * taps + t) * r + k] * ib[k] } } }
        }
        return out
    }

    static func candidate(_ b: Node, a: Node, weight: Tensor, bias: [Float]?, op: Op, note: String, g: Graph) -> Candidate {
        var weights: [String: Tensor] = [:]
        let wName = g.freshWeightName("\(b.name).merged_weight")
        weights[wName] = weight
        var inputs = [a.inputs[0], wName]
        if let bias {
            let bName = g.freshWeightName("\(b.name).merged_bias")
            weights[bName] = Tensor(shape: [bias.count], data: bias)
            inputs.append(bName)
        }
        let provenance = [a.provenance, b.provenance, note].compactMap { $0 }.joined(separator: "; ")
        return Candidate(node: Node(name: b.name, op: op, inputs: inputs, outputs: b.outputs, provenance: provenance), weights: weights)
    }
}
