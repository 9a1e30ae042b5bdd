/// Which 3×3 and 5×5 stride-1 convs run in the Winograd form (`WinogradConv`), and with which tile:
/// each in the form that measures fastest on this CPU, none, or all of them with 2×2 output tiles
/// (`always`) or with 4×4 tiles for the 3×3 convs (`large`).
public enum WinogradPolicy: String, Sendable, CaseIterable {
    case measure
    case never
    case always
    case large

    /// The transform a policy that does not measure gives a conv with a k×k kernel.
    func fixedTransform(kernel: Int) -> WinogradTransform? {
        switch self {
        case .measure, .never: nil
        case .always: WinogradTransform.forKernel(kernel)
        case .large: WinogradTransform.largest(forKernel: kernel)
        }
    }
}

/// The form chosen for one conv that the Winograd form applies to and, when measured, the times.
public struct WinogradChoice: Sendable, Equatable {
    public var node: String
    /// The Winograd algorithm taken, nil for the GEMM form.
    public var transform: WinogradTransform?
    public var winograd: Bool { transform != nil }
    /// Median milliseconds of the layer alone in the GEMM form, with F(2×2, r×r), and with F(4×4, 3×3)
    /// (nil when not measured, or for a 5×5 kernel, which has no F(4×4) form here).
    public var gemmMs: Double?
    public var winogradMs: Double?
    public var winograd4Ms: Double?
}

/// Picks the convs to lower in the Winograd form, and the tile size. Winograd saves multiply-adds
/// (F(2×2, 3×3) 2.25× fewer, F(4×4, 3×3) 4×), but its transformed weights are 16/9 (36/9) the size
/// and its GEMMs have a quarter (a sixteenth) of the rows, and the transforms cost more per output
/// as the tile grows; so it loses where the weights dominate (few pixels, many channels: the last
/// ResNet-50 stage at batch 1), and the larger tile wins only where there are pixels enough.
/// Measuring decides per layer. Layers of the same shape are measured once.
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

    /// The Winograd transform per chosen node, and what was decided for every candidate.
    static func choose(_ graph: Graph, groups: [FusionGroup], policy: WinogradPolicy, batch: Int?, threads: Int,
                       isa: GEMMISA) throws -> ([String: WinogradTransform], [WinogradChoice]) {
        if policy == .never { return ([:], []) }
        let shapes = try graph.inferShapes(batch: batch ?? graph.inputs.first?.shape[0] ?? 1)
        let nodes = candidates(graph, groups: groups, shapes: shapes)
        guard policy == .measure else {
            let choices = nodes.map { WinogradChoice(node: $0.name, transform: policy.fixedTransform(kernel: graph.weights[$0.inputs[1]]!.shape[1])) }
            return (Dictionary(uniqueKeysWithValues: choices.compactMap { c in c.transform.map { (c.node, $0) } }), choices)
        }
        var measured: [String: WinogradChoice] = [:]
        var chosen: [String: WinogradTransform] = [:]
        var choices: [WinogradChoice] = []
        for node in nodes {
            let input = shapes[node.inputs[0]]!, weight = graph.weights[node.inputs[1]]!
            let key = "\(input.dims) \(weight.shape.dims) \(node.op)"
            if measured[key] == nil {
                var single = node
                single.inputs = Array(node.inputs.prefix(2))  // the bias costs the same in every form
                let weights = [node.inputs[1]: weight]
                let small = WinogradTransform.forKernel(weight.shape[1])!
                let large = WinogradTransform.largest(forKernel: weight.shape[1])
                let policies: [WinogradPolicy] = large == small ? [.never, .always] : [.never, .always, .large]
                let times = try RankConvPrecompute.timeInterleaved(policies.map { _ in (single, weights) }, input: input, isa: isa,
                                                                   threads: threads, winograd: policies)
                var choice = WinogradChoice(node: "", transform: nil, gemmMs: times[0], winogradMs: times[1],
                                            winograd4Ms: times.count > 2 ? times[2] : nil)
                let fastest = times.indices.min { times[$0] < times[$1] }!
                choice.transform = policies[fastest].fixedTransform(kernel: weight.shape[1])
                measured[key] = choice
            }
            var choice = measured[key]!
            choice.node = node.name
            if let t = choice.transform { chosen[node.name] = t }
            choices.append(choice)
        }
        return (chosen, choices)
    }
}
