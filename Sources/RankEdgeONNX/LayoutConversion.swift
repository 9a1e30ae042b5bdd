/// Moves weights and flattened features between ONNX's channel-first layouts and RankEdge's
/// channel-last ones.
///
/// A flattened feature map is where the two disagree beyond a transpose: ONNX flattens
/// [N, C, H, W] in C·H·W order, RankEdge flattens [N, H, W, C] in H·W·C order, so the same
/// features sit in different columns. A "column order" records this for a 2-D tensor: RankEdge
/// column j holds ONNX column order[j]. Weights that read such a tensor (Gemm/MatMul columns,
/// per-feature batch-norm parameters) are reordered with it.
enum LayoutConversion {
    /// OIHW [o, i, kh, kw] → OHWI [o, kh, kw, i].
    static func ohwi(fromOIHW x: [Float], o: Int, i: Int, kh: Int, kw: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for a in 0..<o {
            for c in 0..<i {
                for r in 0..<kh {
                    for s in 0..<kw {
                        y[((a * kh + r) * kw + s) * i + c] = x[((a * i + c) * kh + r) * kw + s]
                    }
                }
            }
        }
        return y
    }

    /// OHWI [o, kh, kw, i] → OIHW [o, i, kh, kw].
    static func oihw(fromOHWI x: [Float], o: Int, kh: Int, kw: Int, i: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for a in 0..<o {
            for r in 0..<kh {
                for s in 0..<kw {
                    for c in 0..<i {
                        y[((a * i + c) * kh + r) * kw + s] = x[((a * kh + r) * kw + s) * i + c]
                    }
                }
            }
        }
        return y
    }

    /// NCHW dims → NHWC dims (and the reverse for the other helper).
    static func nhwc(fromNCHW d: [Int]) -> [Int] { [d[0], d[2], d[3], d[1]] }
    static func nchw(fromNHWC d: [Int]) -> [Int] { [d[0], d[3], d[1], d[2]] }

    /// The column order of a [h, w, c] feature map flattened channel-last, seen from a channel-first
    /// flatten: RankEdge column (y·w + x)·c + k holds ONNX column (k·h + y)·w + x.
    static func flattenOrder(c: Int, h: Int, w: Int) -> [Int] {
        var order = [Int](repeating: 0, count: c * h * w)
        for y in 0..<h {
            for x in 0..<w {
                for k in 0..<c {
                    order[(y * w + x) * c + k] = (k * h + y) * w + x
                }
            }
        }
        return order
    }

    static func isIdentity(_ order: [Int]) -> Bool {
        order.indices.allSatisfy { order[$0] == $0 }
    }

    /// Row-major [rows, order.count] matrix m → result with result[r, j] = m[r, order[j]].
    static func gatherColumns(_ m: [Float], rows: Int, order: [Int]) -> [Float] {
        let cols = order.count
        var y = [Float](repeating: 0, count: m.count)
        for r in 0..<rows {
            for j in 0..<cols { y[r * cols + j] = m[r * cols + order[j]] }
        }
        return y
    }

    /// The inverse of `gatherColumns`: result[r, order[j]] = m[r, j].
    static func scatterColumns(_ m: [Float], rows: Int, order: [Int]) -> [Float] {
        let cols = order.count
        var y = [Float](repeating: 0, count: m.count)
        for r in 0..<rows {
            for j in 0..<cols { y[r * cols + order[j]] = m[r * cols + j] }
        }
        return y
    }

    /// Row-major [rows, cols] → [cols, rows].
    static func transpose(_ m: [Float], rows: Int, cols: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m.count)
        for r in 0..<rows {
            for c in 0..<cols { y[c * rows + r] = m[r * cols + c] }
        }
        return y
    }
}
