import CRankEdgeKernels
import Testing
@testable import RankEdge
@testable import RankEdgeReference

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
                    // A guard band after the panels catches writes past their end.
                    let guardBand: Float = 12345
                    var actual = [Float](repeating: .nan, count: panels * mr * depth) + [Float](repeating: guardBand, count: 16)
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
                    #expect(Array(actual.prefix(expected.count)) == expected, "\(c), \(isa), group \(group), rows \(first)..<\(first + rows)")
                    #expect(actual.suffix(16).allSatisfy { $0 == guardBand }, "\(c), \(isa): wrote past the panels")
                }
            }
        }
    }
}

/// The GEMM driver reading A as MR-row panels packed over the whole K (`aPanels`) against the naive
/// GEMM: several K blocks (the panel stride is then not kc·MR), one and several MC blocks, thin N
/// (B in L1: row tiles across panels) and wide N (one panel at a time), a column range.
@Suite struct GEMMPanelsOverWholeKTests {
    @Test(arguments: [(m: 1, n: 5, k: 37), (m: 13, n: 40, k: 37), (m: 31, n: 83, k: 64), (m: 50, n: 33, k: 9)])
    func matchesTheNaiveGEMM(_ size: (m: Int, n: Int, k: Int)) throws {
        let (m, n, k) = size
        var rng = SeededRandom(seed: 5)
        let a = rng.uniformArray(count: m * k, bound: 1), b = rng.uniformArray(count: k * n, bound: 1)
        let blocking = GEMMBlocking(mc: 12, kc: 8, nc: 32)
        for isa in GEMMISA.allCases where isa.isAvailable {
            let kernels = try GEMMKernels(isa)
            let mr = kernels.mr
            var panels = [Float](repeating: .nan, count: (m + mr - 1) / mr * mr * k)
            a.withUnsafeBufferPointer { ap in
                panels.withUnsafeMutableBufferPointer { re_pack_a(mr, m, k, ap.baseAddress!, k, $0.baseAddress!) }
            }
            var expected = [Float](repeating: 0, count: m * n), actual = [Float](repeating: .nan, count: m * n)
            let bias = rng.uniformArray(count: n, bound: 1)
            try b.withUnsafeBufferPointer { bp in
                let packed = try PackedMatrixB(k: k, n: n, b: bp.baseAddress!, ldb: n, isa: isa, blocking: blocking)
                a.withUnsafeBufferPointer { ap in
                    bias.withUnsafeBufferPointer { biasp in
                        naiveGEMM(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                                  c: &expected, ldc: n, epilogue: GEMMEpilogue(bias: biasp.baseAddress!, activation: .relu))
                    }
                }
                panels.withUnsafeBufferPointer { pp in
                    bias.withUnsafeBufferPointer { biasp in
                        actual.withUnsafeMutableBufferPointer { cp in
                            let driver = GEMMDriver(m: m, n: n, k: k, a: pp.baseAddress!, lda: k, aPanels: true, b: .packed(packed),
                                                    c: cp.baseAddress!, ldc: n,
                                                    epilogue: GEMMEpilogue(bias: biasp.baseAddress!, activation: .relu),
                                                    kernels: kernels, options: GEMMOptions(blocking: blocking))
                            // Two column ranges, as a column split would run them.
                            let half = driver.panelCount / 2
                            driver.runTask(rows: 0..<m, panels: 0..<half)
                            driver.runTask(rows: 0..<m, panels: half..<driver.panelCount)
                        }
                    }
                }
            }
            #expect(!actual.contains { $0.isNaN }, "\(isa) \(m)×\(n)×\(k): C not fully written")
            let error = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(error <= 1e-4 * max(1, expected.map(abs).max() ?? 0), "\(isa) \(m)×\(n)×\(k): max error \(error)")
        }
    }
}
