/// A conv for the narrow direct kernel (re_narrowconv): weights as [C][kh][kw][S], so the output
/// channels of one tap and input channel, broadcast one after another, are adjacent.
final class NarrowConvWeights: @unchecked Sendable {
    let attributes: Conv2DAttributes
    let kh: Int, kw: Int, inChannels: Int, outChannels: Int
    let weights: FloatStorage
    let bias: FloatStorage?

    /// `weight` is OHWI [S, kh, kw, C].
    init(weight: Tensor, bias: Tensor?, attributes: Conv2DAttributes) {
        self.attributes = attributes
        (outChannels, kh, kw, inChannels) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let (s, taps, c) = (outChannels, kh * kw, inChannels)
        var laid = [Float](repeating: 0, count: weight.count)
        for o in 0..<s {
            for t in 0..<taps {
                for ci in 0..<c { laid[(ci * taps + t) * s + o] = weight.data[(o * taps + t) * c + ci] }
            }
        }
        weights = FloatStorage(laid)
        self.bias = bias.map { FloatStorage($0.data) }
    }

    init(attributes: Conv2DAttributes, kh: Int, kw: Int, inChannels: Int, outChannels: Int, weights: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes
        self.kh = kh; self.kw = kw; self.inChannels = inChannels; self.outChannels = outChannels
        self.weights = weights
        self.bias = bias
    }

    /// Dense stride-1 k×k convs whose output channels would leave a quarter or more of the GEMM's
    /// 16-lane tiles empty (S = 1…11 or 17…23: the 9- and 19-channel Tucker cores of a 2× ResNet),
    /// on rows of at least one 8-pixel vector. Measured on the ResNet-56 cores (docs/BENCHMARKS.md):
    /// 2.1× faster than the GEMM at S = 9, 1.6× at 19, even at 38, and slower for 1×1 convs, whose
    /// per-pixel work is too short for the kernel's transposing store.
    static func applies(weight: TensorShape, attributes a: Conv2DAttributes, output: TensorShape) -> Bool {
        let s = weight[0]
        return a.groups == 1 && a.stride == .square(1) && a.dilation == .square(1) && weight[1] * weight[2] > 1
            && output.rank == 4 && output[2] >= 8 && s <= 23 && 4 * s < 3 * ((s + 15) / 16 * 16)
    }
}
