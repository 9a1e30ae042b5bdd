/// A depthwise conv (groups = input channels = output channels) with its filters laid out
/// [kh][kw][C], so one vector load covers neighbouring channels of one tap.
final class DepthwiseWeights: @unchecked Sendable {
    let attributes: Conv2DAttributes
    let kh: Int, kw: Int, channels: Int
    let weights: FloatStorage
    let bias: FloatStorage?

    /// `weight` is OHWI [C, kh, kw, 1].
    init(weight: Tensor, bias: Tensor?, attributes: Conv2DAttributes) {
        self.attributes = attributes
        (channels, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2])
        var laid = [Float](repeating: 0, count: weight.count)
        for o in 0..<channels {
            for tap in 0..<(kh * kw) { laid[tap * channels + o] = weight.data[o * kh * kw + tap] }
        }
        weights = FloatStorage(laid)
        self.bias = bias.map { FloatStorage($0.data) }
    }

    init(attributes: Conv2DAttributes, kh: Int, kw: Int, channels: Int, weights: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes
        self.kh = kh; self.kw = kw; self.channels = channels
        self.weights = weights
        self.bias = bias
    }

    /// One filter per channel, and at least one vector's worth of channels: with fewer, the kernel's
    /// per-pixel work is mostly overhead and a (block-diagonal) GEMM does better.
    static func applies(weight: TensorShape, attributes: Conv2DAttributes, inputChannels: Int) -> Bool {
        attributes.groups > 1 && attributes.groups == inputChannels && weight[0] == inputChannels && weight[3] == 1
            && inputChannels >= 8
    }
}
