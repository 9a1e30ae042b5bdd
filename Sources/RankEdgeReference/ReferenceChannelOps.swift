#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RankEdge

/// Ops that act along the channel (last) axis one position at a time: linear, batch norm, channel
/// affine, multiply, softmax.
extension ReferenceOps {
    /// y[n, o] = bias[o] + Σ_c x[n, c] · w[o, c].
    static func linearLoops(_ x: Tensor, weight: Tensor, bias: Tensor?, outShape: TensorShape) -> Tensor {
        let (n, c, s) = (x.shape[0], x.shape[1], weight.shape[0])
        var out = [Float](repeating: 0, count: n * s)
        for b in 0..<n {
            for o in 0..<s {
                var sum = Double(bias?.data[o] ?? 0)
                for ci in 0..<c { sum += Double(x.data[b * c + ci]) * Double(weight.data[o * c + ci]) }
                out[b * s + o] = Float(sum)
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// Inference batch norm on the last axis: y = (x − mean) / √(variance + ε) · scale + bias.
    static func batchNormLoops(_ x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor,
                               epsilon: Float) -> Tensor {
        let c = x.shape.dims.last!
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let ch = i % c
            let normalized = (Double(x.data[i]) - Double(mean.data[ch]))
                / (Double(variance.data[ch]) + Double(epsilon)).squareRoot()
            out[i] = Float(normalized * Double(scale.data[ch]) + Double(bias.data[ch]))
        }
        return Tensor(shape: x.shape, data: out)
    }

    /// Each position's channels normalised by their own mean and (biased) variance, then scaled and
    /// shifted per channel.
    static func layerNormLoops(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        let c = x.shape.dims.last!
        var out = [Float](repeating: 0, count: x.count)
        for row in 0..<(x.count / max(c, 1)) {
            let values = (0..<c).map { Double(x.data[row * c + $0]) }
            let mean = values.reduce(0, +) / Double(c)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            let inverse = 1 / (variance + Double(epsilon)).squareRoot()
            for k in 0..<c { out[row * c + k] = Float((values[k] - mean) * inverse * Double(scale.data[k]) + Double(bias.data[k])) }
        }
        return Tensor(shape: x.shape, data: out)
    }

    /// y = x·scale + shift, channel by channel (the last axis).
    static func channelAffineLoops(_ x: Tensor, scale: Tensor, shift: Tensor) -> Tensor {
        let c = x.shape.dims.last!
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count { out[i] = Float(Double(x.data[i]) * Double(scale.data[i % c]) + Double(shift.data[i % c])) }
        return Tensor(shape: x.shape, data: out)
    }

    /// a ⊙ b, where b is a's shape or [N, 1, 1, C]: then each sample's channel c of a is scaled by
    /// b[n, 0, 0, c] at every position.
    static func multiplyLoops(_ a: Tensor, _ b: Tensor) -> Tensor {
        if a.shape == b.shape { return Tensor(shape: a.shape, data: zip(a.data, b.data).map { $0 * $1 }) }
        let (n, c) = (a.shape[0], a.shape.dims.last!)
        let perSample = n == 0 ? 0 : a.count / n
        var out = [Float](repeating: 0, count: a.count)
        for i in 0..<a.count { out[i] = a.data[i] * b.data[(i / perSample) * c + i % c] }
        return Tensor(shape: a.shape, data: out)
    }

    /// Softmax over the last axis, shifted by each row's maximum so large logits do not overflow.
    static func softmaxLoops(_ x: Tensor) -> Tensor {
        let length = x.shape.dims.last ?? 1
        var out = [Float](repeating: 0, count: x.count)
        guard length > 0 else { return Tensor(shape: x.shape, data: out) }
        for row in 0..<(x.count / length) {
            let base = row * length
            var largest = -Double.infinity
            for i in 0..<length { largest = max(largest, Double(x.data[base + i])) }
            var total: Double = 0
            for i in 0..<length { total += exp(Double(x.data[base + i]) - largest) }
            for i in 0..<length { out[base + i] = Float(exp(Double(x.data[base + i]) - largest) / total) }
        }
        return Tensor(shape: x.shape, data: out)
    }
}
