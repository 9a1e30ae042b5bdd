/// The dense OHWI kernel [S, k, k, C] of rank-L factors a, b [S, C, L, k]:
/// W[o, i, j, c] = Σ_l a[o, c, l, i] · b[o, c, l, j] (METHODS.md §1: the sum, not the product).
public func rankKernel(a: Variable, b: Variable) -> Variable {
    precondition(a.shape.count == 4 && a.shape == b.shape, "rankKernel: factors must share a shape [S, C, L, k], got \(a.shape), \(b.shape)")
    let (s, c, rank, k) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    let out = TensorStorage(uninitialized: s * k * k * c)
    let ap = SendablePointer(a.value), bp = SendablePointer(b.value), w = SendablePointer(out)
    Parallel.forRanges(total: s) { _, outputs in
        for o in outputs {
            for ci in 0..<c {
                let base = (o * c + ci) * rank * k
                for i in 0..<k {
                    for j in 0..<k {
                        var sum: Float = 0
                        for l in 0..<rank { sum += ap.p[base + l * k + i] * bp.p[base + l * k + j] }
                        w.p[((o * k + i) * k + j) * c + ci] = sum
                    }
                }
            }
        }
    }
    return Variable(shape: [s, k, k, c], value: out, parents: [a, b]) { y in
        let dw = SendablePointer(y.grad!)
        let da = a.requiresGrad ? SendablePointer(a.gradPointer()) : nil
        let db = b.requiresGrad ? SendablePointer(b.gradPointer()) : nil
        Parallel.forRanges(total: s) { _, outputs in
            for o in outputs {
                for ci in 0..<c {
                    for l in 0..<rank {
                        let f = ((o * c + ci) * rank + l) * k
                        for i in 0..<k {
                            for j in 0..<k {
                                let g = dw.p[((o * k + i) * k + j) * c + ci]
                                da?.p[f + i] += g * bp.p[f + j]
                                db?.p[f + j] += g * ap.p[f + i]
                            }
                        }
                    }
                }
            }
        }
    }
}
