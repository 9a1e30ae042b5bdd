import CRankEdgeKernels

/// Sizes of one convolution at one batch size, NHWC in and out: the runtime's steps and the
/// trainer's conv (forward, input and weight gradients) share it.
public struct ConvGeometry: Sendable {
    public let n: Int, h: Int, w: Int, c: Int
    public let oh: Int, ow: Int, s: Int
    public let kh: Int, kw: Int
    /// Input channels per group.
    public let cg: Int
    public let groups: Int
    public let attributes: Conv2DAttributes

    /// Output pixels over the whole batch: the M of the GEMM.
    public var pixels: Int { n * oh * ow }
    /// kh·kw·C/groups: the K of the GEMM.
    public var depth: Int { kh * kw * cg }
    /// Output pixels of one image.
    public var outPixels: Int { oh * ow }
    /// Output channels per group.
    public var sg: Int { s / groups }
    public var sh: Int { attributes.stride.h }
    public var sw: Int { attributes.stride.w }
    public var pt: Int { attributes.padding.top }
    public var pl: Int { attributes.padding.left }
    public var dh: Int { attributes.dilation.h }
    public var dw: Int { attributes.dilation.w }
    /// A 1×1, stride-1, unpadded dense conv reads its input directly as the GEMM operand.
    public var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && groups == 1 }

    init(input: TensorShape, output: TensorShape, kh: Int, kw: Int, cg: Int, groups: Int, attributes: Conv2DAttributes) {
        if input.rank == 2 {
            // A linear layer: [N, C] is N pixels of one 1×1 image.
            (n, h, w, c) = (input[0], 1, 1, input[1])
            (oh, ow, s) = (1, 1, output[1])
        } else {
            (n, h, w, c) = (input[0], input[1], input[2], input[3])
            (oh, ow, s) = (output[1], output[2], output[3])
        }
        self.kh = kh; self.kw = kw; self.cg = cg; self.groups = groups
        self.attributes = attributes
    }

    /// The geometry of an NHWC input [n, h, w, c] and an OHWI weight [s, kh, kw, c/groups], the output
    /// size following from the attributes.
    public init(input: [Int], weight: [Int], attributes a: Conv2DAttributes) {
        (n, h, w, c) = (input[0], input[1], input[2], input[3])
        (s, kh, kw) = (weight[0], weight[1], weight[2])
        groups = a.groups
        cg = c / max(a.groups, 1)
        attributes = a
        oh = (h + a.padding.top + a.padding.bottom - a.dilation.h * (kh - 1) - 1) / a.stride.h + 1
        ow = (w + a.padding.left + a.padding.right - a.dilation.w * (kw - 1) - 1) / a.stride.w + 1
    }

    public func describe() -> String { "input [\(n), \(h), \(w), \(c)] weight [\(s), \(kh), \(kw), \(cg)]" }
}

/// im2col for NHWC: row r of the patch matrix is output pixel r's receptive field for one group,
/// ordered (ky, kx, ci) like an OHWI weight row; taps in the padding are zeros.
public enum Im2col {
    public static func fill(_ g: ConvGeometry, x: UnsafePointer<Float>, firstRow: Int, rows: Int, group: Int,
                     into dst: UnsafeMutablePointer<Float>) {
        fill(g, realRows: g.h, x: x, firstRow: firstRow, rows: rows, group: group, into: dst)
    }

    /// As above, reading only the first `realRows` input rows; rows at or below it read as zero
    /// (a band of a larger image whose remaining rows are padding).
    static func fill(_ g: ConvGeometry, realRows: Int, x: UnsafePointer<Float>, firstRow: Int, rows: Int, group: Int,
                     into dst: UnsafeMutablePointer<Float>) {
        let a = g.attributes
        let depth = g.depth
        let channelOffset = group * g.cg
        let rowSpan = g.kw * g.cg
        // With one group and no horizontal dilation, a tap row is kw·C contiguous floats of the input.
        let contiguousRows = g.cg == g.c && a.dilation.w == 1
        var ox = firstRow % g.ow
        var oy = (firstRow / g.ow) % g.oh
        var b = firstRow / (g.ow * g.oh)
        for i in 0..<rows {
            var d = dst + i * depth
            let iyBase = oy * a.stride.h - a.padding.top
            let ixBase = ox * a.stride.w - a.padding.left
            for ky in 0..<g.kh {
                let iy = iyBase + ky * a.dilation.h
                if iy < 0 || iy >= realRows {
                    d.update(repeating: 0, count: rowSpan)
                    d += rowSpan
                    continue
                }
                let row = x + (b * g.h + iy) * g.w * g.c + channelOffset
                if contiguousRows && ixBase >= 0 && ixBase + g.kw <= g.w {
                    copy(d, row + ixBase * g.c, rowSpan)
                    d += rowSpan
                } else {
                    for kx in 0..<g.kw {
                        let ix = ixBase + kx * a.dilation.w
                        if ix < 0 || ix >= g.w { d.update(repeating: 0, count: g.cg) } else { copy(d, row + ix * g.c, g.cg) }
                        d += g.cg
                    }
                }
            }
            ox += 1
            if ox == g.ow {
                ox = 0; oy += 1
                if oy == g.oh { oy = 0; b += 1 }
            }
        }
    }

    /// The same patches written straight into the GEMM's packed A layout: MR-row panels over all of
    /// K (panel q at dst + q·MR·depth, element (i, p) at p·MR + i), rows past `rows` zero. It replaces
    /// im2col followed by packing, which wrote every patch element and then read and wrote it again.
    /// - `pack`: the kernels' row packer (MR = `mr`); `pointers`: 2·MR slots and `origins`: 3·MR
    ///   slots of scratch.
    static func fillPanels(_ g: ConvGeometry, x: UnsafePointer<Float>, firstRow: Int, rows: Int, group: Int,
                           mr: Int, pack: re_pack_rows_fn, pointers: UnsafeMutablePointer<UnsafePointer<Float>?>,
                           origins: UnsafeMutablePointer<Int>, into dst: UnsafeMutablePointer<Float>) {
        let a = g.attributes
        let channelOffset = group * g.cg
        let rowSpan = g.kw * g.cg
        let contiguousRows = g.cg == g.c && a.dilation.w == 1
        let taps = pointers, inputRows = pointers + mr
        // Per panel row: its image (-1 past the tile) and the top-left corner of its receptive field.
        let image = origins, iyBase = origins + mr, ixBase = origins + 2 * mr
        var d = dst
        var panelRow = 0
        while panelRow < rows {
            for i in 0..<mr {
                let pixel = firstRow + panelRow + i
                guard panelRow + i < rows else { image[i] = -1; continue }
                image[i] = pixel / (g.ow * g.oh)
                iyBase[i] = (pixel / g.ow) % g.oh * a.stride.h - a.padding.top
                ixBase[i] = pixel % g.ow * a.stride.w - a.padding.left
            }
            for ky in 0..<g.kh {
                var whole = contiguousRows
                for i in 0..<mr {
                    let iy = iyBase[i] + ky * a.dilation.h
                    if image[i] < 0 || iy < 0 || iy >= g.h {
                        inputRows[i] = nil
                    } else {
                        inputRows[i] = x + (image[i] * g.h + iy) * g.w * g.c + channelOffset
                        if ixBase[i] < 0 || ixBase[i] + g.kw > g.w { whole = false }
                    }
                }
                if whole {
                    // Each row's tap row is kw·C contiguous floats (or all padding): one run.
                    for i in 0..<mr { taps[i] = inputRows[i].map { $0 + ixBase[i] * g.c } }
                    pack(UnsafePointer(taps), rowSpan, d)
                    d += rowSpan * mr
                    continue
                }
                for kx in 0..<g.kw {
                    for i in 0..<mr {
                        // Rows past the tile (and padding rows) have no origin to offset.
                        guard let row = inputRows[i] else { taps[i] = nil; continue }
                        let ix = ixBase[i] + kx * a.dilation.w
                        taps[i] = ix < 0 || ix >= g.w ? nil : row + ix * g.c
                    }
                    pack(UnsafePointer(taps), g.cg, d)
                    d += g.cg * mr
                }
            }
            panelRow += mr
        }
    }

    /// A short copy inline (the stem's 3-channel taps), a long one through memmove (also for the
    /// stem's 21-float tap rows: an inline loop measured 3 % slower there).
    @inline(__always)
    static func copy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
        if count <= 16 {
            for i in 0..<count { dst[i] = src[i] }
        } else {
            dst.update(from: src, count: count)
        }
    }
}
