#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// T²·KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over the batch, as a scalar; the
/// teacher's scores are constants. The T² keeps the gradient's scale independent of T.
/// d/dstudent = T·(p_student − p_teacher) / N.
public func distillationLoss(student: Variable, teacher: Variable, temperature t: Float) -> Variable {
    precondition(student.shape == teacher.shape && student.shape.count == 2, "distillationLoss: \(student.shape) vs \(teacher.shape)")
    let (n, k) = (student.shape[0], student.shape[1])
    func softened(_ v: Variable) -> [Double] {
        var p = [Double](repeating: 0, count: n * k)
        for r in 0..<n {
            var m = -Double.infinity
            for j in 0..<k { m = max(m, Double(v.value[r * k + j]) / Double(t)) }
            var sum = 0.0
            for j in 0..<k { let e = exp(Double(v.value[r * k + j]) / Double(t) - m); p[r * k + j] = e; sum += e }
            for j in 0..<k { p[r * k + j] /= sum }
        }
        return p
    }
    let ps = softened(student), pt = softened(teacher)
    var kl = 0.0
    for i in 0..<(n * k) where pt[i] > 0 { kl += pt[i] * (log(pt[i]) - log(max(ps[i], 1e-300))) }
    let value = Float(kl / Double(n) * Double(t * t))
    return Variable(shape: [1], value: TensorStorage([value]), parents: [student]) { y in
        let g = y.grad![0] * t / Float(n)
        let ds = student.gradPointer()
        for i in 0..<(n * k) { ds[i] += g * Float(ps[i] - pt[i]) }
    }
}
