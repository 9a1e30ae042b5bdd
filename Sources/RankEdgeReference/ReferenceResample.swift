import RankEdge

/// Pad, Resize and the channel mean: each output cell computed from its definition.
extension ReferenceOps {
    /// Each output cell is the input cell its padded position maps to (`PadMode.source`), or the
    /// constant.
    static func padLoops(_ x: Tensor, _ a: PadAttributes, outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        var fill: Float = 0
        if case .constant(let v) = a.mode { fill = v }
        var out = [Float](repeating: fill, count: outShape.elementCount)
        for b in 0..<n {
            for oy in 0..<oh {
                guard let iy = a.mode.source(oy - a.padding.top, size: h) else { continue }
                for ox in 0..<ow {
                    guard let ix = a.mode.source(ox - a.padding.left, size: w) else { continue }
                    for ch in 0..<c { out[((b * oh + oy) * ow + ox) * c + ch] = x.data[((b * h + iy) * w + ix) * c + ch] }
                }
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// Each output cell the weighted sum of the input cells its row and column tap
    /// (`ResizeAttributes.taps`): separable, so the weights multiply.
    static func resizeLoops(_ x: Tensor, _ a: ResizeAttributes, outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        var out = [Float](repeating: 0, count: outShape.elementCount)
        for b in 0..<n {
            for oy in 0..<oh {
                let rows = a.taps(oy, inSize: h, outSize: oh, scale: a.scaleH)
                for ox in 0..<ow {
                    let cols = a.taps(ox, inSize: w, outSize: ow, scale: a.scaleW)
                    for ch in 0..<c {
                        var sum: Double = 0
                        for r in rows {
                            for q in cols {
                                sum += Double(r.weight) * Double(q.weight) * Double(x.data[((b * h + r.index) * w + q.index) * c + ch])
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * c + ch] = Float(sum)
                    }
                }
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// The mean of each row of the last axis.
    static func channelMeanLoops(_ x: Tensor, outShape: TensorShape) -> Tensor {
        let c = x.shape.dims.last!
        let rows = x.count / max(c, 1)
        let out = (0..<rows).map { r in Float((0..<c).reduce(0.0) { $0 + Double(x.data[r * c + $1]) } / Double(c)) }
        return Tensor(shape: outShape, data: out)
    }
}
