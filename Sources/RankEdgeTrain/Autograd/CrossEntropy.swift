#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Mean softmax cross-entropy of logits [N, K] against integer labels; returns a scalar variable.
/// Also reports how many rows the logits classify correctly, for running accuracy.
public func softmaxCrossEntropy(_ logits: Variable, labels: [Int]) -> (loss: Variable, correct: Int) {
    precondition(logits.shape.count == 2 && logits.shape[0] == labels.count, "softmaxCrossEntropy: \(logits.shape) vs \(labels.count) labels")
    let (n, k) = (logits.shape[0], logits.shape[1])
    let probs = TensorStorage(uninitialized: n * k)
    var total = 0.0
    var correct = 0
    for r in 0..<n {
        let row = logits.value.pointer + r * k, p = probs.pointer + r * k
        var m = row[0], best = 0
        for j in 1..<k where row[j] > m { m = row[j]; best = j }
        if best == labels[r] { correct += 1 }
        var sum = 0.0
        for j in 0..<k { let e = exp(Double(row[j] - m)); p[j] = Float(e); sum += e }
        for j in 0..<k { p[j] = Float(Double(p[j]) / sum) }
        precondition(labels[r] >= 0 && labels[r] < k, "softmaxCrossEntropy: label \(labels[r]) outside 0..<\(k)")
        total += -(Double(row[labels[r]] - m) - log(sum))
    }
    let loss = Variable(shape: [1], value: TensorStorage([Float(total / Double(n))]), parents: [logits]) { y in
        let g = y.grad![0] / Float(n)
        let dx = logits.gradPointer()
        for r in 0..<n {
            for j in 0..<k {
                let t: Float = j == labels[r] ? 1 : 0
                dx[r * k + j] += g * (probs.pointer[r * k + j] - t)
            }
        }
    }
    return (loss, correct)
}
