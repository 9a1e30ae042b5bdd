import RankEdge

/// NHWC convolution as im2col + GEMM. The batch is cut into `Parallel.parts` image ranges that run
/// concurrently with single-threaded OpenBLAS; weight gradients are summed over parts in order.
public func conv2d(_ x: Variable, weight: Variable, bias: Variable?, attributes: Conv2DAttributes) -> Variable {
    precondition(x.shape.count == 4 && weight.shape.count == 4, "conv2d: expects NHWC input and OHWI weight")
    let geo = ConvGeometry(input: x.shape, weight: weight.shape, attributes: attributes)
    precondition(geo.c % geo.groups == 0 && geo.s % geo.groups == 0 && weight.shape[3] == geo.cg,
                 "conv2d: \(geo.describe()) does not fit groups \(geo.groups)")
    precondition(geo.oh > 0 && geo.ow > 0, "conv2d: empty output for \(geo.describe())")
    let out = FloatStorage(uninitialized: geo.n * geo.outPixels * geo.s)
    convForward(x.value.pointer, weight.value.pointer, bias?.value.pointer, geo, out.pointer)
    var parents = [x, weight]
    if let bias { parents.append(bias) }
    return Variable(shape: [geo.n, geo.oh, geo.ow, geo.s], value: out, parents: parents) { y in
        convBackward(x: x, weight: weight, bias: bias, geo: geo, dy: y.grad!.pointer)
    }
}

private func convForward(_ xp: UnsafeMutablePointer<Float>, _ wp: UnsafeMutablePointer<Float>,
                         _ bp: UnsafeMutablePointer<Float>?, _ geo: ConvGeometry, _ op: UnsafeMutablePointer<Float>) {
    let x = SendablePointer(xp), w = SendablePointer(wp), out = SendablePointer(op)
    let b = bp.map(SendablePointer.init)
    let (k, sg, s, pix) = (geo.k, geo.sg, geo.s, geo.outPixels)
    let chunk = geo.chunkImages
    Parallel.forRanges(total: geo.n) { _, images in
        let colStorage = geo.isPointwise ? nil : FloatStorage(uninitialized: min(chunk, images.count) * pix * k)
        let col = colStorage?.pointer
        var n0 = images.lowerBound
        while n0 < images.upperBound {
            let n1 = min(n0 + chunk, images.upperBound)
            let rows = (n1 - n0) * pix
            let dst = out.p + n0 * pix * s
            for g in 0..<geo.groups {
                let a: UnsafeMutablePointer<Float>
                if let col { im2col(x.p, geo, images: n0, n1, group: g, into: col); a = col }
                else { a = x.p + n0 * geo.h * geo.w * geo.c }
                sgemm(transA: false, transB: true, m: rows, n: sg, k: k, a: a, lda: k,
                      b: w.p + g * sg * k, ldb: k, beta: 0, c: dst + g * sg, ldc: s)
            }
            if let b {
                for r in 0..<rows { addInPlace(dst + r * s, b.p, s) }
            }
            n0 = n1
        }
        withExtendedLifetime(colStorage) {}
    }
}

private func convBackward(x: Variable, weight: Variable, bias: Variable?, geo: ConvGeometry,
                          dy dyp: UnsafeMutablePointer<Float>) {
    let (k, sg, s, pix) = (geo.k, geo.sg, geo.s, geo.outPixels)
    let chunk = geo.chunkImages
    let parts = max(1, min(Parallel.parts, geo.n))
    let wCount = weight.count
    let xs = SendablePointer(x.value), ws = SendablePointer(weight.value), dy = SendablePointer(dyp)
    let dx = x.requiresGrad ? SendablePointer(x.gradPointer()) : nil
    let biasPartials = FloatStorage(zeros: parts * s)
    let bparts = SendablePointer(biasPartials)
    // Per-call buffers (not shared scratch): concurrent models, e.g. parallel tests, must not collide.
    let partialStorage = (0..<parts).map { _ in FloatStorage(uninitialized: wCount) }
    let weightPartials = partialStorage.map { SendablePointer($0) }
    let needBias = bias?.requiresGrad ?? false
    Parallel.forRanges(total: geo.n, parts: parts) { part, images in
        let dW = weightPartials[part].p
        let colStorage = geo.isPointwise ? nil : FloatStorage(uninitialized: min(chunk, images.count) * pix * k)
        let dcolStorage = (geo.isPointwise || dx == nil) ? nil : FloatStorage(uninitialized: min(chunk, images.count) * pix * k)
        let col = colStorage?.pointer, dcol = dcolStorage?.pointer
        var first = true
        var n0 = images.lowerBound
        while n0 < images.upperBound {
            let n1 = min(n0 + chunk, images.upperBound)
            let rows = (n1 - n0) * pix
            let g0 = dy.p + n0 * pix * s
            for g in 0..<geo.groups {
                let a: UnsafeMutablePointer<Float>
                if let col { im2col(xs.p, geo, images: n0, n1, group: g, into: col); a = col }
                else { a = xs.p + n0 * geo.h * geo.w * geo.c }
                sgemm(transA: true, transB: false, m: sg, n: k, k: rows, a: g0 + g * sg, lda: s,
                      b: a, ldb: k, beta: first ? 0 : 1, c: dW + g * sg * k, ldc: k)
                if let dx {
                    if let dcol {
                        sgemm(transA: false, transB: false, m: rows, n: k, k: sg, a: g0 + g * sg, lda: s,
                              b: ws.p + g * sg * k, ldb: k, beta: 0, c: dcol, ldc: k)
                        col2imAdd(dcol, geo, images: n0, n1, group: g, into: dx.p)
                    } else {
                        sgemm(transA: false, transB: false, m: rows, n: geo.c, k: s, a: g0, lda: s,
                              b: ws.p, ldb: k, beta: 1, c: dx.p + n0 * geo.h * geo.w * geo.c, ldc: geo.c)
                    }
                }
            }
            if needBias {
                let bp = bparts.p + part * s
                for r in 0..<rows { addInPlace(bp, g0 + r * s, s) }
            }
            first = false
            n0 = n1
        }
        if images.isEmpty { dW.update(repeating: 0, count: wCount) }
        withExtendedLifetime((colStorage, dcolStorage)) {}
    }
    if weight.requiresGrad {
        let dW = SendablePointer(weight.gradPointer())
        Parallel.forRanges(total: wCount) { _, range in
            for p in 0..<parts {
                let src = weightPartials[p].p
                for i in range { dW.p[i] += src[i] }
            }
        }
    }
    if needBias, let bias {
        let db = bias.gradPointer()
        for p in 0..<parts { addInPlace(db, bparts.p + p * s, s) }
    }
}
