#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax over the last axis, shifted by the row maximum so large logits do not overflow.
final class SoftmaxStep: ExecutionStep {
    let rows: Int, length: Int
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    init(rows: Int, length: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.rows = rows; self.length = length; self.x = x; self.y = y
    }

    func execute(_ context: StepContext) {
        for r in 0..<rows {
            let src = x + r * length, dst = y + r * length
            var largest = -Float.infinity
            for i in 0..<length { largest = max(largest, src[i]) }
            var total: Float = 0
            for i in 0..<length { let e = expf(src[i] - largest); dst[i] = e; total += e }
            let scale = 1 / total
            for i in 0..<length { dst[i] *= scale }
        }
    }
}

/// Concatenation on the channel (last) axis: each output row is the inputs' rows side by side.
final class ConcatStep: ExecutionStep, ParallelWork {
    let rows: Int
    let inputs: [(pointer: UnsafePointer<Float>, width: Int)]
    let y: UnsafeMutablePointer<Float>
    let outWidth: Int
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)
    init(rows: Int, inputs: [(pointer: UnsafePointer<Float>, width: Int)], y: UnsafeMutablePointer<Float>) {
        self.rows = rows; self.inputs = inputs; self.y = y
        outWidth = inputs.reduce(0) { $0 + $1.width }
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: rows, work: rows * outWidth, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (y, outWidth) = (y, outWidth)
        inputs.withUnsafeBufferPointer { parts in
            for r in split.range(task) {
                var dst = y + r * outWidth
                for part in parts {
                    dst.update(from: part.pointer + r * part.width, count: part.width)
                    dst += part.width
                }
            }
        }
    }
}

/// y[row, j] = x[row, indices[j]]: a channel shuffle or slice. A slice is one contiguous copy per
/// row; a shuffle reads each row (a few hundred channels) from cache.
final class ChannelGatherStep: ExecutionStep, ParallelWork {
    let rows: Int, inWidth: Int
    let indices: [Int]
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    /// The first index when the indices are consecutive (a slice).
    private let contiguousStart: Int?
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(rows: Int, inWidth: Int, indices: [Int], x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.rows = rows; self.inWidth = inWidth; self.indices = indices; self.x = x; self.y = y
        contiguousStart = indices.indices.allSatisfy({ indices[$0] == indices[0] + $0 }) ? indices.first : nil
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: rows, work: rows * indices.count, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (x, y, inWidth, width) = (x, y, inWidth, indices.count)
        if let start = contiguousStart {
            for r in split.range(task) { (y + r * width).update(from: x + r * inWidth + start, count: width) }
            return
        }
        indices.withUnsafeBufferPointer { idx in
            for r in split.range(task) {
                let src = x + r * inWidth, dst = y + r * width
                for j in 0..<width { dst[j] = src[idx[j]] }
            }
        }
    }
}
