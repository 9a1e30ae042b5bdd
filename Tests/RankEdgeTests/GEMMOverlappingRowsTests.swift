import Testing
@testable import RankEdge

/// A with lda < K (rows overlapping), as the shifted-row convolution reads its padded input.
@Suite struct GEMMOverlappingRowsTests {
    @Test func overlappingRowsMatchTheNaiveProduct() throws {
        var rng = SeededRandom(seed: 12)
        for (m, n, k, lda) in [(37, 16, 48, 16), (100, 9, 27, 9), (13, 40, 96, 32), (250, 7, 21, 7)] {
            let a = rng.uniformArray(count: (m - 1) * lda + k, bound: 1)
            let b = rng.uniformArray(count: k * n, bound: 1)
            var expected = [Float](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n { var s: Double = 0; for p in 0..<k { s += Double(a[i * lda + p]) * Double(b[p * n + j]) }; expected[i * n + j] = Float(s) } }
            for isa in GEMMISA.available() {
                var c = [Float](repeating: 0, count: m * n)
                let packed = try b.withUnsafeBufferPointer { try PackedMatrixB(k: k, n: n, b: $0.baseAddress!, ldb: n, isa: isa) }
                try a.withUnsafeBufferPointer { ap in
                    try c.withUnsafeMutableBufferPointer { cp in
                        try gemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, packedB: packed, c: cp.baseAddress!, ldc: n)
                    }
                }
                let error = zip(c, expected).map { abs($0 - $1) }.max()!
                #expect(error < 1e-4, "m=\(m) n=\(n) k=\(k) lda=\(lda) \(isa): max error \(error)")
            }
        }
    }
}
