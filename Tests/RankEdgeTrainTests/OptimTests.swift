import Testing
import RankEdge
@testable import RankEdgeTrain

@Suite struct OptimizerTests {
    func run(_ config: OptimizerConfig, lr: Float, grads: [Float], w0: Float) -> [Float] {
        let p = Variable(shape: [1], data: [w0], requiresGrad: true)
        let opt = Optimizer(config, parameters: [NamedTensor(name: "p", variable: p)])
        var out: [Float] = []
        for g in grads {
            opt.zeroGrad()
            p.gradPointer()[0] = g
            opt.update(lr: lr)
            out.append(p.value[0])
        }
        return out
    }

    @Test func sgdMomentumNesterovAndDecayFollowPyTorch() {
        // Hand-computed: v1 = g1 + wd·w0; w1 = w0 − lr·v1; v2 = m·v1 + g2 + wd·w1; …
        let w = run(OptimizerConfig(kind: .sgd, momentum: 0.9, weightDecay: 0.1), lr: 0.1, grads: [1, 2], w0: 1)
        let v1: Float = 1 + 0.1, w1: Float = 1 - 0.1 * v1
        let v2: Float = 0.9 * v1 + 2 + 0.1 * w1, w2 = w1 - 0.1 * v2
        #expect(abs(w[0] - w1) < 1e-6 && abs(w[1] - w2) < 1e-6)
        let n = run(OptimizerConfig(kind: .sgd, momentum: 0.5, nesterov: true), lr: 0.1, grads: [1, 1], w0: 0)
        // step 1: v = 1, update g + m·v = 1.5; step 2: v = 1.5, update 1 + 0.75 = 1.75
        #expect(abs(n[0] + 0.15) < 1e-6 && abs(n[1] + 0.325) < 1e-6)
    }

    @Test func adamAndAdamW() {
        // First Adam step moves by lr·sign(g) (bias-corrected m/√v = ±1).
        let a = run(OptimizerConfig(kind: .adam), lr: 0.01, grads: [3, -1], w0: 1)
        #expect(abs(a[0] - 0.99) < 1e-6)
        let m2 = 0.9 * 0.1 * 3 + 0.1 * -1.0, v2 = 0.999 * 0.001 * 9 + 0.001 * 1.0
        let step2 = 0.01 * (m2 / (1 - 0.81)) / ((v2 / (1 - 0.998001)).squareRoot() + 1e-8)
        #expect(abs(Double(a[1]) - (0.99 - step2)) < 1e-6)
        let d = run(OptimizerConfig(kind: .adamw, weightDecay: 0.5), lr: 0.1, grads: [1], w0: 2)
        #expect(abs(d[0] - (2 - 0.1 * 0.5 * 2 - 0.1)) < 1e-6)
    }

    @Test func schedules() {
        let c = LearningRateSchedule(kind: .cosine, baseLR: 1, totalSteps: 110, warmup: 10)
        #expect(abs(c.rate(at: 0) - 0.1) < 1e-6 && abs(c.rate(at: 9) - 1) < 1e-6)
        #expect(abs(c.rate(at: 10) - 1) < 1e-6 && abs(c.rate(at: 60) - 0.5) < 1e-5 && c.rate(at: 110) < 1e-6)
        let s = LearningRateSchedule(kind: .step, baseLR: 1, totalSteps: 90, stepSize: 30, gamma: 0.1)
        #expect(s.rate(at: 29) == 1 && abs(s.rate(at: 30) - 0.1) < 1e-7 && abs(s.rate(at: 89) - 0.01) < 1e-8)
        #expect(LearningRateSchedule(kind: .constant, baseLR: 0.3, totalSteps: 5).rate(at: 4) == 0.3)
    }
}
