/// ELRT's double soft orthogonality regulariser (METHODS.md §2) of a factor viewed as a row-major
/// rows × cols matrix U: R(U) = ‖UᵀU − I‖²_F + ‖UUᵀ − I‖²_F, as a scalar.
/// dR/dU = 4·U(UᵀU − I) + 4·(UUᵀ − I)U.
public func doubleSoftOrthogonality(_ u: Variable, rows m: Int, cols n: Int) -> Variable {
    precondition(u.count == m * n, "doubleSoftOrthogonality: \(u.count) values for a \(m)x\(n) matrix")
    let gram = TensorStorage(uninitialized: n * n)   // UᵀU − I
    let outer = TensorStorage(uninitialized: m * m)  // UUᵀ − I
    sgemm(transA: true, transB: false, m: n, n: n, k: m, a: u.value.pointer, lda: n, b: u.value.pointer, ldb: n,
          beta: 0, c: gram.pointer, ldc: n)
    sgemm(transA: false, transB: true, m: m, n: m, k: n, a: u.value.pointer, lda: n, b: u.value.pointer, ldb: n,
          beta: 0, c: outer.pointer, ldc: m)
    for i in 0..<n { gram[i * n + i] -= 1 }
    for i in 0..<m { outer[i * m + i] -= 1 }
    var total = 0.0
    for i in 0..<gram.count { total += Double(gram[i]) * Double(gram[i]) }
    for i in 0..<outer.count { total += Double(outer[i]) * Double(outer[i]) }
    return Variable(shape: [1], value: TensorStorage([Float(total)]), parents: [u]) { y in
        let scale = 4 * y.grad![0]
        let du = u.gradPointer()
        sgemm(transA: false, transB: false, m: m, n: n, k: n, alpha: scale, a: u.value.pointer, lda: n,
              b: gram.pointer, ldb: n, beta: 1, c: du, ldc: n)
        sgemm(transA: false, transB: false, m: m, n: n, k: m, alpha: scale, a: outer.pointer, lda: m,
              b: u.value.pointer, ldb: n, beta: 1, c: du, ldc: n)
    }
}

/// Σ weights[i] · terms[i] over scalar variables (the task loss plus weighted regularisers).
public func weightedSum(_ terms: [Variable], weights: [Float]) -> Variable {
    precondition(terms.count == weights.count && terms.allSatisfy { $0.count == 1 }, "weightedSum: scalars and weights must pair up")
    let total = zip(terms, weights).reduce(Float(0)) { $0 + $1.0.value[0] * $1.1 }
    return Variable(shape: [1], value: TensorStorage([total]), parents: terms) { y in
        let g = y.grad![0]
        for (t, w) in zip(terms, weights) where t.requiresGrad { t.gradPointer()[0] += g * w }
    }
}
