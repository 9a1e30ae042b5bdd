import RankEdge

/// The obviously-correct twin of the im2col + GEMM conv: six nested loops over NHWC / OHWI.
func referenceConv2d(x: [Float], xShape: [Int], w: [Float], wShape: [Int], bias: [Float]?,
                     _ a: Conv2DAttributes) -> (out: [Float], shape: [Int]) {
    let (n, h, wd, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (s, kh, kw, cg) = (wShape[0], wShape[1], wShape[2], wShape[3])
    let sg = s / a.groups
    let oh = (h + a.padding.top + a.padding.bottom - a.dilation.h * (kh - 1) - 1) / a.stride.h + 1
    let ow = (wd + a.padding.left + a.padding.right - a.dilation.w * (kw - 1) - 1) / a.stride.w + 1
    var out = [Float](repeating: 0, count: n * oh * ow * s)
    for b in 0..<n { for oy in 0..<oh { for ox in 0..<ow { for o in 0..<s {
        let g = o / sg
        var acc = Double(bias?[o] ?? 0)
        for i in 0..<kh { for j in 0..<kw {
            let iy = oy * a.stride.h - a.padding.top + i * a.dilation.h
            let ix = ox * a.stride.w - a.padding.left + j * a.dilation.w
            if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
            for ci in 0..<cg {
                acc += Double(x[((b * h + iy) * wd + ix) * c + g * cg + ci]) * Double(w[((o * kh + i) * kw + j) * cg + ci])
            }
        } }
        out[((b * oh + oy) * ow + ox) * s + o] = Float(acc)
    } } } }
    return (out, [n, oh, ow, s])
}
