import RankEdge

extension ReferenceOps {
    /// The definition as a scatter: every input cell adds x[c] · W[c, ky, kx, :] into output cell
    /// (iy·stride + ky − padTop, ix·stride + kx − padLeft) when that lies inside the output.
    static func convTranspose2dLoops(_ x: Tensor, weight: Tensor, bias: Tensor?, _ a: ConvTranspose2DAttributes,
                                     outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw, s) = (weight.shape[1], weight.shape[2], weight.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        var sums = [Double](repeating: 0, count: outShape.elementCount)
        for b in 0..<n {
            for iy in 0..<h {
                for ix in 0..<w {
                    for ky in 0..<kh {
                        let oy = iy * a.stride.h + ky - a.padding.top
                        guard oy >= 0 && oy < oh else { continue }
                        for kx in 0..<kw {
                            let ox = ix * a.stride.w + kx - a.padding.left
                            guard ox >= 0 && ox < ow else { continue }
                            for ch in 0..<c {
                                let v = Double(x.data[((b * h + iy) * w + ix) * c + ch])
                                for o in 0..<s {
                                    sums[((b * oh + oy) * ow + ox) * s + o] += v * Double(weight.data[((ch * kh + ky) * kw + kx) * s + o])
                                }
                            }
                        }
                    }
                }
            }
        }
        let out = sums.enumerated().map { i, v in Float(v + Double(bias?.data[i % s] ?? 0)) }
        return Tensor(shape: outShape, data: out)
    }
}
