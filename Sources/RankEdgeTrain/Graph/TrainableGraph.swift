import RankEdge
import RankEdgeCompress

/// Training (batch statistics, dropout on) or evaluation (running statistics, dropout off).
public enum Mode: Sendable { case training, evaluation }

/// What a forward pass needs besides its input: the mode, and the (seed, step) pair every random
/// choice in the pass derives from, so a step is reproducible on its own (for resume).
public struct ForwardContext: Sendable {
    public var mode: Mode
    public var seed: UInt64
    public var step: Int
    public init(mode: Mode, seed: UInt64 = 0, step: Int = 0) { self.mode = mode; self.seed = seed; self.step = step }
    public static let evaluation = ForwardContext(mode: .evaluation)
}

/// A weight of the graph as the trainer holds it: a parameter, a frozen parameter, or a buffer
/// (batch-norm running statistics: saved and exported, never trained).
public struct NamedTensor {
    public let name: String
    public let variable: Variable
}

public enum TrainableGraphError: Error, CustomStringConvertible, Sendable {
    case invalidGraph(String)
    case untrainable(node: String, op: String, why: String)
    public var description: String {
        switch self {
        case .invalidGraph(let why): "cannot train this graph: \(why)"
        case .untrainable(let node, let op, let why): "node '\(node)' (\(op)) cannot be trained: \(why)"
        }
    }
}

/// A runtime `Graph` made differentiable: every weight tensor becomes a variable named as in the
/// graph (so PyTorch's state_dict names survive import → fine-tune → export), and `forward` runs
/// the nodes in order on the trainer's autodiff ops. The graph's structure, attributes, provenance
/// and metadata are kept as they are; `exportGraph` writes them back with the current weights.
public final class TrainableGraph {
    /// The graph as given; its weights are those at construction (see `exportGraph`).
    public let graph: Graph
    /// Every weight tensor of the graph as a variable, by name.
    public let variables: [String: Variable]
    /// Trained parameters, in the order their nodes first use them.
    public let parameters: [NamedTensor]
    /// Parameters held fixed (`--freeze`): no gradient, no optimizer slot, no weight-gradient work.
    public let frozen: [NamedTensor]
    /// Batch-norm running statistics.
    public let buffers: [NamedTensor]
    /// PyTorch's convention: running = (1 − momentum)·running + momentum·batch.
    public var batchNormMomentum: Float = 0.1
    /// λ of the double soft orthogonality regulariser on Tucker-2 factor nodes (0: none).
    public var orthogonality: Float = 0
    /// How each rankConv2d node trains; `.auto` entries are measured on the first training batch.
    public internal(set) var rankForms: [String: RankExecution]
    /// Seconds per forward+backward of each form, for nodes whose form was measured.
    public private(set) var rankMeasurements: [String: [RankExecution: Double]] = [:]
    let plan: TrainingPlan
    private let orthogonalFactors: [Variable]
    private let dropoutSeeds: [String: UInt64]

    /// `frozen`: names of weights to hold fixed. Throws when the graph is invalid or holds a node
    /// the trainer cannot differentiate.
    public init(_ graph: Graph, frozen frozenNames: Set<String> = [], rankExecution: RankExecution = .auto) throws {
        do { try graph.validate() } catch { throw TrainableGraphError.invalidGraph("\(error)") }
        guard graph.inputs.count == 1 else {
            throw TrainableGraphError.invalidGraph("it has \(graph.inputs.count) inputs; training takes a graph with one image input")
        }
        guard graph.outputs.count == 1 else {
            throw TrainableGraphError.invalidGraph("it has \(graph.outputs.count) outputs; training takes a graph with one output (class scores)")
        }
        self.graph = graph
        var variables: [String: Variable] = [:]
        var parameters: [NamedTensor] = [], frozen: [NamedTensor] = [], buffers: [NamedTensor] = []
        var forms: [String: RankExecution] = [:]
        var dropoutSeeds: [String: UInt64] = [:]
        for node in graph.nodes {
            let bufferInputs: Set<String>
            if case .batchNorm = node.op { bufferInputs = Set(node.weightInputs.suffix(2)) } else { bufferInputs = [] }
            for name in node.weightInputs where variables[name] == nil {
                let tensor = graph.weights[name]!
                let isBuffer = bufferInputs.contains(name)
                let trains = !isBuffer && !frozenNames.contains(name)
                let v = Variable(shape: tensor.shape.dims, data: tensor.data, requiresGrad: trains)
                variables[name] = v
                let entry = NamedTensor(name: name, variable: v)
                if isBuffer { buffers.append(entry) } else if trains { parameters.append(entry) } else { frozen.append(entry) }
            }
            switch node.op {
            case .rankConv2d: forms[node.name] = rankExecution
            case .dropout: dropoutSeeds[node.name] = stableHash(node.name)
            default: break
            }
        }
        self.variables = variables
        self.parameters = parameters; self.frozen = frozen; self.buffers = buffers
        rankForms = forms
        self.dropoutSeeds = dropoutSeeds
        plan = TrainingPlan(graph)
        orthogonalFactors = orthogonalFactorWeights(graph, variables)
    }

    /// Parameters, frozen parameters and buffers: everything a checkpoint must carry.
    public var state: [NamedTensor] { parameters + frozen + buffers }
    public var parameterCount: Int { (parameters + frozen).reduce(0) { $0 + $1.variable.count } }
    public var trainableParameterCount: Int { parameters.reduce(0) { $0 + $1.variable.count } }
    public var inputShape: [Int] { graph.inputs[0].shape.dims }

    /// The graph's output (class scores) for a batch `x` shaped like the graph input.
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        var values: [String: Variable] = [graph.inputs[0].name: x]
        let training = context.mode == .training
        for (index, step) in plan.steps.enumerated() {
            switch step {
            case .skip:
                break
            case .batchNorm(let bnIndex, let result, let residual, let relu):
                let bn = graph.nodes[bnIndex]
                guard case .batchNorm(let epsilon) = bn.op else { preconditionFailure("training plan: \(bn.name) is not a batchNorm") }
                let w = bn.weightInputs.map { variables[$0]! }
                values[result] = batchNorm(values[bn.inputs[0]]!, gamma: w[0], beta: w[1], runningMean: w[2].value,
                                           runningVar: w[3].value, training: training, momentum: batchNormMomentum,
                                           epsilon: epsilon, residual: residual.map { values[$0]! }, relu: relu)
            case .run:
                let node = graph.nodes[index]
                values[node.outputs[0]] = apply(node, values: values, context: context)
            }
            for name in plan.releases[index] { values[name] = nil }
        }
        return values[graph.outputs[0]]!
    }

    private func apply(_ node: Node, values: [String: Variable], context: ForwardContext) -> Variable {
        func input(_ i: Int) -> Variable { values[node.inputs[i]]! }
        let weights = node.weightInputs.map { variables[$0]! }
        func weight(_ i: Int) -> Variable? { i < weights.count ? weights[i] : nil }
        switch node.op {
        case .conv2d(let attributes):
            return conv2d(input(0), weight: weight(0)!, bias: weight(1), attributes: attributes)
        case .rankConv2d(let attributes):
            let (a, b) = (weight(0)!, weight(1)!)
            let forms = RankConvForms(a: a.shape, attributes: attributes)
            if rankForms[node.name] == .auto && context.mode == .training {
                let (choice, seconds) = forms.measure(input(0), a: a, b: b, bias: weight(2))
                rankForms[node.name] = choice
                rankMeasurements[node.name] = seconds
            }
            return forms.forward(input(0), form: rankForms[node.name] == .separable ? .separable : .reconstruct,
                                 a: a, b: b, bias: weight(2))
        case .convTranspose2d(let attributes):
            return convTranspose2d(input(0), weight: weight(0)!, bias: weight(1), attributes: attributes)
        case .linear:
            return linear(input(0), weight: weight(0)!, bias: weight(1))
        case .batchNorm:
            preconditionFailure("training plan: batchNorm \(node.name) runs as its own step")
        case .relu: return relu(input(0))
        case .relu6: return clamp(input(0), lower: 0, upper: 6)
        case .unary(let f): return unary(input(0), f)
        case .maxPool(let attributes): return maxPool2d(input(0), attributes: attributes)
        case .avgPool(let attributes): return avgPool2d(input(0), attributes: attributes)
        case .globalAvgPool: return globalAvgPool(input(0))
        case .add: return add(input(0), input(1))
        case .layerNorm(let epsilon): return layerNorm(input(0), scale: weight(0)!, bias: weight(1)!, epsilon: epsilon)
        case .multiply: return multiply(input(0), input(1))
        case .channelAffine: return channelAffine(input(0), scale: weight(0)!, shift: weight(1)!)
        case .channelShuffle(let groups): return channelShuffle(input(0), groups: groups)
        case .channelSlice(let start, let count): return channelSlice(input(0), start: start, count: count)
        case .channelMean: return channelMean(input(0))
        case .pad(let attributes): return pad2d(input(0), attributes: attributes)
        case .resize(let attributes): return resize2d(input(0), attributes: attributes)
        case .flatten: return flatten(input(0))
        case .softmax: return softmax(input(0))
        case .concat: return concatChannels(node.inputs.map { values[$0]! })
        case .dropout(let rate):
            let x = input(0)
            guard context.mode == .training, rate > 0 else { return x }
            let mask = dropoutMask(count: x.count, keep: 1 - rate,
                                   seed: mixSeeds(context.seed, UInt64(context.step), dropoutSeeds[node.name]!))
            return dropout(x, mask: mask, rate: rate)
        }
    }

    /// The graph with the current weights: nodes, attributes, provenance and metadata as given,
    /// `metadata` merged over the graph's own.
    public func exportGraph(metadata: [String: String] = [:]) -> Graph {
        var g = graph
        for (name, v) in variables { g.weights[name] = Tensor(shape: g.weights[name]!.shape, data: v.data) }
        g.metadata.merge(metadata) { _, new in new }
        return g
    }

    /// Every regulariser term with its weight: ELRT's DSO on the 1×1 factors of each Tucker-2
    /// chain (empty unless `orthogonality` > 0).
    public func regularizationTerms() -> [(penalty: Variable, weight: Float)] {
        guard orthogonality > 0 else { return [] }
        return orthogonalFactors.map { w in (doubleSoftOrthogonality(w, rows: w.shape[0], cols: w.shape[3]), orthogonality) }
    }
}

/// The trained weights DSO applies to, found once from the nodes' provenance: the first and last
/// factor of every Tucker-2 chain, where it is a 1×1 ungrouped conv (a matrix U = [out, in]); a
/// note on any other node is ignored.
private func orthogonalFactorWeights(_ graph: Graph, _ variables: [String: Variable]) -> [Variable] {
    Decomposition.tuckerFactors(in: graph).compactMap { name in
        guard let node = graph.node(named: name), case .conv2d(let a) = node.op, a.groups == 1,
              let w = variables[node.inputs[1]], w.requiresGrad, w.shape.count == 4, w.shape[1] == 1, w.shape[2] == 1
        else { return nil }
        return w
    }
}

extension Variable {
    /// A copy as the runtime's tensor type.
    public var runtimeTensor: Tensor { Tensor(shape: shape, data: data) }
}
