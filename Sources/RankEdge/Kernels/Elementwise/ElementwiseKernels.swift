/// An unfolded batch norm or channel affine: y = x·scale + shift per channel (`ChannelAffineStep`).
final class ChannelAffineKernel: StepKernel {
    let scale: FloatStorage, shift: FloatStorage
    init(scale: FloatStorage, shift: FloatStorage) { self.scale = scale; self.shift = shift }

    /// Scale and shift of a batch norm's statistics.
    convenience init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float) {
        var scale = [Float](repeating: 0, count: gamma.count), shift = scale
        for c in 0..<gamma.count {
            scale[c] = gamma[c] / (variance[c] + epsilon).squareRoot()
            shift[c] = beta[c] - mean[c] * scale[c]
        }
        self.init(scale: FloatStorage(scale), shift: FloatStorage(shift))
    }

    static var fileKinds: [String] { ["channel-affine"] }
    var name: String { "channel-affine" }
    var memory: StepMemory { .inPlace }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ChannelAffineKernel? {
        guard !r.group.chain else { return nil }
        switch r.node.op {
        case .batchNorm(let eps):
            return ChannelAffineKernel(gamma: r.weight(1)!.data, beta: r.weight(2)!.data, mean: r.weight(3)!.data,
                                       variance: r.weight(4)!.data, epsilon: eps)
        case .channelAffine:
            return ChannelAffineKernel(scale: FloatStorage(r.weight(1)!.data), shift: FloatStorage(r.weight(2)!.data))
        default:
            return nil
        }
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] { [("scale", e.store("scale", scale)), ("shift", e.store("shift", shift))] }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> ChannelAffineKernel {
        guard let count = d.storedCount(o["scale"]) else { throw d.fail("scale missing") }
        return ChannelAffineKernel(scale: try d.tensor(o["scale"], count: count), shift: try d.tensor(o["shift"], count: count))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.input == shapes.output, shapes.input.dims.last == scale.count else { throw d.fail("scale does not match \(shapes.input)") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let c = b.shapes.input.dims.last!
        return ChannelAffineStep(x: b.x, y: b.y, rows: b.shapes.input.elementCount / max(c, 1), channels: c, scale: scale, shift: shift,
                                 activation: b.activation)
    }
}

/// A standalone residual add (one not fused into a conv's epilogue), with its activation.
final class AddKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["add"] }
    var name: String { "add" }
    var memory: StepMemory { .inPlace }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> AddKernel? { r.isOp("add") ? AddKernel() : nil }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.inputs.count == 2, shapes.inputs[1] == shapes.input, shapes.input == shapes.output else { throw d.fail("add shapes differ") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        AddStep(a: b.x, b: b.inputs[1], y: b.y, count: b.shapes.output.elementCount, activation: b.activation)
    }
}

/// ReLU or ReLU6 on its own (no producer to fuse into); which one is the step's activation.
final class ActivationKernel: StepKernel {
    let activation: GEMMActivation
    init(_ activation: GEMMActivation) { self.activation = activation }

    static var fileKinds: [String] { ["activation"] }
    var name: String { activation == .relu6 ? "relu6" : "relu" }
    var memory: StepMemory { .inPlace }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ActivationKernel? {
        guard !r.group.chain else { return nil }
        switch r.node.op {
        case .relu: return ActivationKernel(.relu)
        case .relu6: return ActivationKernel(.relu6)
        default: return nil
        }
    }
    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] { [] }
    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> ActivationKernel { ActivationKernel(d.activation) }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.input == shapes.output else { throw d.fail("shapes differ") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        ActivationStep(x: b.x, y: b.y, count: b.shapes.output.elementCount, activation: b.activation)
    }
}

/// Softmax over the last axis.
final class SoftmaxKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["softmax"] }
    var name: String { "softmax" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> SoftmaxKernel? { r.isOp("softmax") ? SoftmaxKernel() : nil }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.input == shapes.output else { throw d.fail("shapes differ") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let length = b.shapes.output.dims.last!
        return SoftmaxStep(rows: b.shapes.output.elementCount / max(length, 1), length: length, x: b.x, y: b.y)
    }
}

/// a ⊙ b, b of a's shape or one value per sample and channel (an SE block's gate over [N, 1, 1, C]).
final class MultiplyKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["multiply"] }
    var name: String { "multiply" }
    var memory: StepMemory { .inPlace }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> MultiplyKernel? { r.isOp("multiply") ? MultiplyKernel() : nil }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.inputs.count == 2, shapes.input == shapes.output,
              case .success = Graph.outputShape(op: .multiply, inputs: shapes.inputs, weights: []) else {
            throw d.fail("multiply shapes do not broadcast")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let a = b.shapes.input, g = b.shapes.inputs[1]
        // Same shape: one "sample" of every element against a gate of the same length.
        let channels = g == a ? a.elementCount : a.dims.last!
        return MultiplyStep(a: b.x, gate: b.inputs[1], y: b.y, samples: g == a ? 1 : a[0],
                            rowsPerSample: g == a ? 1 : a.elementCount / max(a[0] * channels, 1), channels: channels, isa: b.isa)
    }
}

/// Layer norm over the channels of each position (`LayerNormStep`), in place where it can be.
final class LayerNormKernel: StepKernel {
    let epsilon: Float
    let scale: FloatStorage, bias: FloatStorage
    init(epsilon: Float, scale: FloatStorage, bias: FloatStorage) { self.epsilon = epsilon; self.scale = scale; self.bias = bias }

    static var fileKinds: [String] { ["layer-norm"] }
    var name: String { "layer-norm" }
    var memory: StepMemory { .inPlace }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> LayerNormKernel? {
        guard !r.group.chain, case .layerNorm(let eps) = r.node.op else { return nil }
        return LayerNormKernel(epsilon: eps, scale: FloatStorage(r.weight(1)!.data), bias: FloatStorage(r.weight(2)!.data))
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        [("epsilon", .float(epsilon)), ("scale", e.store("scale", scale)), ("bias", e.store("bias", bias))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> LayerNormKernel {
        guard let eps = o["epsilon"]?.floatValue, eps.isFinite, eps >= 0 else { throw d.fail("'epsilon' is missing or invalid") }
        guard let count = d.storedCount(o["scale"]) else { throw d.fail("scale missing") }
        return LayerNormKernel(epsilon: eps, scale: try d.tensor(o["scale"], count: count), bias: try d.tensor(o["bias"], count: count))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.input == shapes.output, shapes.input.dims.last == scale.count else { throw d.fail("scale does not match \(shapes.input)") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let c = b.shapes.input.dims.last!
        return LayerNormStep(x: b.x, y: b.y, rows: b.shapes.input.elementCount / max(c, 1), channels: c, epsilon: epsilon,
                             scale: scale, bias: bias, isa: b.isa)
    }
}
