import RankEdge

/// Elementwise loops run in parallel parts once a tensor is big enough to pay for the dispatch.
func elementwise(_ count: Int, _ body: (Range<Int>) -> Void) {
    if count < 1 << 15 { body(0..<count) } else { Parallel.forRanges(total: count) { _, r in body(r) } }
}

public func relu(_ x: Variable) -> Variable {
    let out = TensorStorage(uninitialized: x.count)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    elementwise(x.count) { r in for i in r { os.p[i] = max(xs.p[i], 0) } }
    return Variable(shape: x.shape, value: out, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        let dy = SendablePointer(y.grad!), dx = SendablePointer(g), ys = SendablePointer(y.value)
        elementwise(y.count) { r in reluBackward(ys.p, dy.p, dx.p, r, accumulate: !fresh) }
    }
}

/// a + b, same shapes (the residual join).
public func add(_ a: Variable, _ b: Variable) -> Variable {
    precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
    let out = TensorStorage(uninitialized: a.count)
    let ap = SendablePointer(a.value), bp = SendablePointer(b.value), os = SendablePointer(out)
    elementwise(a.count) { r in for i in r { os.p[i] = ap.p[i] + bp.p[i] } }
    return Variable(shape: a.shape, value: out, parents: [a, b]) { y in
        let dy = SendablePointer(y.grad!)
        for v in [a, b] where v.requiresGrad {
            let (g, fresh) = v.gradForOverwrite()
            let dv = SendablePointer(g)
            if fresh { elementwise(y.count) { r in (dv.p + r.lowerBound).update(from: dy.p + r.lowerBound, count: r.count) } }
            else { elementwise(y.count) { r in for i in r { dv.p[i] += dy.p[i] } } }
        }
    }
}

/// Reinterprets the element order as a new shape (NHWC flatten keeps NHWC order).
public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
    precondition(shape.reduce(1, *) == x.count, "reshape: \(x.shape) cannot become \(shape)")
    return Variable(shape: shape, value: x.value, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        if fresh { g.update(from: y.grad!.pointer, count: y.count) } else { addInPlace(g, y.grad!.pointer, y.count) }
    }
}

public func flatten(_ x: Variable) -> Variable { reshape(x, [x.shape[0], x.count / x.shape[0]]) }

/// Inverted dropout with an explicit keep mask (1 keeps, 0 drops); kept values are scaled by 1/(1−rate).
public func dropout(_ x: Variable, mask: TensorStorage, rate: Float) -> Variable {
    precondition(mask.count == x.count, "dropout: mask has \(mask.count) values, input \(x.count)")
    let scale = 1 / (1 - rate)
    let out = TensorStorage(uninitialized: x.count)
    let xs = SendablePointer(x.value), ms = SendablePointer(mask), os = SendablePointer(out)
    elementwise(x.count) { r in for i in r { os.p[i] = xs.p[i] * ms.p[i] * scale } }
    return Variable(shape: x.shape, value: out, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        let dy = SendablePointer(y.grad!), dx = SendablePointer(g)
        if fresh { elementwise(y.count) { r in for i in r { dx.p[i] = dy.p[i] * ms.p[i] * scale } } }
        else { elementwise(y.count) { r in for i in r { dx.p[i] += dy.p[i] * ms.p[i] * scale } } }
    }
}

/// dx (+)= dy where y > 0, eight lanes at a time.
private func reluBackward(_ y: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                          _ r: Range<Int>, accumulate: Bool) {
    var i = r.lowerBound
    let zero = SIMD8<Float>(repeating: 0)
    while i + 8 <= r.upperBound {
        let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
        var g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
        g.replace(with: zero, where: yv .<= zero)
        if accumulate { g += UnsafeRawPointer(dx + i).loadUnaligned(as: SIMD8<Float>.self) }
        UnsafeMutableRawPointer(dx + i).storeBytes(of: g, as: SIMD8<Float>.self)
        i += 8
    }
    while i < r.upperBound {
        let g = y[i] > 0 ? dy[i] : 0
        dx[i] = accumulate ? dx[i] + g : g
        i += 1
    }
}

/// A keep mask (1 keep, 0 drop) filled in fixed 4096-element blocks, each from its own generator,
/// so a step's masks are the same whether it runs in one go or after a resume, on any thread count.
func dropoutMask(count: Int, keep: Float, seed: UInt64) -> TensorStorage {
    let mask = TensorStorage(uninitialized: count)
    let block = 4096
    let blocks = (count + block - 1) / block
    let m = SendablePointer(mask)
    let threshold = UInt64(Double(keep) * Double(1 << 32))
    Parallel.forRanges(total: blocks) { _, range in
        for bi in range {
            var rng = SeededRandom(seed: mixSeeds(seed, UInt64(bi)))
            for i in (bi * block)..<min(count, (bi + 1) * block) { m.p[i] = (rng.next() >> 32) < threshold ? 1 : 0 }
        }
    }
    return mask
}
