import RankEdge

/// Max, average and global average pooling over NHWC windows.
///
/// Validation requires every padding side to be smaller than the kernel, so with the floor output
/// size every window holds at least one real cell.
extension ReferenceOps {
    /// The largest real cell of each window; padded cells are ignored (not read as zero). NaN propagates.
    static func maxPoolLoops(_ x: Tensor, _ p: PoolAttributes, outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        var out = [Float](repeating: 0, count: outShape.elementCount)
        for b in 0..<n {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let rows = realRange(start: oy * p.stride.h - p.padding.top, length: p.kernel.h, size: h)
                    let cols = realRange(start: ox * p.stride.w - p.padding.left, length: p.kernel.w, size: w)
                    for ch in 0..<c {
                        var m = -Float.infinity
                        for iy in rows {
                            for ix in cols {
                                let v = x.data[((b * h + iy) * w + ix) * c + ch]
                                if v > m || v.isNaN { m = v }
                                if m.isNaN { break }
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * c + ch] = m
                    }
                }
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// The mean of each window. With `countIncludePad` the divisor is, as in PyTorch, the number of
    /// window cells inside the padded extent [−padTop, H + padBottom) × [−padLeft, W + padRight);
    /// with the floor output size that is always the kernel area. Without it, the divisor is the
    /// number of real cells.
    static func avgPoolLoops(_ x: Tensor, _ p: PoolAttributes, outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        var out = [Float](repeating: 0, count: outShape.elementCount)
        for b in 0..<n {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let y0 = oy * p.stride.h - p.padding.top
                    let x0 = ox * p.stride.w - p.padding.left
                    let rows = realRange(start: y0, length: p.kernel.h, size: h)
                    let cols = realRange(start: x0, length: p.kernel.w, size: w)
                    let paddedCells = (min(y0 + p.kernel.h, h + p.padding.bottom) - y0)
                        * (min(x0 + p.kernel.w, w + p.padding.right) - x0)
                    let divisor = p.countIncludePad ? paddedCells : rows.count * cols.count
                    for ch in 0..<c {
                        var sum: Double = 0
                        for iy in rows {
                            for ix in cols { sum += Double(x.data[((b * h + iy) * w + ix) * c + ch]) }
                        }
                        out[((b * oh + oy) * ow + ox) * c + ch] = Float(sum / Double(divisor))
                    }
                }
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// The mean over all H·W positions of each (sample, channel): [N, H, W, C] → [N, 1, 1, C].
    static func globalAvgPoolLoops(_ x: Tensor, outShape: TensorShape) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var out = [Float](repeating: 0, count: outShape.elementCount)
        for b in 0..<n {
            for ch in 0..<c {
                var sum: Double = 0
                for pos in 0..<(h * w) { sum += Double(x.data[(b * h * w + pos) * c + ch]) }
                out[b * c + ch] = Float(sum / Double(h * w))
            }
        }
        return Tensor(shape: outShape, data: out)
    }

    /// The indices of a window [start, start + length) that fall inside [0, size).
    static func realRange(start: Int, length: Int, size: Int) -> Range<Int> {
        let lower = max(start, 0), upper = min(start + length, size)
        return lower < upper ? lower..<upper : lower..<lower
    }
}
