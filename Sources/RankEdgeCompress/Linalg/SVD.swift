import CLinalg

public enum LinalgError: Error, CustomStringConvertible, Sendable {
    case svdFailed(rows: Int, cols: Int, status: Int32)
    case eigenFailed(size: Int, status: Int32)
    case notFinite(what: String)
    public var description: String {
        switch self {
        case .svdFailed(let r, let c, let status): "SVD of a \(r)x\(c) matrix failed (status \(status))"
        case .eigenFailed(let n, let status): "eigendecomposition of a \(n)x\(n) matrix failed (status \(status))"
        case .notFinite(let what): "\(what) holds NaN or infinity"
        }
    }
}

/// Thin SVD of a row-major matrix: m = u · diag(s) · vt, r = min(rows, cols), s descending.
public struct SVD: Sendable {
    public let u: [Float]   // rows × r
    public let s: [Float]   // r
    public let vt: [Float]  // r × cols
    public let rows: Int, cols: Int

    public var rank: Int { min(rows, cols) }

    public init(_ m: [Float], rows: Int, cols: Int) throws {
        precondition(m.count == rows * cols, "SVD: \(m.count) values for a \(rows)x\(cols) matrix")
        guard m.allSatisfy(\.isFinite) else { throw LinalgError.notFinite(what: "a \(rows)x\(cols) matrix") }
        let r = min(rows, cols)
        var u = [Float](repeating: 0, count: rows * r), s = [Float](repeating: 0, count: r), vt = [Float](repeating: 0, count: r * cols)
        let status = clinalg_svd(m, Int32(rows), Int32(cols), &u, &s, &vt)
        guard status == 0 else { throw LinalgError.svdFailed(rows: rows, cols: cols, status: status) }
        self.u = u; self.s = s; self.vt = vt; self.rows = rows; self.cols = cols
    }

    /// The first `rank` columns of u, row-major rows × rank.
    public func leftVectors(_ rank: Int) -> [Float] {
        let r = min(rows, cols)
        var out = [Float](repeating: 0, count: rows * rank)
        for i in 0..<rows { for l in 0..<rank { out[i * rank + l] = u[i * r + l] } }
        return out
    }
}
