/// y[i] = x[indices[i]] as a tensor of `shape`: rearranges weights between layouts (e.g. rank
/// factors into grouped-conv kernels) inside the autodiff graph. Gradients scatter-add back.
public func gather(_ x: Variable, indices: [Int], shape: [Int]) -> Variable {
    precondition(indices.count == shape.reduce(1, *), "gather: \(indices.count) indices for shape \(shape)")
    precondition(indices.allSatisfy { $0 >= 0 && $0 < x.count }, "gather: index outside 0..<\(x.count)")
    let out = TensorStorage(uninitialized: indices.count)
    for (i, src) in indices.enumerated() { out[i] = x.value[src] }
    return Variable(shape: shape, value: out, parents: [x]) { y in
        let dx = x.gradPointer(), dy = y.grad!.pointer
        for (i, src) in indices.enumerated() { dx[src] += dy[i] }
    }
}

/// Reorders the channels (last axis) of every pixel: y[p, j] = x[p, permutation[j]].
public func permuteChannels(_ x: Variable, _ permutation: [Int]) -> Variable {
    let c = x.shape.last!
    precondition(permutation.count == c && Set(permutation).count == c && permutation.allSatisfy { $0 >= 0 && $0 < c },
                 "permuteChannels: not a permutation of \(c) channels")
    let pixels = x.count / c
    let out = TensorStorage(uninitialized: x.count)
    let xs = SendablePointer(x.value), os = SendablePointer(out)
    Parallel.forRanges(total: pixels) { _, range in
        for p in range {
            let src = xs.p + p * c, dst = os.p + p * c
            for j in 0..<c { dst[j] = src[permutation[j]] }
        }
    }
    return Variable(shape: x.shape, value: out, parents: [x]) { y in
        let (g, fresh) = x.gradForOverwrite()
        let dx = SendablePointer(g), dy = SendablePointer(y.grad!)
        Parallel.forRanges(total: pixels) { _, range in
            for p in range {
                let src = dy.p + p * c, dst = dx.p + p * c
                // A permutation touches every input channel exactly once, so a fresh buffer is assigned.
                if fresh { for j in 0..<c { dst[permutation[j]] = src[j] } }
                else { for j in 0..<c { dst[permutation[j]] += src[j] } }
            }
        }
    }
}
