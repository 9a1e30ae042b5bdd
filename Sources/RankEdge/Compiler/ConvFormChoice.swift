/// Which 3×3 and 5×5 stride-1 convs run in the Winograd form (`WinogradConv`): all that can, none, or each
/// where it measures faster than the GEMM form on this CPU.
public enum WinogradPolicy: String, Sendable, CaseIterable {
    case measure
    case never
    case always
}

/// The form chosen for one conv that the Winograd form applies to and, when measured, the times.
public struct WinogradChoice: Sendable, Equatable {
    public var node: String
    public var winograd: Bool
    /// Median milliseconds of the layer alone in each form (nil when not measured).
    public var gemmMs: Double?
    public var winogradMs: Double?
}

/// Picks the convs to lower in the Winograd form. Winograd saves multiply-adds (2.25× fewer for
/// 3×3) but its transformed weights are 16/9 the size and its GEMMs have a quarter of the rows, so it loses
/// where the weights dominate (few pixels, many channels: the last ResNet-50 stage at batch 1);
/// measuring decides per layer. Layers of the same shape are measured once.
enum ConvFormChoice {
    /// The convs the form could take: 3×3 or 5×5, stride 1, one group, in no chain, and not taken by the
    /// narrow direct kernel (few output channels, where it beats any GEMM).
    static func candidates(_ graph: Graph, groups: [FusionGroup], shapes: [String: TensorShape]) -> [Node] {
        groups.compactMap { group -> Node? in
            let node = graph.nodes[group.leader]
            guard !group.chain, case .conv2d(let attrs) = node.op, let w = graph.weights[node.inputs[1]],
                  let output = shapes[node.outputs[0]], output.rank == 4,
                  WinogradConv.applies(weight: w.shape, attributes: attrs),
                  !NarrowConvWeights.applies(weight: w.shape, attributes: attrs, output: output) else { return nil }
            return node
        }
    }

    static func choose(_ graph: Graph, groups: [FusionGroup], policy: WinogradPolicy, batch: Int?, threads: Int,
                       isa: GEMMISA) throws -> (Set<String>, [WinogradChoice]) {
        if policy == .never { return ([], []) }
        let shapes = try graph.inferShapes(batch: batch ?? graph.inputs.first?.shape[0] ?? 1)
        let nodes = candidates(graph, groups: groups, shapes: shapes)
        guard policy == .measure else {
            return (Set(nodes.map(\.name)), nodes.map { WinogradChoice(node: $0.name, winograd: true) })
        }
        var measured: [String: (Double, Double)] = [:]
        var chosen = Set<String>()
        var choices: [WinogradChoice] = []
        for node in nodes {
            let input = shapes[node.inputs[0]]!, weight = graph.weights[node.inputs[1]]!
            let key = "\(input.dims) \(weight.shape.dims) \(node.op)"
            if measured[key] == nil {
                var single = node
                single.inputs = Array(node.inputs.prefix(2))  // the bias costs the same in both forms
                let weights = [node.inputs[1]: weight]
                let times = try RankConvPrecompute.timeInterleaved([(single, weights), (single, weights)], input: input, isa: isa,
                                                                   threads: threads, winograd: [.never, .always])
                measured[key] = (times[0], times[1])
            }
            let (gemmMs, winogradMs) = measured[key]!
            if winogradMs < gemmMs { chosen.insert(node.name) }
            choices.append(WinogradChoice(node: node.name, winograd: winogradMs < gemmMs, gemmMs: gemmMs, winogradMs: winogradMs))
        }
        return (chosen, choices)
    }
}
