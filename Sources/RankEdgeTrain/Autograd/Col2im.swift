import RankEdge

extension ConvGeometry {
    /// Columns of the im2col matrix of one group: the weight's row length.
    var k: Int { depth }

    /// Output rows per im2col chunk: enough for an efficient GEMM, few enough that the chunk
    /// (about 1 MB) is still in L2 when the GEMM packs it.
    var chunkRows: Int { max(16, (1 << 18) / max(1, k)) }
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

/// The runtime's im2col (`Im2col.fill`) over output rows `r0..<r1`, group `g`, into rows of `col`.
@inline(__always)
func im2col(_ x: UnsafePointer<Float>, _ geo: ConvGeometry, rows r0: Int, _ r1: Int, group g: Int,
            into col: UnsafeMutablePointer<Float>) {
    Im2col.fill(geo, x: x, firstRow: r0, rows: r1 - r0, group: g, into: col)
}

/// The adjoint of im2col: adds every column entry back onto the input position it came from.
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
