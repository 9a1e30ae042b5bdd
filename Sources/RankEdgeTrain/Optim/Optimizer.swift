#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum OptimizerKind: String, Sendable, Codable, CaseIterable { case sgd, adam, adamw }

public struct OptimizerConfig: Sendable, Codable, Equatable {
    public var kind: OptimizerKind
    public var momentum: Float = 0.9
    public var nesterov: Bool = false
    /// L2 added to the gradient (SGD, Adam) or decoupled decay (AdamW).
    public var weightDecay: Float = 0
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public init(kind: OptimizerKind, momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 0) {
        self.kind = kind; self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
    }
}

/// SGD (momentum, Nesterov, weight decay), Adam and AdamW with PyTorch's update rules. Slot
/// buffers are named after their parameter so they can be checkpointed.
public final class Optimizer {
    public let config: OptimizerConfig
    public let parameters: [NamedTensor]
    /// First and second moment (Adam) or velocity (SGD, first only), per parameter.
    public private(set) var first: [TensorStorage]
    public private(set) var second: [TensorStorage]
    /// Updates applied so far (Adam's bias correction uses it).
    public var step: Int = 0

    public init(_ config: OptimizerConfig, parameters: [NamedTensor]) {
        self.config = config
        self.parameters = parameters
        first = parameters.map { TensorStorage(zeros: $0.variable.count) }
        second = config.kind == .sgd ? [] : parameters.map { TensorStorage(zeros: $0.variable.count) }
    }

    public func zeroGrad() { for p in parameters { p.variable.zeroGrad() } }

    /// Slot tensors for checkpoints: (name, storage).
    public var slots: [(String, TensorStorage)] {
        zip(parameters, first).map { ("\($0.name)#m", $1) } + zip(parameters, second).map { ("\($0.name)#v", $1) }
    }

    /// One update with learning rate `lr`; parameters without a gradient are left alone.
    public func update(lr: Float) {
        step += 1
        let c = config
        let bc1 = 1 - pow(c.beta1, Float(step)), bc2 = 1 - pow(c.beta2, Float(step))
        for (i, p) in parameters.enumerated() {
            guard let g = p.variable.grad?.pointer else { continue }
            let w = p.variable.value.pointer, n = p.variable.count
            let m = first[i].pointer
            switch c.kind {
            case .sgd:
                for j in 0..<n {
                    let grad = g[j] + c.weightDecay * w[j]
                    m[j] = c.momentum * m[j] + grad
                    w[j] -= lr * (c.nesterov ? grad + c.momentum * m[j] : m[j])
                }
            case .adam, .adamw:
                let v = second[i].pointer
                let decoupled = c.kind == .adamw
                let stepSize = lr / bc1, invBc2 = 1 / bc2
                for j in 0..<n {
                    if decoupled { w[j] -= lr * c.weightDecay * w[j] }
                    let grad = decoupled ? g[j] : g[j] + c.weightDecay * w[j]
                    m[j] = c.beta1 * m[j] + (1 - c.beta1) * grad
                    v[j] = c.beta2 * v[j] + (1 - c.beta2) * grad * grad
                    w[j] -= stepSize * m[j] / ((v[j] * invBc2).squareRoot() + c.epsilon)
                }
            }
        }
    }
}
