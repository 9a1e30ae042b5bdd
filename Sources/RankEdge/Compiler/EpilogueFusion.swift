/// Groups graph nodes into the steps the runtime will run: a conv, rankConv or linear absorbs a
/// following residual add (the add's other input becomes the GEMM epilogue's residual) and then a
/// following ReLU / ReLU6; a standalone add or batch norm absorbs a following ReLU. Each group runs
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
}

public enum EpilogueFusion {
    public static func groups(_ graph: Graph) -> [FusionGroup] {
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
        for (i, node) in graph.nodes.enumerated() where !claimed.contains(i) {
            var group = FusionGroup(leader: i, members: [i], residual: nil, activation: .none, output: node.outputs[0])
            func absorbActivation() {
                guard let r = soleReader(group.output), !claimed.contains(r) else { return }
                switch graph.nodes[r].op {
                case .relu: group.activation = .relu
                case .relu6: group.activation = .relu6
                default: return
                }
                claimed.insert(r)
                group.members.append(r)
                group.output = graph.nodes[r].outputs[0]
            }
            switch node.op {
            case .conv2d, .rankConv2d, .linear:
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
                absorbActivation()
            case .add, .batchNorm:
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
