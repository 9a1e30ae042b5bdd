import RankEdge

/// The reference implementation of every op: plain loops over NHWC tensors, written to be read and
/// trusted rather than to be fast. Fast paths are tested against these.
///
/// Sums are accumulated in `Double`, so the oracle's own rounding sits far below that of any
/// float32 fast path compared with it.
///
/// Every entry point checks its operands with the same shape rules as graph validation and throws
/// `ExecutionError.invalidOperands` instead of trapping.
public enum ReferenceOps {
    /// Runs one op. `activations` and `weights` follow the input order documented on `Op`.
    public static func apply(_ op: Op, activations: [Tensor], weights: [Tensor] = []) throws -> Tensor {
        let outShape = try checkedOutputShape(op, activations: activations, weights: weights)
        let x = activations[0]
        switch op {
        case .conv2d(let attrs):
            return conv2dLoops(x, weight: weights[0], bias: weights.count > 1 ? weights[1] : nil, attrs, outShape: outShape)
        case .rankConv2d(let attrs):
            return rankConv2dLoops(x, a: weights[0], b: weights[1], bias: weights.count > 2 ? weights[2] : nil,
                                   attrs, outShape: outShape)
        case .convTranspose2d(let attrs):
            return convTranspose2dLoops(x, weight: weights[0], bias: weights.count > 1 ? weights[1] : nil, attrs, outShape: outShape)
        case .linear:
            return linearLoops(x, weight: weights[0], bias: weights.count > 1 ? weights[1] : nil, outShape: outShape)
        case .batchNorm(let epsilon):
            return batchNormLoops(x, scale: weights[0], bias: weights[1], mean: weights[2], variance: weights[3],
                                  epsilon: epsilon)
        case .relu:
            // Written with `<` so NaN passes through, as in PyTorch.
            return map(x) { $0 < 0 ? 0 : $0 }
        case .relu6:
            return map(x) { $0 < 0 ? 0 : ($0 > 6 ? 6 : $0) }
        case .unary(let f):
            return map(x) { f($0) }
        case .maxPool(let attrs):
            return maxPoolLoops(x, attrs, outShape: outShape)
        case .avgPool(let attrs):
            return avgPoolLoops(x, attrs, outShape: outShape)
        case .globalAvgPool:
            return globalAvgPoolLoops(x, outShape: outShape)
        case .add:
            return Tensor(shape: outShape, data: zip(x.data, activations[1].data).map { $0 + $1 })
        case .layerNorm(let epsilon):
            return layerNormLoops(x, scale: weights[0], bias: weights[1], epsilon: epsilon)
        case .multiply:
            return multiplyLoops(x, activations[1])
        case .channelAffine:
            return channelAffineLoops(x, scale: weights[0], shift: weights[1])
        case .channelShuffle(let groups):
            return channelShuffleLoops(x, groups: groups)
        case .channelSlice(let start, _):
            return channelSliceLoops(x, start: start, outShape: outShape)
        case .channelMean:
            return channelMeanLoops(x, outShape: outShape)
        case .pad(let a):
            return padLoops(x, a, outShape: outShape)
        case .resize(let a):
            return resizeLoops(x, a, outShape: outShape)
        case .flatten:
            return Tensor(shape: outShape, data: x.data)
        case .softmax:
            return softmaxLoops(x)
        case .concat:
            return concatLoops(activations, outShape: outShape)
        case .dropout:
            return x
        }
    }

    /// The output shape of `op` on these operands, or `invalidOperands` saying what is wrong.
    static func checkedOutputShape(_ op: Op, activations: [Tensor], weights: [Tensor]) throws -> TensorShape {
        func bad(_ message: String) -> ExecutionError { .invalidOperands(op: op.kind, node: nil, message: message) }
        if let n = op.activationInputCount {
            guard activations.count == n else { throw bad("takes \(n) activation input(s), got \(activations.count)") }
        } else {
            guard !activations.isEmpty else { throw bad("needs at least one input") }
        }
        let counts = op.weightInputCounts
        guard counts.contains(weights.count) else {
            throw bad("takes \(counts.lowerBound)–\(counts.upperBound) weight input(s), got \(weights.count)")
        }
        for (i, t) in (activations + weights).enumerated() where t.shape.checkedElementCount != t.data.count {
            throw bad("operand \(i) has \(t.data.count) values for shape \(t.shape)")
        }
        switch Graph.outputShape(op: op, inputs: activations.map(\.shape), weights: weights.map(\.shape)) {
        case .success(let s): return s
        case .failure(let p): throw bad(p.message)
        }
    }

    static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        Tensor(shape: x.shape, data: x.data.map(f))
    }
}

// Typed entry points, for tests of fast paths that exercise one op on its own.
extension ReferenceOps {
    /// x NHWC, weight OHWI [S, kh, kw, C/groups], bias [S].
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                              _ attributes: Conv2DAttributes = Conv2DAttributes()) throws -> Tensor {
        try apply(.conv2d(attributes), activations: [x], weights: [weight] + (bias.map { [$0] } ?? []))
    }

    /// x NHWC, factors a (vertical) and b (horizontal) [S, C, L, k], bias [S].
    public static func rankConv2d(_ x: Tensor, a: Tensor, b: Tensor, bias: Tensor? = nil,
                                  _ attributes: RankConv2DAttributes = RankConv2DAttributes()) throws -> Tensor {
        try apply(.rankConv2d(attributes), activations: [x], weights: [a, b] + (bias.map { [$0] } ?? []))
    }

    /// x NHWC, weight [C, kh, kw, S], bias [S].
    public static func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                                       _ attributes: ConvTranspose2DAttributes) throws -> Tensor {
        try apply(.convTranspose2d(attributes), activations: [x], weights: [weight] + (bias.map { [$0] } ?? []))
    }

    /// x [N, C], weight [S, C], bias [S].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try apply(.linear, activations: [x], weights: [weight] + (bias.map { [$0] } ?? []))
    }

    public static func batchNorm(_ x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor,
                                 epsilon: Float) throws -> Tensor {
        try apply(.batchNorm(epsilon: epsilon), activations: [x], weights: [scale, bias, mean, variance])
    }

    public static func relu(_ x: Tensor) throws -> Tensor { try apply(.relu, activations: [x]) }
    public static func relu6(_ x: Tensor) throws -> Tensor { try apply(.relu6, activations: [x]) }
    public static func unary(_ x: Tensor, _ f: UnaryFunction) throws -> Tensor { try apply(.unary(f), activations: [x]) }
    public static func maxPool(_ x: Tensor, _ attributes: PoolAttributes) throws -> Tensor {
        try apply(.maxPool(attributes), activations: [x])
    }
    public static func avgPool(_ x: Tensor, _ attributes: PoolAttributes) throws -> Tensor {
        try apply(.avgPool(attributes), activations: [x])
    }
    public static func globalAvgPool(_ x: Tensor) throws -> Tensor { try apply(.globalAvgPool, activations: [x]) }
    public static func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try apply(.add, activations: [a, b]) }
    public static func layerNorm(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float) throws -> Tensor {
        try apply(.layerNorm(epsilon: epsilon), activations: [x], weights: [scale, bias])
    }
    public static func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor { try apply(.multiply, activations: [a, b]) }
    public static func channelAffine(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor {
        try apply(.channelAffine, activations: [x], weights: [scale, shift])
    }
    public static func channelShuffle(_ x: Tensor, groups: Int) throws -> Tensor {
        try apply(.channelShuffle(groups: groups), activations: [x])
    }
    public static func channelSlice(_ x: Tensor, start: Int, count: Int) throws -> Tensor {
        try apply(.channelSlice(start: start, count: count), activations: [x])
    }
    public static func channelMean(_ x: Tensor) throws -> Tensor { try apply(.channelMean, activations: [x]) }
    public static func pad(_ x: Tensor, _ attributes: PadAttributes) throws -> Tensor { try apply(.pad(attributes), activations: [x]) }
    public static func resize(_ x: Tensor, _ attributes: ResizeAttributes) throws -> Tensor {
        try apply(.resize(attributes), activations: [x])
    }
    public static func flatten(_ x: Tensor) throws -> Tensor { try apply(.flatten, activations: [x]) }
    public static func softmax(_ x: Tensor) throws -> Tensor { try apply(.softmax, activations: [x]) }
    public static func concat(_ xs: [Tensor]) throws -> Tensor { try apply(.concat, activations: xs) }
}
