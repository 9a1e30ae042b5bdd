/// The shifted-row form of a stride-1, undilated, ungrouped k×k conv (see `ConvStep`): one band of
/// output rows of one image as kh GEMMs over the band's zero-padded input rows, read as overlapping
/// rows of leading dimension C, with no im2col.
enum ShiftedRowsConv {
    /// Output rows `firstRow ..< firstRow + rows` of `image` into `y` ([pixels × S]). `scratch` holds
    /// `ConvStep.Tiling.chooseShifted`'s `scratchPerSlot` floats for bands of at least `rows` rows.
    /// `accumulate` adds the conv (without bias) to what `y` holds; it takes no residual or activation.
    static func band(_ weights: GEMMConvWeights, _ g: ConvGeometry, x: UnsafePointer<Float>, image b: Int, firstRow oy0: Int,
                     rows: Int, paddedWidth wp: Int, scratch band: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>,
                     residual: UnsafePointer<Float>?, activation: GEMMActivation, accumulate: Bool) throws(GEMMError) {
        precondition(!accumulate || (residual == nil && activation == .none), "an accumulating band takes no residual or activation")
        let a = weights.attributes
        let (c, s, kh, kw) = (g.c, g.s, g.kh, g.kw)
        let rowsIn = rows + kh - 1
        let out = band + rowsIn * wp * c + kw * c
        // The band's input rows, zero-padded left, right, and outside the image; the slack after
        // the last row is what the last outputs' throwaway columns read.
        for r in 0..<rowsIn {
            let dst = band + r * wp * c
            let iy = oy0 - a.padding.top + r
            if iy < 0 || iy >= g.h {
                dst.update(repeating: 0, count: wp * c)
            } else {
                dst.update(repeating: 0, count: a.padding.left * c)
                (dst + a.padding.left * c).update(from: x + ((b * g.h + iy) * g.w) * c, count: g.w * c)
                (dst + (a.padding.left + g.w) * c).update(repeating: 0, count: a.padding.right * c)
            }
        }
        (band + rowsIn * wp * c).update(repeating: 0, count: kw * c)
        for ky in 0..<kh {
            let epilogue = ky == 0 ? GEMMEpilogue(bias: accumulate ? nil : weights.bias.map { UnsafePointer($0.pointer) })
                                   : GEMMEpilogue(accumulate: true)
            try gemm(m: rows * wp, n: s, k: kw * c, a: band + ky * wp * c, lda: c, packedB: weights.matrices[ky],
                     c: out, ldc: s, epilogue: epilogue, threads: 1)
        }
        // Copy out the real columns, with the residual and the activation.
        for r in 0..<rows {
            for ox in 0..<g.ow {
                let src = out + (r * wp + ox) * s
                let pixel = (b * g.oh + oy0 + r) * g.ow + ox
                let dst = y + pixel * s
                if accumulate {
                    for j in 0..<s { dst[j] += src[j] }
                } else if let residual {
                    let res = residual + pixel * s
                    switch activation {
                    case .none: for j in 0..<s { dst[j] = src[j] + res[j] }
                    case .relu: for j in 0..<s { let v = src[j] + res[j]; dst[j] = v < 0 ? 0 : v }
                    case .relu6: for j in 0..<s { let v = src[j] + res[j]; dst[j] = v < 0 ? 0 : (v > 6 ? 6 : v) }
                    case .function: for j in 0..<s { dst[j] = src[j] + res[j] }  // applied to the band below
                    }
                } else {
                    switch activation {
                    case .none: dst.update(from: src, count: s)
                    case .relu: for j in 0..<s { let v = src[j]; dst[j] = v < 0 ? 0 : v }
                    case .relu6: for j in 0..<s { let v = src[j]; dst[j] = v < 0 ? 0 : (v > 6 ? 6 : v) }
                    case .function: dst.update(from: src, count: s)
                    }
                }
            }
        }
        // The band's output rows are contiguous and were just written: the function goes over them now.
        if let f = activation.function, let isa = weights.matrices.first?.isa {
            let first = y + (b * g.oh + oy0) * g.ow * s
            f.apply(first, first, count: rows * g.ow * s, isa: isa)
        }
    }
}
