import RankEdge

/// Row-major float matrix products for the decompositions, on the runtime's GEMM (the products of
/// a Tucker-2 fit of a 512×512×3×3 kernel are billions of multiply-adds).
enum MatrixProducts {
    /// A[m×k] · B, with B given as [k×n] or, when `transposedB`, as [n×k].
    static func multiply(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int, transposedB: Bool = false,
                         threads: Int = 2) -> [Float] {
        precondition(a.count == m * k && b.count == k * n, "MatrixProducts: operand sizes do not match \(m)x\(k)x\(n)")
        var c = [Float](repeating: 0, count: m * n)
        guard m > 0, n > 0, k > 0 else { return c }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    // Sizes and leading dimensions are consistent by construction; GEMM cannot fail here.
                    try! gemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!,
                              ldb: transposedB ? k : n, bTransposed: transposedB, c: pc.baseAddress!, ldc: n,
                              threads: threads)
                }
            }
        }
        return c
    }

    /// The transpose of a row-major rows × cols matrix.
    static func transpose(_ a: [Float], rows: Int, cols: Int) -> [Float] {
        var t = [Float](repeating: 0, count: a.count)
        for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = a[i * cols + j] } }
        return t
    }

    /// ‖a − b‖_F / ‖a‖_F in double precision (0 when a is zero and b equals it).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var diff = 0.0, norm = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            diff += d * d
            norm += Double(a[i]) * Double(a[i])
        }
        return norm > 0 ? (diff / norm).squareRoot() : (diff > 0 ? .infinity : 0)
    }
}
