/// Turns fusion groups into lowered ops, preparing every weight for the kernel that takes it (the
/// weight prepacking pass). Every kernel family of `KernelRegistry` is offered each group and
/// creates itself when the group is its own (`StepKernel.lower`); for convs and chains that is
/// when `ConvFormSelector`, asked once per group here, names the family.
enum Lowering {
    /// `winograd`: the convs to run in the Winograd form, with their algorithm
    /// (`ConvFormSelector.chooseWinograd`).
    static func lower(_ graph: Graph, groups: [FusionGroup], isa: GEMMISA,
                      winograd: [String: WinogradTransform] = [:]) throws(ExecutionError) -> [LoweredOp] {
        let shapes: [String: TensorShape]
        do { shapes = try graph.inferShapes() } catch { throw .invalidOperands(op: "graph", node: nil, message: "\(error)") }
        var ops: [LoweredOp] = []
        for group in groups { ops.append(try lowerGroup(graph, group: group, shapes: shapes, isa: isa, winograd: winograd)) }
        return ops
    }

    /// How many of `groups` read each weight: `lower(releasing:)` drops a weight's values when
    /// its count reaches zero.
    static func readers(_ graph: Graph, groups: [FusionGroup]) -> [String: Int] {
        var out: [String: Int] = [:]
        for group in groups {
            for w in Set(group.members.flatMap { graph.nodes[$0].weightInputs }) { out[w, default: 0] += 1 }
        }
        return out
    }

    /// The ops of `groups[i]` for each i in `indices`, dropping a weight's values from `graph`
    /// (`Tensor.withoutValues`) once no group left to lower reads it (`readers`, counted down):
    /// the graph's weights and the prepared copies are never both held whole.
    static func lower(releasing graph: inout Graph, groups: [FusionGroup], indices: [Int], readers: inout [String: Int],
                      shapes: [String: TensorShape], isa: GEMMISA,
                      winograd: [String: WinogradTransform]) throws(ExecutionError) -> [(index: Int, op: LoweredOp)] {
        var out: [(index: Int, op: LoweredOp)] = []
        for i in indices {
            out.append((i, try lowerGroup(graph, group: groups[i], shapes: shapes, isa: isa, winograd: winograd)))
            for w in Set(groups[i].members.flatMap { graph.nodes[$0].weightInputs }) {
                readers[w, default: 1] -= 1
                if readers[w]! <= 0 { graph.weights[w] = graph.weights[w]?.withoutValues }
            }
        }
        return out
    }

    /// One group's op, its weights prepared for the kernel that takes it.
    static func lowerGroup(_ graph: Graph, group: FusionGroup, shapes: [String: TensorShape], isa: GEMMISA,
                           winograd: [String: WinogradTransform]) throws(ExecutionError) -> LoweredOp {
        let node = graph.nodes[group.leader]
        let request = LoweringRequest(graph: graph, group: group, shapes: shapes, isa: isa, winogradTransform: winograd[node.name])
        guard let kernel = try KernelRegistry.lower(request) else {
            throw .unsupported(node: node.name, message: "no kernel runs a \(node.op.kind) step")
        }
        var activation = group.activation
        if case .relu = node.op { activation = .relu }
        if case .relu6 = node.op { activation = .relu6 }
        return LoweredOp(name: node.name, nodes: group.members.map { graph.nodes[$0].name }, prepared: kernel,
                         inputs: Array(node.activationInputs), residual: group.residual, activation: activation, output: group.output)
    }
}

/// One fusion group offered to the kernel families, with the selector's decision for it.
struct LoweringRequest {
    let graph: Graph
    let group: FusionGroup
    let shapes: [String: TensorShape]
    let isa: GEMMISA
    /// The leader node (the conv of a conv + add + ReLU, the first 1×1 of a chain).
    let node: Node
    /// For a conv2d outside a chain: which kernel runs it.
    let convChoice: ConvKernelChoice?
    /// For a chain: which chain kernel runs it.
    let chainChoice: ChainKernelChoice?

    init(graph: Graph, group: FusionGroup, shapes: [String: TensorShape], isa: GEMMISA, winogradTransform: WinogradTransform?) {
        self.graph = graph; self.group = group; self.shapes = shapes; self.isa = isa
        node = graph.nodes[group.leader]
        if group.chain {
            convChoice = nil
            chainChoice = ConvFormSelector.chain(group.members.prefix(3).map { graph.nodes[$0] }, graph: graph, shapes: shapes)
        } else if case .conv2d(let attrs) = node.op, let w = graph.weights[node.inputs[1]],
                  let input = shapes[node.inputs[0]], let output = shapes[node.outputs[0]] {
            convChoice = ConvFormSelector.inference(weight: w.shape, attributes: attrs, input: input, output: output, isa: isa,
                                                    winograd: winogradTransform)
            chainChoice = nil
        } else {
            (convChoice, chainChoice) = (nil, nil)
        }
    }

    /// The leader's input `i` as a weight tensor (nil past its inputs).
    func weight(_ i: Int) -> Tensor? { i < node.inputs.count ? graph.weights[node.inputs[i]] : nil }

    /// A plain op node (not a chain) of this kind.
    func isOp(_ kind: String) -> Bool { !group.chain && node.op.kind == kind }
}
