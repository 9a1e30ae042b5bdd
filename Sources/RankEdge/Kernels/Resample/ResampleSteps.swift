/// Pad and Resize steps on NHWC: each output cell is built from whole channel vectors, so the
/// inner loop runs along the contiguous channel axis; output rows are shared between threads.
final class PadStep: ExecutionStep, ParallelWork {
    let n: Int, h: Int, w: Int, c: Int
    /// For each output row / column the input one it copies, −1 for the constant.
    let rows: [Int], cols: [Int]
    let fill: Float
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(n: Int, h: Int, w: Int, c: Int, rows: [Int], cols: [Int], fill: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.n = n; self.h = h; self.w = w; self.c = c; self.rows = rows; self.cols = cols; self.fill = fill; self.x = x; self.y = y
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: n * rows.count, work: n * rows.count * cols.count * c, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (oh, ow, c, fill) = (rows.count, cols.count, c, fill)
        for row in split.range(task) {
            let (b, oy) = (row / oh, row % oh)
            let out = y + row * ow * c
            let iy = rows[oy]
            guard iy >= 0 else { out.update(repeating: fill, count: ow * c); continue }
            let src = x + (b * h + iy) * w * c
            var ox = 0
            while ox < ow {
                let ix = cols[ox]
                if ix < 0 { (out + ox * c).update(repeating: fill, count: c); ox += 1; continue }
                // A run of consecutive source columns (the unpadded middle) is one copy.
                var end = ox + 1
                while end < ow && cols[end] == ix + (end - ox) { end += 1 }
                (out + ox * c).update(from: src + ix * c, count: (end - ox) * c)
                ox = end
            }
        }
    }
}

/// Nearest or bilinear resizing: per output row the two input rows and their blend, per output
/// column the two input columns and theirs, built once at bind time.
final class ResizeStep: ExecutionStep, ParallelWork {
    /// Input cells low and high, blended as (1 − t)·low + t·high (nearest: low only).
    struct Tap { let low: Int, high: Int, t: Float }
    let n: Int, h: Int, w: Int, c: Int
    let rows: [Tap], cols: [Tap]
    let nearest: Bool
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(n: Int, h: Int, w: Int, c: Int, rows: [Tap], cols: [Tap], nearest: Bool, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.n = n; self.h = h; self.w = w; self.c = c; self.rows = rows; self.cols = cols; self.nearest = nearest; self.x = x; self.y = y
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: n * rows.count, work: n * rows.count * cols.count * c * (nearest ? 1 : 4), threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (oh, ow, c) = (rows.count, cols.count, c)
        for row in split.range(task) {
            let (b, oy) = (row / oh, row % oh)
            let r = rows[oy]
            let out = y + row * ow * c
            let top = x + (b * h + r.low) * w * c, bottom = x + (b * h + r.high) * w * c
            for ox in 0..<ow {
                let q = cols[ox]
                let dst = out + ox * c
                if nearest {
                    dst.update(from: top + q.low * c, count: c)
                    continue
                }
                let (a, bb, cc, d) = (top + q.low * c, top + q.high * c, bottom + q.low * c, bottom + q.high * c)
                let (ty, tx) = (r.t, q.t)
                for k in 0..<c {
                    let upper = a[k] + tx * (bb[k] - a[k])
                    let lower = cc[k] + tx * (d[k] - cc[k])
                    dst[k] = upper + ty * (lower - upper)
                }
            }
        }
    }
}
