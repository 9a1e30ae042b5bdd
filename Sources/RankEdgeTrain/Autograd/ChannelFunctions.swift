#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RankEdge

/// min(max(x, lo), hi): ReLU6 and ONNX Clip. The gradient passes where lo < x < hi; NaN passes
/// through the forward unchanged, as in the reference executor.
public func clamp(_ x: Variable, lower lo: Float, upper hi: Float) -> Variable {
    let out = TensorStorage(uninitialized: x.count)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    elementwise(x.count) { r in for i in r { let v = xs.p[i]; os.p[i] = v < lo ? lo : (v > hi ? hi : v) } }
    return Variable(shape: x.shape, value: out, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        let dy = SendablePointer(y.grad!), dx = SendablePointer(g)
        elementwise(y.count) { r in
            for i in r {
                let v = xs.p[i]
                let d = (v > lo && v < hi) ? dy.p[i] : 0
                dx.p[i] = fresh ? d : dx.p[i] + d
            }
        }
    }
}

/// Softmax over the last axis. dx = y ⊙ (dy − Σ dy ⊙ y) per row.
public func softmax(_ x: Variable) -> Variable {
    let length = x.shape.last ?? 1
    let rows = length == 0 ? 0 : x.count / length
    let out = TensorStorage(uninitialized: x.count)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    Parallel.forRanges(total: rows) { _, range in
        for row in range {
            let src = xs.p + row * length, dst = os.p + row * length
            var largest = -Float.infinity
            for i in 0..<length { largest = max(largest, src[i]) }
            var total: Double = 0
            for i in 0..<length { let e = expf(src[i] - largest); dst[i] = e; total += Double(e) }
            let inverse = Float(1 / total)
            for i in 0..<length { dst[i] *= inverse }
        }
    }
    return Variable(shape: x.shape, value: out, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        let dy = SendablePointer(y.grad!), dx = SendablePointer(g), ys = SendablePointer(y.value)
        Parallel.forRanges(total: rows) { _, range in
            for row in range {
                let base = row * length
                var dot: Double = 0
                for i in 0..<length { dot += Double(dy.p[base + i]) * Double(ys.p[base + i]) }
                for i in 0..<length {
                    let d = ys.p[base + i] * (dy.p[base + i] - Float(dot))
                    dx.p[base + i] = fresh ? d : dx.p[base + i] + d
                }
            }
        }
    }
}

/// Joins tensors on the last (channel) axis; every other dimension must match.
public func concatChannels(_ xs: [Variable]) -> Variable {
    precondition(!xs.isEmpty, "concatChannels: no inputs")
    let lead = Array(xs[0].shape.dropLast())
    precondition(xs.allSatisfy { Array($0.shape.dropLast()) == lead }, "concatChannels: shapes \(xs.map(\.shape)) differ off the last axis")
    let widths = xs.map { $0.shape.last! }
    let total = widths.reduce(0, +)
    let rows = lead.reduce(1, *)
    let out = TensorStorage(uninitialized: rows * total)
    var offsets: [Int] = [], offset = 0
    for w in widths { offsets.append(offset); offset += w }
    let os = SendablePointer(out)
    for (k, x) in xs.enumerated() {
        let src = SendablePointer(x.value), w = widths[k], o = offsets[k]
        Parallel.forRanges(total: rows) { _, range in
            for row in range { (os.p + row * total + o).update(from: src.p + row * w, count: w) }
        }
    }
    return Variable(shape: lead + [total], value: out, parents: xs) { y in
        let dy = SendablePointer(y.grad!)
        for (k, x) in xs.enumerated() where x.requiresGrad {
            let (g, fresh) = x.gradForOverwrite()
            let dx = SendablePointer(g), w = widths[k], o = offsets[k]
            Parallel.forRanges(total: rows) { _, range in
                for row in range {
                    let src = dy.p + row * total + o, dst = dx.p + row * w
                    if fresh { dst.update(from: src, count: w) } else { for i in 0..<w { dst[i] += src[i] } }
                }
            }
        }
    }
}

/// Sigmoid, Tanh, HardSigmoid, HardSwish or SiLU, elementwise; dx = f′(x) · dy, with f′ from
/// `UnaryFunction.derivative` (the same definitions the runtime is tested against).
public func unary(_ x: Variable, _ f: UnaryFunction) -> Variable {
    let out = TensorStorage(uninitialized: x.count)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    elementwise(x.count) { r in for i in r { os.p[i] = f(xs.p[i]) } }
    return Variable(shape: x.shape, value: out, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        let dy = SendablePointer(y.grad!), dx = SendablePointer(g)
        elementwise(y.count) { r in
            for i in r {
                let d = f.derivative(xs.p[i]) * dy.p[i]
                dx.p[i] = fresh ? d : dx.p[i] + d
            }
        }
    }
}
