import CRankEdgeKernels
import Testing
@testable import RankEdge

/// Each ISA's micro-kernels and packers called directly, against a naive product and the portable
/// packers: every tile shape (1...MR rows × 1...NR columns), so edge tiles the GEMM-level tests
/// reach only by chance (a 10-row tile of AVX-512's 12, say) are all run.
@Suite struct MicroKernelTests {
    /// (accumulate, epilogue, bias, residual, activation) combinations.
    static let flagCases: [(accumulate: Bool, epilogue: Bool, bias: Bool, residual: Bool, act: re_activation)] = [
        (false, false, false, false, RE_ACT_NONE), (true, false, false, false, RE_ACT_NONE),
        (false, true, true, false, RE_ACT_RELU), (true, true, true, true, RE_ACT_RELU6),
        (false, true, false, true, RE_ACT_NONE),
    ]

    @Test func everyTileShapeMatchesTheNaiveProduct() throws {
        var rng = SeededRandom(seed: 31)
        var failures: [String] = []
        var tiles = 0
        for isa in GEMMISA.available() {
            let kernels = try GEMMKernels(isa)
            let (mr, nr) = (kernels.mr, kernels.nr)
            for kc in [1, 3, 4, 9, 17] {
                let aPanel = rng.uniformArray(count: kc * mr, bound: 1)  // packed: (i, p) at p*mr + i
                let bPanel = rng.uniformArray(count: kc * nr, bound: 1)
                let lda = kc + 3
                var aRows = [Float](repeating: .nan, count: mr * lda)  // row-major, padding never read
                for i in 0..<mr { for p in 0..<kc { aRows[i * lda + p] = aPanel[p * mr + i] } }
                for m in 1...mr {
                    for n in 1...nr {
                        let f = Self.flagCases[(m + n + kc) % Self.flagCases.count]
                        let ldc = nr + 5
                        let start = rng.uniformArray(count: (mr + 1) * ldc, bound: 1)
                        let bias = rng.uniformArray(count: nr, bound: 1)
                        let residual = rng.uniformArray(count: mr * ldc, bound: 1)
                        var expected = start
                        for i in 0..<m {
                            for j in 0..<n {
                                var s: Double = 0
                                for p in 0..<kc { s += Double(aPanel[p * mr + i]) * Double(bPanel[p * nr + j]) }
                                var v = Float(s)
                                if f.accumulate { v += start[i * ldc + j] }
                                if f.epilogue {
                                    if f.bias { v += bias[j] }
                                    if f.residual { v += residual[i * ldc + j] }
                                    if f.act == RE_ACT_RELU { v = max(v, 0) }
                                    if f.act == RE_ACT_RELU6 { v = min(max(v, 0), 6) }
                                }
                                expected[i * ldc + j] = v
                            }
                        }
                        var flags = (f.accumulate ? UInt32(RE_FLAG_ACCUMULATE) : 0)
                        if f.epilogue { flags |= UInt32(RE_FLAG_EPILOGUE) | (f.act.rawValue << UInt32(RE_FLAGS_ACTIVATION_SHIFT)) }
                        for packedA in [true, false] {
                            tiles += 1
                            var c = start
                            aPanel.withUnsafeBufferPointer { ap in
                            aRows.withUnsafeBufferPointer { rp in
                            bPanel.withUnsafeBufferPointer { bp in
                            bias.withUnsafeBufferPointer { biasp in
                            residual.withUnsafeBufferPointer { resp in
                            c.withUnsafeMutableBufferPointer { cp in
                                let biasArg = f.bias ? biasp.baseAddress : nil
                                let resArg = f.residual ? resp.baseAddress : nil
                                if packedA {
                                    kernels.packed(kc, ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, ldc, m, n, flags,
                                                   biasArg, resArg, ldc)
                                } else {
                                    kernels.rowA(kc, rp.baseAddress!, lda, bp.baseAddress!, cp.baseAddress!, ldc, m, n, flags,
                                                 biasArg, resArg, ldc)
                                }
                            }}}}}}
                            // Everything outside the m × n corner must be untouched, bit for bit.
                            for index in c.indices {
                                let (i, j) = (index / ldc, index % ldc)
                                let inside = i < m && j < n
                                let ok = inside ? abs(c[index] - expected[index]) <= 1e-5 * Float(kc + 1) : c[index].bitPattern == start[index].bitPattern
                                if !ok {
                                    failures.append("\(isa) m=\(m) n=\(n) kc=\(kc) packedA=\(packedA) at (\(i), \(j)): \(c[index]) vs \(expected[index])")
                                    break
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(tiles > 0)
        let failed = failures.count  // a count, so a failure report is not the whole list
        #expect(failed == 0, "\(failed) tiles wrong; first: \(failures.prefix(3).joined(separator: "; "))")
    }

    /// Whether a packer writes bit for bit what its portable twin writes into `count` floats.
    static func samePanels(count: Int, portable: (UnsafeMutablePointer<Float>) -> Void,
                           fast: (UnsafeMutablePointer<Float>) -> Void) -> Bool {
        var expected = [Float](repeating: .nan, count: count), actual = expected
        expected.withUnsafeMutableBufferPointer { portable($0.baseAddress!) }
        actual.withUnsafeMutableBufferPointer { fast($0.baseAddress!) }
        return actual.map(\.bitPattern) == expected.map(\.bitPattern)
    }

    @Test func packersEqualThePortableOnes() throws {
        var rng = SeededRandom(seed: 32)
        for isa in GEMMISA.available() {
            let kernels = try GEMMKernels(isa)
            let (mr, nr) = (kernels.mr, kernels.nr)
            for (rows, depth) in [(1, 1), (mr - 1, 7), (mr, 8), (mr + 1, 9), (2 * mr + 5, 23), (3 * mr, 16)] {
                let lda = depth + 2
                let a = rng.uniformArray(count: rows * lda, bound: 1)
                a.withUnsafeBufferPointer { ap in
                    let src = ap.baseAddress!
                    #expect(Self.samePanels(count: (rows + mr - 1) / mr * mr * depth,
                                            portable: { re_pack_a(mr, rows, depth, src, lda, $0) },
                                            fast: { kernels.packA(rows, depth, src, lda, $0) }), "\(isa) pack_a \(rows)×\(depth)")
                    // pack_rows: MR row pointers, some NULL (zero rows), over `depth` floats.
                    let rowPointers: [UnsafePointer<Float>?] = (0..<mr).map { i in i % 3 == 2 || i >= rows ? nil : src + i * lda }
                    rowPointers.withUnsafeBufferPointer { rp in
                        #expect(Self.samePanels(count: mr * depth, portable: { re_pack_rows(mr, rp.baseAddress!, depth, $0) },
                                                fast: { kernels.packRows(rp.baseAddress!, depth, $0) }), "\(isa) pack_rows \(depth)")
                    }
                }
            }
            for (kc, cols) in [(1, 1), (5, nr - 1), (8, nr), (9, nr + 1), (13, 4 * nr + 3), (4, 9 * nr)] {
                let ldb = cols + 3
                let b = rng.uniformArray(count: kc * ldb, bound: 1)
                b.withUnsafeBufferPointer { bp in
                    let src = bp.baseAddress!
                    #expect(Self.samePanels(count: (cols + nr - 1) / nr * nr * kc, portable: { re_pack_b(nr, kc, cols, src, ldb, $0) },
                                            fast: { kernels.packB(kc, cols, src, ldb, $0) }), "\(isa) pack_b \(kc)×\(cols)")
                }
            }
        }
    }
}
