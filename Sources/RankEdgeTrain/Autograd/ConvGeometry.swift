import RankEdge

/// The sizes of one NHWC convolution: input [n, h, w, c], weight [s, kh, kw, c/groups] (OHWI).
struct ConvGeometry {
    let n, h, w, c, s, kh, kw: Int
    let sh, sw, pt, pl, dh, dw, groups: Int
    let oh, ow: Int
    let attributes: Conv2DAttributes

    init(input: [Int], weight: [Int], attributes a: Conv2DAttributes) {
        n = input[0]; h = input[1]; w = input[2]; c = input[3]
        s = weight[0]; kh = weight[1]; kw = weight[2]
        sh = a.stride.h; sw = a.stride.w; pt = a.padding.top; pl = a.padding.left
        dh = a.dilation.h; dw = a.dilation.w; groups = a.groups
        attributes = a
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

/// Walks output rows `r0..<r1` (rows run over (image, oy, ox)) in order, handing each row's image
/// offset and the top-left corner (iy0, ix0) of its receptive field to `body`. Counting the indices
/// up instead of dividing every row matters: at 16 channels a row is only a few dozen floats.
@inline(__always)
private func forEachOutputRow(_ geo: ConvGeometry, _ r0: Int, _ r1: Int,
                              _ body: (_ imageOffset: Int, _ iy0: Int, _ ix0: Int) -> Void) {
    guard r0 < r1 else { return }
    let pix = geo.outPixels, imageSize = geo.h * geo.w * geo.c
    var n = r0 / pix, oy = (r0 % pix) / geo.ow, ox = r0 % geo.ow
    for _ in r0..<r1 {
        body(n &* imageSize, oy &* geo.sh &- geo.pt, ox &* geo.sw &- geo.pl)
        ox &+= 1
        if ox == geo.ow {
            ox = 0; oy &+= 1
            if oy == geo.oh { oy = 0; n &+= 1 }
        }
    }
}

/// Gathers the receptive fields of output rows `r0..<r1` (rows run over (image, oy, ox)), group `g`,
/// into rows of `col` ([rows, k], columns ordered (i, j, channel) like the OHWI weight rows).
func im2col(_ x: UnsafePointer<Float>, _ geo: ConvGeometry, rows r0: Int, _ r1: Int, group g: Int,
            into col: UnsafeMutablePointer<Float>) {
    let (h, w, c, cg, kh, kw, dh, dw) = (geo.h, geo.w, geo.c, geo.cg, geo.kh, geo.kw, geo.dh, geo.dw)
    let k = geo.k, rowSpan = kw * cg, rowStride = w * c
    // Dense, undilated rows of taps are contiguous in the input: copy them in one go.
    let contiguousRow = geo.groups == 1 && dw == 1
    var dst = col
    forEachOutputRow(geo, r0, r1) { imageOffset, iy0, x0 in
        let img = x + imageOffset + g * cg
        let inside = x0 >= 0 && x0 &+ (kw &- 1) &* dw < w
        var rowDst = dst
        for i in 0..<kh {
            let iy = iy0 &+ i &* dh
            defer { rowDst += rowSpan }
            if iy < 0 || iy >= h { rowDst.update(repeating: 0, count: rowSpan); continue }
            let rowSrc = img + iy &* rowStride
            if contiguousRow && inside {
                copyFloats(rowDst, rowSrc + x0 &* c, rowSpan)
            } else if contiguousRow {
                let jlo = max(0, -x0), jhi = max(jlo, min(kw, w &- x0))
                if jlo > 0 { rowDst.update(repeating: 0, count: jlo * c) }
                if jhi > jlo { copyFloats(rowDst + jlo * c, rowSrc + (x0 + jlo) * c, (jhi - jlo) * c) }
                if jhi < kw { (rowDst + jhi * c).update(repeating: 0, count: (kw - jhi) * c) }
            } else {
                for j in 0..<kw {
                    let ix = x0 &+ j &* dw
                    let d = rowDst + j * cg
                    if ix < 0 || ix >= w { d.update(repeating: 0, count: cg) }
                    else { copyFloats(d, rowSrc + ix &* c, cg) }
                }
            }
        }
        dst += k
    }
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it came from.
func col2imAdd(_ col: UnsafePointer<Float>, _ geo: ConvGeometry, rows r0: Int, _ r1: Int, group g: Int,
               into dx: UnsafeMutablePointer<Float>) {
    let (h, w, c, cg, kh, kw, dh, dw) = (geo.h, geo.w, geo.c, geo.cg, geo.kh, geo.kw, geo.dh, geo.dw)
    let k = geo.k, rowSpan = kw * cg, rowStride = w * c
    let contiguousRow = geo.groups == 1 && dw == 1
    var src = col
    forEachOutputRow(geo, r0, r1) { imageOffset, iy0, x0 in
        let img = dx + imageOffset + g * cg
        for i in 0..<kh {
            let iy = iy0 &+ i &* dh
            if iy < 0 || iy >= h { continue }
            let rowSrc = src + i * rowSpan
            let rowDst = img + iy &* rowStride
            if contiguousRow {
                let jlo = max(0, -x0), jhi = min(kw, w &- x0)
                if jhi > jlo { addInPlace(rowDst + (x0 + jlo) * c, rowSrc + jlo * c, (jhi - jlo) * c) }
            } else {
                for j in 0..<kw {
                    let ix = x0 &+ j &* dw
                    if ix >= 0 && ix < w { addInPlace(rowDst + ix &* c, rowSrc + j * cg, cg) }
                }
            }
        }
        src += k
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
