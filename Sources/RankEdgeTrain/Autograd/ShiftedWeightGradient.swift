import RankEdge

/// The weight gradient of a stride-1, undilated, ungrouped k×k conv with no im2col.
///
/// dW[o, ky, kx, c] = Σ_pixels dy[pixel, o] · x[pixel shifted by (ky, kx), c]. A band of output rows
/// is laid out over the zero-padded input width wp: the band's input is copied once, transposed to
/// channel-major rows (xT[c] over padded pixels), and dy once, with zeros in the wp − OW throwaway
/// columns. Tap (ky, kx) is then one GEMM with no copies at all,
///     G_tap[C × S] += xT[:, ky·wp + kx ...] (rows of leading dimension Rp, read in place) · dYpad[R × S],
/// where im2col + GEMM wrote and packed kh·kw copies of every input element. Costs (wp − OW)/OW extra
/// multiply-adds, so it is used only where those are at most 20 % (as for the shifted forward).
struct ShiftedWeightGradient {
    let geo: ConvGeometry
    /// Padded band width, output rows per band, padded pixels per transposed channel row.
    let paddedWidth: Int, bandRows: Int
    var scratchCount: Int { geo.c * channelStride + bandRows * paddedWidth * geo.s + geo.kh * geo.kw * geo.c * geo.s }
    private var channelStride: Int { (bandRows + geo.kh - 1) * paddedWidth + geo.kw - 1 }

    init?(_ g: ConvGeometry) {
        guard g.groups == 1, g.sh == 1, g.sw == 1, g.dh == 1, g.dw == 1, g.kh * g.kw > 1 else { return nil }
        let wp = g.ow + g.kw - 1
        guard 5 * wp <= 6 * g.ow, wp >= g.w + g.pl, g.pl < g.kw, g.pt < g.kh else { return nil }
        geo = g
        paddedWidth = wp
        // Bands whose transposed input and padded dy stay near 256 KB (in L2 across the kh·kw GEMMs).
        var rows = g.oh
        while rows > 1 && ((rows + g.kh - 1) * wp * g.c + rows * wp * g.s) > 64 * 1024 { rows = (rows + 1) / 2 }
        bandRows = rows
    }

    /// dW ([S, kh, kw, C], overwritten) summed over `images`; `scratch` holds `scratchCount` floats.
    func compute(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, images: Range<Int>, into dW: UnsafeMutablePointer<Float>,
                 scratch: UnsafeMutablePointer<Float>) throws(GEMMError) {
        let g = geo, wp = paddedWidth, rp = channelStride
        let (c, s, kh, kw) = (g.c, g.s, g.kh, g.kw)
        let xT = scratch, dYpad = scratch + c * rp, taps = dYpad + bandRows * wp * s
        var first = true
        for image in images {
            for oy0 in stride(from: 0, to: g.oh, by: bandRows) {
                let rows = min(bandRows, g.oh - oy0)
                fillBand(x: x, dy: dy, image: image, firstRow: oy0, rows: rows, xT: xT, dYpad: dYpad)
                let packed = try PackedMatrixB(k: rows * wp, n: s, b: dYpad, ldb: s)
                for tap in 0..<(kh * kw) {
                    let (ky, kx) = (tap / kw, tap % kw)
                    try gemm(m: c, n: s, k: rows * wp, a: xT + ky * wp + kx, lda: rp, packedB: packed,
                             c: taps + tap * c * s, ldc: s, epilogue: GEMMEpilogue(accumulate: !first))
                }
                first = false
            }
        }
        if first { taps.update(repeating: 0, count: kh * kw * c * s) }
        for o in 0..<s {
            for tap in 0..<(kh * kw) {
                let src = taps + tap * c * s + o, dst = dW + (o * kh * kw + tap) * c
                for ci in 0..<c { dst[ci] = src[ci * s] }
            }
        }
    }

    /// Input rows oy0 − pt ..< oy0 − pt + rows + kh − 1 of `image`, zero-padded to width wp and
    /// transposed (xT[ci · Rp + r · wp + j]); dy's rows with zeros in the throwaway columns.
    private func fillBand(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, image: Int, firstRow oy0: Int, rows: Int,
                          xT: UnsafeMutablePointer<Float>, dYpad: UnsafeMutablePointer<Float>) {
        let g = geo, wp = paddedWidth, rp = channelStride, c = g.c
        xT.update(repeating: 0, count: c * rp)
        for r in 0..<(rows + g.kh - 1) {
            let iy = oy0 - g.pt + r
            guard iy >= 0 && iy < g.h else { continue }
            let src = x + ((image * g.h + iy) * g.w) * c
            let rowBase = r * wp + g.pl
            for ix in 0..<g.w {
                let pixel = src + ix * c, column = rowBase + ix
                for ci in 0..<c { xT[ci * rp + column] = pixel[ci] }
            }
        }
        let s = g.s
        for r in 0..<rows {
            let dst = dYpad + r * wp * s
            dst.update(from: dy + ((image * g.oh + oy0 + r) * g.ow) * s, count: g.ow * s)
            (dst + g.ow * s).update(repeating: 0, count: (wp - g.ow) * s)
        }
    }
}
