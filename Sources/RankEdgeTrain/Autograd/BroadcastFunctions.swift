import RankEdge

/// Ops that combine a tensor with one value per channel, or per sample and channel: an imported
/// constant Mul / Add (channel affine), an SE block's gate, and channel slices.

/// y = x·scale + shift on the last axis; the scale and shift are learnable [C] weights.
public func channelAffine(_ x: Variable, scale: Variable, shift: Variable) -> Variable {
    let c = x.shape.last!
    precondition(scale.shape == [c] && shift.shape == [c], "channelAffine: scale \(scale.shape), shift \(shift.shape) for \(c) channels")
    let rows = x.count / max(c, 1)
    let out = TensorStorage(uninitialized: x.count)
    let xs = SendablePointer(x.value), os = SendablePointer(out), s = SendablePointer(scale.value), t = SendablePointer(shift.value)
    Parallel.forRanges(total: rows) { _, range in
        for r in range { for k in 0..<c { os.p[r * c + k] = xs.p[r * c + k] * s.p[k] + t.p[k] } }
    }
    return Variable(shape: x.shape, value: out, parents: [x, scale, shift]) { y in
        let dy = y.grad!.pointer
        if x.requiresGrad {
            let (g, fresh) = x.gradForOverwrite()
            let dx = SendablePointer(g), dys = SendablePointer(dy)
            Parallel.forRanges(total: rows) { _, range in
                for r in range {
                    for k in 0..<c { let d = dys.p[r * c + k] * s.p[k]; dx.p[r * c + k] = fresh ? d : dx.p[r * c + k] + d }
                }
            }
        }
        // Per-channel sums over every row, in Double: the rows of a batch of feature maps are many.
        if scale.requiresGrad || shift.requiresGrad {
            var ds = [Double](repeating: 0, count: c), dt = ds
            for r in 0..<rows {
                for k in 0..<c { let d = Double(dy[r * c + k]); ds[k] += d * Double(xs.p[r * c + k]); dt[k] += d }
            }
            if scale.requiresGrad { let g = scale.gradPointer(); for k in 0..<c { g[k] += Float(ds[k]) } }
            if shift.requiresGrad { let g = shift.gradPointer(); for k in 0..<c { g[k] += Float(dt[k]) } }
        }
    }
}

/// a ⊙ b with b of a's shape, or [N, 1, 1, C] for a [N, H, W, C] (each sample's channels scaled by
/// its gate at every position): the SE block's product.
public func multiply(_ a: Variable, _ b: Variable) -> Variable {
    let same = a.shape == b.shape
    let c = a.shape.last!, n = a.shape[0]
    precondition(same || (a.shape.count == 4 && b.shape == [n, 1, 1, c]), "multiply: \(b.shape) does not broadcast to \(a.shape)")
    // Equal shapes: one sample, one row as long as the tensor, a gate of the same length.
    let width = same ? a.count : c
    let rowsPerSample = same ? 1 : a.count / max(n * c, 1)
    let rows = a.count / max(width, 1)
    let out = TensorStorage(uninitialized: a.count)
    let ap = SendablePointer(a.value), bp = SendablePointer(b.value), os = SendablePointer(out)
    Parallel.forRanges(total: rows) { _, range in
        for r in range {
            let g = bp.p + (r / rowsPerSample) * width
            for k in 0..<width { os.p[r * width + k] = ap.p[r * width + k] * g[k] }
        }
    }
    return Variable(shape: a.shape, value: out, parents: [a, b]) { y in
        let dy = SendablePointer(y.grad!.pointer)
        if a.requiresGrad {
            let (g, fresh) = a.gradForOverwrite()
            let da = SendablePointer(g)
            Parallel.forRanges(total: rows) { _, range in
                for r in range {
                    let gate = bp.p + (r / rowsPerSample) * width
                    for k in 0..<width { let d = dy.p[r * width + k] * gate[k]; da.p[r * width + k] = fresh ? d : da.p[r * width + k] + d }
                }
            }
        }
        if b.requiresGrad {
            // Each gate value sums dy·a over the rows of its sample; samples are independent.
            let db = SendablePointer(b.gradPointer())
            Parallel.forRanges(total: rows / rowsPerSample) { _, range in
                for s in range {
                    for r in (s * rowsPerSample)..<((s + 1) * rowsPerSample) {
                        for k in 0..<width { db.p[s * width + k] += dy.p[r * width + k] * ap.p[r * width + k] }
                    }
                }
            }
        }
    }
}

/// Channels start..<start+count of the last axis.
public func channelSlice(_ x: Variable, start: Int, count: Int) -> Variable {
    let c = x.shape.last!
    precondition(start >= 0 && count >= 1 && start + count <= c, "channelSlice: \(start)..<\(start + count) outside \(c) channels")
    let rows = x.count / max(c, 1)
    let out = TensorStorage(uninitialized: rows * count)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    Parallel.forRanges(total: rows) { _, range in
        for r in range { (os.p + r * count).update(from: xs.p + r * c + start, count: count) }
    }
    return Variable(shape: Array(x.shape.dropLast()) + [count], value: out, parents: [x]) { y in
        // Other slices of the same tensor add into the same gradient, so this one accumulates.
        let dx = SendablePointer(x.gradPointer()), dy = SendablePointer(y.grad!.pointer)
        Parallel.forRanges(total: rows) { _, range in
            for r in range { for k in 0..<count { dx.p[r * c + start + k] += dy.p[r * count + k] } }
        }
    }
}

/// ShuffleNet's channel shuffle: output channel j·g + i is input channel i·(C/g) + j.
public func channelShuffle(_ x: Variable, groups g: Int) -> Variable {
    let c = x.shape.last!
    precondition(g >= 1 && c % g == 0, "channelShuffle: \(c) channels in \(g) groups")
    return permuteChannels(x, (0..<c).map { o in (o % g) * (c / g) + o / g })
}

/// Layer norm over the last axis with learnable scale and bias [C]. With x̂ the normalised row and
/// g = dy·scale: dx = (g − mean(g) − x̂·mean(g·x̂)) / σ; dscale = Σ dy·x̂; dbias = Σ dy.
public func layerNorm(_ x: Variable, scale: Variable, bias: Variable, epsilon: Float) -> Variable {
    let c = x.shape.last!
    precondition(scale.shape == [c] && bias.shape == [c], "layerNorm: scale \(scale.shape), bias \(bias.shape) for \(c) channels")
    let rows = x.count / max(c, 1)
    let out = TensorStorage(uninitialized: x.count), normalized = TensorStorage(uninitialized: x.count)
    var inverseStd = [Float](repeating: 0, count: rows)
    let xs = SendablePointer(x.value), os = SendablePointer(out), ns = SendablePointer(normalized)
    let g = SendablePointer(scale.value), b = SendablePointer(bias.value)
    inverseStd.withUnsafeMutableBufferPointer { inv in
        let invs = SendablePointer(inv.baseAddress!)
        Parallel.forRanges(total: rows) { _, range in
            for r in range {
                let src = xs.p + r * c
                var sum: Double = 0
                for k in 0..<c { sum += Double(src[k]) }
                let mean = sum / Double(c)
                var squares: Double = 0
                for k in 0..<c { let d = Double(src[k]) - mean; squares += d * d }
                let inverse = Float(1 / (squares / Double(c) + Double(epsilon)).squareRoot())
                invs.p[r] = inverse
                for k in 0..<c {
                    let n = (src[k] - Float(mean)) * inverse
                    ns.p[r * c + k] = n
                    os.p[r * c + k] = n * g.p[k] + b.p[k]
                }
            }
        }
    }
    let savedInverse = inverseStd
    return Variable(shape: x.shape, value: out, parents: [x, scale, bias]) { y in
        let dy = SendablePointer(y.grad!.pointer)
        if x.requiresGrad {
            let (gx, fresh) = x.gradForOverwrite()
            let dx = SendablePointer(gx)
            savedInverse.withUnsafeBufferPointer { inv in
                let invs = SendablePointer(UnsafeMutablePointer(mutating: inv.baseAddress!))
                Parallel.forRanges(total: rows) { _, range in
                    for r in range {
                        var meanG: Double = 0, meanGN: Double = 0
                        for k in 0..<c {
                            let gk = Double(dy.p[r * c + k] * g.p[k])
                            meanG += gk; meanGN += gk * Double(ns.p[r * c + k])
                        }
                        meanG /= Double(c); meanGN /= Double(c)
                        for k in 0..<c {
                            let gk = Double(dy.p[r * c + k] * g.p[k])
                            let d = Float((gk - meanG - Double(ns.p[r * c + k]) * meanGN)) * invs.p[r]
                            dx.p[r * c + k] = fresh ? d : dx.p[r * c + k] + d
                        }
                    }
                }
            }
        }
        if scale.requiresGrad || bias.requiresGrad {
            var ds = [Double](repeating: 0, count: c), db = ds
            for r in 0..<rows {
                for k in 0..<c { let d = Double(dy.p[r * c + k]); ds[k] += d * Double(ns.p[r * c + k]); db[k] += d }
            }
            if scale.requiresGrad { let p = scale.gradPointer(); for k in 0..<c { p[k] += Float(ds[k]) } }
            if bias.requiresGrad { let p = bias.gradPointer(); for k in 0..<c { p[k] += Float(db[k]) } }
        }
    }
}
