import RankEdge

/// A conv or linear layer `compress` may decompose, with what every policy needs to know of it.
public struct CandidateLayer: Sendable {
    public let node: Node
    public let weight: LayerWeight
    public let geometry: LayerGeometry
    /// Activation shapes at batch 1.
    public let inputShape: TensorShape
    public let outputShape: TensorShape
    public let params: Int
    public let macs: Int

    public var name: String { node.name }

    /// The same layer with another weight of its shape (a transformed one to factor instead).
    func with(weight w: LayerWeight) -> CandidateLayer {
        CandidateLayer(node: node, weight: w, geometry: geometry, inputShape: inputShape, outputShape: outputShape,
                       params: params, macs: macs)
    }
    public var op: String { geometry.isLinear ? "linear" : "conv\(weight.kernelH)x\(weight.kernelW)" }
    /// Output positions per image (1 for a linear layer): MACs = positions · params of the weight.
    public var positions: Int { geometry.isLinear ? 1 : outputShape[1] * outputShape[2] }
}

/// A layer left as it was before any policy ran, and why.
public struct SkippedLayer: Sendable, Equatable {
    public var name: String
    public var op: String
    public var reason: String
}

/// Which layers a compression touches: every conv2d and linear, minus grouped and depthwise convs,
/// layers already factored, and by default the first layer and the classifier (too thin to gain, and
/// the most sensitive); `include` globs replace the default set, `exclude` globs remove from it.
public enum LayerSelection {
    public static func candidates(in graph: Graph, include: [String] = [], exclude: [String] = []) throws(CompressError)
        -> (layers: [CandidateLayer], skipped: [SkippedLayer]) {
        for pattern in include + exclude where !graph.nodes.contains(where: { globMatches(pattern, $0.name) }) {
            throw .badOption("no node matches '\(pattern)'")
        }
        let shapes: [String: TensorShape]
        do { shapes = try graph.inferShapes(batch: 1) } catch { throw .badGraph("\(error)") }
        let inputs = Set(graph.inputs.map(\.name))
        let outputs = Set(graph.outputs)
        let lastDense = graph.nodes.last { if case .linear = $0.op { true } else { false } }?.name
        var layers: [CandidateLayer] = []
        var skipped: [SkippedLayer] = []
        for node in graph.nodes {
            let geometry: LayerGeometry
            switch node.op {
            case .conv2d(let attrs): geometry = LayerGeometry(conv: attrs)
            case .linear: geometry = .linear
            default: continue
            }
            guard let w = graph.weights[node.inputs[1]] else { continue }
            let weight = LayerWeight(w)
            let opName = geometry.isLinear ? "linear" : "conv\(weight.kernelH)x\(weight.kernelW)"
            func skip(_ reason: String) { skipped.append(SkippedLayer(name: node.name, op: opName, reason: reason)) }
            let explicitlyIncluded = include.contains { globMatches($0, node.name) }
            if !include.isEmpty && !explicitlyIncluded { skip("not matched by --include"); continue }
            if exclude.contains(where: { globMatches($0, node.name) }) { skip("excluded by --exclude"); continue }
            if let g = geometry.conv?.groups, g > 1 {
                skip(g == weight.outputs && weight.inputs == 1 ? "depthwise conv: kept as it is" : "grouped conv (\(g) groups): kept as it is")
                continue
            }
            if Decomposition.parse(node.provenance ?? "") != nil { skip("already factored"); continue }
            if !explicitlyIncluded {
                if inputs.contains(node.inputs[0]) { skip("first layer (use --include to decompose it)"); continue }
                if outputs.contains(node.outputs[0]) || node.name == lastDense { skip("classifier (use --include to decompose it)"); continue }
            }
            if min(weight.outputs, weight.fanIn) < 2 { skip("rank 1 already"); continue }
            let out = shapes[node.outputs[0]]!
            layers.append(CandidateLayer(node: node, weight: weight, geometry: geometry, inputShape: shapes[node.inputs[0]]!,
                                         outputShape: out, params: graph.params(of: node),
                                         macs: graph.macs(of: node, outputShape: out)))
        }
        guard !layers.isEmpty else {
            throw .nothingToCompress(skipped.isEmpty ? "the graph has no conv or linear layer"
                                                     : "every conv and linear layer is excluded (\(skipped.count) skipped)")
        }
        return (layers, skipped)
    }
}
