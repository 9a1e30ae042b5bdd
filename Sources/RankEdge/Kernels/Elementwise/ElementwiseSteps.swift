import CRankEdgeKernels

/// Elementwise steps that were not fused into a producer's epilogue: add (with an optional
/// activation after it, as in a residual block), a standalone ReLU / ReLU6, and an unfolded batch
/// norm. Output may alias an input (the planner runs them in place when that input dies here).
/// Each is its own `ParallelWork`: threads take chunks of the elements.
final class AddStep: ExecutionStep, ParallelWork {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let count: Int
    let activation: GEMMActivation
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(a: UnsafePointer<Float>, b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, activation: GEMMActivation) {
        self.a = a; self.b = b; self.y = y; self.count = count; self.activation = activation
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: count, work: count, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (a, b, y) = (a, b, y)
        let range = split.range(task)
        switch activation {
        case .none: for i in range { y[i] = a[i] + b[i] }
        case .relu: for i in range { let v = a[i] + b[i]; y[i] = v < 0 ? 0 : v }
        case .relu6: for i in range { let v = a[i] + b[i]; y[i] = v < 0 ? 0 : (v > 6 ? 6 : v) }
        // Not fused here (the plan runs functions after this step); the definition, for completeness.
        case .function(let f): for i in range { y[i] = f(a[i] + b[i]) }
        }
    }
}

final class ActivationStep: ExecutionStep, ParallelWork {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let count: Int
    let activation: GEMMActivation
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, activation: GEMMActivation) {
        self.x = x; self.y = y; self.count = count; self.activation = activation
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: count, work: count, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (x, y) = (x, y)
        let range = split.range(task)
        switch activation {
        // `v < 0 ? 0 : v` rather than max(v, 0): NaN passes through, as in the reference.
        case .none: for i in range { y[i] = x[i] }
        case .relu: for i in range { let v = x[i]; y[i] = v < 0 ? 0 : v }
        case .relu6: for i in range { let v = x[i]; y[i] = v < 0 ? 0 : (v > 6 ? 6 : v) }
        case .function(let f): for i in range { y[i] = f(x[i]) }
        }
    }
}

/// y = x·scale + shift per channel (last axis): an inference batch norm that had no conv or
/// linear to fold into (one after a ReLU, or on a graph input).
final class ChannelAffineStep: ExecutionStep, ParallelWork {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let rows: Int, channels: Int
    let scale: FloatStorage, shift: FloatStorage
    let activation: GEMMActivation
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, channels: Int,
         scale: FloatStorage, shift: FloatStorage, activation: GEMMActivation) {
        self.x = x; self.y = y; self.rows = rows; self.channels = channels
        self.scale = scale; self.shift = shift; self.activation = activation
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: rows, work: rows * channels, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let (x, y, c) = (x, y, channels)
        let (scale, shift) = (UnsafePointer(scale.pointer), UnsafePointer(shift.pointer))
        // One loop per activation: the switch stays out of the element loop (comparing the enum,
        // which has a payload case, per element costs more than the affine itself).
        for r in split.range(task) {
            let src = x + r * c, dst = y + r * c
            switch activation {
            case .none: for ch in 0..<c { dst[ch] = src[ch] * scale[ch] + shift[ch] }
            case .relu: for ch in 0..<c { let v = src[ch] * scale[ch] + shift[ch]; dst[ch] = v < 0 ? 0 : v }
            case .relu6: for ch in 0..<c { let v = src[ch] * scale[ch] + shift[ch]; dst[ch] = v < 0 ? 0 : (v > 6 ? 6 : v) }
            case .function(let f): for ch in 0..<c { dst[ch] = f(src[ch] * scale[ch] + shift[ch]) }
            }
        }
    }
}

/// y[n, p, c] = a[n, p, c] · gate[n, c]: each sample's rows (positions) scaled channel by channel
/// by the C kernel (re_scale_rows). Equal shapes are the case of one sample with one row as long as
/// the tensor, shared between threads in element chunks.
final class MultiplyStep: ExecutionStep, ParallelWork {
    let a: UnsafePointer<Float>, gate: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let samples: Int, rowsPerSample: Int, channels: Int
    let isa: Int32
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(a: UnsafePointer<Float>, gate: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, samples: Int, rowsPerSample: Int, channels: Int,
         isa: GEMMISA) {
        self.a = a; self.gate = gate; self.y = y
        self.samples = samples; self.rowsPerSample = rowsPerSample; self.channels = channels
        self.isa = Int32(isa.cValue.rawValue)
    }

    func execute(_ context: StepContext) {
        let rows = samples * rowsPerSample
        // Equal shapes are one long row: share it in element chunks instead.
        split = rows == 1 ? ChunkSplit(count: channels, work: channels, threads: context.threads)
                          : ChunkSplit(count: rows, work: rows * channels, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let r = split.range(task)
        if samples * rowsPerSample == 1 {
            re_scale_rows(isa, a + r.lowerBound, gate + r.lowerBound, y + r.lowerBound, r.count, 1, 0, 1)
        } else {
            re_scale_rows(isa, a, gate, y, channels, rowsPerSample, r.lowerBound, r.upperBound)
        }
    }
}

/// Layer norm of each row (a position's channels) by the C kernel (re_layer_norm_rows): the mean
/// and variance in two vectorised passes over the row, then the normalised, scaled and shifted
/// values; rows are shared between threads. In place is safe: a row is read whole before it is
/// written. (A Swift loop here summed serially and took 2.7× ONNX Runtime's time on ConvNeXt-T.)
final class LayerNormStep: ExecutionStep, ParallelWork {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let rows: Int, channels: Int
    let epsilon: Float
    let scale: FloatStorage, bias: FloatStorage
    let isa: GEMMISA
    private var split = ChunkSplit(count: 0, work: 0, threads: 1)

    init(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, channels: Int, epsilon: Float,
         scale: FloatStorage, bias: FloatStorage, isa: GEMMISA) {
        self.x = x; self.y = y; self.rows = rows; self.channels = channels; self.epsilon = epsilon
        self.scale = scale; self.bias = bias; self.isa = isa
    }

    func execute(_ context: StepContext) {
        split = ChunkSplit(count: rows, work: 4 * rows * channels, threads: context.threads)
        context.run(self, tasks: split.chunks)
    }

    func run(task: Int) {
        let r = split.range(task)
        re_layer_norm_rows(Int32(isa.cValue.rawValue), x, y, channels, scale.pointer, bias.pointer, epsilon, r.lowerBound, r.upperBound)
    }
}
