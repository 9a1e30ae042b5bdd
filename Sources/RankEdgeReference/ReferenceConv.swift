import RankEdge

/// Dense and rank-L convolutions, straight from their definitions.
extension ReferenceOps {
    /// y[n, oy, ox, o] = bias[o] + Σ_{ky, kx, ci} x[n, iy, ix, g·C/groups + ci] · w[o, ky, kx, ci]
    /// with iy = oy·strideH − padTop + ky·dilationH (likewise ix), g = the group of o, and cells
    /// outside the input reading as zero.
    static func conv2dLoops(_ x: Tensor, weight: Tensor, bias: Tensor?, _ p: Conv2DAttributes,
                            outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (s, kh, kw, cg) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        let outputsPerGroup = s / p.groups
        var out = [Float](repeating: 0, count: outShape.elementCount)
        // Buffer pointers rather than array subscripts only so that debug builds, where tests run,
        // stay usable on whole networks; the loops are the definition above, unchanged.
        x.data.withUnsafeBufferPointer { xs in
        weight.data.withUnsafeBufferPointer { ws in
        out.withUnsafeMutableBufferPointer { ys in
        for b in 0..<n {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for o in 0..<s {
                        let firstChannel = (o / outputsPerGroup) * cg
                        var sum = Double(bias?.data[o] ?? 0)
                        for ky in 0..<kh {
                            let iy = oy * p.stride.h - p.padding.top + ky * p.dilation.h
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<kw {
                                let ix = ox * p.stride.w - p.padding.left + kx * p.dilation.w
                                if ix < 0 || ix >= w { continue }
                                let xBase = ((b * h + iy) * w + ix) * c + firstChannel
                                let wBase = ((o * kh + ky) * kw + kx) * cg
                                for ci in 0..<cg {
                                    sum += Double(xs[xBase + ci]) * Double(ws[wBase + ci])
                                }
                            }
                        }
                        ys[((b * oh + oy) * ow + ox) * s + o] = Float(sum)
                    }
                }
            }
        }
        }
        }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// The rank-L conv as METHODS.md §1 defines it, the sum over l of rank-1 kernels:
    /// y[n, oy, ox, o] = bias[o] + Σ_{c, l, i, j} a[o, c, l, i] · b[o, c, l, j] · x[n, iy, ix, c]
    /// with iy = oy·strideH − padTop + i, ix = ox·strideW − padLeft + j. Written out directly, not by
    /// reconstructing the kernel, so the test "rankConv2d = conv2d(reconstructRankKernel)" compares
    /// two independent routes.
    static func rankConv2dLoops(_ x: Tensor, a: Tensor, b: Tensor, bias: Tensor?, _ p: RankConv2DAttributes,
                                outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (s, rank, k) = (a.shape[0], a.shape[2], a.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        var out = [Float](repeating: 0, count: outShape.elementCount)
        // Buffer pointers rather than array subscripts only so that debug builds stay usable on
        // whole networks; the sum is the definition above, term by term.
        x.data.withUnsafeBufferPointer { xs in
        a.data.withUnsafeBufferPointer { aa in
        b.data.withUnsafeBufferPointer { bb in
        out.withUnsafeMutableBufferPointer { ys in
        for batch in 0..<n {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for o in 0..<s {
                        var sum = Double(bias?.data[o] ?? 0)
                        for ci in 0..<c {
                            for l in 0..<rank {
                                let factorBase = ((o * c + ci) * rank + l) * k
                                for i in 0..<k {
                                    let iy = oy * p.stride.h - p.padding.top + i
                                    if iy < 0 || iy >= h { continue }
                                    for j in 0..<k {
                                        let ix = ox * p.stride.w - p.padding.left + j
                                        if ix < 0 || ix >= w { continue }
                                        let xv = Double(xs[((batch * h + iy) * w + ix) * c + ci])
                                        sum += Double(aa[factorBase + i]) * Double(bb[factorBase + j]) * xv
                                    }
                                }
                            }
                        }
                        ys[((batch * oh + oy) * ow + ox) * s + o] = Float(sum)
                    }
                }
            }
        }
        }
        }
        }
        }
        return Tensor(shape: outShape, data: out)
    }
}
