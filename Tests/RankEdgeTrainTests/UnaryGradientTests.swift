import Testing
import RankEdge
@testable import RankEdgeTrain

/// The trainer's unary activations: forward equal to `UnaryFunction`'s definition, gradients equal to
/// finite differences (inputs spread over the hard functions' kinks at ±3 and 0…1).
@Suite struct UnaryGradientTests {
    static let functions: [UnaryFunction] = [.sigmoid, .tanh, .hardSigmoid(alpha: 0.2, beta: 0.5), .hardSwish, .silu, .erf, .gelu]

    @Test(arguments: functions) func forwardAndGradient(_ f: UnaryFunction) {
        let x = randomVariable([3, 5, 7], seed: 21)
        for i in 0..<x.count { x.value[i] *= 5 }   // ±5: both sides of every kink
        let y = unary(x, f)
        for i in 0..<x.count { #expect(y.value[i] == f(x.value[i]), "\(f.name) at \(x.value[i])") }
        // Steps of 1e-3 straddle a kink only rarely; the finite difference there is off, so the
        // sample is of points at least 2e-3 away from one.
        for i in 0..<x.count where [-3, 3, -2.5, 2.5].contains(where: { abs(x.value[i] - $0) < 2e-3 }) { x.value[i] += 0.01 }
        let errs = gradientCheck([x], eps: 1e-3) { v in unary(v[0], f) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(f.name): \(errs)")
    }
}
