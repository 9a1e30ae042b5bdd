import CLinalg

public enum LinalgError: Error, CustomStringConvertible {
    case svdFailed(rows: Int, cols: Int, status: Int32)
    public var description: String {
        switch self {
        case .svdFailed(let r, let c, let status): "SVD of a \(r)x\(c) matrix failed (status \(status))"
        }
    }
}

/// Thin SVD of a row-major matrix: m = u · diag(s) · vt, r = min(rows, cols), s descending.
public struct SVD {
    public let u: [Float]   // rows × r
    public let s: [Float]   // r
    public let vt: [Float]  // r × cols
    public let rows: Int, cols: Int

    public var rank: Int { min(rows, cols) }

    public init(_ m: [Float], rows: Int, cols: Int) throws {
        precondition(m.count == rows * cols, "SVD: \(m.count) values for a \(rows)x\(cols) matrix")
        let r = min(rows, cols)
        var u = [Float](repeating: 0, count: rows * r), s = [Float](repeating: 0, count: r), vt = [Float](repeating: 0, count: r * cols)
        let status = clinalg_svd(m, Int32(rows), Int32(cols), &u, &s, &vt)
        guard status == 0 else { throw LinalgError.svdFailed(rows: rows, cols: cols, status: status) }
        self.u = u; self.s = s; self.vt = vt; self.rows = rows; self.cols = cols
    }
}
