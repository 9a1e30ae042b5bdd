import RankEdge

/// A conv or linear layer's weight as the decompositions see it: OHWI [S, kh, kw, C] (a linear
/// layer is a 1×1 conv, [S, 1, 1, C]), so its mode-S unfolding [S, kh·kw·C] is the array itself.
public struct LayerWeight: Sendable {
    public let outputs: Int      // S
    public let kernelH: Int
    public let kernelW: Int
    public let inputs: Int       // C
    public let data: [Float]

    public init(outputs: Int, kernelH: Int, kernelW: Int, inputs: Int, data: [Float]) {
        precondition(data.count == outputs * kernelH * kernelW * inputs, "LayerWeight: size does not match shape")
        self.outputs = outputs; self.kernelH = kernelH; self.kernelW = kernelW; self.inputs = inputs; self.data = data
    }

    /// From a conv2d weight [S, kh, kw, C] or a linear weight [S, C].
    public init(_ tensor: Tensor) {
        let d = tensor.shape.dims
        if d.count == 2 { self.init(outputs: d[0], kernelH: 1, kernelW: 1, inputs: d[1], data: tensor.data) }
        else { self.init(outputs: d[0], kernelH: d[1], kernelW: d[2], inputs: d[3], data: tensor.data) }
    }

    /// The same layer shape holding other values.
    public func with(_ values: [Float]) -> LayerWeight {
        LayerWeight(outputs: outputs, kernelH: kernelH, kernelW: kernelW, inputs: inputs, data: values)
    }

    public var taps: Int { kernelH * kernelW }
    public var count: Int { data.count }
    /// Columns of the [S, kh·kw·C] unfolding.
    public var fanIn: Int { taps * inputs }

    /// The mode-C unfolding [C, S·kh·kw]: row c holds every weight that reads input channel c.
    public var inputUnfolding: [Float] {
        var m = [Float](repeating: 0, count: count)
        let cols = outputs * taps
        for s in 0..<outputs {
            for t in 0..<taps {
                for c in 0..<inputs { m[c * cols + s * taps + t] = data[(s * taps + t) * inputs + c] }
            }
        }
        return m
    }

    /// Squared Frobenius norm, in double precision.
    public var squaredNorm: Double { data.reduce(0) { $0 + Double($1) * Double($1) } }
}
