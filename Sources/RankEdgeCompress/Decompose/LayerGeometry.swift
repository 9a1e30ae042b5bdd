import RankEdge

/// What a factored form must keep of the layer it replaces: conv attributes (nil for a linear).
public struct LayerGeometry: Sendable, Equatable {
    public var conv: Conv2DAttributes?

    public static let linear = LayerGeometry(conv: nil)

    var isLinear: Bool { conv == nil }

    /// A 1×1 conv (or, for a linear layer, a linear) that follows the spatial part: stride 1, no padding.
    func pointwise(_ weight: [Float], outputs: Int, inputs: Int, suffix: String, takesBias: Bool) -> FactorLayer {
        if isLinear {
            return FactorLayer(suffix: suffix, op: .linear, weights: [Tensor(shape: [outputs, inputs], data: weight)], takesBias: takesBias)
        }
        return FactorLayer(suffix: suffix, op: .conv2d(Conv2DAttributes()),
                           weights: [Tensor(shape: [outputs, 1, 1, inputs], data: weight)], takesBias: takesBias)
    }

    /// The layer's own spatial op (stride, padding, dilation) with a new weight and group count.
    func spatial(_ weight: [Float], outputs: Int, kernelH: Int, kernelW: Int, inputsPerGroup: Int, groups: Int = 1,
                 suffix: String, takesBias: Bool) -> FactorLayer {
        guard var attrs = conv else {
            return FactorLayer(suffix: suffix, op: .linear, weights: [Tensor(shape: [outputs, inputsPerGroup], data: weight)], takesBias: takesBias)
        }
        attrs.groups = groups
        return FactorLayer(suffix: suffix, op: .conv2d(attrs),
                           weights: [Tensor(shape: [outputs, kernelH, kernelW, inputsPerGroup], data: weight)], takesBias: takesBias)
    }
}
