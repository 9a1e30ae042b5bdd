import CRankEdgeKernels
import Testing
@testable import RankEdge

/// `Im2col.fillPanels` (patches written straight into packed A panels) against its slow twin: the
/// row-major im2col followed by the plain packer, for every ISA this CPU runs.
@Suite struct Im2colPanelTests {
    struct Case: CustomStringConvertible {
        var input: [Int]  // N, H, W, C
        var out: Int, kernel: Int, stride = 1, padding = Padding.zero, dilation = 1, groups = 1
        var description: String { "\(input) k\(kernel) s\(stride) p\(padding) d\(dilation) g\(groups)" }

        func geometry() -> ConvGeometry {
            let (n, h, w, c) = (input[0], input[1], input[2], input[3])
            let span = dilation * (kernel - 1) + 1
            let oh = (h + padding.top + padding.bottom - span) / stride + 1
            let ow = (w + padding.left + padding.right - span) / stride + 1
            let attributes = Conv2DAttributes(stride: .square(stride), padding: padding, dilation: .square(dilation), groups: groups)
            return ConvGeometry(input: TensorShape([n, h, w, c]), output: TensorShape([n, oh, ow, out]), kh: kernel, kw: kernel,
                                cg: c / groups, groups: groups, attributes: attributes)
        }
    }

    static let cases: [Case] = [
        Case(input: [1, 7, 5, 3], out: 5, kernel: 3, padding: .same(1)),
        Case(input: [2, 9, 8, 11], out: 4, kernel: 3, stride: 2, padding: .same(1)),           // batch 2: panels span images
        Case(input: [1, 23, 19, 3], out: 8, kernel: 7, stride: 2, padding: .same(3)),          // the ResNet stem's shape
        Case(input: [1, 11, 8, 4], out: 7, kernel: 5, stride: 2, padding: Padding(top: 2, left: 1, bottom: 0, right: 3)),
        Case(input: [1, 9, 9, 5], out: 6, kernel: 3, padding: .same(2), dilation: 2),
        Case(input: [1, 6, 7, 12], out: 6, kernel: 3, padding: .same(1), groups: 3),
        Case(input: [1, 5, 6, 17], out: 3, kernel: 1),
        Case(input: [1, 1, 1, 9], out: 2, kernel: 1),
    ]

    @Test(arguments: cases)
    func panelsEqualIm2colThenPack(_ c: Case) throws {
        let g = c.geometry()
        var rng = SeededRandom(seed: 11)
        let x = rng.uniformArray(count: g.n * g.h * g.w * g.c, bound: 1)
        for isa in GEMMISA.allCases where isa.isAvailable {
            let kernels = try GEMMKernels(isa)
            let mr = kernels.mr
            // Tiles of every phase against MR: whole rows, 1 row, a prime count, an odd start.
            let tiles = [(0, g.pixels), (0, 1), (min(3, g.pixels - 1), min(7, g.pixels - min(3, g.pixels - 1))),
                         (g.pixels - 1, 1)]
            for group in 0..<g.groups {
                for (first, rows) in tiles where rows > 0 {
                    let depth = g.depth
                    let panels = (rows + mr - 1) / mr
                    var patches = [Float](repeating: .nan, count: rows * depth)
                    var expected = [Float](repeating: .nan, count: panels * mr * depth)
                    var actual = [Float](repeating: .nan, count: panels * mr * depth)
                    var pointers = [UnsafePointer<Float>?](repeating: nil, count: 2 * mr)
                    var origins = [Int](repeating: 0, count: 3 * mr)
                    x.withUnsafeBufferPointer { xp in
                        patches.withUnsafeMutableBufferPointer { pp in
                            Im2col.fill(g, x: xp.baseAddress!, firstRow: first, rows: rows, group: group, into: pp.baseAddress!)
                            expected.withUnsafeMutableBufferPointer { ep in
                                re_pack_a(mr, rows, depth, pp.baseAddress!, depth, ep.baseAddress!)
                            }
                        }
                        actual.withUnsafeMutableBufferPointer { ap in
                            Im2col.fillPanels(g, x: xp.baseAddress!, firstRow: first, rows: rows, group: group, mr: mr,
                                              pack: kernels.packRows, pointers: &pointers, origins: &origins, into: ap.baseAddress!)
                        }
                    }
                    #expect(actual == expected, "\(c), \(isa), group \(group), rows \(first)..<\(first + rows)")
                }
            }
        }
    }
}
