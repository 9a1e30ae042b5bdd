import RankEdge

/// NHWC convolution as im2col + GEMM. The batch is cut into `Parallel.parts` image ranges that run
/// concurrently with single-threaded OpenBLAS; weight gradients are summed over parts in order.
public func conv2d(_ x: Variable, weight: Variable, bias: Variable?, attributes: Conv2DAttributes) -> Variable {
    precondition(x.shape.count == 4 && weight.shape.count == 4, "conv2d: expects NHWC input and OHWI weight")
    let geo = ConvGeometry(input: x.shape, weight: weight.shape, attributes: attributes)
    precondition(geo.c % geo.groups == 0 && geo.s % geo.groups == 0 && weight.shape[3] == geo.cg,
                 "conv2d: \(geo.describe()) does not fit groups \(geo.groups)")
    precondition(geo.oh > 0 && geo.ow > 0, "conv2d: empty output for \(geo.describe())")
    let out = TensorStorage(uninitialized: geo.n * geo.outPixels * geo.s)
    convForward(x.value.pointer, weight.value.pointer, bias?.value.pointer, geo, out.pointer)
    var parents = [x, weight]
    if let bias { parents.append(bias) }
    return Variable(shape: [geo.n, geo.oh, geo.ow, geo.s], value: out, parents: parents) { y in
        convBackward(x: x, weight: weight, bias: bias, geo: geo, dy: y.grad!.pointer)
    }
}

/// The forward conv on the runtime's GEMM engine (`BatchConvolution`): its im2col writes patches
/// straight into the micro-kernel's packed panels and its store adds the bias, where im2col +
/// OpenBLAS wrote every patch, packed it again and added the bias in a third pass.
private func convForward(_ xp: UnsafeMutablePointer<Float>, _ wp: UnsafeMutablePointer<Float>,
                         _ bp: UnsafeMutablePointer<Float>?, _ geo: ConvGeometry, _ op: UnsafeMutablePointer<Float>) {
    let conv = batchConvolution(input: [geo.n, geo.h, geo.w, geo.c], weight: [geo.s, geo.kh, geo.kw, geo.cg], wp, bias: bp,
                                geo.attributes)
    runBatchConvolution(conv, xp, images: 0..<geo.n, into: op, accumulate: false)
}

func batchConvolution(input: [Int], weight shape: [Int], _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                      _ attributes: Conv2DAttributes) -> BatchConvolution {
    do {
        return try BatchConvolution(input: input, weight: shape, weightData: UnsafeBufferPointer(start: w, count: shape.reduce(1, *)),
                                    bias: bias.map { UnsafeBufferPointer(start: $0, count: shape[0]) }, attributes: attributes)
    } catch {
        preconditionFailure("conv2d: \(error)")
    }
}

/// The conv's output pixels of `images`, cut into `Parallel.parts` image ranges run concurrently.
func runBatchConvolution(_ conv: BatchConvolution, _ x: UnsafePointer<Float>, images: Range<Int>, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
                         parallel: Bool = true) {
    let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), ys = SendablePointer(y)
    let body: @Sendable (Int, Range<Int>) -> Void = { _, part in
        guard !part.isEmpty else { return }
        let scratch = TensorStorage(uninitialized: max(conv.scratchCount, 1))
        do {
            try conv.run(x: xs.p, images: part, into: ys.p, accumulate: accumulate, scratch: scratch.pointer)
        } catch {
            preconditionFailure("conv2d: \(error)")
        }
    }
    if parallel {
        Parallel.forRanges(total: images.count) { i, r in body(i, (images.lowerBound + r.lowerBound)..<(images.lowerBound + r.upperBound)) }
    } else {
        body(0, images)
    }
}

private func convBackward(x: Variable, weight: Variable, bias: Variable?, geo: ConvGeometry,
                          dy dyp: UnsafeMutablePointer<Float>) {
    let (k, sg, s, pix) = (geo.k, geo.sg, geo.s, geo.outPixels)
    let chunk = geo.chunkRows
    let parts = max(1, min(Parallel.parts, geo.n))
    let wCount = weight.count
    let xs = SendablePointer(x.value), ws = SendablePointer(weight.value), dy = SendablePointer(dyp)
    let dxBuffer = x.requiresGrad ? x.gradForOverwrite() : nil
    let dx = dxBuffer.map { SendablePointer($0.pointer) }
    // A fresh (uninitialised) input gradient is assigned by the GEMMs (beta 0) or zeroed before col2im.
    let dxBeta: Float = (dxBuffer?.fresh ?? false) ? 0 : 1
    // A stride-1 conv's input gradient is itself a conv of dy with the flipped, transposed kernel:
    // an im2col of dy and a GEMM with a long reduction, much faster than GEMM + col2im scatter.
    let transposed = (dx != nil && !geo.isPointwise) ? TransposedConv(geo, weight: weight.value) : nil
    let biasPartials = TensorStorage(zeros: parts * s)
    let bparts = SendablePointer(biasPartials)
    // Per-call buffers (not shared scratch): concurrent models, e.g. parallel tests, must not collide.
    // A frozen weight (fine-tuning with --freeze) costs no weight-gradient work at all.
    let needWeight = weight.requiresGrad
    let partialStorage = needWeight ? (0..<parts).map { _ in TensorStorage(uninitialized: wCount) } : []
    let weightPartials = partialStorage.map { SendablePointer($0) }
    let needBias = bias?.requiresGrad ?? false
    // The weight gradient without im2col: by Winograd where both sides are wide, else shifted rows.
    let winograd = needWeight ? WinogradWeightGradient(geo) : nil
    let shifted = needWeight && winograd == nil ? ShiftedWeightGradient(geo) : nil
    let direct = winograd != nil || shifted != nil || !needWeight
    Parallel.forRanges(total: geo.n, parts: parts) { part, images in
        let dW = needWeight ? weightPartials[part].p : nil
        let allRows = (images.lowerBound * pix)..<(images.upperBound * pix)
        let colStorage = geo.isPointwise || direct ? nil : TensorStorage(uninitialized: min(chunk, allRows.count) * k)
        let needsDcol = !geo.isPointwise && dx != nil && transposed == nil
        let dcolStorage = needsDcol ? TensorStorage(uninitialized: min(chunk, allRows.count) * k) : nil
        let col = colStorage?.pointer, dcol = dcolStorage?.pointer
        if let dx, needsDcol, dxBeta == 0 {
            let perImage = geo.h * geo.w * geo.c
            (dx.p + images.lowerBound * perImage).update(repeating: 0, count: images.count * perImage)
        }
        var first = true
        var r0 = allRows.lowerBound
        while r0 < allRows.upperBound {
            let r1 = min(r0 + chunk, allRows.upperBound)
            let rows = r1 - r0
            let g0 = dy.p + r0 * s
            for g in 0..<geo.groups {
                if !direct {
                    let a: UnsafeMutablePointer<Float>
                    if let col { im2col(xs.p, geo, rows: r0, r1, group: g, into: col); a = col }
                    else { a = xs.p + r0 * geo.c }
                    sgemm(transA: true, transB: false, m: sg, n: k, k: rows, a: g0 + g * sg, lda: s,
                          b: a, ldb: k, beta: first ? 0 : 1, c: dW! + g * sg * k, ldc: k)
                }
                if let dx, let dcol {
                    sgemm(transA: false, transB: false, m: rows, n: k, k: sg, a: g0 + g * sg, lda: s,
                          b: ws.p + g * sg * k, ldb: k, beta: 0, c: dcol, ldc: k)
                    col2imAdd(dcol, geo, rows: r0, r1, group: g, into: dx.p)
                }
            }
            if let dx, geo.isPointwise {
                sgemm(transA: false, transB: false, m: rows, n: geo.c, k: s, a: g0, lda: s,
                      b: ws.p, ldb: k, beta: dxBeta, c: dx.p + r0 * geo.c, ldc: geo.c)
            }
            if needBias {
                let bp = bparts.p + part * s
                for r in 0..<rows { addInPlace(bp, g0 + r * s, s) }
            }
            first = false
            r0 = r1
        }
        if let winograd {
            let scratch = TensorStorage(uninitialized: winograd.scratchCount)
            winograd.compute(x: xs.p, dy: dy.p, images: images, into: dW!, scratch: scratch.pointer)
        } else if let shifted {
            let scratch = TensorStorage(uninitialized: shifted.scratchCount)
            do {
                try shifted.compute(x: xs.p, dy: dy.p, images: images, into: dW!, scratch: scratch.pointer)
            } catch {
                preconditionFailure("conv2d weight gradient: \(error)")
            }
        } else if let dW, images.isEmpty {
            dW.update(repeating: 0, count: wCount)
        }
        if let transposed, let dx { transposed.addInputGradient(dy: dy.p, images: images, into: dx.p, beta: dxBeta) }
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

/// The input gradient of a dense stride-1, undilated conv as a conv of dy: kernel
/// W'[c, i, j, o] = W[o, kh−1−i, kw−1−j, c], padding k−1−p on each side.
private struct TransposedConv: @unchecked Sendable {
    let geo: ConvGeometry
    let conv: BatchConvolution

    init?(_ g: ConvGeometry, weight w: TensorStorage) {
        let pb = (g.oh - 1) + g.kh - g.h - g.pt, pr = (g.ow - 1) + g.kw - g.w - g.pl
        guard g.groups == 1, g.sh == 1, g.sw == 1, g.dh == 1, g.dw == 1,
              g.pt < g.kh, g.pl < g.kw, pb >= 0, pb < g.kh, pr >= 0, pr < g.kw else { return nil }
        let attrs = Conv2DAttributes(padding: Padding(top: g.kh - 1 - g.pt, left: g.kw - 1 - g.pl,
                                                      bottom: g.kh - 1 - pb, right: g.kw - 1 - pr))
        geo = ConvGeometry(input: [g.n, g.oh, g.ow, g.s], weight: [g.c, g.kh, g.kw, g.s], attributes: attrs)
        guard geo.oh == g.h, geo.ow == g.w else { return nil }
        let weight = TensorStorage(uninitialized: w.count)
        let (s, c, kh, kw) = (g.s, g.c, g.kh, g.kw)
        for o in 0..<s { for i in 0..<kh { for j in 0..<kw { for ci in 0..<c {
            weight[((ci * kh + (kh - 1 - i)) * kw + (kw - 1 - j)) * s + o] = w[((o * kh + i) * kw + j) * c + ci]
        } } } }
        conv = batchConvolution(input: [geo.n, geo.h, geo.w, geo.c], weight: [c, kh, kw, s], weight.pointer, bias: nil, attrs)
    }

    func addInputGradient(dy: UnsafeMutablePointer<Float>, images: Range<Int>, into dx: UnsafeMutablePointer<Float>, beta: Float) {
        guard !images.isEmpty else { return }
        runBatchConvolution(conv, dy, images: images, into: dx, accumulate: beta != 0, parallel: false)
    }
}
