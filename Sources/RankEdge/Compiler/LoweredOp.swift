/// What one step computes, with its weights already in the kernels' layouts.
enum LoweredKind {
    /// conv2d (dense or grouped) or linear, on the GEMM.
    case gemmConv(GEMMConvWeights)
    case depthwise(DepthwiseWeights)
    /// conv2d with few output channels, on the direct kernel vectorised over pixels.
    case narrowConv(NarrowConvWeights)
    case separableRankConv(SeparableRankWeights)
    /// 1×1 → k×k → 1×1, run band by band.
    case tuckerChain(TuckerChainWeights)
    /// 1×1 → narrow k×k → 1×1 on the direct kernel, the intermediates never in NHWC.
    case narrowChain(NarrowChainWeights)
    /// An unfolded batch norm: y = x·scale + shift per channel.
    case channelAffine(scale: FloatStorage, shift: FloatStorage)
    case maxPool(PoolAttributes)
    case avgPool(PoolAttributes)
    case globalAvgPool
    case add
    /// ReLU or ReLU6 on its own (the op's `activation`).
    case activation
    case softmax
    case concat
    /// flatten, or a dropout kept as a graph output: the output is the input's memory.
    case alias
}

/// One step of a compiled model: a fusion group with its weights prepared, not yet bound to memory.
public struct LoweredOp {
    /// The leader node's name (the conv of a conv + add + ReLU).
    public var name: String
    /// Every graph node the step computes.
    public var nodes: [String]
    var kind: LoweredKind
    /// Activation inputs of the leader.
    public var inputs: [String]
    public var residual: String?
    public var activation: GEMMActivation
    public var output: String

    /// The kernel's name in tables and JSON.
    public var kernel: String {
        switch kind {
        case .gemmConv(let w):
            if let t = w.winogradTransform { return t.m == 2 ? "winograd-gemm" : "winograd\(t.m)x\(t.m)-gemm" }
            return w.isPointwise ? "gemm-1x1" : (w.groups > 1 ? "gemm-grouped" : (w.isShifted ? "shifted-gemm" : "im2col-gemm"))
        case .depthwise: return "depthwise"
        case .narrowConv: return "narrow-direct"
        case .separableRankConv: return "separable-rank"
        case .tuckerChain: return "tucker-chain"
        case .narrowChain: return "narrow-chain"
        case .channelAffine: return "channel-affine"
        case .maxPool: return "maxPool"
        case .avgPool: return "avgPool"
        case .globalAvgPool: return "globalAvgPool"
        case .add: return "add"
        case .activation: return activation == .relu6 ? "relu6" : "relu"
        case .softmax: return "softmax"
        case .concat: return "concat"
        case .alias: return "alias"
        }
    }
}

/// Turns fusion groups into lowered ops, preparing every weight for its kernel (the weight
/// prepacking pass): GEMM panels for convs and linears, [kh][kw][C] filters for depthwise convs,
/// [C][kh][kw][S] filters for narrow direct convs,
/// factor banks for separable rank convs, scale/shift for unfolded batch norms.
enum Lowering {
    /// The narrow-kernel form of a chain group, when its convs fit it (`NarrowChainWeights.applies`).
    static func narrowChain(_ graph: Graph, group: FusionGroup, shapes: [String: TensorShape]) -> NarrowChainWeights? {
        let nodes = group.members.prefix(3).map { graph.nodes[$0] }
        guard nodes.count == 3, case .conv2d(let coreAttributes) = nodes[1].op,
              let first = graph.weights[nodes[0].inputs[1]], let core = graph.weights[nodes[1].inputs[1]],
              let last = graph.weights[nodes[2].inputs[1]], let coreOutput = shapes[nodes[1].outputs[0]],
              NarrowChainWeights.applies(first: first.shape, core: core.shape, coreAttributes: coreAttributes,
                                         coreOutput: coreOutput, last: last.shape)
        else { return nil }
        func bias(_ n: Node) -> Tensor? { n.inputs.count > 2 ? graph.weights[n.inputs[2]] : nil }
        return NarrowChainWeights(first: first, firstBias: bias(nodes[0]), core: core, coreBias: bias(nodes[1]),
                                  coreAttributes: coreAttributes, last: last, lastBias: bias(nodes[2]))
    }

    /// `winograd`: the convs to run in the Winograd form, with their algorithm (`ConvFormChoice`); each
    /// must be a conv that `WinogradConv.applies` to and that no narrower kernel takes.
    static func lower(_ graph: Graph, groups: [FusionGroup], isa: GEMMISA,
                      winograd: [String: WinogradTransform] = [:]) throws(ExecutionError) -> [LoweredOp] {
        let shapes: [String: TensorShape]
        do { shapes = try graph.inferShapes() } catch { throw .invalidOperands(op: "graph", node: nil, message: "\(error)") }
        var ops: [LoweredOp] = []
        for group in groups {
            let node = graph.nodes[group.leader]
            func weight(_ i: Int) -> Tensor? { i < node.inputs.count ? graph.weights[node.inputs[i]] : nil }
            let kind: LoweredKind
            if group.chain, let narrow = narrowChain(graph, group: group, shapes: shapes) {
                ops.append(LoweredOp(name: node.name, nodes: group.members.map { graph.nodes[$0].name }, kind: .narrowChain(narrow),
                                     inputs: Array(node.activationInputs), residual: group.residual,
                                     activation: group.activation, output: group.output))
                continue
            }
            if group.chain {
                var parts: [GEMMConvWeights] = []
                for index in group.members.prefix(3) {
                    let n = graph.nodes[index]
                    guard case .conv2d(var attrs) = n.op else { throw .unsupported(node: n.name, message: "chain member is not a conv") }
                    var w = graph.weights[n.inputs[1]]!
                    if GEMMConvWeights.prefersBlockDiagonal(weight: w.shape, groups: attrs.groups, isa: isa) {
                        w = GEMMConvWeights.blockDiagonal(w, groups: attrs.groups)
                        attrs.groups = 1
                    }
                    do {
                        parts.append(try GEMMConvWeights(weight: w, bias: n.inputs.count > 2 ? graph.weights[n.inputs[2]] : nil,
                                                         attributes: attrs, isa: isa))
                    } catch { throw .unsupported(node: n.name, message: error.description) }
                }
                ops.append(LoweredOp(name: node.name, nodes: group.members.map { graph.nodes[$0].name },
                                     kind: .tuckerChain(TuckerChainWeights(first: parts[0], core: parts[1], last: parts[2])),
                                     inputs: Array(node.activationInputs), residual: group.residual,
                                     activation: group.activation, output: group.output))
                continue
            }
            switch node.op {
            case .conv2d(let attrs):
                let w = weight(1)!
                let channels = shapes[node.inputs[0]]![3]
                if DepthwiseWeights.applies(weight: w.shape, attributes: attrs, inputChannels: channels) {
                    kind = .depthwise(DepthwiseWeights(weight: w, bias: weight(2), attributes: attrs))
                } else if NarrowConvWeights.applies(weight: w.shape, attributes: attrs, output: shapes[node.outputs[0]]!) {
                    kind = .narrowConv(NarrowConvWeights(weight: w, bias: weight(2), attributes: attrs))
                } else if GEMMConvWeights.prefersBlockDiagonal(weight: w.shape, groups: attrs.groups, isa: isa) {
                    // A few narrow groups (a branched Tucker core): one GEMM over a block-diagonal
                    // weight does the same lane work as the per-group GEMMs, in one call.
                    var dense = attrs
                    dense.groups = 1
                    do {
                        kind = .gemmConv(try GEMMConvWeights(weight: GEMMConvWeights.blockDiagonal(w, groups: attrs.groups),
                                                             bias: weight(2), attributes: dense, isa: isa))
                    } catch { throw .unsupported(node: node.name, message: error.description) }
                } else if let transform = winograd[node.name] {
                    do {
                        kind = .gemmConv(try GEMMConvWeights(weight: w, bias: weight(2), attributes: attrs, isa: isa, winograd: true,
                                                             winogradTransform: transform))
                    } catch {
                        throw .unsupported(node: node.name, message: error.description)
                    }
                } else {
                    let shifted = GEMMConvWeights.prefersShifted(weight: w.shape, attributes: attrs, input: shapes[node.inputs[0]]!,
                                                                 output: shapes[node.outputs[0]]!)
                    do { kind = .gemmConv(try GEMMConvWeights(weight: w, bias: weight(2), attributes: attrs, isa: isa, shifted: shifted)) } catch {
                        throw .unsupported(node: node.name, message: error.description)
                    }
                }
            case .linear:
                do { kind = .gemmConv(try GEMMConvWeights(weight: weight(1)!, bias: weight(2), attributes: Conv2DAttributes(), isa: isa)) } catch {
                    throw .unsupported(node: node.name, message: error.description)
                }
            case .rankConv2d(let attrs):
                kind = .separableRankConv(SeparableRankWeights(a: weight(1)!, b: weight(2)!, bias: weight(3), attributes: attrs))
            case .batchNorm(let eps):
                let (gamma, beta, mean, variance) = (weight(1)!.data, weight(2)!.data, weight(3)!.data, weight(4)!.data)
                var scale = [Float](repeating: 0, count: gamma.count), shift = scale
                for c in 0..<gamma.count {
                    scale[c] = gamma[c] / (variance[c] + eps).squareRoot()
                    shift[c] = beta[c] - mean[c] * scale[c]
                }
                kind = .channelAffine(scale: FloatStorage(scale), shift: FloatStorage(shift))
            case .maxPool(let a): kind = .maxPool(a)
            case .avgPool(let a): kind = .avgPool(a)
            case .globalAvgPool: kind = .globalAvgPool
            case .add: kind = .add
            case .relu, .relu6: kind = .activation
            case .softmax: kind = .softmax
            case .concat: kind = .concat
            case .flatten, .dropout: kind = .alias
            }
            var activation = group.activation
            if case .relu = node.op { activation = .relu }
            if case .relu6 = node.op { activation = .relu6 }
            ops.append(LoweredOp(name: node.name, nodes: group.members.map { graph.nodes[$0].name }, kind: kind,
                                 inputs: Array(node.activationInputs), residual: group.residual,
                                 activation: activation, output: group.output))
        }
        return ops
    }
}
