import RankEdge

/// The oracle every GEMM path is tested against: the textbook triple loop, accumulating in Double
/// in index order, then the epilogue exactly as `GEMMEpilogue` defines it. Same arguments and
/// layout as `gemm`. Slow by design; never used outside tests and checks.
public func naiveGEMM(m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, bTransposed: Bool = false,
                      c: UnsafeMutablePointer<Float>, ldc: Int,
                      epilogue: GEMMEpilogue = .none) {
    let residualStride = epilogue.residualStride == 0 ? ldc : epilogue.residualStride
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let bValue = bTransposed ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(a[i * lda + p]) * Double(bValue)
            }
            if epilogue.accumulate { sum += Double(c[i * ldc + j]) }
            if let bias = epilogue.bias { sum += Double(bias[j]) }
            if let residual = epilogue.residual { sum += Double(residual[i * residualStride + j]) }
            c[i * ldc + j] = epilogue.activation.apply(Float(sum))
        }
    }
}
