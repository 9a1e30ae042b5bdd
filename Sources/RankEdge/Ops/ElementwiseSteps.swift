/// Elementwise steps that were not fused into a producer's epilogue: add (with an optional
/// activation after it, as in a residual block) and a standalone ReLU / ReLU6. Output may alias
/// an input (the planner runs them in place when that input dies here).
final class AddStep: ExecutionStep {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let count: Int
    let activation: GEMMActivation

    init(a: UnsafePointer<Float>, b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, activation: GEMMActivation) {
        self.a = a; self.b = b; self.y = y; self.count = count; self.activation = activation
    }

    func execute(_ context: StepContext) {
        let (a, b, y, act) = (a, b, y, activation)
        context.parallelChunks(count, work: count) { range in
            switch act {
            case .none: for i in range { y[i] = a[i] + b[i] }
            case .relu: for i in range { let v = a[i] + b[i]; y[i] = v < 0 ? 0 : v }
            case .relu6: for i in range { let v = a[i] + b[i]; y[i] = v < 0 ? 0 : (v > 6 ? 6 : v) }
            }
        }
    }
}

final class ActivationStep: ExecutionStep {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let count: Int
    let activation: GEMMActivation

    init(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, activation: GEMMActivation) {
        self.x = x; self.y = y; self.count = count; self.activation = activation
    }

    func execute(_ context: StepContext) {
        let (x, y, act) = (x, y, activation)
        context.parallelChunks(count, work: count) { range in
            switch act {
            // `v < 0 ? 0 : v` rather than max(v, 0): NaN passes through, as in the reference.
            case .none: for i in range { y[i] = x[i] }
            case .relu: for i in range { let v = x[i]; y[i] = v < 0 ? 0 : v }
            case .relu6: for i in range { let v = x[i]; y[i] = v < 0 ? 0 : (v > 6 ? 6 : v) }
            }
        }
    }
}

/// Copies a tensor (a graph output that is also an input or another output's alias).
final class CopyStep: ExecutionStep {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let count: Int
    init(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) { self.x = x; self.y = y; self.count = count }
    func execute(_ context: StepContext) { if x != UnsafePointer(y) { y.update(from: x, count: count) } }
}

/// y = x·scale + shift per channel (last axis): an inference batch norm that had no conv or
/// linear to fold into (one after a ReLU, or on a graph input).
final class ChannelAffineStep: ExecutionStep {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let rows: Int, channels: Int
    let scale: FloatStorage, shift: FloatStorage
    let activation: GEMMActivation

    init(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, channels: Int,
         scale: FloatStorage, shift: FloatStorage, activation: GEMMActivation) {
        self.x = x; self.y = y; self.rows = rows; self.channels = channels
        self.scale = scale; self.shift = shift; self.activation = activation
    }

    func execute(_ context: StepContext) {
        let (x, y, c, act) = (x, y, channels, activation)
        let (scale, shift) = (UnsafePointer(scale.pointer), UnsafePointer(shift.pointer))
        context.parallelChunks(rows, work: rows * c) { range in
            for r in range {
                let src = x + r * c, dst = y + r * c
                for ch in 0..<c {
                    let v = src[ch] * scale[ch] + shift[ch]
                    dst[ch] = act == .none ? v : (v < 0 ? 0 : (act == .relu6 && v > 6 ? 6 : v))
                }
            }
        }
    }
}
