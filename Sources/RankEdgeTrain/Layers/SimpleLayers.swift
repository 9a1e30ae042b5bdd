import RankEdge

public final class ReLU: Module {
    public let name: String
    public init(name: String) { self.name = name }
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable { relu(x) }
    public func export(into b: inout GraphBuilder, input: String) -> String { b.add(.relu, name: name, inputs: [input]) }
}

public final class MaxPool2D: Module {
    public let name: String
    public let attributes: PoolAttributes
    public init(name: String, kernel: Int, stride: Int, padding: Int = 0) {
        self.name = name
        attributes = PoolAttributes(kernel: .square(kernel), stride: .square(stride), padding: .same(padding))
    }
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable { maxPool2d(x, attributes: attributes) }
    public func export(into b: inout GraphBuilder, input: String) -> String { b.add(.maxPool(attributes), name: name, inputs: [input]) }
}

public final class AvgPool2D: Module {
    public let name: String
    public let attributes: PoolAttributes
    public init(name: String, kernel: Int, stride: Int, padding: Int = 0, countIncludePad: Bool = true) {
        self.name = name
        attributes = PoolAttributes(kernel: .square(kernel), stride: .square(stride), padding: .same(padding),
                                    countIncludePad: countIncludePad)
    }
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable { avgPool2d(x, attributes: attributes) }
    public func export(into b: inout GraphBuilder, input: String) -> String { b.add(.avgPool(attributes), name: name, inputs: [input]) }
}

public final class GlobalAvgPool: Module {
    public let name: String
    public init(name: String) { self.name = name }
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable { globalAvgPool(x) }
    public func export(into b: inout GraphBuilder, input: String) -> String { b.add(.globalAvgPool, name: name, inputs: [input]) }
}

/// NHWC → [N, H·W·C] in NHWC order, as the runtime's flatten.
public final class Flatten: Module {
    public let name: String
    public init(name: String) { self.name = name }
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable { flatten(x) }
    public func export(into b: inout GraphBuilder, input: String) -> String { b.add(.flatten, name: name, inputs: [input]) }
}

/// Inverted dropout. Masks derive from (seed, step, layer name), so a step's masks are the same
/// whether it runs in one go or after a resume, on any thread count.
public final class Dropout: Module {
    public let name: String
    public let rate: Float
    private let nameHash: UInt64
    public init(name: String, rate: Float) {
        self.name = name; self.rate = rate
        nameHash = stableHash(name)
    }

    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        guard context.mode == .training, rate > 0 else { return x }
        let mask = dropoutMask(count: x.count, keep: 1 - rate,
                               seed: mixSeeds(context.seed, UInt64(context.step), nameHash))
        return dropout(x, mask: mask, rate: rate)
    }

    public func export(into b: inout GraphBuilder, input: String) -> String { b.add(.dropout(rate: rate), name: name, inputs: [input]) }
}

/// A keep mask (1 keep, 0 drop) filled in fixed 4096-element blocks, each from its own generator.
func dropoutMask(count: Int, keep: Float, seed: UInt64) -> TensorStorage {
    let mask = TensorStorage(uninitialized: count)
    let block = 4096
    let blocks = (count + block - 1) / block
    let m = SendablePointer(mask)
    let threshold = UInt64(Double(keep) * Double(1 << 32))
    Parallel.forRanges(total: blocks) { _, range in
        for bi in range {
            var rng = SeededRandom(seed: mixSeeds(seed, UInt64(bi)))
            for i in (bi * block)..<min(count, (bi + 1) * block) { m.p[i] = (rng.next() >> 32) < threshold ? 1 : 0 }
        }
    }
    return mask
}

/// Runs modules in order.
public final class Sequential: Module {
    public let name: String
    public let layers: [any Module]
    public init(name: String, _ layers: [any Module]) { self.name = name; self.layers = layers }
    /// Runs the layers in order, a BatchNorm2D or a Residual directly followed by a ReLU as one
    /// fused op (same result; the export keeps both nodes).
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        forward(x, context, layers: 0..<layers.count)
    }

    func forward(_ x: Variable, _ context: ForwardContext, layers range: Range<Int>) -> Variable {
        var y = x, i = range.lowerBound
        while i < range.upperBound {
            let reluFollows = i + 1 < range.upperBound && layers[i + 1] is ReLU
            if reluFollows, let bn = layers[i] as? BatchNorm2D {
                y = bn.forward(y, context, relu: true)
                i += 2
            } else if reluFollows, let residual = layers[i] as? Residual {
                y = residual.forward(y, context, relu: true)
                i += 2
            } else {
                y = layers[i].forward(y, context)
                i += 1
            }
        }
        return y
    }
    public var parameters: [NamedTensor] { layers.flatMap { $0.parameters } }
    public var buffers: [NamedTensor] { layers.flatMap { $0.buffers } }
    public var submodules: [any Module] { layers }
    public func export(into b: inout GraphBuilder, input: String) -> String {
        layers.reduce(input) { $1.export(into: &b, input: $0) }
    }
}

/// body(x) + shortcut(x) (identity when there is no shortcut): the residual join.
public final class Residual: Module {
    public let name: String
    public let body: any Module
    public let shortcut: (any Module)?
    public init(name: String, body: any Module, shortcut: (any Module)?) {
        self.name = name; self.body = body; self.shortcut = shortcut
    }
    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        forward(x, context, relu: false)
    }

    /// relu(self(x)) with `relu`. A body ending in a BatchNorm2D (a ResNet block) does its
    /// normalisation, the join and the ReLU as one op.
    public func forward(_ x: Variable, _ context: ForwardContext, relu reluAfter: Bool) -> Variable {
        if let sequence = body as? Sequential, let bn = sequence.layers.last as? BatchNorm2D {
            let prefix = sequence.forward(x, context, layers: 0..<(sequence.layers.count - 1))
            return bn.forward(prefix, context, residual: shortcut?.forward(x, context) ?? x, relu: reluAfter)
        }
        let sum = add(body.forward(x, context), shortcut?.forward(x, context) ?? x)
        return reluAfter ? relu(sum) : sum
    }
    public var parameters: [NamedTensor] { body.parameters + (shortcut?.parameters ?? []) }
    public var buffers: [NamedTensor] { body.buffers + (shortcut?.buffers ?? []) }
    public var submodules: [any Module] { [body] + (shortcut.map { [$0] } ?? []) }
    public func export(into b: inout GraphBuilder, input: String) -> String {
        let main = body.export(into: &b, input: input)
        let side = shortcut?.export(into: &b, input: input) ?? input
        return b.add(.add, name: "\(name).add", inputs: [main, side])
    }
}
