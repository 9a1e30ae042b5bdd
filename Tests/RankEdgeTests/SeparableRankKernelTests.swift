import CRankEdgeKernels
import Testing
import RankEdge

/// The separable rank-L kernel called directly at tilings the planner may not pick for these
/// shapes (row tiles with odd counts, partial channel groups, narrow blocks, every column
/// remainder of the paired vertical pass), against a direct evaluation of its formula in Double.
@Suite struct SeparableRankKernelTests {
    struct Case {
        var h: Int, w: Int, c: Int, s: Int, k: Int, rank: Int, stride: Int
        var rows: Int, block: Int, group: Int
    }

    static func reference(_ c: Case, x: [Float], bh: [Float], av: [Float], sp: Int, oh: Int, ow: Int) -> [Double] {
        let pad = c.k / 2
        var y = [Double](repeating: 0, count: oh * ow * c.s)
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<c.s {
                    var acc = 0.0
                    for ch in 0..<c.c {
                        for l in 0..<c.rank {
                            for i in 0..<c.k {
                                let iy = oy * c.stride + i - pad
                                guard iy >= 0 && iy < c.h else { continue }
                                var t = 0.0
                                for j in 0..<c.k {
                                    let ix = ox * c.stride + j - pad
                                    guard ix >= 0 && ix < c.w else { continue }
                                    t += Double(bh[((ch * c.k + j) * c.rank + l) * sp + o]) * Double(x[(iy * c.w + ix) * c.c + ch])
                                }
                                acc += Double(av[((ch * c.rank + l) * c.k + i) * sp + o]) * t
                            }
                        }
                    }
                    y[(oy * ow + ox) * c.s + o] = acc
                }
            }
        }
        return y
    }

    static func run(_ c: Case, isa: Int32) -> (fast: [Float], reference: [Double]) {
        let pad = c.k / 2
        let oh = (c.h + 2 * pad - c.k) / c.stride + 1, ow = (c.w + 2 * pad - c.k) / c.stride + 1
        let sp = (c.s + 7) / 8 * 8
        var rng = SeededRandom(seed: UInt64(c.h * 1000 + c.c * 100 + c.k * 10 + c.group))
        let x = rng.uniformArray(count: c.h * c.w * c.c, bound: 1)
        var bh = rng.uniformArray(count: c.c * c.k * c.rank * sp, bound: 1)
        var av = rng.uniformArray(count: c.c * c.k * c.rank * sp, bound: 1)
        for i in 0..<(c.c * c.k * c.rank) {
            for o in c.s..<sp { bh[i * sp + o] = 0; av[i * sp + o] = 0 }  // the kernel's padding contract
        }
        var y = [Float](repeating: .nan, count: oh * ow * c.s)
        bh.withUnsafeBufferPointer { bhp in
            av.withUnsafeBufferPointer { avp in
                var p = re_rankconv_params(
                    h: c.h, w: c.w, c: c.c, oh: oh, ow: ow, s: c.s, rank: c.rank, k: c.k, stride_h: c.stride,
                    stride_w: c.stride, pad_top: pad, pad_left: pad, sp: sp, bh: bhp.baseAddress, av: avp.baseAddress,
                    bias: nil, activation: 0)
                var planar = [Float](repeating: .nan, count: re_rankconv_planar_floats(&p))
                var scratch = [Float](repeating: .nan, count: re_rankconv_scratch_floats(&p, c.rows, c.block, c.group))
                // The planar copy in two channel ranges, as two threads would write it.
                re_rankconv_planar(&p, x, &planar, 0, c.c / 2)
                re_rankconv_planar(&p, x, &planar, c.c / 2, c.c)
                for oy0 in stride(from: 0, to: oh, by: c.rows) {
                    for o0 in stride(from: 0, to: sp, by: c.block) {
                        re_rankconv_tile(isa, &p, planar, &y, nil, oy0, min(oh, oy0 + c.rows), o0, min(sp, o0 + c.block),
                                         c.group, &scratch)
                    }
                }
            }
        }
        return (y, reference(c, x: x, bh: bh, av: av, sp: sp, oh: oh, ow: ow))
    }

    static let cases: [Case] = [
        Case(h: 1, w: 1, c: 1, s: 1, k: 3, rank: 1, stride: 1, rows: 1, block: 8, group: 1),
        Case(h: 7, w: 13, c: 5, s: 9, k: 3, rank: 1, stride: 1, rows: 3, block: 16, group: 2),     // odd tile, partial group
        Case(h: 9, w: 11, c: 7, s: 17, k: 5, rank: 2, stride: 1, rows: 9, block: 8, group: 4),     // columns 6 + 4 + 1
        Case(h: 8, w: 15, c: 3, s: 8, k: 7, rank: 3, stride: 1, rows: 8, block: 8, group: 8),      // group > channels
        Case(h: 11, w: 9, c: 4, s: 13, k: 3, rank: 2, stride: 2, rows: 2, block: 8, group: 3),     // strided: single rows
        Case(h: 13, w: 13, c: 6, s: 24, k: 4, rank: 2, stride: 1, rows: 5, block: 24, group: 4),   // even k (generic body)
        Case(h: 10, w: 8, c: 9, s: 8, k: 9, rank: 1, stride: 3, rows: 4, block: 8, group: 2),
        Case(h: 6, w: 14, c: 11, s: 31, k: 5, rank: 5, stride: 1, rows: 6, block: 32, group: 5),   // full rank, columns 6 + 6 + 2
    ]

    @Test(arguments: [RE_ISA_SCALAR, RE_ISA_AVX2])
    func matchesTheFormula(isa: re_isa) throws {
        guard isa == RE_ISA_SCALAR || re_cpu_supports(isa) != 0 else { return }
        for c in Self.cases {
            let (fast, reference) = Self.run(c, isa: Int32(isa.rawValue))
            let scale = max(reference.map(abs).max() ?? 0, 1e-6)
            let worst = zip(fast, reference).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * scale, "\(c) isa \(isa.rawValue): max error \(worst), scale \(scale)")
        }
    }
}
