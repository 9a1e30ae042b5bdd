/// Groups graph nodes into the steps the runtime will run: a conv, rankConv or linear absorbs a
/// following residual add (the add's other input becomes the GEMM epilogue's residual) and then a
/// following ReLU / ReLU6, or, for a conv that is not a chain, a sigmoid-family function (SiLU,
/// hard swish, …: `GEMMActivation.function`); a standalone add, batch norm or channel affine absorbs a following ReLU. Each group runs
/// where its last member was in the graph, so every tensor it reads is ready by then.
///
/// A node is absorbed only when the tensor it reads is read by nothing else and is not a graph
/// output, so no other reader misses the value the fused step no longer writes.
public struct FusionGroup: Sendable, Equatable {
    /// Index of the node that does the work (the conv, the add, ...).
    public var leader: Int
    /// Every node of the group, the leader first, in graph order.
    public var members: [Int]
    /// Tensor added in the epilogue (from an absorbed add).
    public var residual: String?
    public var activation: GEMMActivation
    /// The tensor the group writes: its last member's output.
    public var output: String
    /// The group is a low-rank chain 1×1 → k×k → 1×1 (members 0, 1, 2) run tile by tile.
    public var chain: Bool = false
}

public enum EpilogueFusion {
    /// A 1×1 conv whose only reader is a k×k conv whose only reader is a 1×1 conv (a Tucker-2 chain,
    /// no nonlinearity between) becomes one group when its core suits the narrow direct kernel
    /// (`NarrowChainStep`), and with `fuseChains` otherwise too, run tile by tile with the narrow
    /// intermediates in cache (`TuckerChainStep`).
    public static func groups(_ graph: Graph, fuseChains: Bool = false) -> [FusionGroup] {
        var readers: [String: [Int]] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for input in node.activationInputs { readers[input, default: []].append(i) }
        }
        let graphOutputs = Set(graph.outputs)
        func soleReader(_ tensor: String) -> Int? {
            guard !graphOutputs.contains(tensor), let r = readers[tensor], r.count == 1 else { return nil }
            return r[0]
        }
        var claimed = Set<Int>()
        var groups: [FusionGroup] = []
        func isPointwise(_ n: Node) -> Bool {
            guard case .conv2d(let a) = n.op, let w = graph.weights[n.inputs[1]] else { return false }
            return w.shape[1] == 1 && w.shape[2] == 1 && a.stride == .square(1) && a.padding == .zero && a.groups == 1
        }
        /// The k×k and closing 1×1 of a chain opened by node `i`, when it is one.
        func chainAfter(_ i: Int) -> [Int]? {
            guard isPointwise(graph.nodes[i]), let b = soleReader(graph.nodes[i].outputs[0]), !claimed.contains(b),
                  case .conv2d(let core) = graph.nodes[b].op, core.dilation == .square(1),
                  // A depthwise core has its own kernel; it stays a separate step.
                  core.groups == 1 || (graph.weights[graph.nodes[b].inputs[1]]?.shape[3] ?? 1) > 1,
                  graph.nodes[b].activationInputs.first == graph.nodes[i].outputs[0],
                  let c = soleReader(graph.nodes[b].outputs[0]), !claimed.contains(c), isPointwise(graph.nodes[c]),
                  graph.nodes[c].activationInputs.first == graph.nodes[b].outputs[0]
            else { return nil }
            return [b, c]
        }
        let shapes = (try? graph.inferShapes()) ?? [:]
        /// Chains with a narrow core always run as one step (`NarrowChainStep`).
        func narrowChain(_ i: Int, _ chain: [Int]) -> Bool {
            let (a, b, c) = (graph.nodes[i], graph.nodes[chain[0]], graph.nodes[chain[1]])
            guard case .conv2d(let attrs) = b.op, let wa = graph.weights[a.inputs[1]], let wb = graph.weights[b.inputs[1]],
                  let wc = graph.weights[c.inputs[1]], let out = shapes[b.outputs[0]] else { return false }
            return NarrowChainWeights.applies(first: wa.shape, core: wb.shape, coreAttributes: attrs, coreOutput: out, last: wc.shape)
        }
        for (i, node) in graph.nodes.enumerated() where !claimed.contains(i) {
            var group = FusionGroup(leader: i, members: [i], residual: nil, activation: .none, output: node.outputs[0])
            func absorbActivation(functions: Bool = false) {
                guard let r = soleReader(group.output), !claimed.contains(r) else { return }
                switch graph.nodes[r].op {
                case .relu: group.activation = .relu
                case .relu6: group.activation = .relu6
                case .unary(let f) where functions: group.activation = .function(f)
                default: return
                }
                claimed.insert(r)
                group.members.append(r)
                group.output = graph.nodes[r].outputs[0]
            }
            switch node.op {
            case .conv2d, .rankConv2d, .linear:
                if let chain = chainAfter(i), fuseChains || narrowChain(i, chain) {
                    group.members += chain
                    group.chain = true
                    group.output = graph.nodes[chain[1]].outputs[0]
                    chain.forEach { claimed.insert($0) }
                }
                if let r = soleReader(group.output), !claimed.contains(r), graph.nodes[r].op == .add {
                    let inputs = graph.nodes[r].inputs
                    let others = inputs.filter { $0 != group.output }
                    if others.count == 1 {
                        group.residual = others[0]
                        claimed.insert(r)
                        group.members.append(r)
                        group.output = graph.nodes[r].outputs[0]
                    }
                }
                var isConv = false
                if case .conv2d = node.op { isConv = true }
                absorbActivation(functions: isConv && !group.chain)
            case .add, .batchNorm, .channelAffine:
                absorbActivation()
            default:
                break
            }
            groups.append(group)
        }
        // Run each group at its last member's place in the graph.
        return groups.sorted { $0.members.last! < $1.members.last! }
    }
}
