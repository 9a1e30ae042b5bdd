import RankEdge

/// 2-D convolution on NHWC activations with an OHWI weight [out, kh, kw, in/groups].
public final class Conv2D: Module {
    public let name: String
    public let weight: Variable
    public let bias: Variable?
    public let attributes: Conv2DAttributes

    /// What export records about where this conv came from (e.g. "tucker2 of block1.conv2").
    public var provenance: String?

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, initialization: WeightInitialization = .pytorchDefault,
                rng: inout SeededRandom) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "Conv2D \(name): channels not divisible by groups")
        self.name = name
        let cg = inChannels / groups, fanIn = cg * kernel * kernel
        let weightCount = outChannels * fanIn
        let weights: [Float]
        switch initialization {
        case .pytorchDefault: weights = defaultInit(weightCount, fanIn: fanIn, rng: &rng)
        case .xavierUniform: weights = xavierUniform(weightCount, fanIn: fanIn, fanOut: outChannels * kernel * kernel, rng: &rng)
        }
        weight = Variable(shape: [outChannels, kernel, kernel, cg], data: weights, requiresGrad: true)
        self.bias = bias ? Variable(shape: [outChannels], data: defaultInit(outChannels, fanIn: fanIn, rng: &rng), requiresGrad: true) : nil
        attributes = Conv2DAttributes(stride: .square(stride), padding: .same(padding ?? dilation * (kernel - 1) / 2),
                                      dilation: .square(dilation), groups: groups)
    }

    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        conv2d(x, weight: weight, bias: bias, attributes: attributes)
    }

    public var parameters: [NamedTensor] {
        [NamedTensor(name: "\(name).weight", variable: weight)] + (bias.map { [NamedTensor(name: "\(name).bias", variable: $0)] } ?? [])
    }

    public func export(into b: inout GraphBuilder, input: String) -> String {
        var inputs = [input, "\(name).weight"]
        b.addWeight("\(name).weight", weight.runtimeTensor)
        if let bias { b.addWeight("\(name).bias", bias.runtimeTensor); inputs.append("\(name).bias") }
        return b.add(.conv2d(attributes), name: name, inputs: inputs, provenance: provenance)
    }
}

/// Fully connected layer, weight [out, in].
public final class Linear: Module {
    public let name: String
    public let weight: Variable
    public let bias: Variable?

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, rng: inout SeededRandom) {
        self.name = name
        weight = Variable(shape: [outFeatures, inFeatures], data: defaultInit(outFeatures * inFeatures, fanIn: inFeatures, rng: &rng),
                          requiresGrad: true)
        self.bias = bias ? Variable(shape: [outFeatures], data: defaultInit(outFeatures, fanIn: inFeatures, rng: &rng), requiresGrad: true) : nil
    }

    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable { linear(x, weight: weight, bias: bias) }

    public var parameters: [NamedTensor] {
        [NamedTensor(name: "\(name).weight", variable: weight)] + (bias.map { [NamedTensor(name: "\(name).bias", variable: $0)] } ?? [])
    }

    public func export(into b: inout GraphBuilder, input: String) -> String {
        var inputs = [input, "\(name).weight"]
        b.addWeight("\(name).weight", weight.runtimeTensor)
        if let bias { b.addWeight("\(name).bias", bias.runtimeTensor); inputs.append("\(name).bias") }
        return b.add(.linear, name: name, inputs: inputs)
    }
}

extension Variable {
    /// A copy as the runtime's tensor type.
    public var runtimeTensor: Tensor { Tensor(shape: shape, data: data) }
}
