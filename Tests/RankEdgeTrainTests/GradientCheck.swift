import RankEdge
@testable import RankEdgeTrain

/// Compares analytic gradients against central finite differences of L = Σ r·f(inputs), with r a
/// fixed random projection and L accumulated in Double. Returns the worst scaled error per input.
func gradientCheck(_ inputs: [Variable], eps: Float = 1e-2, samplesPerInput: Int = 48, seed: UInt64 = 7,
                   _ f: ([Variable]) -> Variable) -> [Float] {
    var rng = SeededRandom(seed: seed)
    let y = f(inputs)
    let r = (0..<y.count).map { _ in rng.uniform(-1, 1) }
    func objective() -> Double {
        let out = f(inputs)
        var s = 0.0
        for i in 0..<out.count { s += Double(r[i]) * Double(out.value[i]) }
        return s
    }
    for v in inputs { v.zeroGrad() }
    y.backward(seed: r)
    var worst: [Float] = []
    for v in inputs where v.requiresGrad {
        let analytic = v.grad.map { $0.array } ?? [Float](repeating: 0, count: v.count)
        let scale = max(analytic.map(abs).max() ?? 0, 1e-3)
        var maxErr: Float = 0
        let picks = v.count <= samplesPerInput ? Array(0..<v.count)
            : (0..<samplesPerInput).map { _ in Int(rng.next() % UInt64(v.count)) }
        for i in picks {
            let saved = v.value[i]
            v.value[i] = saved + eps
            let up = objective()
            v.value[i] = saved - eps
            let down = objective()
            v.value[i] = saved
            let numeric = Float((up - down) / Double(2 * eps))
            maxErr = max(maxErr, abs(numeric - analytic[i]) / scale)
        }
        worst.append(maxErr)
    }
    return worst
}

func randomVariable(_ shape: [Int], seed: UInt64, scale: Float = 1, requiresGrad: Bool = true) -> Variable {
    var rng = SeededRandom(seed: seed)
    let n = shape.reduce(1, *)
    return Variable(shape: shape, data: (0..<n).map { _ in rng.uniform(-scale, scale) }, requiresGrad: requiresGrad)
}

/// Values spaced at least `gap` apart in random order, so max-pool and ReLU kinks are never
/// crossed by a finite-difference step smaller than gap/2.
func spacedVariable(_ shape: [Int], seed: UInt64, gap: Float = 0.05) -> Variable {
    var rng = SeededRandom(seed: seed)
    let n = shape.reduce(1, *)
    var values = (0..<n).map { Float($0 - n / 2) * gap + gap / 2 }
    values.shuffle(using: &rng)
    return Variable(shape: shape, data: values, requiresGrad: true)
}
