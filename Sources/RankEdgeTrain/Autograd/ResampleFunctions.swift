import RankEdge

/// Pad, Resize and the channel mean for training. Pad and Resize are linear maps in which each
/// output cell reads a few input cells with fixed weights (`PadMode.source`, `ResizeAttributes.taps`),
/// so the backward scatters each output gradient back through the same taps; samples are shared
/// between threads, since their input regions are disjoint.

/// Spatial padding of an NHWC map: each output row and column copies one input row and column
/// (weight 1), or none where a constant pad supplies `fill`.
public func pad2d(_ x: Variable, attributes a: PadAttributes) -> Variable {
    precondition(x.shape.count == 4, "pad2d: input \(x.shape) is not NHWC")
    let (h, w) = (x.shape[1], x.shape[2])
    let p = a.padding
    func taps(_ i: Int, _ size: Int) -> [(index: Int, weight: Float)] { a.mode.source(i, size: size).map { [(index: $0, weight: Float(1))] } ?? [] }
    var fill: Float = 0
    if case .constant(let v) = a.mode { fill = v }
    return separableTaps(x, rows: (0..<(h + p.top + p.bottom)).map { taps($0 - p.top, h) },
                         cols: (0..<(w + p.left + p.right)).map { taps($0 - p.left, w) }, fill: fill)
}

/// Nearest or bilinear resizing of an NHWC map to `a.size`.
public func resize2d(_ x: Variable, attributes a: ResizeAttributes) -> Variable {
    precondition(x.shape.count == 4, "resize2d: input \(x.shape) is not NHWC")
    let (h, w, oh, ow) = (x.shape[1], x.shape[2], a.size.h, a.size.w)
    return separableTaps(x, rows: (0..<oh).map { a.taps($0, inSize: h, outSize: oh, scale: a.scaleH) },
                         cols: (0..<ow).map { a.taps($0, inSize: w, outSize: ow, scale: a.scaleW) }, fill: 0)
}

/// y[b, oy, ox, :] = Σ over row taps r and column taps q of r.weight·q.weight·x[b, r.index, q.index, :],
/// or `fill` where output row oy or column ox has no taps; the backward scatters dy through the same taps.
private func separableTaps(_ x: Variable, rows: [[(index: Int, weight: Float)]], cols: [[(index: Int, weight: Float)]],
                           fill: Float) -> Variable {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = (rows.count, cols.count)
    let out = TensorStorage(zeros: n * oh * ow * c)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    Parallel.forRanges(total: n * oh) { _, range in
        for row in range {
            let (b, oy) = (row / oh, row % oh)
            for ox in 0..<ow {
                let dst = os.p + (row * ow + ox) * c
                if rows[oy].isEmpty || cols[ox].isEmpty { dst.update(repeating: fill, count: c); continue }
                for r in rows[oy] {
                    for q in cols[ox] {
                        let weight = r.weight * q.weight, src = xs.p + ((b * h + r.index) * w + q.index) * c
                        for k in 0..<c { dst[k] += weight * src[k] }
                    }
                }
            }
        }
    }
    return Variable(shape: [n, oh, ow, c], value: out, parents: [x]) { y in
        guard x.requiresGrad else { return }
        let dy = SendablePointer(y.grad!), dx = SendablePointer(x.gradPointer())
        // Samples are disjoint in dx; within one, several outputs may add into one input cell.
        Parallel.forRanges(total: n) { _, samples in
            for b in samples {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let src = dy.p + ((b * oh + oy) * ow + ox) * c
                        for r in rows[oy] {
                            for q in cols[ox] {
                                let weight = r.weight * q.weight, dst = dx.p + ((b * h + r.index) * w + q.index) * c
                                for k in 0..<c { dst[k] += weight * src[k] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The mean over the last axis, kept as an axis of size 1; each input gets dy / C.
public func channelMean(_ x: Variable) -> Variable {
    let c = x.shape.last!
    let rows = x.count / max(c, 1)
    let out = TensorStorage(uninitialized: rows)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    Parallel.forRanges(total: rows) { _, range in
        for r in range {
            var sum: Double = 0
            for k in 0..<c { sum += Double(xs.p[r * c + k]) }
            os.p[r] = Float(sum / Double(c))
        }
    }
    return Variable(shape: Array(x.shape.dropLast()) + [1], value: out, parents: [x]) { y in
        guard x.requiresGrad else { return }
        let (g, fresh) = x.gradForOverwrite()
        let dy = SendablePointer(y.grad!), dx = SendablePointer(g)
        Parallel.forRanges(total: rows) { _, range in
            for r in range {
                let d = dy.p[r] / Float(c)
                for k in 0..<c { dx.p[r * c + k] = fresh ? d : dx.p[r * c + k] + d }
            }
        }
    }
}
