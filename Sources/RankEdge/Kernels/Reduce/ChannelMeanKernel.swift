/// The mean over the last axis of each position (`ChannelMeanStep`).
final class ChannelMeanKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["channel-mean"] }
    var name: String { "channel-mean" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ChannelMeanKernel? {
        r.isOp("channelMean") ? ChannelMeanKernel() : nil
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard case .success(let out) = Graph.outputShape(op: .channelMean, inputs: [shapes.input], weights: []), out == shapes.output else {
            throw d.fail("channel mean does not fit \(shapes.input) → \(shapes.output)")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let c = b.shapes.input.dims.last!
        return ChannelMeanStep(rows: b.shapes.input.elementCount / max(c, 1), channels: c, x: b.x, y: b.y)
    }
}

/// One sum per row of the channel axis; rows are shared between threads.
final class ChannelMeanStep: ExecutionStep, ParallelWork {
    let rows: Int, channels: Int
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(rows: Int, channels: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        self.rows = rows; self.channels = channels; self.x = x; self.y = y
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: rows, work: rows * channels, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let c = channels
        let scale = 1 / Float(c)
        for r in split.range(task) {
            let src = x + r * c
            var sum: Float = 0
            for k in 0..<c { sum += src[k] }
            y[r] = sum * scale
        }
    }
}
