import RankEdge

/// The sizes of one NHWC convolution: input [n, h, w, c], weight [s, kh, kw, c/groups] (OHWI).
struct ConvGeometry {
    let n, h, w, c, s, kh, kw: Int
    let sh, sw, pt, pl, dh, dw, groups: Int
    let oh, ow: Int

    init(input: [Int], weight: [Int], attributes a: Conv2DAttributes) {
        n = input[0]; h = input[1]; w = input[2]; c = input[3]
        s = weight[0]; kh = weight[1]; kw = weight[2]
        sh = a.stride.h; sw = a.stride.w; pt = a.padding.top; pl = a.padding.left
        dh = a.dilation.h; dw = a.dilation.w; groups = a.groups
        oh = (h + a.padding.top + a.padding.bottom - dh * (kh - 1) - 1) / sh + 1
        ow = (w + a.padding.left + a.padding.right - dw * (kw - 1) - 1) / sw + 1
    }

    var cg: Int { c / groups }
    var sg: Int { s / groups }
    /// Columns of the im2col matrix of one group: the weight's row length.
    var k: Int { kh * kw * cg }
    var outPixels: Int { oh * ow }
    /// A 1×1, stride-1, unpadded dense conv reads its input directly as the GEMM operand.
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && groups == 1 }

    /// Output rows per im2col chunk: enough for an efficient GEMM, few enough that the chunk
    /// (about 1 MB) is still in L2 when the GEMM packs it.
    var chunkRows: Int { max(16, (1 << 18) / max(1, k)) }

    func describe() -> String { "input [\(n), \(h), \(w), \(c)] weight [\(s), \(kh), \(kw), \(cg)]" }
}

/// Gathers the receptive fields of output rows `r0..<r1` (rows run over (image, oy, ox)), group `g`,
/// into rows of `col` ([rows, k], columns ordered (i, j, channel) like the OHWI weight rows).
func im2col(_ x: UnsafePointer<Float>, _ geo: ConvGeometry, rows r0: Int, _ r1: Int, group g: Int,
            into col: UnsafeMutablePointer<Float>) {
    let (h, w, c, cg, kw) = (geo.h, geo.w, geo.c, geo.cg, geo.kw)
    let k = geo.k
    // Dense, undilated rows of taps are contiguous in the input: copy them in one go.
    let contiguousRow = geo.groups == 1 && geo.dw == 1
    var dst = col
    let pix = geo.outPixels
    for r in r0..<r1 {
        let n = r / pix, oy = (r % pix) / geo.ow, ox = r % geo.ow
        let img = x + n * h * w * c + g * cg
        do {
            do {
                let x0 = ox * geo.sw - geo.pl
                for i in 0..<geo.kh {
                    let iy = oy * geo.sh - geo.pt + i * geo.dh
                    let rowDst = dst + i * kw * cg
                    if iy < 0 || iy >= h {
                        rowDst.update(repeating: 0, count: kw * cg)
                        continue
                    }
                    let rowSrc = img + iy * w * c
                    if contiguousRow {
                        let jlo = max(0, -x0), jhi = min(kw, w - x0)
                        if jlo > 0 { rowDst.update(repeating: 0, count: jlo * c) }
                        if jhi > jlo { copyFloats(rowDst + jlo * c, rowSrc + (x0 + jlo) * c, (jhi - jlo) * c) }
                        if jhi < kw { (rowDst + max(jhi, 0) * c).update(repeating: 0, count: (kw - max(jhi, 0)) * c) }
                    } else {
                        for j in 0..<kw {
                            let ix = x0 + j * geo.dw
                            let d = rowDst + j * cg
                            if ix < 0 || ix >= w { d.update(repeating: 0, count: cg) }
                            else { copyFloats(d, rowSrc + ix * c, cg) }
                        }
                    }
                }
                dst += k
            }
        }
    }
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it came from.
func col2imAdd(_ col: UnsafePointer<Float>, _ geo: ConvGeometry, rows r0: Int, _ r1: Int, group g: Int,
               into dx: UnsafeMutablePointer<Float>) {
    let (h, w, c, cg, kw) = (geo.h, geo.w, geo.c, geo.cg, geo.kw)
    let k = geo.k
    let contiguousRow = geo.groups == 1 && geo.dw == 1
    var src = col
    let pix = geo.outPixels
    for r in r0..<r1 {
        let n = r / pix, oy = (r % pix) / geo.ow, ox = r % geo.ow
        let img = dx + n * h * w * c + g * cg
        do {
            do {
                let x0 = ox * geo.sw - geo.pl
                for i in 0..<geo.kh {
                    let iy = oy * geo.sh - geo.pt + i * geo.dh
                    if iy < 0 || iy >= h { continue }
                    let rowSrc = src + i * kw * cg
                    let rowDst = img + iy * w * c
                    if contiguousRow {
                        let jlo = max(0, -x0), jhi = min(kw, w - x0)
                        if jhi > jlo { addInPlace(rowDst + (x0 + jlo) * c, rowSrc + jlo * c, (jhi - jlo) * c) }
                    } else {
                        for j in 0..<kw {
                            let ix = x0 + j * geo.dw
                            if ix >= 0 && ix < w { addInPlace(rowDst + ix * c, rowSrc + j * cg, cg) }
                        }
                    }
                }
                src += k
            }
        }
    }
}

@inline(__always)
func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
    for i in 0..<count { dst[i] += src[i] }
}

/// Short copies (a few dozen floats per im2col tap row with few channels) inline, eight lanes at a
/// time; long ones through memmove.
@inline(__always)
func copyFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
    if count > 256 { dst.update(from: src, count: count); return }
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { dst[i] = src[i]; i += 1 }
}
