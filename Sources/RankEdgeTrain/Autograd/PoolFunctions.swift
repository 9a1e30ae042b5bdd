import RankEdge

private func poolOutputSize(_ input: [Int], _ a: PoolAttributes) -> (Int, Int) {
    let oh = (input[1] + a.padding.top + a.padding.bottom - a.kernel.h) / a.stride.h + 1
    let ow = (input[2] + a.padding.left + a.padding.right - a.kernel.w) / a.stride.w + 1
    return (oh, ow)
}

/// Max pooling on NHWC; padded cells never win. Remembers each output's source index for backward.
public func maxPool2d(_ x: Variable, attributes a: PoolAttributes) -> Variable {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = poolOutputSize(x.shape, a)
    precondition(oh > 0 && ow > 0, "maxPool: empty output for input \(x.shape)")
    let out = TensorStorage(uninitialized: n * oh * ow * c)
    let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: max(out.count, 1))
    let am = SendablePointer(argmax), xs = SendablePointer(x.value), os = SendablePointer(out)
    Parallel.forRanges(total: n) { _, images in
        for img in images {
            for oy in 0..<oh {
                let ylo = max(0, oy * a.stride.h - a.padding.top), yhi = min(h, oy * a.stride.h - a.padding.top + a.kernel.h)
                for ox in 0..<ow {
                    let xlo = max(0, ox * a.stride.w - a.padding.left), xhi = min(w, ox * a.stride.w - a.padding.left + a.kernel.w)
                    let o = ((img * oh + oy) * ow + ox) * c
                    let dst = os.p + o, idx = am.p + o
                    for j in 0..<c { dst[j] = -.infinity; idx[j] = -1 }
                    if ylo >= yhi || xlo >= xhi { for j in 0..<c { dst[j] = 0 }; continue }
                    for iy in ylo..<yhi {
                        for ix in xlo..<xhi {
                            let base = ((img * h + iy) * w + ix) * c
                            let src = xs.p + base
                            for j in 0..<c where src[j] > dst[j] {
                                dst[j] = src[j]; idx[j] = Int32(base + j)
                            }
                        }
                    }
                }
            }
        }
    }
    let holder = IndexBuffer(argmax)
    return Variable(shape: [n, oh, ow, c], value: out, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        let dy = SendablePointer(y.grad!), dx = SendablePointer(g)
        let inPerImage = h * w * c, outPerImage = oh * ow * c
        // Each output's source lies in its own image, so images split cleanly across parts.
        Parallel.forRanges(total: n) { _, images in
            if fresh { (dx.p + images.lowerBound * inPerImage).update(repeating: 0, count: images.count * inPerImage) }
            for i in (images.lowerBound * outPerImage)..<(images.upperBound * outPerImage) {
                let src = holder.pointer[i]
                if src >= 0 { dx.p[Int(src)] += dy.p[i] }
            }
        }
    }
}

/// Owns the argmax indices for as long as the pooled variable lives.
private final class IndexBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>
    init(_ p: UnsafeMutablePointer<Int32>) { pointer = p }
    deinit { pointer.deallocate() }
}

/// Average pooling on NHWC; `countIncludePad` chooses PyTorch's (true) or ONNX's (false) divisor.
public func avgPool2d(_ x: Variable, attributes a: PoolAttributes) -> Variable {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = poolOutputSize(x.shape, a)
    precondition(oh > 0 && ow > 0, "avgPool: empty output for input \(x.shape)")
    let out = TensorStorage(zeros: n * oh * ow * c)
    // Every output's window and divisor, shared by forward and backward.
    func window(_ oy: Int, _ ox: Int) -> (Range<Int>, Range<Int>, Float) {
        let y0 = oy * a.stride.h - a.padding.top, x0 = ox * a.stride.w - a.padding.left
        let ys = max(0, y0)..<min(h, y0 + a.kernel.h), xs = max(0, x0)..<min(w, x0 + a.kernel.w)
        let cells = a.countIncludePad ? a.kernel.h * a.kernel.w : ys.count * xs.count
        return (ys, xs, cells > 0 ? 1 / Float(cells) : 0)
    }
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    Parallel.forRanges(total: n) { _, images in
        for img in images {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let (ys, xr, inv) = window(oy, ox)
                    let dst = os.p + ((img * oh + oy) * ow + ox) * c
                    for iy in ys { for ix in xr { addInPlace(dst, xs.p + ((img * h + iy) * w + ix) * c, c) } }
                    for j in 0..<c { dst[j] *= inv }
                }
            }
        }
    }
    return Variable(shape: [n, oh, ow, c], value: out, parents: [x]) { y in
        let dy = SendablePointer(y.grad!), dx = SendablePointer(x.gradPointer())
        Parallel.forRanges(total: n) { _, images in
            for img in images {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let (ys, xr, inv) = window(oy, ox)
                        let src = dy.p + ((img * oh + oy) * ow + ox) * c
                        for iy in ys {
                            for ix in xr {
                                let d = dx.p + ((img * h + iy) * w + ix) * c
                                for j in 0..<c { d[j] += src[j] * inv }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// [N, H, W, C] → [N, 1, 1, C] (as the runtime), the mean over all positions.
public func globalAvgPool(_ x: Variable) -> Variable {
    let (n, hw, c) = (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
    let out = TensorStorage(zeros: n * c)
    let inv = 1 / Float(hw)
    for img in 0..<n {
        let dst = out.pointer + img * c
        for p in 0..<hw { addInPlace(dst, x.value.pointer + (img * hw + p) * c, c) }
        for j in 0..<c { dst[j] *= inv }
    }
    return Variable(shape: [n, 1, 1, c], value: out, parents: [x]) { y in
        let dy = y.grad!.pointer, dx = x.gradPointer()
        for img in 0..<n {
            for p in 0..<hw {
                let d = dx + (img * hw + p) * c, s = dy + img * c
                for j in 0..<c { d[j] += s[j] * inv }
            }
        }
    }
}
