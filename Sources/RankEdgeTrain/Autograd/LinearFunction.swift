/// y[N, S] = x[N, C] · Wᵀ + b, with W stored [S, C] as in the runtime.
public func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
    precondition(x.shape.count == 2 && weight.shape.count == 2 && x.shape[1] == weight.shape[1],
                 "linear: input \(x.shape) does not match weight \(weight.shape)")
    let (n, c, s) = (x.shape[0], x.shape[1], weight.shape[0])
    let out = TensorStorage(uninitialized: n * s)
    sgemm(transA: false, transB: true, m: n, n: s, k: c, a: x.value.pointer, lda: c,
          b: weight.value.pointer, ldb: c, beta: 0, c: out.pointer, ldc: s)
    if let bias { for r in 0..<n { addInPlace(out.pointer + r * s, bias.value.pointer, s) } }
    var parents = [x, weight]
    if let bias { parents.append(bias) }
    return Variable(shape: [n, s], value: out, parents: parents) { y in
        let dy = y.grad!.pointer
        if weight.requiresGrad {
            sgemm(transA: true, transB: false, m: s, n: c, k: n, a: dy, lda: s, b: x.value.pointer, ldb: c,
                  beta: 1, c: weight.gradPointer(), ldc: c)
        }
        if x.requiresGrad {
            sgemm(transA: false, transB: false, m: n, n: c, k: s, a: dy, lda: s, b: weight.value.pointer, ldb: c,
                  beta: 1, c: x.gradPointer(), ldc: c)
        }
        if let bias, bias.requiresGrad {
            let db = bias.gradPointer()
            for r in 0..<n { addInPlace(db, dy + r * s, s) }
        }
    }
}
