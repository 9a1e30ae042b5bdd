import CLinalg

/// Eigendecomposition of a symmetric matrix (a Gram matrix, in practice), largest eigenvalue first.
public struct SymmetricEigen: Sendable {
    /// Eigenvalues, descending.
    public let values: [Double]
    /// Row-major n × n; column l is the eigenvector of values[l].
    public let vectors: [Double]
    public let n: Int

    public init(_ a: [Double], n: Int) throws {
        precondition(a.count == n * n, "SymmetricEigen: \(a.count) values for a \(n)x\(n) matrix")
        guard a.allSatisfy(\.isFinite) else { throw LinalgError.notFinite(what: "a \(n)x\(n) Gram matrix") }
        var w = [Double](repeating: 0, count: n), v = [Double](repeating: 0, count: n * n)
        let status = clinalg_symmetric_eigen(a, Int32(n), &w, &v)
        guard status == 0 else { throw LinalgError.eigenFailed(size: n, status: status) }
        values = w; vectors = v; self.n = n
    }

    /// The first `count` eigenvectors as a row-major n × count matrix.
    public func leadingVectors(_ count: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * count)
        for i in 0..<n { for l in 0..<count { out[i * count + l] = vectors[i * n + l] } }
        return out
    }
}

/// The smallest r whose leading values (non-negative weights, descending) hold at least `fraction`
/// of the total: energy rank selection for singular values (squared) and Gram eigenvalues.
public func energyRank(_ weights: [Double], fraction: Double) -> Int {
    let total = weights.reduce(0) { $0 + max($1, 0) }
    guard total > 0 else { return 1 }
    var sum = 0.0
    for (i, w) in weights.enumerated() {
        sum += max(w, 0)
        if sum >= fraction * total * (1 - 1e-12) { return i + 1 }
    }
    return weights.count
}
