/// Batch normalisation over every axis but the last (NHWC channels). In training mode it uses the
/// batch statistics and updates the running ones (PyTorch's convention: momentum on the new value,
/// unbiased variance for the running estimate); in evaluation mode it uses the running statistics.
/// With `relu`, the result is relu(batchNorm(x)) as one op: the normalised tensor is never stored
/// and the ReLU's backward folds into the normalisation's (dy = dz where the output is positive),
/// which saves a full write and two reads of the activation each way. With `residual`, the result is
/// (relu of) batchNorm(x) + residual, a ResNet block's join: the sum is never stored either, and
/// the residual's gradient is written in the same pass as x's.
public func batchNorm(_ x: Variable, gamma: Variable, beta: Variable, runningMean: TensorStorage,
                      runningVar: TensorStorage, training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5,
                      residual: Variable? = nil, relu: Bool = false) -> Variable {
    let c = x.shape.last!
    precondition(gamma.count == c && beta.count == c && runningMean.count == c && runningVar.count == c,
                 "batchNorm: parameters do not match \(c) channels")
    precondition(residual.map { $0.shape == x.shape } ?? true, "batchNorm: residual \(residual!.shape) is not \(x.shape)")
    let rows = x.count / c
    var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
    if training {
        let (sum, sumSq) = channelSums(x.value.pointer, nil, rows: rows, c: c)
        let r = Double(rows)
        for j in 0..<c {
            let m = sum[j] / r
            let v = max(sumSq[j] / r - m * m, 0)
            mean[j] = Float(m)
            invStd[j] = Float(1 / (v + Double(epsilon)).squareRoot())
            runningMean[j] = (1 - momentum) * runningMean[j] + momentum * Float(m)
            let unbiased = rows > 1 ? v * r / (r - 1) : v
            runningVar[j] = (1 - momentum) * runningVar[j] + momentum * Float(unbiased)
        }
    } else {
        for j in 0..<c {
            mean[j] = runningMean[j]
            invStd[j] = 1 / (runningVar[j] + epsilon).squareRoot()
        }
    }
    var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
    for j in 0..<c {
        scale[j] = gamma.value[j] * invStd[j]
        shift[j] = beta.value[j] - mean[j] * scale[j]
    }
    let out = TensorStorage(uninitialized: x.count)
    affinePerChannel(x.value.pointer, out.pointer, rows: rows, c: c, scale: scale, shift: shift,
                     residual: residual?.value.pointer, relu: relu)
    var parents = [x, gamma, beta]
    if let residual { parents.append(residual) }
    return Variable(shape: x.shape, value: out, parents: parents) { y in
        let dy = y.grad!.pointer
        // With the ReLU, the normalisation's gradient is dy where the output is positive, else 0.
        // Without a residual, whether an output is positive follows from x (x·scale + shift > 0,
        // the forward's own arithmetic), which both passes read anyway: the output is not read.
        let gateFromX = relu && residual == nil
        let gate: UnsafeMutablePointer<Float>? = relu && !gateFromX ? y.value.pointer : nil
        // Σdy and Σdy·x per channel give dβ and dγ without storing x̂.
        let (sumDy, sumDyX) = channelSums(dy, x.value.pointer, rows: rows, c: c, gate: gate,
                                          affineGate: gateFromX ? (scale, shift) : nil)
        var dGamma = [Float](repeating: 0, count: c), dBeta = [Float](repeating: 0, count: c)
        for j in 0..<c {
            dBeta[j] = Float(sumDy[j])
            dGamma[j] = Float((sumDyX[j] - Double(mean[j]) * sumDy[j]) * Double(invStd[j]))
        }
        if gamma.requiresGrad { let g = gamma.gradPointer(); for j in 0..<c { g[j] += dGamma[j] } }
        if beta.requiresGrad { let g = beta.gradPointer(); for j in 0..<c { g[j] += dBeta[j] } }
        // The residual's gradient is the (gated) dy itself.
        let dResidual = residual.flatMap { $0.requiresGrad ? $0.gradForOverwrite() : nil }
        if let dResidual, !x.requiresGrad {
            let dr = SendablePointer(dResidual.pointer), dys = SendablePointer(dy), gates = gate.map(SendablePointer.init)
            elementwise(y.count) { range in
                for i in range {
                    let g = gates.map { $0.p[i] > 0 ? dys.p[i] : 0 } ?? dys.p[i]
                    if dResidual.fresh { dr.p[i] = g } else { dr.p[i] += g }
                }
            }
        }
        guard x.requiresGrad else { return }
        // dx = a·dy + b·x + d per channel (training); dx = scale·dy (evaluation).
        var a = scale, b = [Float](repeating: 0, count: c), d = [Float](repeating: 0, count: c)
        if training {
            let r = Float(rows)
            for j in 0..<c {
                let gi = gamma.value[j] * invStd[j]
                b[j] = -gi * invStd[j] * dGamma[j] / r
                d[j] = -gi * dBeta[j] / r - b[j] * mean[j]
                a[j] = gi
            }
        }
        let (g, fresh) = x.gradForOverwrite()
        let dx = SendablePointer(g), xs = SendablePointer(x.value), dys = SendablePointer(dy)
        let gates = gate.map(SendablePointer.init)
        let dr = dResidual.map { SendablePointer($0.pointer) }, residualFresh = dResidual?.fresh ?? false
        Parallel.forRanges(total: rows) { _, range in
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in d.withUnsafeBufferPointer { d in
            scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
                for r in range {
                    let o = r * c
                    let dxr = dx.p + o, dyr = dys.p + o, xr = xs.p + o
                    if gateFromX {
                        if fresh {
                            for j in 0..<c {
                                let g = dyr[j], xv = xr[j], t = xv * sc[j] + sh[j]
                                dxr[j] = a[j] * (t > 0 ? g : 0) + b[j] * xv + d[j]
                            }
                        } else {
                            for j in 0..<c {
                                let g = dyr[j], xv = xr[j], t = xv * sc[j] + sh[j]
                                dxr[j] += a[j] * (t > 0 ? g : 0) + b[j] * xv + d[j]
                            }
                        }
                    } else if let gates {
                        let zr = gates.p + o
                        if let dr {
                            // The gated dy goes to the residual in the same pass.
                            let drr = dr.p + o
                            if fresh && residualFresh {
                                for j in 0..<c {
                                    let g = dyr[j], z = zr[j]
                                    let gated = z > 0 ? g : 0
                                    drr[j] = gated
                                    dxr[j] = a[j] * gated + b[j] * xr[j] + d[j]
                                }
                            } else {
                                // Residual first: it may be x itself, whose gradient then takes both.
                                for j in 0..<c {
                                    let g = dyr[j], z = zr[j]
                                    let gated = z > 0 ? g : 0
                                    if residualFresh { drr[j] = gated } else { drr[j] += gated }
                                    let dxj = a[j] * gated + b[j] * xr[j] + d[j]
                                    if fresh { dxr[j] = dxj } else { dxr[j] += dxj }
                                }
                            }
                        } else if fresh {
                            for j in 0..<c { let g = dyr[j], z = zr[j]; dxr[j] = a[j] * (z > 0 ? g : 0) + b[j] * xr[j] + d[j] }
                        } else {
                            for j in 0..<c { let g = dyr[j], z = zr[j]; dxr[j] += a[j] * (z > 0 ? g : 0) + b[j] * xr[j] + d[j] }
                        }
                    } else {
                        if let dr {
                            let drr = dr.p + o
                            if residualFresh { drr.update(from: dyr, count: c) } else { for j in 0..<c { drr[j] += dyr[j] } }
                        }
                        if fresh {
                            for j in 0..<c { dxr[j] = a[j] * dyr[j] + b[j] * xr[j] + d[j] }
                        } else {
                            for j in 0..<c { dxr[j] += a[j] * dyr[j] + b[j] * xr[j] + d[j] }
                        }
                    }
                }
            } }
            } } }
        }
    }
}

/// Per-channel Σu and Σu·v (Σu² when v is nil), accumulated in Double per part, parts reduced in order.
/// With `gate`, u counts only where the gate is positive (the ReLU-fused backward); with
/// `affineGate`, only where v·scale + shift is (the same, computed from the normalisation's input).
func channelSums(_ u: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>?, rows: Int, c: Int,
                 gate: UnsafeMutablePointer<Float>? = nil, affineGate: (scale: [Float], shift: [Float])? = nil) -> ([Double], [Double]) {
    precondition(affineGate == nil || (v != nil && gate == nil), "channelSums: an affine gate needs v and no gate")
    let parts = max(1, min(Parallel.parts, rows))
    let partial = UnsafeMutablePointer<Double>.allocate(capacity: parts * 2 * c)
    defer { partial.deallocate() }
    partial.initialize(repeating: 0, count: parts * 2 * c)
    let ps = SendablePointer(partial), us = SendablePointer(u), vs = v.map(SendablePointer.init), gs = gate.map(SendablePointer.init)
    // The affine gate's scale then shift, in one buffer the parts can share.
    let affineStorage = affineGate.map { TensorStorage($0.scale + $0.shift) }
    let affine = affineStorage.map(SendablePointer.init)
    Parallel.forRanges(total: rows, parts: parts) { p, range in
        let s1 = ps.p + p * 2 * c, s2 = s1 + c
        // Float accumulation over short row blocks, Double across blocks: fast and stable.
        let block = 64
        var acc1 = [Float](repeating: 0, count: c), acc2 = [Float](repeating: 0, count: c)
        acc1.withUnsafeMutableBufferPointer { a1 in acc2.withUnsafeMutableBufferPointer { a2 in
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 + block, range.upperBound)
                for j in 0..<c { a1[j] = 0; a2[j] = 0 }
                for r in r0..<r1 {
                    let up = us.p + r * c
                    let vp = vs.map { $0.p + r * c } ?? up
                    if let affine {
                        let sc = affine.p, sh = affine.p + c
                        for j in 0..<c {
                            let u = up[j], xv = vp[j], t = xv * sc[j] + sh[j]
                            let g = t > 0 ? u : 0
                            a1[j] += g; a2[j] += g * xv
                        }
                    } else if let gp = gs.map({ $0.p + r * c }) {
                        // Both values loaded before the select: a load under the condition would
                        // keep the loop from vectorising.
                        for j in 0..<c { let u = up[j], z = gp[j]; let g = z > 0 ? u : 0; a1[j] += g; a2[j] += g * vp[j] }
                    } else {
                        for j in 0..<c { a1[j] += up[j]; a2[j] += up[j] * vp[j] }
                    }
                }
                for j in 0..<c { s1[j] += Double(a1[j]); s2[j] += Double(a2[j]) }
                r0 = r1
            }
        } }
    }
    var sum1 = [Double](repeating: 0, count: c), sum2 = [Double](repeating: 0, count: c)
    for p in 0..<parts {
        for j in 0..<c { sum1[j] += partial[p * 2 * c + j]; sum2[j] += partial[p * 2 * c + c + j] }
    }
    return (sum1, sum2)
}

/// out = x·scale[c] + shift[c] (+ residual) per channel, then max(·, 0) with `relu`.
func affinePerChannel(_ x: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, c: Int,
                      scale: [Float], shift: [Float], residual: UnsafeMutablePointer<Float>? = nil, relu: Bool = false) {
    let xs = SendablePointer(x), os = SendablePointer(out), rs = residual.map(SendablePointer.init)
    Parallel.forRanges(total: rows) { _, range in
        scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
            for r in range {
                let o = r * c
                if let rs {
                    let rr = rs.p + o
                    if relu {
                        for j in 0..<c { os.p[o + j] = max(xs.p[o + j] * sc[j] + sh[j] + rr[j], 0) }
                    } else {
                        for j in 0..<c { os.p[o + j] = xs.p[o + j] * sc[j] + sh[j] + rr[j] }
                    }
                } else if relu {
                    for j in 0..<c { os.p[o + j] = max(xs.p[o + j] * sc[j] + sh[j], 0) }
                } else {
                    for j in 0..<c { os.p[o + j] = xs.p[o + j] * sc[j] + sh[j] }
                }
            }
        } }
    }
}
