import RankEdge

/// Transposed convolution for training, in plain loops over NHWC (decoders are small next to the
/// encoders that feed them). With o = i·stride + k − pad: y[o] = bias + Σ x[i]·W[k];
/// dx[i] = Σ_k W[k]·dy[o]; dW[k] = Σ_i x[i] ⊗ dy[o]; dbias = Σ dy. Samples are shared between
/// threads; the weight gradient is summed per thread, then added.
public func convTranspose2d(_ x: Variable, weight: Variable, bias: Variable?, attributes a: ConvTranspose2DAttributes) -> Variable {
    precondition(x.shape.count == 4 && weight.shape.count == 4 && weight.shape[0] == x.shape[3],
                 "convTranspose2d: input \(x.shape), weight \(weight.shape)")
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (kh, kw, s) = (weight.shape[1], weight.shape[2], weight.shape[3])
    let oh = a.outputSize(h, kernel: kh, stride: a.stride.h, before: a.padding.top, after: a.padding.bottom, extra: a.outputPadding.h)
    let ow = a.outputSize(w, kernel: kw, stride: a.stride.w, before: a.padding.left, after: a.padding.right, extra: a.outputPadding.w)
    let (sh, sw, pt, pl) = (a.stride.h, a.stride.w, a.padding.top, a.padding.left)
    /// Calls `body(inputOffset, weightOffset, outputOffset)` for every (input cell, tap) that lands
    /// inside the output of sample b; offsets are to the first channel.
    func forEachTap(_ b: Int, _ body: (Int, Int, Int) -> Void) {
        for iy in 0..<h {
            for ky in 0..<kh {
                let oy = iy * sh + ky - pt
                guard oy >= 0 && oy < oh else { continue }
                for ix in 0..<w {
                    for kx in 0..<kw {
                        let ox = ix * sw + kx - pl
                        guard ox >= 0 && ox < ow else { continue }
                        body(((b * h + iy) * w + ix) * c, (ky * kw + kx) * s, ((b * oh + oy) * ow + ox) * s)
                    }
                }
            }
        }
    }
    let out = TensorStorage(zeros: n * oh * ow * s)
    let xs = SendablePointer(x.value), ws = SendablePointer(weight.value), os = SendablePointer(out)
    let bs = bias.map { SendablePointer($0.value) }
    let rowStride = kh * kw * s
    Parallel.forRanges(total: n) { _, samples in
        for b in samples {
            if let bs { for cell in 0..<(oh * ow) { (os.p + (b * oh * ow + cell) * s).update(from: bs.p, count: s) } }
            forEachTap(b) { xi, wk, yo in
                for ch in 0..<c {
                    let v = xs.p[xi + ch], row = ws.p + ch * rowStride + wk
                    for o in 0..<s { os.p[yo + o] += v * row[o] }
                }
            }
        }
    }
    return Variable(shape: [n, oh, ow, s], value: out, parents: [x, weight] + (bias.map { [$0] } ?? [])) { y in
        let dy = SendablePointer(y.grad!)
        if x.requiresGrad {
            let dx = SendablePointer(x.gradPointer())
            Parallel.forRanges(total: n) { _, samples in
                for b in samples {
                    forEachTap(b) { xi, wk, yo in
                        for ch in 0..<c {
                            let row = ws.p + ch * rowStride + wk
                            var sum: Float = 0
                            for o in 0..<s { sum += row[o] * dy.p[yo + o] }
                            dx.p[xi + ch] += sum
                        }
                    }
                }
            }
        }
        if weight.requiresGrad {
            let parts = max(1, min(Parallel.parts, n))
            var partial = [[Float]](repeating: [Float](repeating: 0, count: weight.count), count: parts)
            partial.withUnsafeMutableBufferPointer { buffers in
                let base = SendablePointer(buffers.baseAddress!)
                Parallel.forRanges(total: n, parts: parts) { part, samples in
                    base.p[part].withUnsafeMutableBufferPointer { dw in
                        for b in samples {
                            forEachTap(b) { xi, wk, yo in
                                for ch in 0..<c {
                                    let v = xs.p[xi + ch], row = dw.baseAddress! + ch * rowStride + wk
                                    for o in 0..<s { row[o] += v * dy.p[yo + o] }
                                }
                            }
                        }
                    }
                }
            }
            let g = weight.gradPointer()
            for p in partial { for i in 0..<weight.count { g[i] += p[i] } }
        }
        if let bias, bias.requiresGrad {
            let g = bias.gradPointer()
            for cell in 0..<(n * oh * ow) { for o in 0..<s { g[o] += dy.p[cell * s + o] } }
        }
    }
}
