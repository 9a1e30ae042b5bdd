/// Builds graphs layer by layer with seeded weights: used by the zoo, the tests and the exporters.
/// Weights default to He-uniform so activations keep a sane scale through deep random networks.
public struct GraphBuilder {
    public private(set) var graph: Graph
    public var rng: SeededRandom
    private var counter = 0
    /// Shapes of the activations built so far, kept as nodes are added.
    public private(set) var shapes: [String: TensorShape] = [:]

    public init(name: String, input: String = "input", shape: [Int], seed: UInt64 = 0) {
        graph = Graph(name: name, inputs: [ValueInfo(name: input, shape: TensorShape(shape))],
                      outputs: [], nodes: [], weights: [:])
        rng = SeededRandom(seed: seed)
        shapes[input] = TensorShape(shape)
    }

    /// A fresh unique node name with the given prefix (`conv1`, `conv2`, …) unless `name` is given.
    mutating func uniqueName(_ prefix: String, _ name: String?) -> String {
        if let name { return name }
        counter += 1
        return "\(prefix)\(counter)"
    }

    /// Adds a node whose output tensor takes the node's name; returns that tensor's name.
    @discardableResult
    public mutating func add(_ op: Op, name: String, inputs: [String], provenance: String? = nil) -> String {
        let node = Node(name: name, op: op, inputs: inputs, outputs: [name], provenance: provenance)
        let activations = node.activationInputs.map { shapes[$0] }
        let weightShapes = node.weightInputs.map { graph.weights[$0]?.shape }
        guard activations.allSatisfy({ $0 != nil }), weightShapes.allSatisfy({ $0 != nil }) else {
            preconditionFailure("GraphBuilder: node '\(name)' names an undefined tensor")
        }
        switch Graph.outputShape(op: op, inputs: activations.map { $0! }, weights: weightShapes.map { $0! }) {
        case .success(let s): shapes[name] = s
        case .failure(let p): preconditionFailure("GraphBuilder: node '\(name)': \(p.message)")
        }
        graph.nodes.append(node)
        return name
    }

    public mutating func addWeight(_ name: String, _ tensor: Tensor) { graph.weights[name] = tensor }

    mutating func heUniform(_ shape: [Int], fanIn: Int) -> Tensor {
        let bound = (6 / Float(max(fanIn, 1))).squareRoot()
        return Tensor(shape: shape, data: rng.uniformArray(count: shape.reduce(1, *), bound: bound))
    }

    mutating func smallUniform(_ count: Int, _ bound: Float = 0.1) -> Tensor {
        Tensor(shape: [count], data: rng.uniformArray(count: count, bound: bound))
    }

    /// Channels of an activation tensor, by shape inference over what has been built so far.
    public func channels(of tensor: String) -> Int {
        guard let s = shapes[tensor] else { preconditionFailure("GraphBuilder: tensor '\(tensor)' is not defined") }
        return s.dims.last!
    }

    @discardableResult
    public mutating func conv(_ x: String, out: Int, kernel k: Int, stride: Int = 1, padding: Int? = nil,
                              dilation: Int = 1, groups: Int = 1, bias: Bool = true,
                              name: String? = nil, provenance: String? = nil) -> String {
        let c = channels(of: x)
        let n = uniqueName("conv", name)
        let cg = c / groups
        addWeight("\(n).weight", heUniform([out, k, k, cg], fanIn: cg * k * k))
        var inputs = [x, "\(n).weight"]
        if bias { addWeight("\(n).bias", smallUniform(out)); inputs.append("\(n).bias") }
        let attrs = Conv2DAttributes(stride: .square(stride), padding: .same(padding ?? (dilation * (k - 1)) / 2),
                                     dilation: .square(dilation), groups: groups)
        return add(.conv2d(attrs), name: n, inputs: inputs, provenance: provenance)
    }

    /// A rank-L spatial conv with random factors scaled so the reconstructed kernel is He-sized.
    @discardableResult
    public mutating func rankConv(_ x: String, out: Int, kernel k: Int, rank l: Int, stride: Int = 1,
                                  bias: Bool = true, name: String? = nil) -> String {
        let c = channels(of: x)
        let n = uniqueName("rconv", name)
        // Each reconstructed tap is a sum of L products of two factors: scale each factor by the
        // fourth root so the kernel's variance matches He init.
        let target = (6 / Float(c * k * k)).squareRoot()
        let bound = (target * target / Float(l)).squareRoot().squareRoot() * 1.7
        addWeight("\(n).a", Tensor(shape: [out, c, l, k], data: rng.uniformArray(count: out * c * l * k, bound: bound)))
        addWeight("\(n).b", Tensor(shape: [out, c, l, k], data: rng.uniformArray(count: out * c * l * k, bound: bound)))
        var inputs = [x, "\(n).a", "\(n).b"]
        if bias { addWeight("\(n).bias", smallUniform(out)); inputs.append("\(n).bias") }
        return add(.rankConv2d(RankConv2DAttributes(stride: .square(stride), padding: .same((k - 1) / 2))),
                   name: n, inputs: inputs)
    }

    @discardableResult
    public mutating func linear(_ x: String, out: Int, bias: Bool = true, name: String? = nil, provenance: String? = nil) -> String {
        let c = channels(of: x)
        let n = uniqueName("fc", name)
        addWeight("\(n).weight", heUniform([out, c], fanIn: c))
        var inputs = [x, "\(n).weight"]
        if bias { addWeight("\(n).bias", smallUniform(out)); inputs.append("\(n).bias") }
        return add(.linear, name: n, inputs: inputs, provenance: provenance)
    }

    /// Batch norm with random but well-conditioned statistics, so folding it is a real test.
    @discardableResult
    public mutating func batchNorm(_ x: String, epsilon: Float = 1e-5, name: String? = nil) -> String {
        let c = channels(of: x)
        let n = uniqueName("bn", name)
        addWeight("\(n).weight", Tensor(shape: [c], data: (0..<c).map { _ in rng.uniform(0.5, 1.5) }))
        addWeight("\(n).bias", smallUniform(c))
        addWeight("\(n).running_mean", smallUniform(c))
        addWeight("\(n).running_var", Tensor(shape: [c], data: (0..<c).map { _ in rng.uniform(0.5, 1.5) }))
        return add(.batchNorm(epsilon: epsilon), name: n,
                   inputs: [x, "\(n).weight", "\(n).bias", "\(n).running_mean", "\(n).running_var"])
    }

    @discardableResult
    public mutating func relu(_ x: String, name: String? = nil) -> String { add(.relu, name: uniqueName("relu", name), inputs: [x]) }
    @discardableResult
    public mutating func unary(_ x: String, _ f: UnaryFunction, name: String? = nil) -> String {
        add(.unary(f), name: uniqueName(f.name, name), inputs: [x])
    }
    @discardableResult
    public mutating func relu6(_ x: String, name: String? = nil) -> String { add(.relu6, name: uniqueName("relu6_", name), inputs: [x]) }

    @discardableResult
    public mutating func maxPool(_ x: String, kernel: Int, stride: Int, padding: Int = 0, name: String? = nil) -> String {
        add(.maxPool(PoolAttributes(kernel: .square(kernel), stride: .square(stride), padding: .same(padding))),
            name: uniqueName("maxpool", name), inputs: [x])
    }

    @discardableResult
    public mutating func avgPool(_ x: String, kernel: Int, stride: Int, padding: Int = 0,
                                 countIncludePad: Bool = false, name: String? = nil) -> String {
        add(.avgPool(PoolAttributes(kernel: .square(kernel), stride: .square(stride), padding: .same(padding),
                                    countIncludePad: countIncludePad)),
            name: uniqueName("avgpool", name), inputs: [x])
    }

    @discardableResult
    public mutating func globalAvgPool(_ x: String, name: String? = nil) -> String {
        add(.globalAvgPool, name: uniqueName("gap", name), inputs: [x])
    }
    @discardableResult
    public mutating func addTensors(_ a: String, _ b: String, name: String? = nil) -> String {
        add(.add, name: uniqueName("add", name), inputs: [a, b])
    }
    /// Layer norm over the channels with random scale and bias.
    @discardableResult
    public mutating func layerNorm(_ x: String, epsilon: Float = 1e-6, name: String? = nil) -> String {
        let c = channels(of: x)
        let n = uniqueName("ln", name)
        addWeight("\(n).weight", Tensor(shape: [c], data: (0..<c).map { _ in rng.uniform(0.5, 1.5) }))
        addWeight("\(n).bias", smallUniform(c))
        return add(.layerNorm(epsilon: epsilon), name: n, inputs: [x, "\(n).weight", "\(n).bias"])
    }
    /// a ⊙ b; b is a's shape or [N, 1, 1, C].
    @discardableResult
    public mutating func multiply(_ a: String, _ b: String, name: String? = nil) -> String {
        add(.multiply, name: uniqueName("mul", name), inputs: [a, b])
    }
    /// y = x·scale + shift per channel, with random scale and shift.
    @discardableResult
    public mutating func channelAffine(_ x: String, name: String? = nil) -> String {
        let c = channels(of: x)
        let n = uniqueName("affine", name)
        addWeight("\(n).scale", Tensor(shape: [c], data: (0..<c).map { _ in rng.uniform(-1.5, 1.5) }))
        addWeight("\(n).shift", smallUniform(c))
        return add(.channelAffine, name: n, inputs: [x, "\(n).scale", "\(n).shift"])
    }
    @discardableResult
    public mutating func channelShuffle(_ x: String, groups: Int, name: String? = nil) -> String {
        add(.channelShuffle(groups: groups), name: uniqueName("shuffle", name), inputs: [x])
    }
    @discardableResult
    public mutating func channelSlice(_ x: String, start: Int, count: Int, name: String? = nil) -> String {
        add(.channelSlice(start: start, count: count), name: uniqueName("slice", name), inputs: [x])
    }
    /// Transposed conv with He-initialised weight [C, k, k, S] and a small bias.
    @discardableResult
    public mutating func convTranspose(_ x: String, out: Int, kernel k: Int, stride: Int = 1, padding: Padding = .zero,
                                       outputPadding: Int = 0, name: String? = nil) -> String {
        let c = channels(of: x)
        let n = uniqueName("deconv", name)
        let bound = (6 / Float(c * k * k)).squareRoot()
        addWeight("\(n).weight", Tensor(shape: [c, k, k, out], data: rng.uniformArray(count: c * k * k * out, bound: bound)))
        addWeight("\(n).bias", smallUniform(out))
        return add(.convTranspose2d(ConvTranspose2DAttributes(stride: .square(stride), padding: padding, outputPadding: .square(outputPadding))),
                   name: n, inputs: [x, "\(n).weight", "\(n).bias"])
    }
    /// The mean over the channels, kept as one channel.
    @discardableResult
    public mutating func channelMean(_ x: String, name: String? = nil) -> String {
        add(.channelMean, name: uniqueName("cmean", name), inputs: [x])
    }
    @discardableResult
    public mutating func pad(_ x: String, _ padding: Padding, mode: PadMode = .constant(0), name: String? = nil) -> String {
        add(.pad(PadAttributes(padding: padding, mode: mode)), name: uniqueName("pad", name), inputs: [x])
    }
    /// Resizes H and W to `size`, the scales those of the sizes.
    @discardableResult
    public mutating func resize(_ x: String, to size: Size2, mode: ResizeMode, coordinates: ResizeCoordinates,
                                name: String? = nil) -> String {
        guard let s = shapes[x] else { preconditionFailure("GraphBuilder: tensor '\(x)' is not defined") }
        return add(.resize(ResizeAttributes(mode: mode, coordinates: coordinates, input: Size2(s[1], s[2]), size: size)),
                   name: uniqueName("resize", name), inputs: [x])
    }
    @discardableResult
    public mutating func flatten(_ x: String, name: String? = nil) -> String { add(.flatten, name: uniqueName("flatten", name), inputs: [x]) }
    @discardableResult
    public mutating func softmax(_ x: String, name: String? = nil) -> String { add(.softmax, name: uniqueName("softmax", name), inputs: [x]) }
    @discardableResult
    public mutating func concat(_ xs: [String], name: String? = nil) -> String { add(.concat, name: uniqueName("concat", name), inputs: xs) }
    @discardableResult
    public mutating func dropout(_ x: String, rate: Float, name: String? = nil) -> String {
        add(.dropout(rate: rate), name: uniqueName("dropout", name), inputs: [x])
    }

    /// Finishes the graph with the given outputs.
    public func build(outputs: [String], classNames: [String] = [], metadata: [String: String] = [:]) -> Graph {
        var g = graph
        g.outputs = outputs
        g.classNames = classNames
        g.metadata = metadata
        return g
    }
}
