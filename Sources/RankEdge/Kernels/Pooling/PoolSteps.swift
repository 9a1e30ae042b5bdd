/// Max, average and global average pooling on NHWC: the inner loops run along the contiguous
/// channel axis, so they vectorise; rows of the output are shared between threads.
struct PoolGeometry {
    let n: Int, h: Int, w: Int, c: Int, oh: Int, ow: Int
    let attributes: PoolAttributes

    /// The real (unpadded) input rows or columns a window starting at `start` covers.
    @inline(__always)
    static func realRange(start: Int, length: Int, size: Int) -> Range<Int> {
        let lower = max(start, 0), upper = min(start + length, size)
        return lower < upper ? lower..<upper : lower..<lower
    }
}

/// Max or average pooling over k×k windows: one step type, so the row partition and the window
/// bounds are written once and only the per-window reduction differs.
final class WindowPoolStep: ExecutionStep, ParallelWork {
    enum Reduction { case max, average }
    let g: PoolGeometry
    let reduction: Reduction
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)
    init(_ g: PoolGeometry, _ reduction: Reduction, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.g = g; self.reduction = reduction; self.x = x; self.y = y
    }

    func execute(_ context: StepContext) {
        let p = g.attributes
        split = ChunkSplit(count: g.n * g.oh, work: g.n * g.oh * g.ow * g.c * p.kernel.h * p.kernel.w, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let g = g
        let p = g.attributes
        for row in split.range(task) {
            let (b, oy) = (row / g.oh, row % g.oh)
            let y0 = oy * p.stride.h - p.padding.top
            let ys = PoolGeometry.realRange(start: y0, length: p.kernel.h, size: g.h)
            for ox in 0..<g.ow {
                let x0 = ox * p.stride.w - p.padding.left
                let xs = PoolGeometry.realRange(start: x0, length: p.kernel.w, size: g.w)
                let out = y + ((b * g.oh + oy) * g.ow + ox) * g.c
                switch reduction {
                case .max: maxWindow(image: b, ys, xs, into: out)
                case .average:
                    // The divisor rule of the reference: padded extent with countIncludePad, real cells without.
                    let padded = (min(y0 + p.kernel.h, g.h + p.padding.bottom) - y0) * (min(x0 + p.kernel.w, g.w + p.padding.right) - x0)
                    averageWindow(image: b, ys, xs, divisor: p.countIncludePad ? padded : ys.count * xs.count, into: out)
                }
            }
        }
    }

    /// Eight channels at a time in a register across the whole window, stored once: the scalar
    /// form re-read and re-wrote the output for every tap (it cannot keep `out` in registers, since
    /// it may alias `x` as far as the compiler knows).
    @inline(__always)
    private func maxWindow(image b: Int, _ ys: Range<Int>, _ xs: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        guard !ys.isEmpty && !xs.isEmpty else { return }
        let c = g.c
        let rowFloats = g.w * c
        let corner = x + ((b * g.h + ys.lowerBound) * g.w + xs.lowerBound) * c
        let (rows, cols) = (ys.count, xs.count)
        var ch = 0
        while ch + 8 <= c {
            var m = UnsafeRawPointer(corner + ch).loadUnaligned(as: SIMD8<Float>.self)
            for r in 0..<rows {
                let src = corner + r * rowFloats + ch
                for q in 0..<cols {
                    let v = UnsafeRawPointer(src + q * c).loadUnaligned(as: SIMD8<Float>.self)
                    // Takes v when it is larger or NaN, so NaN propagates as in the reference.
                    m.replace(with: v, where: (v .> m) .| (v .!= v))
                }
            }
            UnsafeMutableRawPointer(out + ch).storeBytes(of: m, as: SIMD8<Float>.self)
            ch += 8
        }
        while ch < c {
            var m = corner[ch]
            for r in 0..<rows {
                for q in 0..<cols {
                    let v = corner[r * rowFloats + q * c + ch]
                    m = (v > m || v != v) ? v : m
                }
            }
            out[ch] = m
            ch += 1
        }
    }

    @inline(__always)
    private func averageWindow(image b: Int, _ ys: Range<Int>, _ xs: Range<Int>, divisor: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: g.c)
        for iy in ys {
            for ix in xs {
                let src = x + ((b * g.h + iy) * g.w + ix) * g.c
                for ch in 0..<g.c { out[ch] += src[ch] }
            }
        }
        let scale = 1 / Float(divisor)
        for ch in 0..<g.c { out[ch] *= scale }
    }
}

final class GlobalAvgPoolStep: ExecutionStep {
    let n: Int, positions: Int, c: Int
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    init(n: Int, positions: Int, c: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.n = n; self.positions = positions; self.c = c; self.x = x; self.y = y
    }

    func execute(_ context: StepContext) {
        let (n, positions, c, x, y) = (n, positions, c, x, y)
        let scale = 1 / Float(positions)
        for b in 0..<n {
            let out = y + b * c
            out.update(repeating: 0, count: c)
            for pos in 0..<positions {
                let src = x + (b * positions + pos) * c
                for ch in 0..<c { out[ch] += src[ch] }
            }
            for ch in 0..<c { out[ch] *= scale }
        }
    }
}
