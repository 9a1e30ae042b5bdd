import CRankEdgeKernels

/// Precomputes every rankConv2d for inference (METHODS.md §1): either the reconstructed dense
/// kernel Σ_l a_l ⊗ b_l as an ordinary conv2d, or the factor banks for the separable kernel. With
/// `.measure`, both forms of each layer are built and timed on this CPU at the layer's real shapes,
/// and the faster one is kept; the times are recorded with the choice.
enum RankConvPrecompute {
    static func apply(_ graph: Graph, options: CompileOptions, isa: GEMMISA) throws(RuntimeError) -> (Graph, [RankConvChoice]) {
        var g = graph
        var choices: [RankConvChoice] = []
        let batch = options.batch ?? graph.inputs.first?.shape[0] ?? 1
        let shapes = try lift { () throws(GraphValidationError) in try graph.inferShapes(batch: batch) }
        for (i, node) in graph.nodes.enumerated() {
            guard case .rankConv2d(let attrs) = node.op else { continue }
            var choice = RankConvChoice(node: node.name, form: .separable, denseMs: nil, separableMs: nil)
            let k = graph.weights[node.inputs[1]]!.shape[3]
            switch k > Int(RE_RANKCONV_MAX_K) ? .dense : options.rankConvForm {
            case .dense: choice.form = .dense
            case .separable: choice.form = .separable
            case .measure:
                let input = shapes[node.inputs[0]]!
                let dense = denseNode(node, attrs: attrs, in: &g)
                let times = try LayerTimer.timeInterleaved([(node, graph.weights), (dense.node, dense.weights)], input: input, isa: isa,
                                                threads: options.threads, cache: options.measurementCache)
                (choice.separableMs, choice.denseMs) = (times[0], times[1])
                choice.form = times[1] < times[0] ? .dense : .separable
            }
            if choice.form == .dense {
                let dense = denseNode(node, attrs: attrs, in: &g)
                g.nodes[i] = dense.node
                for (name, t) in dense.weights where dense.node.inputs.contains(name) { g.weights[name] = t }
            }
            choices.append(choice)
        }
        g.pruneUnusedWeights()
        return (g, choices)
    }

    /// The conv2d with the reconstructed kernel; same name, inputs' activation and bias.
    static func denseNode(_ node: Node, attrs: RankConv2DAttributes, in g: inout Graph) -> (node: Node, weights: [String: Tensor]) {
        let kernel = reconstructRankKernel(a: g.weights[node.inputs[1]]!, b: g.weights[node.inputs[2]]!)
        let name = g.freshWeightName("\(node.name).reconstructed")
        var weights = [name: kernel]
        var inputs = [node.inputs[0], name]
        if node.inputs.count > 3 { inputs.append(node.inputs[3]); weights[node.inputs[3]] = g.weights[node.inputs[3]] }
        let provenance = g.appendingProvenance("rank kernel reconstructed (dense form)", to: node.provenance)
        return (Node(name: node.name, op: .conv2d(Conv2DAttributes(stride: attrs.stride, padding: attrs.padding)),
                     inputs: inputs, outputs: node.outputs, provenance: provenance), weights)
    }
}
